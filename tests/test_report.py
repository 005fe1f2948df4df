"""The study report: every figure embedded, the table, scenario and versions present,
no external asset; the Markdown twin's figure files exist; the CLI commands work."""
import base64
import json
import os
import re

import numpy as np
import pytest

from eventsim.cli import main
from eventsim.errors import EventsimError
from eventsim.plots import report as rep

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DPI = 40  # low resolution keeps the tests fast; figures are checked by eye at the default 150
SCENARIO = '[study]\nname = "tiny"\ntask = "digits"\n# a comment that must survive\n'


def counts_json(units=(12, 8), m=4, steps=20, samples=2):
    """A small but consistent SPEC §4 counts dict (hand-made figures)."""
    layers, ins = [], m
    tot = dict(dense=0, weight_sparse=0, activity_sparse=0, effective=0)
    st = steps * samples
    for n in units:
        dense = (ins + n) * 3 * n * st
        macs = {"dense": dense, "weight_sparse": dense // 2, "activity_sparse": dense // 5,
                "effective": dense // 10}
        layers.append({"inputs": ins, "units": n, "events": n * st // 5, "activity_sparsity": 0.8, "macs": macs})
        for k in tot:
            tot[k] += macs[k]
        ins = n
    gru = tot["dense"]
    lstm = sum(4 * l["units"] * (l["inputs"] + l["units"]) for l in layers) * st
    return {"samples": samples, "steps": steps, "layers": layers,
            "readout": {"macs": {"dense": 0, "effective": 0}},
            "total": {"activity_sparsity": 0.8, "macs": tot},
            "baselines": {"gru": {"macs": gru, "elementwise": 0, "total": gru},
                          "lstm": {"macs": lstm, "elementwise": 0, "total": lstm}}}


def make_study(root, with_cost=True):
    rng = np.random.default_rng(0)
    d = root / "tiny"
    d.mkdir()
    models = {
        "egru": {"kind": "egru", "units": [12, 8], "metric": 0.91, "activity_sparsity": 0.8,
                 "backward_sparsity": 0.55, "effective_macs_per_step": 123.4, "dense_macs_per_step": 1234.0,
                 "savings_vs_gru": 10.0, "savings_vs_lstm": 13.3, "engine_check": {"ok": False},
                 "metric_ci95": [0.838, 0.952],
                 "vs_gru_model": {"gru": "gru", "metric_difference": -0.02,
                                  "paired": {"only_first": 1, "only_second": 3, "p_value": 0.625}}},
        "gru": {"kind": "gru", "units": [12, 8], "metric": 0.93, "activity_sparsity": None,
                "backward_sparsity": None, "effective_macs_per_step": 1234.0, "dense_macs_per_step": 1234.0,
                "savings_vs_gru": 1.0, "savings_vs_lstm": 1.33, "metric_ci95": [0.863, 0.966]},
    }
    summary = {"scenario": "tiny", "task": "digits", "metric": "accuracy", "test_samples": 100,
               "versions": {"python": "3.11.0", "numpy": "2.4.0", "eventsim": "0.1.0"}, "models": models}
    (d / "summary.json").write_text(json.dumps(summary))
    (d / "scenario.toml").write_text(SCENARIO)
    (d / "egru").mkdir()
    (d / "gru").mkdir()
    (d / "egru" / "counts.json").write_text(json.dumps(counts_json()))
    hist = [{"epoch": e, "train_loss": 1.0 / (e + 1), "train_metric": 0.5, "val_metric": 0.5,
             "activity_sparsity": 0.6 + 0.05 * e, "backward": {"backward_sparsity": 0.4 + 0.03 * e},
             "seconds": 1.0} for e in range(4)]
    (d / "egru" / "history.json").write_text(json.dumps(hist))
    (d / "gru" / "history.json").write_text(json.dumps(
        [{"epoch": e, "activity_sparsity": None, "backward": None} for e in range(4)]))
    S, T = 3, 64
    y0 = ((rng.random((S, T, 12)) < 0.15) * (0.3 + rng.random((S, T, 12)))).astype(np.float32)
    y1 = ((rng.random((S, T, 8)) < 0.1) * (0.3 + rng.random((S, T, 8)))).astype(np.float32)
    x = rng.random((S, T, 1)).astype(np.float32)
    np.savez(d / "egru" / "raster.npz", **{"input": x, "layer0.y": y0, "layer1.y": y1})
    if with_cost:  # the table 'eventsim cost RESULTS_DIR' writes (format eventsim-cost-table/1)
        rows = [{"model": "egru", "workload": wl, "profile": prof, "executed_as": how,
                 "compute_pj": e / 2, "memory_pj": e / 4, "communication_pj": e / 8, "static_pj": e / 8,
                 "energy_pj": e, "energy_per_step_pj": e / 128, "macs": 1000}
                for prof, wl, how, e in (("loihi", "egru", "event", 2.5e6), ("loihi", "gru", "dense", 2.0e7),
                                         ("gpu-dense", "egru", "clocked", 3.0e8),
                                         ("gpu-dense", "gru", "dense", 3.0e8))]
        (d / "cost.json").write_text(json.dumps({"format": "eventsim-cost-table/1", "rows": rows}))
    return d


EXPECTED_FIGS = {"tradeoff", "sparsity_epochs", "egru_macs", "egru_raster", "egru_sparsity_steps", "egru_rates",
                 "egru_energy"}


def test_report_html_and_markdown(tmp_path):
    d = make_study(tmp_path)
    out = rep.write_report(d, dpi=DPI)
    assert out == str(d / "report.html")
    page = (d / "report.html").read_text()
    # every figure embedded once, each a valid PNG
    ids = re.findall(r'<figure id="fig-([^"]+)"><img alt="[^"]*" src="data:image/png;base64,([^"]+)"', page)
    assert {i for i, _ in ids} == EXPECTED_FIGS
    for _, b64 in ids:
        assert base64.b64decode(b64)[:8] == PNG_MAGIC
    # self-contained: no external reference of any kind
    assert not re.search(r'(src|href)="(?!data:|#)', page)  # only embedded data and in-page anchors
    assert "<script" not in page and "@import" not in page
    # the table: a header per column and the formatted values of the summary
    for text in ("<th>model</th>", "<th>accuracy</th>", "<td>egru</td>", "<td>gru</td>", "<td>91.00%</td>",
                 "<td>80.0%</td>", "<td>55.0%</td>", "<td>MISMATCH</td>", "<td>10.00x</td>", "<td>12×8</td>", "<td>123.4</td>"):
        assert text in page, text
    # scenario (escaped), hardware cost, versions of both environments
    assert "# a comment that must survive" in page and 'name = &quot;tiny&quot;' in page
    # the cost table: 2.5e6 pJ = 2.5 uJ on loihi (event-driven), 3e8 pJ = 300 uJ on the GPU (clocked)
    assert "<td>loihi</td><td>event</td><td>1.25 uJ</td>" in page and "<td>2.5 uJ</td>" in page
    assert "<td>300 uJ</td><td>2.34 uJ</td>" in page  # total and per step (3e8 / 128 pJ)
    import matplotlib
    import numpy
    for v in (numpy.__version__, matplotlib.__version__, "3.11.0", "2.4.0"):
        assert v in page
    md = (d / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert {l.split("/")[-1][:-4] for l in links} == EXPECTED_FIGS
    for l in links:
        assert (d / l).read_bytes()[:8] == PNG_MAGIC
    assert "| egru | egru | 12×8 | 91.00% |" in md and "```toml" in md
    # the sampling error recorded by the study, under the table in both
    for text in ("95% Wilson interval over the 100 test samples: egru 91.00% (83.8% to 95.2%); "
                 "gru 93.00% (86.3% to 96.6%).",
                 "egru -2.0 points: 1 sample right only for egru, 3 only for gru, p = 0.62"):
        assert text in page and text in md, text


def test_report_optional_files_and_custom_out(tmp_path):
    d = make_study(tmp_path, with_cost=False)
    for f in ("egru/raster.npz", "egru/counts.json", "scenario.toml"):
        (d / f).unlink()
    out = rep.write_report(d, out=tmp_path / "share" / "study.html", dpi=DPI)
    page = open(out).read()
    assert set(re.findall(r'<figure id="fig-([^"]+)"', page)) == {"tradeoff", "sparsity_epochs"}
    assert "Hardware cost" not in page and "scenario.toml not found" in page
    assert (tmp_path / "share" / "study.md").is_file()
    assert (tmp_path / "share" / "study_files" / "tradeoff.png").is_file()


def test_report_errors(tmp_path):
    with pytest.raises(EventsimError, match="does not exist"):
        rep.write_report(tmp_path / "nope")
    with pytest.raises(EventsimError, match="has no summary.json"):
        rep.write_report(tmp_path)
    d = make_study(tmp_path)
    with pytest.raises(EventsimError, match="must end in .html"):
        rep.write_report(d, out=tmp_path / "r.pdf")
    (d / "egru" / "history.json").write_text("[{")
    with pytest.raises(EventsimError, match="training history .* is not valid JSON"):
        rep.write_report(d)
    (d / "summary.json").write_text(json.dumps({"models": {"egru": 3}}))
    with pytest.raises(EventsimError, match="model entry 'egru' is not an object"):
        rep.write_report(d)
    (d / "summary.json").write_text(json.dumps({"models": {}}))
    with pytest.raises(EventsimError, match="at least one model"):
        rep.write_report(d)


def test_cli_report_and_plots(tmp_path, capsys):
    small = make_study(tmp_path / "small_root" if (tmp_path / "small_root").mkdir() is None else None,
                       with_cost=False)
    for f in ("egru/raster.npz", "egru/counts.json", "egru/history.json"):
        (small / f).unlink()  # one figure (the trade-off) is enough to test the command: faster
    assert main(["report", str(small), "--quiet", "--dpi", "40", "--out", str(tmp_path / "r.html")]) == 0
    assert main(["plot", "report", str(small), "--quiet", "--dpi", "40"]) == 0  # the alias
    assert (small / "report.html").is_file()
    d = make_study(tmp_path)
    assert (tmp_path / "r.html").is_file() and (tmp_path / "r.md").is_file()
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "eventsim: error: results folder" in capsys.readouterr().err
    outs = {"raster": tmp_path / "a.png", "savings": tmp_path / "b.png", "sparsity": tmp_path / "c.png",
            "tradeoff": tmp_path / "d.png"}
    assert main(["plot", "raster", str(d / "egru" / "raster.npz"), "--samples", "0,2", "--steps", "8:40",
                 "-o", str(outs["raster"]), "--dpi", "40"]) == 0
    assert main(["plot", "savings", str(d / "egru" / "counts.json"), "-o", str(outs["savings"]), "--dpi", "40"]) == 0
    assert main(["plot", "sparsity", str(d / "egru" / "history.json"), "-o", str(outs["sparsity"]), "--dpi", "40"]) == 0
    assert main(["plot", "tradeoff", str(d), "-o", str(outs["tradeoff"]), "--dpi", "40"]) == 0
    for p in outs.values():
        assert p.read_bytes()[:8] == PNG_MAGIC
    assert main(["plot", "sparsity", str(d / "egru" / "raster.npz"), "-o", str(tmp_path / "e.png"), "--dpi", "40"]) == 0
    assert main(["plot", "savings", str(d / "egru"), "--dpi", "40"]) == 0  # a model folder: figure inside it
    assert (d / "egru" / "savings.png").read_bytes()[:8] == PNG_MAGIC
    assert main(["plot", "raster", str(d)]) == 2  # the study folder holds no raster.npz itself
    assert (tmp_path / "e_rates.png").read_bytes()[:8] == PNG_MAGIC
    # user mistakes: exit code 2 and one line
    assert main(["plot", "raster", str(d / "egru" / "raster.npz"), "--samples", "a,b"]) == 2
    assert main(["plot", "raster", str(d / "egru" / "raster.npz"), "--steps", "5"]) == 2
    assert main(["plot", "raster", str(d / "summary.json")]) == 2
    assert main(["plot", "savings", str(d / "nothing.json")]) == 2
    err = capsys.readouterr().err
    assert "--samples 'a,b'" in err and "START:STOP" in err and "not a raster.npz" in err
    assert "counts file" in err and "is a folder without raster.npz" in err


# -- a failure in the middle of a write leaves the previous file whole (issue 17) -------------

def _half_then_fail(path_arg_index=0):
    """A stand-in serialiser that writes half a file to the path it is given, then fails."""
    def boom(*args, **kwargs):
        with open(args[path_arg_index], "wb") as f:
            f.write(b"half a file")
        raise RuntimeError("disk on fire")
    return boom


def _leftovers(folder):
    return sorted(p.name for p in folder.rglob(".*"))


def test_a_figure_that_fails_half_written_leaves_the_old_one(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from eventsim.plots import style
    path = tmp_path / "fig.png"
    path.write_bytes(b"old figure")
    with style.style():
        fig = style.new_figure(2, 2)
    monkeypatch.setattr(Figure, "savefig", lambda self, fname, **kw: _half_then_fail()(fname))
    with pytest.raises(RuntimeError, match="disk on fire"):
        style.save(fig, path)
    assert path.read_bytes() == b"old figure" and _leftovers(tmp_path) == []


def test_a_report_that_fails_while_writing_leaves_the_old_pages(tmp_path, monkeypatch):
    import eventsim.outputs as outputs
    d = make_study(tmp_path, with_cost=False)
    (d / "report.html").write_text("old html")
    (d / "report.md").write_text("old md")
    calls = []

    real = outputs.os.fsync

    def fsync(fd):  # the page's data is in its temporary file: fail before the rename
        name = os.readlink(f"/proc/self/fd/{fd}")
        calls.append(os.path.basename(name))
        if ".report.html." in name:
            raise OSError(28, "No space left on device")
        real(fd)
    monkeypatch.setattr(outputs.os, "fsync", fsync)
    with pytest.raises(OSError, match="No space"):
        rep.write_report(d, dpi=DPI)
    assert calls[-1].startswith(".report.html.") and (d / "report.html").read_text() == "old html"
    assert _leftovers(d) == []
    monkeypatch.undo()
    rep.write_report(d, dpi=DPI)  # and a working run replaces them, with normal permissions
    assert (d / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert (d / "report.html").stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert _leftovers(d) == []


def _umask():
    old = os.umask(0o022)
    os.umask(old)
    return old


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_a_checkpoint_that_fails_half_written_leaves_the_old_one(tmp_path, monkeypatch, suffix):
    from eventsim.interop.files import read_checkpoint, write_checkpoint
    path = tmp_path / f"ckpt{suffix}"
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
        import safetensors.numpy as module
        name, index = "save_file", 1
    else:
        module = pytest.importorskip("torch")
        name, index = "save", 1
    write_checkpoint({"w": np.ones(3, np.float32)}, path, meta={"kind": "old"})
    old = path.read_bytes()
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    monkeypatch.setattr(module, name, _half_then_fail(index))
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_checkpoint({"w": np.zeros(3, np.float32)}, path, meta={"kind": "new"})
    assert path.read_bytes() == old and _leftovers(tmp_path) == []
    monkeypatch.undo()
    assert read_checkpoint(path).meta == {"kind": "old"}
