"""`eventsim plot tradeoff` with a DeltaGRU Θ sweep, the GRU reference and a study over
several seeds, on hand-made results folders."""
import json

import numpy as np
import pytest
from matplotlib.lines import Line2D

from eventsim.cli import main
from eventsim.errors import EventsimError
from eventsim.plots.savings import load_tradeoff_rows, tradeoff_figure


def _entry(kind, metric, macs, sparsity=None):
    return {"kind": kind, "units": [128], "metric": metric, "effective_macs_per_step": macs,
            "dense_macs_per_step": 50816.0, "activity_sparsity": sparsity,
            "savings_vs_gru": 50816.0 / macs}


SWEEP = [  # test split, Θ = 0 first, as a study writes it; MACs per sample and step
    {"theta_x": 0.0, "theta_h": 0.0, "metric": 0.99, "effective_macs_per_step": 49900.0, "activity_sparsity": 0.02},
    {"theta_x": 0.1, "theta_h": 0.1, "metric": 0.97, "effective_macs_per_step": 19000.0, "activity_sparsity": 0.64},
    {"theta_x": 0.3, "theta_h": 0.3, "metric": 0.35, "effective_macs_per_step": 6800.0, "activity_sparsity": 0.89},
]


def _folder(path, egru=0.95):
    path.mkdir(parents=True)
    summary = {"scenario": "digits", "task": "classify", "dataset": "digits", "metric": "accuracy",
               "models": {"egru": _entry("egru", egru, 9300.0, 0.82), "gru": _entry("gru", 0.99, 50816.0),
                          "deltagru": _entry("deltagru", 0.97, 19000.0, 0.64)}}
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "deltagru").mkdir()
    (path / "deltagru" / "delta_sweep.json").write_text(json.dumps(
        {"from": "gru", "picked_on": "validation", "metric": "accuracy", "theta_x": 0.1, "theta_h": 0.1,
         "validation": SWEEP, "test": SWEEP}))
    return path


def _lines(ax):
    return [l for l in ax.get_lines() if isinstance(l, Line2D)]


def test_sweep_line_and_gru_reference(tmp_path):
    rows = load_tradeoff_rows([_folder(tmp_path / "study")])
    delta = next(r for r in rows if r["kind"] == "deltagru")
    assert [s["theta_x"] for s in delta["sweep"]] == [0.0, 0.1, 0.3]
    ax = tradeoff_figure(rows).axes[0]
    sweep = [l for l in _lines(ax) if l.get_label() == "DeltaGRU Θ sweep"]
    assert len(sweep) == 1
    np.testing.assert_allclose(sweep[0].get_xdata(), [6800, 19000, 49900])     # by increasing MACs
    np.testing.assert_allclose(sweep[0].get_ydata(), [35, 97, 99])               # accuracy in %
    gru = [l for l in _lines(ax) if l.get_label() == "GRU metric"]
    assert len(gru) == 1 and gru[0].get_ydata()[0] == pytest.approx(99.0)
    assert any(t.get_text() == "Θ=0.1" for t in ax.texts)
    # the savings panel: the sweep's savings against the dense GRU, 50816 / MACs
    ax2 = tradeoff_figure(rows).axes[1]
    line = [l for l in _lines(ax2) if l.get_color() not in ("#999999",)][0]
    np.testing.assert_allclose(line.get_ydata(), [50816 / 6800, 50816 / 19000, 50816 / 49900])


def test_several_seeds_give_a_point_per_seed(tmp_path):
    top = tmp_path / "multi"
    top.mkdir()
    _folder(top / "seed0", egru=0.95)
    _folder(top / "seed1", egru=0.93)
    (top / "summary.json").write_text(json.dumps({
        "scenario": "digits", "metric": "accuracy", "seeds": [0, 1], "seed_dirs": {"0": "seed0", "1": "seed1"},
        "models": {"egru": _entry("egru", 0.94, 9300.0, 0.82)}}))
    rows = load_tradeoff_rows([top])
    assert sorted(r["name"] for r in rows if r["kind"] == "egru") == ["egru s0", "egru s1"]
    assert sorted(r["metric"] for r in rows if r["kind"] == "egru") == [0.93, 0.95]
    (top / "summary.json").write_text(json.dumps({"scenario": "d", "metric": "accuracy",
                                                  "seed_dirs": {"2": "seed2"}, "models": {"egru": {}}}))
    with pytest.raises(EventsimError, match="seed folder 'seed2'"):
        load_tradeoff_rows([top])


def test_a_delta_sweep_file_alone_and_the_command(tmp_path, capsys):
    folder = _folder(tmp_path / "study")
    rows = load_tradeoff_rows([folder / "deltagru" / "delta_sweep.json"])
    assert len(rows) == 1 and rows[0]["metric"] == 0.97 and rows[0]["kind"] == "deltagru"
    out = tmp_path / "t.png"
    assert main(["plot", "tradeoff", str(folder), "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seeds_of_one_model_carry_one_label_and_piles_are_thinned():
    from eventsim.plots.savings import _apart, _labels
    pts = [{"name": n} for n in ("egru s0", "egru s1", "gru s0", "gru s1", "lstm", "egru s2")]
    assert _labels(pts) == ["egru", None, "gru", None, "lstm", None]
    # points 1 and 2 lie within 0.12 decades and 6% of the y range of point 0; point 3 does not
    assert _apart([1000, 1200, 1100, 5000], [0.5, 0.51, 0.49, 1.0]) == [0, 3]
    assert _apart([1000, 1000], [0.0, 1.0]) == [0, 1]
    assert _apart([], []) == []
