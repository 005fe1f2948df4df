"""Figures: decimation against a naive reference, plotted values against hand-worked
figures, and every figure rendered to a valid, non-blank PNG of the expected size."""
import csv
import json

import numpy as np
import pytest

from eventsim.errors import EventsimError
from eventsim.plots import style as st
from eventsim.plots.paper_reference import REFERENCES, matching_references
from eventsim.plots.raster import bin_events, raster_figure, raster_from_npz
from eventsim.plots.savings import load_tradeoff_rows, macs_figure, tradeoff_figure
from eventsim.plots.sparsity import (backward_sparsity_of, rate_histogram_figure, sparsity_epochs_figure,
                                     sparsity_steps_figure, unit_rates)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DPI = 72  # tests render at low resolution to stay fast; the look is checked by eye at 150 dpi


def check_png(path, width_in, height_in, dpi=DPI):
    """A valid PNG, roughly figure size x dpi (bbox 'tight' trims/extends a little), not blank."""
    import matplotlib.image as mpimg

    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    assert 0.6 * width_in * dpi <= w <= 1.35 * width_in * dpi, (w, width_in * dpi)
    assert 0.5 * height_in * dpi <= h <= 1.5 * height_in * dpi, (h, height_in * dpi)
    rgb = img[..., :3]
    assert rgb.std() > 0.05  # not a flat image
    assert (rgb.min(axis=2) < 0.9).mean() > 0.02  # a few percent of pixels are not white
    return img


# -- decimation -------------------------------------------------------------------

def naive_bins(a, bt, bu, reduce):
    T, n = a.shape
    nbt, nbu = -(-T // bt), -(-n // bu)
    img = np.zeros((nbu, nbt))
    for i in range(nbt):
        for j in range(nbu):
            blk = a[i * bt:(i + 1) * bt, j * bu:(j + 1) * bu]
            if reduce == "maxabs":
                img[j, i] = blk.flat[np.argmax(np.abs(blk))]
            else:
                img[j, i] = np.count_nonzero(blk) / blk.size
    return img


def test_bin_events_hand_worked():
    a = np.zeros((4, 6), dtype=np.float32)
    a[0, 1] = 0.5
    a[1, 0] = -0.9   # same block (steps 0-1, units 0-2): the larger magnitude wins, sign kept
    a[3, 5] = 0.25   # block (steps 2-3, units 3-5)
    img, active, bt, bu = bin_events(a, max_time_bins=2, max_unit_bins=2)
    assert (bt, bu) == (2, 3)
    np.testing.assert_allclose(img, [[-0.9, 0.0], [0.0, 0.25]], rtol=1e-6)
    # active fraction per step block: 2 events in 12 entries, then 1 in 12
    np.testing.assert_allclose(active, [2 / 12, 1 / 12])
    # a boolean event mask works too (converted to float): 1 where a block holds an event
    img, _, _, _ = bin_events(a != 0, max_time_bins=2, max_unit_bins=2)
    np.testing.assert_array_equal(img, [[1.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("reduce", ["maxabs", "rate"])
def test_bin_events_matches_naive_and_loses_no_event(seed, reduce):
    rng = np.random.default_rng(seed)
    T, n = int(rng.integers(5, 300)), int(rng.integers(3, 90))
    a = (rng.random((T, n)) < 0.03) * rng.normal(size=(T, n))
    if seed == 2:
        a = a.astype(np.float32)
    mt, mu = rng.integers(1, 40), rng.integers(1, 20)
    img, active, bt, bu = bin_events(a, mt, mu, reduce)  # sizes give ragged last blocks
    assert img.shape[1] <= mt and img.shape[0] <= mu
    ref = naive_bins(a, bt, bu, reduce)
    np.testing.assert_allclose(img, ref, rtol=1e-6, atol=1e-7)
    # no event vanishes: a block is nonzero exactly when it holds an event
    assert np.array_equal(img != 0, naive_bins(a != 0, bt, bu, "rate") > 0)
    per_block = [np.count_nonzero(a[i * bt:(i + 1) * bt]) / a[i * bt:(i + 1) * bt].size
                 for i in range(img.shape[1])]
    np.testing.assert_allclose(active, per_block)


def test_bin_events_errors():
    with pytest.raises(EventsimError, match="unknown raster reduction"):
        bin_events(np.zeros((3, 3)), reduce="mean")
    with pytest.raises(EventsimError, match=r"\(steps, units\) array"):
        bin_events(np.zeros(3))
    with pytest.raises(EventsimError, match="is empty"):
        bin_events(np.zeros((0, 3)))
    with pytest.raises(EventsimError, match="at least 1"):
        bin_events(np.zeros((3, 3)), max_time_bins=0)


# -- raster figure ------------------------------------------------------------------

def sparse_events(rng, shape, p=0.08):
    return ((rng.random(shape) < p) * (0.3 + rng.random(shape))).astype(np.float32)


def test_raster_figure_png(tmp_path):
    rng = np.random.default_rng(0)
    layers = [sparse_events(rng, (2, 150, 48)), sparse_events(rng, (2, 150, 16))]
    x = rng.normal(size=(2, 150, 6)) * (rng.random((2, 150, 6)) < 0.5)
    fig = raster_figure(layers, x, samples=[0, 1], title="test raster")
    w, h = fig.get_size_inches()
    path = st.save(fig, tmp_path / "r.png", dpi=DPI)
    check_png(path, w, h)
    # the decimated image of layer 0 holds exactly the events of samples 0 and 1
    im = fig.axes[1].images[0]
    data = im.get_array()
    ref = np.concatenate([layers[0][0], layers[0][1]], axis=0).T
    np.testing.assert_allclose(np.ma.filled(data, 0), ref, rtol=1e-6)
    assert fig.axes[0].get_title() == "test raster"


def test_raster_large_is_decimated(tmp_path):
    rng = np.random.default_rng(1)
    y = sparse_events(rng, (1200, 350), p=0.01)
    fig = raster_figure([y], max_time_bins=200, max_unit_bins=50)
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (50, 200)  # 1 px = 6 steps x 7 units
    assert "1 pixel = 6 step(s) x (layer 0: 7 units)" in fig.axes[1].get_xlabel()  # written on the figure
    check_png(st.save(fig, tmp_path / "big.png", dpi=DPI), *fig.get_size_inches())


def test_raster_errors(tmp_path):
    y = np.zeros((2, 10, 4))
    with pytest.raises(EventsimError, match="sample 5 does not exist"):
        raster_figure([y], sample=5)
    with pytest.raises(EventsimError, match="t_range"):
        raster_figure([y], t_range=(5, 50))
    with pytest.raises(EventsimError, match="disagree on the number of steps"):
        raster_figure([y, np.zeros((2, 9, 4))])
    with pytest.raises(EventsimError, match="at least one layer"):
        raster_figure([])
    with pytest.raises(EventsimError, match="must end in .png"):
        st.save(raster_figure([y]), tmp_path / "r.jpg", dpi=DPI)
    np.savez(tmp_path / "bad.npz", foo=np.zeros(3))
    with pytest.raises(EventsimError, match="holds no 'layer0.y'"):
        raster_from_npz(str(tmp_path / "bad.npz"))
    with pytest.raises(EventsimError, match="does not exist"):
        raster_from_npz(str(tmp_path / "none.npz"))
    np.savez(tmp_path / "flat.npz", **{"layer0.y": np.zeros((2, 5, 3)), "layer1.y": np.zeros((5, 3))})
    with pytest.raises(EventsimError, match=r"'layer1.y' has shape \(5, 3\)"):
        raster_from_npz(str(tmp_path / "flat.npz"))


# -- sparsity ---------------------------------------------------------------------------

def test_sparsity_steps_values_and_png(tmp_path):
    # 2 samples; layer 0 has 4 units, layer 1 has 2 units; events per step summed over samples
    ev = np.array([[0, 0], [4, 1], [8, 4]])
    fig = sparsity_steps_figure(ev, [4, 2], samples=2)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [100.0, 50.0, 0.0])     # 1 - ev / (4 * 2)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [100.0, 75.0, 0.0])     # 1 - ev / (2 * 2)
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [100.0, 100 * (1 - 5 / 12), 0.0])  # all layers
    check_png(st.save(fig, tmp_path / "s.png", dpi=DPI), *fig.get_size_inches())


def test_sparsity_steps_block_mean():
    ev = np.ones((10, 1))  # one event of 5 units, 1 sample, every step: sparsity 80%
    ev[:5] = 0
    fig = sparsity_steps_figure(ev, [5], max_points=2)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [100.0, 80.0])
    assert "blocks of 5 steps" in fig.axes[0].get_xlabel()


def test_sparsity_steps_errors():
    with pytest.raises(EventsimError, match="2 layer column"):
        sparsity_steps_figure(np.zeros((3, 2)), [4])
    with pytest.raises(EventsimError, match="out of range"):
        sparsity_steps_figure(np.full((3, 1), 9), [4], samples=2)


def test_backward_sparsity_formats():
    assert backward_sparsity_of({"backward": {"backward_sparsity": 0.4}}) == 0.4
    assert backward_sparsity_of({"backward": {"total": {"backward_sparsity": 0.3}}}) == 0.3
    lay = {"backward": {"layers": [{"backward_sparsity": 0.2, "units": 10}, {"backward_sparsity": 0.8, "units": 30}]}}
    assert backward_sparsity_of(lay) == pytest.approx((0.2 * 10 + 0.8 * 30) / 40)
    assert backward_sparsity_of({"backward": None}) is None
    assert backward_sparsity_of({}) is None


def test_sparsity_epochs_png(tmp_path):
    hist = {"egru": [{"epoch": e, "activity_sparsity": 0.5 + 0.04 * e,
                      "backward": {"backward_sparsity": 0.2 + 0.05 * e}} for e in range(6)],
            "gru": [{"epoch": e, "activity_sparsity": None, "backward": None} for e in range(6)]}
    fig = sparsity_epochs_figure(hist)
    ax_a, ax_b = fig.axes[:2]
    assert len(ax_a.lines) == 1 and len(ax_b.lines) == 1  # the GRU has no sparsity to draw
    np.testing.assert_allclose(ax_b.lines[0].get_ydata(), [20, 25, 30, 35, 40, 45])
    check_png(st.save(fig, tmp_path / "e.png", dpi=DPI), *fig.get_size_inches())
    with pytest.raises(EventsimError, match="no training history"):
        sparsity_epochs_figure({})
    with pytest.raises(EventsimError, match="list of epoch objects"):
        sparsity_epochs_figure({"m": [1, 2]})


def test_rate_histogram_dead_and_saturated(tmp_path):
    y = np.zeros((2, 10, 6))
    y[:, :, 0] = 1.0          # fires every step: saturated
    y[:, :5, 1] = 1.0         # rate 0.5
    y[0, 0, 2] = 1.0          # rate 0.05
    # units 3, 4, 5 never fire: dead
    np.testing.assert_allclose(unit_rates(y), [1.0, 0.5, 0.05, 0, 0, 0])
    fig = rate_histogram_figure([y, y[:, :, :2]])
    notes = [" ".join(t.get_text() for t in ax.texts) for ax in fig.axes]
    assert "dead 3 (50%)" in notes[0] and "saturated 1 (17%)" in notes[0]
    assert "dead 0 (0%)" in notes[1] and "saturated 1 (50%)" in notes[1]
    check_png(st.save(fig, tmp_path / "h.png", dpi=DPI), *fig.get_size_inches())
    with pytest.raises(EventsimError, match="saturated threshold"):
        rate_histogram_figure([y], saturated=1.5)


# -- savings ------------------------------------------------------------------------------

def gru_cell_counts():
    """A 25-input, 5-unit layer for 1 sample x 1 step: dense GRU 450 MACs, LSTM 600 (SPEC §2,
    NeuroBench); this hand-made run performs 90 effective MACs."""
    return {"samples": 1, "steps": 1,
            "layers": [{"inputs": 25, "units": 5, "events": 1, "activity_sparsity": 0.8,
                        "macs": {"dense": 450, "weight_sparse": 300, "activity_sparse": 150, "effective": 90}}],
            "readout": {"macs": {"dense": 0, "effective": 0}},
            "total": {"activity_sparsity": 0.8,
                      "macs": {"dense": 450, "weight_sparse": 300, "activity_sparse": 150, "effective": 90}},
            "baselines": {"gru": {"macs": 450, "elementwise": 15, "total": 465},
                          "lstm": {"macs": 600, "elementwise": 15, "total": 615}}}


def test_macs_figure_factors(tmp_path):
    fig = macs_figure(gru_cell_counts())
    ax, ax2 = fig.axes[:2]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("5.0x") == 2  # layer 0 and total: 450 / 90
    assert "5.0x vs GRU\n6.7x vs LSTM" in [t.get_text() for t in ax2.texts]  # 450/90, 600/90
    heights = sorted(p.get_height() for p in ax2.patches)
    np.testing.assert_allclose(heights, [90, 450, 600])
    check_png(st.save(fig, tmp_path / "m.png", dpi=DPI), *fig.get_size_inches())


def test_macs_figure_per_step_and_errors():
    c = gru_cell_counts()
    c["samples"], c["steps"] = 2, 5  # counts summed over 10 sample-steps
    for d in (c["layers"][0]["macs"], c["total"]["macs"]):
        for k in d:
            d[k] *= 10
    for b in c["baselines"].values():
        b["macs"] *= 10
    fig = macs_figure(c)
    np.testing.assert_allclose(sorted(p.get_height() for p in fig.axes[1].patches), [90, 450, 600])
    bad = gru_cell_counts()
    del bad["baselines"]
    with pytest.raises(EventsimError, match="lacks 'baselines'"):
        macs_figure(bad)


ROWS = [
    {"name": "egru-a", "kind": "egru", "task": "smnist5k", "metric": 0.90, "metric_name": "accuracy",
     "effective_macs_per_step": 2000, "activity_sparsity": 0.8, "savings_vs_gru": 4.0},
    {"name": "egru-b", "kind": "egru", "task": "smnist5k", "metric": 0.93, "metric_name": "accuracy",
     "effective_macs_per_step": 5000, "activity_sparsity": 0.7, "savings_vs_gru": 2.5},
    {"name": "gru", "kind": "gru", "task": "smnist5k", "metric": 0.94, "metric_name": "accuracy",
     "effective_macs_per_step": 12500, "activity_sparsity": None, "savings_vs_gru": 1.0},
]


def test_reference_matching():
    assert [r["task"] for r in matching_references("sMNIST-5k")] == ["smnist"]
    assert [r["task"] for r in matching_references("wikitext_2")] == ["wikitext2"]
    assert matching_references("digits") == [] and matching_references(None) == []
    for r in REFERENCES:  # every reference point says where it comes from
        assert "2206.06178" in r["source"] and isinstance(r["uncertain"], bool)
        lo, hi = r["activity_sparsity"]
        assert 0 <= lo <= hi <= 1


def test_tradeoff_png(tmp_path):
    fig = tradeoff_figure(ROWS)
    ax, ax2 = fig.axes[:2]
    xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
    ys = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections])
    np.testing.assert_allclose(sorted(xs), [2000, 5000, 12500])
    np.testing.assert_allclose(sorted(ys), [90, 93, 94])  # accuracy shown in %
    assert ax.get_ylabel() == "test accuracy (%)"
    labels = ax2.get_legend_handles_labels()[1]
    assert any(l.startswith("paper: sMNIST") for l in labels)  # task matches the paper's sMNIST
    check_png(st.save(fig, tmp_path / "t.png", dpi=DPI), *fig.get_size_inches())
    other = [dict(r, task="digits") for r in ROWS]
    fig2 = tradeoff_figure(other)
    assert not any(l.startswith("paper") for l in fig2.axes[1].get_legend_handles_labels()[1])


def test_tradeoff_inputs(tmp_path):
    p = tmp_path / "sweep.csv"
    with open(p, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(ROWS[0]))
        w.writeheader()
        for r in ROWS:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    rows = load_tradeoff_rows([p])
    assert len(rows) == 3
    fig = tradeoff_figure(rows)
    assert len(fig.axes[0].collections) == 3  # one marker per row
    summ = {"scenario": "s", "task": "digits", "metric": "accuracy",
            "models": {r["name"]: {k: v for k, v in r.items() if k != "name"} for r in ROWS}}
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "summary.json").write_text(json.dumps(summ))
    (tmp_path / "rows.json").write_text(json.dumps({"rows": ROWS}))
    rows = load_tradeoff_rows([tmp_path / "study", tmp_path / "rows.json"])
    assert len(rows) == 6 and rows[0]["name"] == "egru-a"
    # summary dicts can be given directly: one point per model
    assert len(tradeoff_figure([summ, summ]).axes[0].collections) == 6
    with pytest.raises(EventsimError, match="needs numeric 'metric'"):
        tradeoff_figure([{"name": "x", "effective_macs_per_step": 3}])
    with pytest.raises(EventsimError, match="does not exist"):
        load_tradeoff_rows([tmp_path / "missing.csv"])
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(EventsimError, match="cannot parse"):
        load_tradeoff_rows([tmp_path / "bad.json"])


def test_energy_figure_factors(tmp_path):
    from eventsim.plots.savings import energy_figure

    rows = [{"model": "egru", "workload": wl, "profile": prof, "executed_as": how, "energy_per_step_pj": e}
            for prof, wl, how, e in (("loihi", "egru", "event", 100.0), ("loihi", "gru", "dense", 800.0),
                                     ("loihi", "lstm", "dense", 1000.0), ("gpu", "egru", "clocked", 5e4),
                                     ("gpu", "gru", "dense", 5e4), ("gpu", "lstm", "dense", 6e4))]
    fig = energy_figure(rows, "egru")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["8.0x\nevent", "1.0x\nclocked"]  # GRU / EGRU per profile, with the execution mode
    np.testing.assert_allclose(sorted(p.get_height() for p in fig.axes[0].patches),
                               sorted([100, 800, 1000, 5e4, 5e4, 6e4]))
    check_png(st.save(fig, tmp_path / "en.png", dpi=DPI), *fig.get_size_inches())
    with pytest.raises(EventsimError, match="no hardware cost rows for model 'lstm'"):
        energy_figure(rows, "lstm")


def test_tradeoff_from_sweep_table(tmp_path):
    """The table of 'eventsim sweep' (docs/sweeps.md): 'task' is the task id, 'task_name' the data set;
    rows of failed tasks are skipped."""
    rows = [{"task": "seed=0-ab12", "param:train.seed": 0, "status": "ok", "model": "egru", "kind": "egru",
             "metric": 0.9, "metric_name": "accuracy", "effective_macs_per_step": 100.0,
             "activity_sparsity": 0.8, "savings_vs_gru": 4.0, "task_name": "smnist5k"},
            {"task": "seed=1-cd34", "param:train.seed": 1, "status": "failed", "model": "egru", "kind": "egru",
             "metric": None, "effective_macs_per_step": None, "task_name": "smnist5k", "error": "boom"}]
    (tmp_path / "table.json").write_text(json.dumps({"rows": rows}))
    got = load_tradeoff_rows([tmp_path / "table.json"])
    assert [(r["name"], r["task"]) for r in got] == [("egru 0", "smnist5k")]
    labels = tradeoff_figure(got).axes[1].get_legend_handles_labels()[1]
    assert any(l.startswith("paper: sMNIST") for l in labels)
    (tmp_path / "failed.json").write_text(json.dumps({"rows": rows[1:]}))
    with pytest.raises(EventsimError, match="every sweep task in the given tables failed"):
        load_tradeoff_rows([tmp_path / "failed.json"])


def test_tradeoff_lower_is_better_metric():
    rows = [{"name": "egru", "kind": "egru", "task": "text_char", "metric": 1.9, "metric_name": "bpc",
             "effective_macs_per_step": 1e4, "activity_sparsity": 0.85, "savings_vs_gru": 6.0},
            {"name": "gru", "kind": "gru", "task": "text_char", "metric": 1.7, "metric_name": "bpc",
             "effective_macs_per_step": 6e4}]
    fig = tradeoff_figure(rows)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "bits per character (lower is better)"
    ys = sorted(float(c.get_offsets()[0, 1]) for c in ax.collections)
    assert ys == [1.7, 1.9]  # bpc is not rescaled (only an accuracy in [0, 1] is shown in %)


def test_docs_python_example(tmp_path, monkeypatch):
    """The Python example of docs/analysis.md runs as written (on real simulate results)."""
    import pathlib
    import re

    doc = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "analysis.md").read_text()
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(st.RC, "savefig.dpi", DPI)  # default resolution lowered: faster, same code path
    exec(compile(code, "docs/analysis.md", "exec"), {})
    for name in ("raster", "sparsity", "rates", "macs"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
