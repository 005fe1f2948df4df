"""Checkpoint policy, fallback from a damaged checkpoint, refused resumes that change
nothing, the study's disk line and the resumed progress bar (issue 17, items 3, 6, 7)."""
import hashlib
import logging
import os
import re

import numpy as np
import pytest

from eventsim.cli import main
from eventsim.errors import EventsimError
from eventsim.study import load_data, load_study_scenario, model_settings, run_study
from eventsim.study.run import disk_usage, format_bytes
from eventsim.train import NetSpec, TrainConfig, train
from eventsim.train.checkpoint import best_epoch, list_checkpoints, prune_checkpoints

FAST = ["data.limit=48", "measure.test_samples=16"]
SPEC = NetSpec(kind="egru", n_in=3, units=[10], n_out=4)


class Split:
    def __init__(self, x, y):
        self.x, self.y = x, y


def toy_task(n=96, T=6, m=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, T, m)).astype(np.float32)
    y = (x[:, :, 0].sum(1) > 0).astype(np.int64) + 2 * (x[:, :, 1].sum(1) > 0).astype(np.int64)
    return Split(x[:64], y[:64]), Split(x[64:], y[64:])


class Stop(Exception):
    pass


def _stop_after(k):
    def hook(epoch, history):
        if epoch == k:
            raise Stop
    return hook


def _epochs(d):
    return sorted(e for e, _ in list_checkpoints(d))


def _cfg(**kw):
    base = dict(epochs=6, batch_size=16, lr=0.02, dropout=0.1, seed=4, thr_jitter=0.05)
    base.update(kw)
    return TrainConfig(**base)


def _assert_same_params(a, b):
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_best_epoch_follows_the_metrics_direction():
    h = [{"epoch": 1, "val_metric": 0.5}, {"epoch": 2, "val_metric": 0.7}, {"epoch": 3, "val_metric": 0.7},
         {"epoch": 4, "val_metric": float("nan")}, {"epoch": 5, "val_metric": 0.6}]
    assert best_epoch(h, "accuracy") == 2          # higher is better; the first of equals
    assert best_epoch(h, "bpc") == 1               # lower is better; NaN never best
    assert best_epoch([], "accuracy") is None


def test_prune_keeps_latest_previous_and_best(tmp_path):
    for e in range(1, 7):
        (tmp_path / f"epoch{e:04d}.npz").write_bytes(b"x")
    h = [{"epoch": e, "val_metric": v} for e, v in zip(range(1, 6), [0.1, 0.9, 0.3, 0.2, 0.4])]
    # epoch 6 is a later file than the one just written (5): a stale one, removed
    removed = prune_checkpoints(tmp_path, 5, h, "accuracy")
    assert _epochs(tmp_path) == [2, 4, 5]
    assert sorted(os.path.basename(p) for p in removed) == ["epoch0001.npz", "epoch0003.npz", "epoch0006.npz"]
    prune_checkpoints(tmp_path, 5, h, "accuracy", keep="all")
    assert _epochs(tmp_path) == [2, 4, 5]
    with pytest.raises(EventsimError, match="keep_checkpoints"):
        prune_checkpoints(tmp_path, 5, h, "accuracy", keep="some")
    with pytest.raises(EventsimError, match="keep_checkpoints = 'some' is unknown"):
        TrainConfig(keep_checkpoints="some").validate()


@pytest.mark.parametrize("keep", ["latest_best", "all"])
def test_policy_files_and_interrupted_resume_is_bit_identical(tmp_path, keep):
    """The policy keeps what it says after every epoch, and a run interrupted after epoch 3
    of 6 resumes to exactly the parameters of the uninterrupted run."""
    tr, va = toy_task()
    seen = []

    def record(epoch, history):
        seen.append((epoch, _epochs(tmp_path / "a"), best_epoch(history, "accuracy")))
    full = train(SPEC, tr, va, _cfg(keep_checkpoints=keep), ckpt_dir=tmp_path / "a", progress=False,
                 on_epoch_end=record)
    for epoch, files, best in seen:
        want = set(range(1, epoch + 1)) if keep == "all" else {epoch, max(epoch - 1, 1), best}
        assert files == sorted(want), (epoch, files, best)
    with pytest.raises(Stop):
        train(SPEC, tr, va, _cfg(keep_checkpoints=keep), ckpt_dir=tmp_path / "b", progress=False,
              on_epoch_end=_stop_after(3))
    resumed = train(SPEC, tr, va, _cfg(keep_checkpoints=keep), ckpt_dir=tmp_path / "b", progress=False)
    assert resumed.resumed_from == 3
    _assert_same_params(full.params, resumed.params)
    assert _epochs(tmp_path / "a") == _epochs(tmp_path / "b")


def test_the_policy_may_change_on_resume(tmp_path):
    """keep_checkpoints is no training setting: a run started with "all" resumes with
    "latest_best" (and its older files then go)."""
    tr, va = toy_task()
    with pytest.raises(Stop):
        train(SPEC, tr, va, _cfg(keep_checkpoints="all"), ckpt_dir=tmp_path, progress=False,
              on_epoch_end=_stop_after(4))
    assert _epochs(tmp_path) == [1, 2, 3, 4]
    r = train(SPEC, tr, va, _cfg(), ckpt_dir=tmp_path, progress=False)
    assert r.resumed_from == 4 and len(_epochs(tmp_path)) <= 3


def test_truncated_newest_checkpoint_falls_back_with_one_warning(tmp_path, caplog):
    tr, va = toy_task()
    full = train(SPEC, tr, va, _cfg(), progress=False)
    with pytest.raises(Stop):
        train(SPEC, tr, va, _cfg(), ckpt_dir=tmp_path, progress=False, on_epoch_end=_stop_after(3))
    newest = tmp_path / "epoch0003.npz"
    newest.write_bytes(newest.read_bytes()[:500])          # truncated by hand
    with caplog.at_level(logging.WARNING):
        r = train(SPEC, tr, va, _cfg(), ckpt_dir=tmp_path, progress=False)
    assert r.resumed_from == 2
    warnings = [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "epoch0003.npz" in warnings[0]
    assert warnings[0].endswith("falling back to epoch0002.npz")
    assert "\n" not in warnings[0]
    _assert_same_params(full.params, r.params)
    for _, path in list_checkpoints(tmp_path):    # the damaged file is gone or replaced
        with np.load(path) as z:
            z["state"]


def test_no_readable_checkpoint_starts_from_scratch_with_a_warning(tmp_path, caplog):
    tr, va = toy_task()
    full = train(SPEC, tr, va, _cfg(epochs=3), progress=False)
    with pytest.raises(Stop):
        train(SPEC, tr, va, _cfg(epochs=3), ckpt_dir=tmp_path, progress=False, on_epoch_end=_stop_after(2))
    for _, path in list_checkpoints(tmp_path):
        with open(path, "r+b") as f:
            f.truncate(100)
    with caplog.at_level(logging.WARNING):
        r = train(SPEC, tr, va, _cfg(epochs=3), ckpt_dir=tmp_path, progress=False)
    assert r.resumed_from == 0
    msgs = [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.WARNING]
    assert any("from scratch" in m for m in msgs)
    _assert_same_params(full.params, r.params)
    assert {2, 3} <= set(_epochs(tmp_path)) and len(_epochs(tmp_path)) <= 3   # all whole again
    for _, path in list_checkpoints(tmp_path):
        with np.load(path) as z:
            z["state"]


def _snapshot(folder):
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in files + dirs:
            p = os.path.join(root, name)
            st = os.stat(p)
            digest = hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.isfile(p) else None
            out[os.path.relpath(p, folder)] = (digest, st.st_mtime_ns, st.st_size)
    return out


def test_refused_resume_changes_nothing_on_disk(tmp_path, capsys):
    out = tmp_path / "r"
    run_study("tiny", out_dir=out, overrides=FAST, progress=False)
    before = _snapshot(out)
    assert "scenario.toml" in before and "egru/checkpoint/epoch0002.npz" in before
    with pytest.raises(EventsimError, match=r"model 'gru': .*other model or training settings \(config.lr"):
        run_study("tiny", out_dir=out, overrides=FAST + ["models.gru.lr=0.05"], progress=False)
    assert _snapshot(out) == before
    # through the command: one error line, exit 2, and still nothing changed
    rc = main(["study", "tiny", "--out", str(out), "--no-progress", "--no-report", "--set", "models.egru.units=[8]"]
              + [a for kv in FAST for a in ("--set", kv)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("eventsim: error:") == 1 and "spec.units [16] -> [8]" in err
    assert "Traceback" not in err
    assert _snapshot(out) == before
    # a setting that is no training setting (the checkpoint policy) resumes
    s = run_study("tiny", out_dir=out, overrides=FAST, progress=False, keep_checkpoints="all")
    assert s["models"]["egru"]["source"] == {"trained_epochs": 2, "resumed_from_epoch": 2}
    assert 'keep_checkpoints = "all"' in (out / "scenario.toml").read_text()
    # a given checkpoint file that does not fit is refused before the folder is made
    bad = FAST + ["models.egru.units=[8]", f"models.egru.checkpoint={out / 'egru' / 'model.npz'}"]
    with pytest.raises(EventsimError, match="does not fit the scenario"):
        run_study("tiny", out_dir=tmp_path / "new", overrides=bad, progress=False)
    assert not (tmp_path / "new").exists()


def test_study_prints_its_disk_use(tmp_path, capsys):
    out = tmp_path / "d"
    rc = main(["study", "tiny", "--out", str(out), "--no-progress", "--no-report", "--keep-checkpoints", "all"]
              + [a for kv in FAST for a in ("--set", kv)])
    assert rc == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("results: ")]
    assert len(lines) == 1
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    ckpt = sum(os.path.getsize(p) for p in out.glob("*/checkpoint/*"))
    assert disk_usage(str(out)) == (total, ckpt)
    assert lines[0] == f"results: {format_bytes(total)} in {out} (checkpoints {format_bytes(ckpt)})"
    assert re.fullmatch(r"results: [\d.]+ (kB|MB) in .* \(checkpoints [\d.]+ (kB|MB)\)", lines[0])
    assert format_bytes(999) == "999 B" and format_bytes(3_240_000) == "3.2 MB"


def test_resumed_parallel_study_bar_shows_true_totals(tmp_path, monkeypatch):
    """A study resumed with the gru finished and the egru after 1 of 3 epochs: the epoch bar
    starts at the 2 + 1 + 0 epochs done, ends at the true total 2 + 3 + 2 = 7, and the
    results equal an uninterrupted study's."""
    import tqdm as tqdm_mod

    over = FAST + ["models.egru.epochs=3"]
    sc = load_study_scenario("tiny", over)
    ds = load_data(sc)
    out = tmp_path / "p"
    for name, stop in (("gru", None), ("egru", 1)):
        spec, cfg = model_settings(sc, sc.model(name), ds)
        hook = _stop_after(stop) if stop else None
        try:
            train(spec, ds.train, ds.valid, cfg, ckpt_dir=out / name / "checkpoint", progress=False,
                  on_epoch_end=hook)
        except Stop:
            pass
    bars = []
    real = tqdm_mod.tqdm

    class Recorder(real):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            bars.append((kw, self))
    monkeypatch.setattr(tqdm_mod, "tqdm", Recorder)
    s = run_study("tiny", out_dir=out, overrides=over, progress=True, jobs=2)
    epoch_bars = [(kw, b) for kw, b in bars if kw.get("unit") == "epoch"]
    assert len(epoch_bars) == 1
    kw, bar = epoch_bars[0]
    assert kw["total"] == 7 and kw["initial"] == 3 and bar.n == 7
    assert s["models"]["egru"]["source"]["trained_epochs"] == 3
    ref = run_study("tiny", out_dir=tmp_path / "ref", overrides=over, progress=False, jobs=1)
    for name in ("egru", "gru", "lstm"):
        assert s["models"][name]["metric"] == ref["models"][name]["metric"], name
        with np.load(out / name / "model.npz") as a, np.load(tmp_path / "ref" / name / "model.npz") as b:
            for k in a.files:
                if k != "meta":
                    np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name} {k}")
