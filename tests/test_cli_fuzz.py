"""Issue 17: random argument values and malformed files never give a traceback or lose a file.

Hypothesis feeds argument values (negative, zero, huge, NaN, non-numbers) and malformed
files (truncated archives, wrong dtypes and shapes, a meta of the wrong type, huge declared
sizes, text that is not UTF-8) to count, random-model, random-input, lif random-model,
lif poisson, lif run, import, export, plot and cost, in this process. Every call must end
with exit status 0, or 2 with exactly one ``eventsim: error:`` line; never a traceback; no
input file may change; an output is either absent or complete, and no temporary file is
left behind (nothing at all after a refusal).
"""
import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile

import numpy as np
import pytest

hyp = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import eventsim  # noqa: E402
import eventsim.lif  # noqa: E402
from eventsim.cli import main  # noqa: E402

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])



def mix(good, bad):
    """Two times in three a valid value (so that later checks are reached), else a bad one."""
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(bad))


# a few numbers of every kind, as text (argparse sees text)
INTS = mix(["1", "2", "3"], ["-1", "0", "7", "-100", "4.5", "x", "10000000000000"])
SMALL = st.sampled_from(["1", "2", "3", "5"])
FLOATS = mix(["0.1", "0.5", "0.3"], ["0", "1", "-1", "2", "nan", "inf", "-inf", "1e308", "abc"])


def _write_inputs(d):
    rng = np.random.default_rng(0)
    m = eventsim.random_model(4, [6], n_out=3, seed=0, thr_mean=0.1)
    eventsim.save_model(m, d / "m.npz")
    eventsim.save_model(eventsim.random_model(4, [5], vocab=5, seed=1), d / "m_emb.npz")
    good = dict(np.load(d / "m.npz"))
    raw = (d / "m.npz").read_bytes()
    (d / "m_trunc.npz").write_bytes(raw[: len(raw) // 2])
    for name, change in {"m_dtype": {"layer0.kernel": good["layer0.kernel"].astype(np.int32)},
                         "m_shape": {"layer0.kernel": good["layer0.kernel"][:, :5]},
                         "m_meta_int": {"meta": np.array(5)},
                         "m_meta_list": {"meta": np.array("[1, 2]")},
                         "m_meta_reset": {"meta": np.array(json.dumps({"reset": [1]}))},
                         "m_thr_str": {"layer0.thr": np.array(["a"] * 6)}}.items():
        np.savez(d / f"{name}.npz", **{**good, **change})
    x = (rng.normal(size=(2, 8, 4)) * (rng.random((2, 8, 4)) < 0.5)).astype(np.float32)
    np.save(d / "x.npy", x)
    np.save(d / "x_T.npy", x[0])
    np.save(d / "x_complex.npy", x.astype(np.complex64))
    np.save(d / "x_shape.npy", x[:, :, :3])
    np.save(d / "x_nan.npy", np.full((2, 3, 4), np.nan, np.float32))
    np.save(d / "tok.npy", rng.integers(0, 5, size=(2, 6)))
    (d / "x_trunc.npy").write_bytes((d / "x.npy").read_bytes()[:60])
    s = eventsim.EventStream.from_dense(x)
    s.save(d / "s.npz")
    sd = dict(np.load(d / "s.npz"))
    for name, change in {"s_nsteps_arr": {"n_steps": np.array([8, 9])},
                         "s_nsteps_float": {"n_steps": np.array(8.5)},
                         "s_neg": {"n_samples": np.array(-1)},
                         "s_huge": {"n_samples": np.array(10 ** 12)},
                         "s_huge_steps": {"n_steps": np.array(2 ** 62)},
                         "s_t_float": {"t": sd["t"].astype(np.float64)},
                         "s_unsorted": {"sample": sd["sample"][::-1].copy()},
                         "s_value_str": {"value": np.array(["v"] * len(sd["t"]))}}.items():
        np.savez(d / f"{name}.npz", **{**sd, **change})
    raw = (d / "s.npz").read_bytes()
    (d / "s_trunc.npz").write_bytes(raw[: len(raw) // 3])
    lif = eventsim.lif.random_lif_model(4, 10, fanout_in=3, fanout_rec=2, seed=0)
    eventsim.lif.save_lif(lif, d / "L.npz")
    ld = dict(np.load(d / "L.npz"))
    np.savez(d / "L_delay_float.npz", **{**ld, "recurrent.delay": ld["recurrent.delay"] + 0.5})
    np.savez(d / "L_meta.npz", **{**ld, "meta": np.array(json.dumps({"dt": "fast"}))})
    from eventsim.interop import export_checkpoint
    export_checkpoint(m, d / "ms.safetensors")
    raw = (d / "ms.safetensors").read_bytes()
    (d / "ms_trunc.safetensors").write_bytes(raw[: len(raw) // 2])
    (d / "ms_garbage.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
    counts = eventsim.simulate(m, x).counts.to_dict()
    (d / "counts.json").write_text(json.dumps(counts))
    (d / "counts_bad.json").write_text("{not json")
    (d / "counts_list.json").write_text("[1, 2]")
    (d / "counts_missing.json").write_text(json.dumps({"samples": 1}))
    (d / "not_utf8.json").write_bytes(b"\xff\xfe{}")
    (d / "prof_bad.toml").write_bytes(b"\xff\xfe name = 1")
    (d / "prof_empty.toml").write_text("")
    (d / "adir").mkdir()
    res = d / "results"
    (res / "egru").mkdir(parents=True)
    (res / "egru" / "counts.json").write_text(json.dumps(counts))
    (res / "summary.json").write_text(json.dumps({"models": {"egru": {"kind": "egru"}}}))
    (d / "results_bad").mkdir()
    (d / "results_bad" / "egru").mkdir()
    (d / "results_bad" / "egru" / "counts.json").write_text("[]")


def _hashes(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            out[os.path.relpath(p, folder)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz_inputs")
    _write_inputs(d)
    return d, _hashes(d)


def _complete(path):
    """An output file that can be read back whole."""
    if path.endswith(".npz") or path.endswith(".npy"):
        with contextlib.ExitStack() as stack:
            z = np.load(path, allow_pickle=False)
            if hasattr(z, "files"):
                stack.enter_context(z)
                for k in z.files:
                    z[k]
    elif path.endswith(".json"):
        json.load(open(path))
    elif path.endswith(".png"):
        assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    elif path.endswith(".safetensors"):
        from safetensors.numpy import load_file
        load_file(path)


def run_checked(world, argv, results_copy=False):
    """Run ``eventsim ARGV`` (placeholders: {in} inputs folder, {out} a fresh output folder)."""
    d, hashes = world
    out = tempfile.mkdtemp(dir=d.parent)
    try:
        if results_copy:
            shutil.copytree(d / "results", os.path.join(out, "results"))
        before_out = _hashes(out)
        argv = [a.format(in_=d, out=out) for a in argv]
        o, e = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            try:
                rc = main(argv)
            except SystemExit as ex:  # argparse: a value that is not a number
                rc = ex.code
        err = e.getvalue()
        assert "Traceback" not in err, (argv, err)
        assert rc in (0, 2), (argv, rc, err)
        if rc == 2:
            lines = [l for l in err.splitlines() if "eventsim: error:" in l]
            assert len(lines) == 1 and lines[0].startswith("eventsim: error: "), (argv, err)
        assert _hashes(d) == hashes, f"an input file changed: {argv}"
        written = {}
        for root, _, files in os.walk(out):
            for f in files:
                written[os.path.relpath(os.path.join(root, f), out)] = os.path.join(root, f)
        assert not [f for f in written if os.path.basename(f).startswith(".")], (argv, written)
        if rc == 2:
            assert _hashes(out) == before_out, (argv, err, sorted(written))
        for rel, p in written.items():
            if rel not in before_out:
                _complete(p)
        return rc, o.getvalue(), err
    finally:
        shutil.rmtree(out, ignore_errors=True)


MODELS = mix(["m.npz", "m.npz", "m_emb.npz"], ["m_trunc.npz", "m_dtype.npz", "m_shape.npz", "m_meta_int.npz",
                          "m_meta_list.npz", "m_meta_reset.npz", "m_thr_str.npz", "missing.npz", "L.npz", "s.npz",
                          "adir"])
INPUTS = mix(["x.npy", "x_T.npy", "s.npz", "tok.npy"], ["x_complex.npy", "x_shape.npy", "x_nan.npy", "x_trunc.npy", "s_nsteps_arr.npz", "s_nsteps_float.npz", "s_neg.npz", "s_huge.npz",
                          "s_huge_steps.npz", "s_t_float.npz", "s_unsorted.npz", "s_value_str.npz", "s_trunc.npz",
                          "m.npz", "missing.npy", "counts.json", "adir"])
OUTS = mix(["{out}/o.json", "{out}/new/o.json"], ["{out}", "{in_}/x.npy", "{in_}/m.npz", "{in_}/adir",
                                                  "{in_}/m.npz/o.json"])


def opt(flag, values):
    """Not given, or ``--flag=VALUE`` (the = form lets negative numbers through argparse)."""
    return st.one_of(st.just([]), values.map(lambda v: [f"{flag}={v}"] if isinstance(v, str) else [flag, *v]))


@SETTINGS
@given(model=MODELS, inp=INPUTS, json_out=opt("--json", OUTS), save=opt("--save-outputs", OUTS),
       steps=opt("--steps", INTS), delays=opt("--delays", st.sampled_from(["0:1", "1.5:0", "-1:0", "a", "0:0,0:0"])),
       threads=opt("--threads", INTS), engine=st.sampled_from(["event", "dense"]))
def test_count(world, model, inp, json_out, save, steps, delays, threads, engine):
    save = [a.replace(".json", ".npz") for a in save]
    run_checked(world, ["count", "--model", "{in_}/" + model, "--input", "{in_}/" + inp, "--quiet",
                        "--engine", engine, *json_out, *save, *steps, *delays, *threads])


@SETTINGS
@given(inputs=INTS, layers=mix(["4", "3,3"], ["0", "-2", "a,b", "", "4,0"]), outputs=opt("--outputs", INTS),
       vocab=opt("--vocab", INTS), density=opt("--density", FLOATS), thr=opt("--thr-mean", FLOATS),
       seed=opt("--seed", INTS), out=mix(["{out}/m.npz", "{out}/d/m.npz"], ["{out}", "{in_}/m.npz/x.npz"]))
def test_random_model(world, inputs, layers, outputs, vocab, density, thr, seed, out):
    if "10000000000000" in (inputs,) + tuple(outputs) + tuple(vocab):
        inputs = "3"  # a model that large is refused by its memory estimate; keep the test fast
    run_checked(world, ["random-model", "--inputs", inputs, "--layers", layers, *outputs, *vocab, *density,
                        *thr, *seed, "--out", out])


@SETTINGS
@given(model=MODELS, samples=mix(["1", "2"], ["0", "-1", "x", "100000000000"]),
       steps=mix(["1", "5"], ["0", "-3", "2.5", "100000000000"]), density=opt("--density", FLOATS),
       seed=opt("--seed", INTS), out=mix(["{out}/x.npy", "{out}/s.npz"], ["{out}/x.txt", "{in_}/m.npz", "{out}"]))
def test_random_input(world, model, samples, steps, density, seed, out):
    run_checked(world, ["random-input", "--model", "{in_}/" + model, "--samples", samples, "--steps", steps,
                        *density, *seed, "--out", out])


@SETTINGS
@given(inputs=SMALL, units=mix(["100", "150"], ["1", "0", "-1"]), fin=opt("--fanout-in", INTS),
       frec=opt("--fanout-rec", INTS), w=opt("--w-in", st.tuples(FLOATS, FLOATS).map(list)),
       dly=opt("--delay-rec", st.tuples(INTS, INTS).map(list)), tau=opt("--tau", FLOATS), dt=opt("--dt", FLOATS),
       refr=opt("--refractory", INTS), seed=opt("--seed", INTS))
def test_lif_random_model(world, inputs, units, fin, frec, w, dly, tau, dt, refr, seed):
    flat = lambda v: [v[0], *v[1]] if v else []  # noqa: E731
    if "10000000000000" in fin + frec + dly + refr:
        return  # a fan-out or delay that large is refused by the units check before any allocation
    run_checked(world, ["lif", "random-model", "{out}/L.npz", "--inputs", inputs, "--units", units, *fin, *frec,
                        *flat(w), *flat(dly), *tau, *dt, *refr, *seed])


@SETTINGS
@given(channels=mix(["1", "3"], ["0", "-1", "x"]), steps=mix(["1", "20"], ["0", "-5"]),
       rate=opt("--rate", mix(["10", "100"], ["-1", "nan", "inf", "1e9"])), dt=opt("--dt", mix(["1e-4"], ["0", "-1", "nan"])),
       samples=opt("--samples", mix(["1", "2"], ["0", "-2"])),
       seed=opt("--seed", INTS), out=mix(["{out}/p.npz"], ["{in_}/s.npz", "{out}"]))
def test_lif_poisson(world, channels, steps, rate, dt, samples, seed, out):
    run_checked(world, ["lif", "poisson", out, f"--channels={channels}", f"--steps={steps}", *rate, *dt, *samples,
                        *seed])


@SETTINGS
@given(model=mix(["L.npz"], ["L_delay_float.npz", "L_meta.npz", "m.npz", "m_trunc.npz", "s.npz"]),
       inp=INPUTS, steps=opt("--steps", INTS), json_out=opt("--json", OUTS),
       spikes=opt("--spikes", mix(["{out}/sp.npz"], ["{in_}/s.npz", "{out}"])),
       engine=st.sampled_from(["event", "reference"]))
def test_lif_run(world, model, inp, steps, json_out, spikes, engine):
    run_checked(world, ["lif", "run", "--model", "{in_}/" + model, "--input", "{in_}/" + inp, "--engine", engine,
                        *steps, *json_out, *spikes])


@SETTINGS
@given(ckpt=mix(["ms.safetensors"], ["ms_trunc.safetensors", "ms_garbage.safetensors", "m.npz",
                                      "missing.safetensors", "adir"]),
       out=mix(["{out}/back.npz"], ["{in_}/ms.safetensors", "{out}"]),
       thr=opt("--gru-threshold", FLOATS), model=MODELS,
       to=mix(["{out}/e.safetensors"], ["{out}/e.txt", "{in_}/m.npz", "{out}"]))
def test_import_export(world, ckpt, out, thr, model, to):
    run_checked(world, ["import", "{in_}/" + ckpt, "--out", out, *thr])
    run_checked(world, ["export", "{in_}/" + model, "--to", to])


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["savings", "raster", "tradeoff"]),
       src=mix(["counts.json", "x.npy", "s.npz"], ["counts_bad.json", "counts_list.json", "counts_missing.json",
                            "not_utf8.json", "results", "adir", "missing.json"]),
       model=opt("--model", mix(["{in_}/m.npz"], ["{in_}/m_trunc.npz", "{in_}/m_emb.npz"])),
       dpi=opt("--dpi", mix(["20"], ["-5", "0"])),
       out=opt("--out", mix(["{out}/f.png"], ["{out}/f.jpg", "{in_}/x.npy", "{out}"])))
def test_plot(world, kind, src, model, dpi, out):
    if kind != "raster":
        model = []
    out = out or ["--out", "{out}/default.png"]  # never next to the inputs
    run_checked(world, ["plot", kind, "{in_}/" + src, *model, *dpi, *out])


@SETTINGS
@given(mode=st.sampled_from(["model", "results", "results", "results_bad"]),
       model=MODELS, inp=INPUTS,
       hw=st.lists(mix(["loihi", "gpu-dense"], ["nochip", "{in_}/prof_bad.toml", "{in_}/prof_empty.toml"]),
                   max_size=2),
       cores=opt("--cores", INTS), json_out=opt("--json", OUTS), event_op=st.sampled_from(["mac", "ac"]))
def test_cost(world, mode, model, inp, hw, cores, json_out, event_op):
    hwargs = [a for h in hw for a in ("--hardware", h)]
    common = [*hwargs, *cores, *json_out, "--event-op", event_op, "--quiet"]
    if mode == "model":
        run_checked(world, ["cost", "--model", "{in_}/" + model, "--input", "{in_}/" + inp, *common])
    elif mode == "results":
        run_checked(world, ["cost", "{out}/results", *common], results_copy=True)
    else:
        run_checked(world, ["cost", "{in_}/results_bad", *common])
