"""Issue 17: never a traceback, never a lost file.

Every class of the issue's subset, through the real entry point ``eventsim.cli.main``:
the output rule (checked before any work, same-file-as-input refused), atomic writes with
normal permissions, the cost tables beside the study's, operating-system errors as one
line, and argument values validated like files. Each refusal is exit status 2 with exactly
one ``eventsim: error:`` line, no traceback, the inputs unchanged and nothing left behind.
"""
import contextlib
import hashlib
import io
import json
import os
import stat

import numpy as np
import pytest

import eventsim
from eventsim.cli import main
from eventsim._fmt import format_sparsity
from eventsim.outputs import atomic_write, check_outputs, normal_mode
from eventsim.errors import EventsimError

ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def cli(*argv):
    """(exit status, stdout, stderr) of ``eventsim ARGV`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as e:  # argparse's own usage errors
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def refused(res, match=""):
    rc, _, err = res
    assert rc == 2, err
    lines = [l for l in err.splitlines() if "eventsim: error:" in l]
    assert len(lines) == 1 and lines[0].startswith("eventsim: error: "), err
    assert "Traceback" not in err, err
    assert match in lines[0], lines[0]
    return lines[0]


def snapshot(folder):
    """{relative path: sha256} of every file under ``folder`` (hidden ones included)."""
    out = {}
    for d, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, folder)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


@pytest.fixture
def files(tmp_path):
    """A folder with an EGRU model, dense and event inputs, a LIF model and a checkpoint."""
    d = tmp_path
    m = eventsim.random_model(4, [6, 6], n_out=3, seed=0, thr_mean=0.1)
    eventsim.save_model(m, d / "m.npz")
    x = np.random.default_rng(0).normal(size=(2, 12, 4)).astype(np.float32)
    np.save(d / "x.npy", x)
    eventsim.EventStream.from_dense(x).save(d / "s.npz")
    assert cli("lif", "random-model", d / "L.npz", "--inputs", 4, "--units", 10, "--fanout-in", 3)[0] == 0
    assert cli("export", d / "m.npz", "--to", d / "ms.safetensors")[0] == 0
    (d / "adir").mkdir()
    return d


@pytest.fixture
def no_simulation(monkeypatch):
    """Any simulation is a test failure: the refusal must come before the work."""
    import importlib

    sim = importlib.import_module("eventsim.egru.simulate")
    lif = importlib.import_module("eventsim.lif")

    def boom(*a, **k):
        raise AssertionError("the command computed before checking its outputs")
    monkeypatch.setattr(sim, "simulate", boom)
    monkeypatch.setattr(lif, "simulate_lif", boom)


# -- 1. one rule for every output, before any work ------------------------------------------
REFUSALS = [
    (["count", "--model", "{d}/m.npz", "--input", "{d}/x.npy", "--json", "{d}/adir"], "is a folder"),
    (["count", "--model", "{d}/m.npz", "--input", "{d}/x.npy", "--save-outputs", "{d}/m.npz"],
     "same file as the input --model"),
    (["count", "--model", "{d}/m.npz", "--input", "{d}/x.npy", "--json", "{d}/x.npy"], "same file as the input --input"),
    (["count", "--model", "{d}/m.npz", "--input", "{d}/x.npy", "--json", "{d}/o", "--save-outputs", "{d}/o"],
     "name the same file"),
    (["count", "--model", "{d}/m.npz", "--input", "{d}/x.npy", "--json", "{d}/m.npz/c.json"], "is a file"),
    (["random-input", "--model", "{d}/m.npz", "--steps", "5", "--out", "{d}/m.npz"], "same file as the input --model"),
    (["random-model", "--inputs", "3", "--layers", "4", "--out", "{d}/adir"], "is a folder"),
    (["import", "{d}/ms.safetensors", "--out", "{d}/ms.safetensors"], "same file as the input"),
    (["export", "{d}/m.npz", "--to", "{d}/m.npz"], "same file as the input"),
    (["lif", "run", "--model", "{d}/L.npz", "--input", "{d}/s.npz", "--spikes", "{d}/s.npz"], "same file as the input"),
    (["lif", "run", "--model", "{d}/L.npz", "--input", "{d}/s.npz", "--json", "{d}/L.npz"], "same file as the input"),
    (["lif", "random-model", "{d}/adir", "--inputs", "3", "--units", "4"], "is a folder"),
    (["lif", "poisson", "{d}/adir", "--channels", "3", "--steps", "4"], "is a folder"),
    (["cost", "--model", "{d}/m.npz", "--input", "{d}/x.npy", "--json", "{d}/x.npy"], "same file as the input"),
    (["plot", "raster", "{d}/x.npy", "--model", "{d}/m.npz", "--out", "{d}/adir"], "is a folder"),
    (["data", "export", "digits", "--out", "{d}/adir/../m.npz/x.npy"], "is a file"),
]


@pytest.mark.parametrize("argv, match", REFUSALS)
def test_outputs_refused_before_any_work(files, no_simulation, argv, match):
    before = snapshot(files)
    refused(cli(*[a.format(d=files) for a in argv]), match)
    assert snapshot(files) == before  # inputs unchanged, nothing (not even a temporary file) added


def test_same_file_through_links_is_refused(files, no_simulation):
    os.link(files / "m.npz", files / "hard.npz")
    os.symlink(files / "m.npz", files / "soft.npz")
    before = snapshot(files)
    for alias in ("hard.npz", "soft.npz", "./adir/../m.npz"):
        refused(cli("count", "--model", files / "m.npz", "--input", files / "x.npy",
                    "--save-outputs", files / alias), "same file as the input --model")
    assert snapshot(files) == before


def test_missing_parent_folders_are_created(files):
    out = files / "new" / "deeper" / "m.npz"
    rc, text, err = cli("random-model", "--inputs", "3", "--layers", "4", "--out", out)
    assert rc == 0, err
    assert eventsim.load_model(out).n_in == 3


@pytest.mark.skipif(ROOT, reason="root may write anywhere")
def test_unwritable_folder_and_read_only_file(files, no_simulation):
    ro = files / "ro"
    ro.mkdir()
    (files / "keep.json").write_text("{}")
    os.chmod(files / "keep.json", 0o444)
    os.chmod(ro, 0o555)
    try:
        refused(cli("count", "--model", files / "m.npz", "--input", files / "x.npy", "--json", ro / "c.json"),
                "permission denied")
        refused(cli("count", "--model", files / "m.npz", "--input", files / "x.npy", "--json",
                    files / "keep.json"), "read-only")
    finally:
        os.chmod(ro, 0o755)
    assert (files / "keep.json").read_text() == "{}"


def test_unwritable_places_as_the_os_reports_them(files, no_simulation, monkeypatch):
    """The same refusals for any user (root included): os.access says what may be written."""
    import eventsim.outputs as outputs

    (files / "keep.json").write_text("{}")
    denied = {str(files / "ro"), str(files / "keep.json")}
    (files / "ro").mkdir()
    monkeypatch.setattr(outputs.os, "access", lambda p, mode: os.fspath(p) not in denied)
    refused(cli("count", "--model", files / "m.npz", "--input", files / "x.npy", "--json", files / "ro" / "c.json"),
            "permission denied")
    refused(cli("count", "--model", files / "m.npz", "--input", files / "x.npy", "--json",
                files / "ro" / "new" / "c.json"), "permission denied")
    refused(cli("count", "--model", files / "m.npz", "--input", files / "x.npy", "--json", files / "keep.json"),
            "read-only")
    assert (files / "keep.json").read_text() == "{}" and os.listdir(files / "ro") == []


def test_report_twin_may_not_replace_a_study_file(tmp_path):
    d = tmp_path / "study"
    d.mkdir()
    (d / "summary.json").write_text("{}")
    (d / "summary.md").write_text("the study's table")
    before = snapshot(d)
    refused(cli("report", d, "--out", d / "summary.html"), "Markdown twin")
    assert snapshot(d) == before


# -- 2. atomic writes with normal permissions -----------------------------------------------
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_written_files_get_the_normal_mode(files, mask):
    old = os.umask(mask)
    try:
        outs = {"m2.npz": ["random-model", "--inputs", "4", "--layers", "5", "--out"],
                "c.json": ["count", "--model", files / "m.npz", "--input", files / "x.npy", "--quiet", "--json"],
                "e.safetensors": ["export", files / "m.npz", "--to"],
                "ev.npz": ["random-input", "--model", files / "m.npz", "--steps", "4", "--out"],
                "L2.npz": ["lif", "random-model", "--inputs", "3", "--units", "4", "--fanout-in", "1"],
                "r.png": ["plot", "raster", files / "x.npy", "--model", files / "m.npz", "--dpi", "20", "--out"]}
        for name, argv in outs.items():
            argv = argv + [files / name] if argv[0] != "lif" else argv[:2] + [files / name] + argv[2:]
            rc, _, err = cli(*argv)
            assert rc == 0, err
            assert stat.S_IMODE(os.stat(files / name).st_mode) == 0o666 & ~mask, name
    finally:
        os.umask(old)
    assert not [f for f in os.listdir(files) if f.startswith(".")]  # no temporary file left


def test_an_existing_file_keeps_its_mode(files):
    out = files / "c.json"
    out.write_text("old")
    os.chmod(out, 0o640)
    assert cli("count", "--model", files / "m.npz", "--input", files / "x.npy", "--quiet", "--json", out)[0] == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640 and json.loads(out.read_text())["steps"] == 12


@pytest.mark.parametrize("exc, code", [(OSError(28, "No space left on device"), 2), (KeyboardInterrupt(), 130)])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(files, monkeypatch, exc, code):
    out = files / "o.npz"
    out.write_bytes(b"the previous outputs")

    def savez(f, **arrays):  # half a file, then the failure
        f.write(b"PK\x03\x04 half")
        raise exc
    monkeypatch.setattr(np, "savez", savez)
    rc, _, err = cli("count", "--model", files / "m.npz", "--input", files / "x.npy", "--quiet",
                     "--save-outputs", out)
    assert rc == code and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert out.read_bytes() == b"the previous outputs"
    assert not [f for f in os.listdir(files) if f.startswith(".")]


def test_atomic_write_and_check_outputs_directly(tmp_path):
    p = tmp_path / "a" / "b.txt"
    with atomic_write(p, "w") as f:
        f.write("x")
        assert not p.exists()  # nothing at the target until the block ends
    assert p.read_text() == "x" and stat.S_IMODE(os.stat(p).st_mode) == normal_mode()
    with pytest.raises(EventsimError, match="same file as the input --in"):
        check_outputs([("--out", p)], [("--in", str(tmp_path / "a" / ".." / "a" / "b.txt"))])
    check_outputs([("--out", None), ("--x", tmp_path / "fresh.txt")], [("--in", None)])


# -- 3. a cost run never replaces the study's five-profile tables ---------------------------
def test_cost_with_one_profile_writes_beside_the_study_tables(files, tmp_path):
    root = tmp_path / "results"
    (root / "egru").mkdir(parents=True)
    model = eventsim.load_model(files / "m.npz")
    res = eventsim.simulate(model, np.load(files / "x.npy"))
    (root / "egru" / "counts.json").write_text(json.dumps(res.counts.to_dict()))
    (root / "summary.json").write_text(json.dumps({"models": {"egru": {"kind": "egru"}}}))
    assert cli("cost", root, "--quiet")[0] == 0  # what the study writes: every shipped profile
    study_tables = {k: v for k, v in snapshot(root).items() if "cost" in k}
    five = json.loads((root / "cost.json").read_text())["profiles"]
    assert len(five) >= 5
    rc, text, err = cli("cost", root, "--hardware", "loihi")
    assert rc == 0, err
    assert {k: v for k, v in snapshot(root).items() if k in study_tables} == study_tables
    beside = json.loads((root / "cost-loihi.json").read_text())
    assert beside["profiles"] == ["loihi"] and (root / "cost-loihi.md").is_file()
    assert (root / "egru" / "cost-loihi.json").is_file() and "cost-loihi.json" in text
    assert cli("cost", root, "--quiet")[0] == 0  # the default run keeps its own name
    assert json.loads((root / "cost.json").read_text())["profiles"] == five
    refused(cli("cost", root, "--json", root / "egru" / "counts.json"), "same file as the input")


# -- 4. the entry point: operating-system errors, bad text, memory, Ctrl-C ------------------
@pytest.mark.parametrize("exc, match", [
    (PermissionError(13, "Permission denied", "/x/y.npz"), "'/x/y.npz': permission denied"),
    (IsADirectoryError(21, "Is a directory", "adir"), "is a directory"),
    (FileNotFoundError(2, "No such file or directory", "gone.npz"), "no such file"),
    (OSError(28, "No space left on device"), "no space left"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "not UTF-8"),
    (MemoryError("Unable to allocate 8 TiB"), "out of memory"),
])
def test_os_errors_are_one_line(monkeypatch, exc, match):
    import eventsim.commands.count as count

    def run(args):
        raise exc
    monkeypatch.setattr(count, "run", run)
    refused(cli("count", "--model", "m.npz", "--input", "x.npy"), match)


def test_ctrl_c_is_one_line_and_130(monkeypatch):
    import eventsim.commands.count as count

    def run(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(count, "run", run)
    rc, _, err = cli("count", "--model", "m.npz", "--input", "x.npy")
    assert rc == 130 and err.strip() == "eventsim: interrupted"


def test_a_closed_pipe_is_quiet(monkeypatch):
    import eventsim.commands.count as count

    def run(args):
        raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setattr(count, "run", run)
    assert cli("count", "--model", "m.npz", "--input", "x.npy")[::2] == (141, "")


def test_a_file_that_is_not_utf8_is_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe name = 1")
    refused(cli("scenario", "check", bad), "not UTF-8")
    refused(cli("cost", "--model", "m.npz", "--input", "x.npy", "--hardware", bad), "not UTF-8")


def test_argparse_errors_use_the_same_line():
    line = refused(cli("count", "--model", "m.npz", "--input", "x.npy", "--steps", "many"), "--steps")
    assert line.endswith("(see 'eventsim count --help')")


# -- 5. argument values validated like files ------------------------------------------------
VALUES = [
    (["random-model", "--inputs", "3", "--layers", "4", "--seed", "-1", "--out", "{d}/z.npz"], "--seed -1 must be >= 0"),
    (["random-model", "--inputs", "3", "--layers", "4", "--vocab", "0", "--out", "{d}/z.npz"], "--vocab 0"),
    (["random-model", "--inputs", "3", "--layers", "4,0", "--out", "{d}/z.npz"], ">= 1 unit"),
    (["random-model", "--inputs", "3", "--layers", "4", "--density", "nan", "--out", "{d}/z.npz"], "finite"),
    (["random-input", "--model", "{d}/m.npz", "--steps", "4", "--seed", "-2", "--out", "{d}/z.npy"], "--seed"),
    (["lif", "random-model", "{d}/z.npz", "--inputs", "3", "--units", "5", "--fanout-in", "2",
      "--w-in", "0.3", "-1"], "std = -1.0"),
    (["lif", "random-model", "{d}/z.npz", "--inputs", "3", "--units", "5", "--fanout-in", "2", "--seed", "-1"],
     "--seed"),
    (["lif", "poisson", "{d}/z.npz", "--channels", "3", "--steps", "5", "--seed", "-1"], "--seed"),
    (["lif", "run", "--model", "{d}/L.npz", "--input", "{d}/x.npy", "--steps", "5"], "event-stream (.npz) inputs only"),
    (["report", "{d}", "--dpi", "-5"], "--dpi -5"),
    (["report", "{d}", "--dpi", "0"], "--dpi 0"),
    (["plot", "raster", "{d}/x.npy", "--model", "{d}/m.npz", "--dpi", "0"], "--dpi 0"),
    (["count", "--model", "{d}/m.npz", "--input", "{d}/x.npy", "--steps", "5"], "event-stream (.npz) inputs only"),
    (["count", "--model", "{d}/m.npz", "--input", "{d}/s.npz", "--steps", "0"], "--steps 0"),
    (["count", "--model", "{d}/m.npz", "--input", "{d}/x.npy", "--threads", "0"], "--threads 0"),
    (["cost", "--model", "{d}/m.npz", "--input", "{d}/x.npy", "--timing", "--cores", "0"], "--cores 0"),
    (["lif", "run", "--model", "{d}/m.npz", "--input", "{d}/s.npz"], "'eventsim count'"),
    (["plot", "tradeoff", "{d}/adir"], "holds no summary.json"),
]


@pytest.mark.parametrize("argv, match", VALUES)
def test_argument_values_refused(files, argv, match):
    before = snapshot(files)
    line = refused(cli(*[a.format(d=files) for a in argv]), match)
    assert "eventsim run" not in line
    assert snapshot(files) == before


def test_steps_equal_to_the_array_length_is_honoured(files):
    rc, _, err = cli("count", "--model", files / "m.npz", "--input", files / "x.npy", "--steps", "12", "--quiet")
    assert rc == 0, err


@pytest.mark.parametrize("key, value, match", [
    ("n_steps", np.array([12, 13]), "n_steps must be a single integer"),
    ("n_steps", np.array(12.5), "n_steps must be an integer"),
    ("n_samples", np.array(-1), "n_samples = -1; it must be >= 0"),
    ("n_samples", np.array(10 ** 12), "GiB of memory"),
    ("n_steps", np.array(2 ** 62), "64-bit integers"),
    ("t", np.array([0.5]), "integer array"),
])
def test_malformed_event_streams(files, key, value, match):
    data = dict(np.load(files / "s.npz"))
    if key == "t":
        data = {k: v[:1] if v.ndim else v for k, v in data.items()}
    data[key] = value
    np.savez(files / "bad.npz", **data)
    before = snapshot(files)
    line = refused(cli("count", "--model", files / "m.npz", "--input", files / "bad.npz", "--quiet"), match)
    assert "declares only -1" not in line
    assert snapshot(files) == before


def test_model_meta_of_the_wrong_type(files):
    data = dict(np.load(files / "m.npz"))
    for meta in (np.array(5), np.array("[1, 2]"), np.array(["a", "b"])):
        data["meta"] = meta
        np.savez(files / "bad.npz", **data)
        refused(cli("count", "--model", files / "bad.npz", "--input", files / "x.npy"), "'meta'")


@pytest.mark.parametrize("group", [[], ["data"], ["plot"], ["lif"], ["scenario"]])
def test_bare_groups_print_help_and_exit_2(group):
    rc, out, err = cli(*group)
    assert rc == 2 and out.startswith("usage:") and err == ""


@pytest.mark.parametrize("fraction, events, shown", [
    (1.0, 0, "100.0%"), (0.99999, 3, "99.999%"), (1 - 1e-12, 1, ">99.9999%"), (0.5, 9, "50.0%"), (0.0, 0, "0.0%"),
])
def test_sparsity_with_events_never_reads_100_percent(fraction, events, shown):
    assert format_sparsity(fraction, events) == shown


def test_lif_run_prints_sparsity_as_percentage(files):
    rc, out, err = cli("lif", "run", "--model", files / "L.npz", "--input", files / "s.npz")
    assert rc == 0, err
    line = next(l for l in out.splitlines() if "activity sparsity" in l)
    assert line.rstrip().endswith("%") and "100.0%" not in line
