"""`eventsim study` end to end on the tiny scenario, resume, checkpoints, errors."""
import json

import numpy as np
import pytest

from eventsim.cli import main
from eventsim.errors import EventsimError
from eventsim.commands.study import write_report_if_available
from eventsim.study import dense_counts, run_study
from eventsim.train import NetSpec

FAST = ["--set", "data.limit=48", "--set", "measure.test_samples=16"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "tiny"
    rc = main(["study", "tiny", "--out", str(out), "--no-progress", "--no-report"] + FAST)
    return out, rc


def test_tiny_study_writes_the_results_folder(tiny, capsys):
    out, rc = tiny
    assert rc == 0
    for f in ("scenario.toml", "summary.json", "summary.md", "summary.csv"):
        assert (out / f).is_file(), f
    s = json.loads((out / "summary.json").read_text())
    assert s["scenario"] == "tiny" and s["metric"] == "accuracy" and s["test_samples"] == 16
    assert set(s["models"]) == {"egru", "gru", "lstm"}
    for name in ("egru", "gru", "lstm"):
        for f in ("counts.json", "history.json", "model.npz", "raster.npz"):
            assert (out / name / f).is_file(), (name, f)
        assert len(json.loads((out / name / "history.json").read_text())) == 2
        assert (out / name / "checkpoint" / "epoch0002.npz").is_file()
    e = s["models"]["egru"]
    assert e["engine_check"]["ok"] and e["engine_check"]["prediction_disagreements"] == 0
    assert 0.0 <= e["activity_sparsity"] <= 1.0 and e["backward_sparsity"] is not None
    counts = json.loads((out / "egru" / "counts.json").read_text())
    assert counts["engine"] == "event" and "backward" in counts["total"]
    assert counts["samples"] == 16 and counts["steps"] == 8
    # the study prices every model on the shipped hardware profiles (issue 5, part 4)
    assert (out / "cost.md").is_file()
    table = json.loads((out / "cost.json").read_text())
    assert {"egru", "gru", "lstm"} <= {r["model"] for r in table["rows"]}
    for name in ("egru", "gru", "lstm"):
        assert (out / name / "cost.json").is_file(), name
    with np.load(out / "egru" / "raster.npz") as z:
        assert z["input"].shape == (2, 8, 8) and z["layer0.y"].shape == (2, 8, 16)


def test_silent_units_agree_with_the_engines_recorded_events(tiny):
    # independent path: run the saved EGRU through the event engine on the same test
    # inputs, record its events and count the units that never emitted one
    import eventsim
    from eventsim.study import load_data, load_study_scenario
    out, _ = tiny
    s = json.loads((out / "summary.json").read_text())
    sc = load_study_scenario("tiny", FAST[1::2])
    x = load_data(sc).test.x[:16]
    res = eventsim.simulate(eventsim.load_model(str(out / "egru" / "model.npz")), x, record=("y",))
    fired = np.count_nonzero(res.y[0], axis=(0, 1))
    sil = s["models"]["egru"]["silent_units"]
    assert sil["per_layer"] == [int((fired == 0).sum())] and sil["silent"] == int((fired == 0).sum())
    assert sil["units"] == 16 and sil["event_totals_match_engine"]
    live = int((fired > 0).sum())
    assert sil["live_unit_activity_sparsity"] == pytest.approx(1 - fired.sum() / (live * 16 * 8))
    # a dense GRU of the live units, closed form (SPEC §2): 3n(m + n) + n·10, m = 8 inputs
    assert sil["live_dense_gru_macs_per_step"] == 3 * live * (8 + live) + live * 10
    assert s["models"]["gru"]["silent_units"] is None
    assert f"{sil['silent']}/16" in (out / "summary.md").read_text()
    assert "silent_units" in (out / "summary.csv").read_text().splitlines()[0]


def test_accuracy_intervals_and_paired_test_agree_with_the_predictions(tiny, capsys):
    """Each accuracy lies in its Wilson interval, and McNemar's discordant counts explain the
    accuracy difference to the GRU exactly: (only EGRU right − only GRU right) / n."""
    from eventsim.stats import wilson_interval
    from eventsim.study import uncertainty_lines
    out, _ = tiny
    s = json.loads((out / "summary.json").read_text())
    n = s["test_samples"]
    for name, v in s["models"].items():
        k = round(v["metric"] * n)
        assert v["metric_ci95"] == pytest.approx(list(wilson_interval(k, n))), name
        assert v["metric_ci95"][0] <= v["metric"] <= v["metric_ci95"][1]
    for name in ("egru", "lstm"):
        c = s["models"][name]["vs_gru_model"]
        pr = c["paired"]
        assert c["gru"] == "gru" and pr["only_first"] + pr["only_second"] <= n
        assert (pr["only_first"] - pr["only_second"]) / n == pytest.approx(c["metric_difference"])
    assert s["models"]["gru"]["vs_gru_model"] is None
    lines = uncertainty_lines(s)
    assert len(lines) == 2 and "Wilson" in lines[0] and "McNemar" in lines[1]
    assert lines[1] in (out / "summary.md").read_text()
    assert "metric_ci95_low" in (out / "summary.csv").read_text().splitlines()[0]
    # a summary of an earlier version (no intervals, no paired test): intervals from k/n alone
    old = json.loads(json.dumps(s))
    for v in old["models"].values():
        v.pop("metric_ci95")
        if v["vs_gru_model"]:
            v["vs_gru_model"].pop("paired")
    assert uncertainty_lines(old) == lines[:1]


def test_dense_counts_are_the_closed_form(tiny):
    out, _ = tiny
    s = json.loads((out / "summary.json").read_text())
    # digits row by row: m = 8 inputs, n = 16 units, 10 classes; per sample and step:
    # GRU 3·16·(8+16) + readout 16·10 = 1152 + 160; LSTM 4·16·24 + 160 = 1536 + 160
    assert s["models"]["gru"]["dense_macs_per_step"] == 1312
    assert s["models"]["lstm"]["dense_macs_per_step"] == 1696
    assert s["models"]["gru"]["savings_vs_gru"] == 1.0
    assert s["models"]["egru"]["dense_macs_per_step"] == 1312
    # SPEC §2's NeuroBench figure: GRUCell(25, 5) 450 MACs + 15 elementwise per step
    d = dense_counts(NetSpec(kind="gru", n_in=25, units=[5], n_out=1), 1, 1)
    assert d["layers"][0]["macs"]["dense"] == 450 and d["layers"][0]["elementwise"]["clocked"] == 15
    d = dense_counts(NetSpec(kind="lstm", n_in=25, units=[5], n_out=1), 1, 1)
    assert d["layers"][0]["macs"]["dense"] == 600 and d["layers"][0]["elementwise"]["clocked"] == 15


def test_rerun_resumes_without_training_and_fresh_retrains(tiny):
    out, _ = tiny
    before = json.loads((out / "summary.json").read_text())
    s = run_study("tiny", out_dir=out, overrides=FAST[1::2], progress=False)
    assert s["models"]["egru"]["source"] == {"trained_epochs": 2, "resumed_from_epoch": 2}
    for name in ("egru", "gru", "lstm"):
        assert s["models"][name]["metric"] == before["models"][name]["metric"]
    s = run_study("tiny", out_dir=out, overrides=FAST[1::2], progress=False, resume=False)
    assert s["models"]["gru"]["source"]["resumed_from_epoch"] == 0
    assert s["models"]["gru"]["metric"] == before["models"]["gru"]["metric"]  # seeded: same run


def test_given_checkpoint_is_loaded_not_trained(tiny, tmp_path):
    out, _ = tiny
    before = json.loads((out / "summary.json").read_text())["models"]
    over = FAST[1::2] + [f"models.egru.checkpoint={out / 'egru' / 'model.npz'}",
                         f"models.gru.checkpoint={out / 'gru' / 'model.npz'}"]
    s = run_study("tiny", out_dir=tmp_path / "again", overrides=over, progress=False)
    assert s["models"]["egru"]["source"] == {"checkpoint": str(out / "egru" / "model.npz")}
    assert s["models"]["egru"]["metric"] == before["egru"]["metric"]
    assert s["models"]["gru"]["metric"] == before["gru"]["metric"]
    assert json.loads((tmp_path / "again" / "egru" / "history.json").read_text()) == []


def test_checkpoint_of_wrong_shape_is_an_error(tiny, tmp_path):
    out, _ = tiny
    over = FAST[1::2] + ["models.egru.units=[8]", f"models.egru.checkpoint={out / 'egru' / 'model.npz'}"]
    with pytest.raises(EventsimError, match="does not fit the scenario"):
        run_study("tiny", out_dir=tmp_path / "x", overrides=over, progress=False)


def test_cli_errors_exit_2(tmp_path, capsys):
    assert main(["study", "tiny", "--out", str(tmp_path), "--set", "train.lr=-1", "--no-progress"]) == 2
    assert "eventsim: error:" in capsys.readouterr().err
    assert main(["study", "no-such-scenario", "--out", str(tmp_path)]) == 2


def test_report_step_says_why_it_was_skipped(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "eventsim.plots.report", None)  # import now fails
    path, reason = write_report_if_available(str(tmp_path))
    assert path is None and reason.startswith("report step skipped")
    assert "write_report is not available" in reason


def test_report_step_failure_is_reported(tmp_path):
    path, reason = write_report_if_available(str(tmp_path / "missing"))
    assert path is None and reason.startswith("report step failed: EventsimError")


@pytest.mark.parametrize("loss", ["all", "trace"])
def test_step_weighted_losses_engine_reads_the_readout_the_same_way(tmp_path, loss):
    """The engine's recorded per-step readout, weighted as the loss weights it (mean
    or exponential trace), predicts what the trainer predicts, and to float tolerance
    the same accuracy."""
    s = run_study("tiny", out_dir=tmp_path, overrides=FAST[1::2] + [f"train.loss={loss}"], progress=False)
    ec = s["models"]["egru"]["engine_check"]
    assert ec["ok"] and ec["prediction_disagreements"] == 0
    assert ec["engine_metric"] == pytest.approx(ec["trainer_metric"], abs=1e-12)


def test_per_model_epochs_loss_and_lr_override_the_train_section(tmp_path):
    """models.<name>.epochs trains that model longer (or shorter) than train.epochs;
    models.<name>.loss gives it its own loss (here the EGRU's trace readout, checked
    through the engine, beside the baselines' last-step readout); models.<name>.lr its own
    learning rate (tiny's schedule is constant, so every epoch records it)."""
    s = run_study("tiny", out_dir=tmp_path, progress=False,
                  overrides=FAST[1::2] + ["models.egru.epochs=3", "models.gru.epochs=1", 'models.egru.loss="trace"',
                                          "models.lstm.lr=0.002"])
    hist = {name: json.loads((tmp_path / name / "history.json").read_text()) for name in ("egru", "gru", "lstm")}
    assert {name: len(h) for name, h in hist.items()} == {"egru": 3, "gru": 1, "lstm": 2}
    assert [e["lr"] for e in hist["lstm"]] == [0.002, 0.002]
    assert [e["lr"] for e in hist["egru"]] == [0.01] * 3 and [e["lr"] for e in hist["gru"]] == [0.01]
    from eventsim.scenario import load_scenario
    sc = load_scenario(str(tmp_path / "scenario.toml"))
    assert sc.model("egru")["loss"] == "trace" and sc.model("gru")["loss"] is None
    assert s["models"]["egru"]["engine_check"]["prediction_disagreements"] == 0


def test_parallel_training_gives_the_same_study_as_sequential(tmp_path):
    """--jobs 2 trains the models in worker processes; every figure but the timings
    equals the one-after-the-other study (seeded, single-threaded training)."""
    seq = run_study("tiny", out_dir=tmp_path / "seq", overrides=FAST[1::2], progress=False, jobs=1)
    par = run_study("tiny", out_dir=tmp_path / "par", overrides=FAST[1::2], progress=False, jobs=2)
    for name in ("egru", "gru", "lstm"):
        a, b = seq["models"][name], par["models"][name]
        for key in ("metric", "activity_sparsity", "effective_macs_per_step"):
            assert a[key] == b[key], (name, key)
        ca = json.loads((tmp_path / "seq" / name / "counts.json").read_text())
        cb = json.loads((tmp_path / "par" / name / "counts.json").read_text())
        assert ca == cb, name
        wa = np.load(tmp_path / "seq" / name / "model.npz")
        wb = np.load(tmp_path / "par" / name / "model.npz")
        for k in wa.files:
            if k != "meta":
                np.testing.assert_array_equal(wa[k], wb[k], err_msg=f"{name} {k}")


def test_bad_jobs_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["study", "tiny", "--jobs", "0"])
    assert e.value.code == 2 and "--jobs wants a positive integer" in capsys.readouterr().err


LM_SCENARIO = """
name = "lm-small"
description = "two-epoch LM smoke test"
[data]
name = "{data}"
train = "{dir}/train.txt"
valid = "{dir}/valid.txt"
test = "{dir}/test.txt"
seq_len = 12
[train]
epochs = 2
batch_size = 8
lr = 0.01
loss = "lm"
seed = 0
[[models]]
name = "egru"
kind = "egru"
units = [12]
thr_mean = 0.2
[[models]]
name = "gru"
kind = "gru"
units = [12]
[measure]
test_samples = 20
raster_samples = 0
"""


@pytest.mark.parametrize("data, metric", [("text-char", "bpc"), ("text-word", "perplexity")])
def test_lm_intervals_and_paired_test_agree_with_the_metrics(tmp_path, data, metric):
    """A language model's interval is the t interval of the mean per-token cross-entropy over
    the test sequences, so it is centred on the reported metric (bpc: arithmetically, the
    map CE/ln 2 is linear; perplexity: geometrically, exp maps the midpoint to the geometric
    mean). The paired comparison explains the metric gap exactly: mean per-sequence
    difference = bpc difference, and ratio = bpc or perplexity ratio."""
    from eventsim.study import uncertainty_lines
    words = "the cat sat on the mat and the dog ran to the cat by the door".split()
    rng = np.random.default_rng(0)
    for split, n in (("train", 600), ("valid", 200), ("test", 400)):
        lines = [" ".join(rng.choice(words, 8)) for _ in range(n // 8)]
        (tmp_path / f"{split}.txt").write_text("\n".join(lines) + "\n")
    sc = tmp_path / "lm.toml"
    sc.write_text(LM_SCENARIO.format(data=data, dir=tmp_path.as_posix()))
    s = run_study(str(sc), out_dir=tmp_path / "out", progress=False)
    assert s["metric"] == metric
    n = s["test_samples"]
    for name, v in s["models"].items():
        lo, hi = v["metric_ci95"]
        assert lo < v["metric"] < hi, name
        centre = (lo + hi) / 2 if metric == "bpc" else (lo * hi) ** 0.5
        # rel 1e-6: a dense model's metric comes from float32 logits, the scores from float64
        assert centre == pytest.approx(v["metric"], rel=1e-6), name
    c = s["models"]["egru"]["vs_gru_model"]
    pr = c["paired"]
    assert pr["test"] == "paired_t" and pr["sequences"] == n and 0 < pr["p_value"] <= 1
    assert pr["ratio"] == pytest.approx(c["metric_ratio"], rel=1e-6)
    assert pr["ratio_ci95"][0] < pr["ratio"] < pr["ratio_ci95"][1]
    if metric == "bpc":
        assert pr["difference"] == pytest.approx(c["metric_difference"], rel=1e-5, abs=1e-6)
        assert pr["difference_ci95"][0] < pr["difference"] < pr["difference_ci95"][1]
    else:
        assert pr["difference"] is None and pr["difference_ci95"] is None
    lines = uncertainty_lines(s)
    assert len(lines) == 2 and "t interval" in lines[0] and "paired t-test" in lines[1]
    assert lines[1] in (tmp_path / "out" / "summary.md").read_text()


def test_summary_files_survive_a_failed_write(tmp_path, monkeypatch):
    """A failure while a summary file is written (issue 17) leaves the previous file whole
    and no temporary file; the files before it are complete new ones."""
    import os

    import eventsim.outputs as outputs
    from eventsim.study.summary import write_summary
    from pathlib import Path
    s = json.loads((Path(__file__).resolve().parents[1] / "docs/results/digits/summary.json").read_text())
    for f in ("summary.json", "summary.md", "summary.csv"):
        (tmp_path / f).write_text("old " + f)
    real = outputs.os.fsync

    def fsync(fd):
        if ".summary.csv." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(28, "No space left on device")
        real(fd)
    monkeypatch.setattr(outputs.os, "fsync", fsync)
    with pytest.raises(OSError, match="No space"):
        write_summary(str(tmp_path), s)
    assert json.loads((tmp_path / "summary.json").read_text()) == s
    assert (tmp_path / "summary.md").read_text().startswith("# Study digits")
    assert (tmp_path / "summary.csv").read_text() == "old summary.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv", "summary.json", "summary.md"]


def test_event_totals_differing_by_rounding_are_not_a_warning(caplog):
    """Trainer and engine compute in float32 with different exp/tanh: a few events of states
    within rounding of their thresholds may differ. Within 1e-4 of a layer's events that is
    logged as information; beyond it, a warning. Both are recorded."""
    import logging
    from types import SimpleNamespace
    from eventsim.study.summary import silent_units
    spec = SimpleNamespace(layer_inputs=[4], n_out=3)
    units = [np.full(10, 5000), np.r_[np.zeros(2), np.full(8, 2000)]]  # 50,000 and 16,000 events
    cd = lambda e: {"samples": 10, "steps": 1000, "layers": [{"events": e[0]}, {"events": e[1]}]}
    with caplog.at_level(logging.INFO, logger="eventsim.study.summary"):
        same = silent_units(spec, units, cd([50000, 16000]))
        near = silent_units(spec, units, cd([50000, 16001]))
        far = silent_units(spec, units, cd([50000, 16010]))
    assert same["event_totals_match_engine"] and same["event_totals_within_tolerance"]
    assert not near["event_totals_match_engine"] and near["event_totals_within_tolerance"]
    assert not far["event_totals_match_engine"] and not far["event_totals_within_tolerance"]
    levels = [r.levelno for r in caplog.records if "event totals" in r.getMessage()]
    assert levels == [logging.INFO, logging.WARNING]
    assert same["silent"] == 2 and same["per_layer"] == [0, 2]
