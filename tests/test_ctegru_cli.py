"""Command line of the continuous-time EGRU: random-model, random-input, count, cost."""
import json

import numpy as np
import pytest

from eventsim.cli import main
from eventsim.ctegru import SpikeStream, load_ctegru, simulate_ctegru


@pytest.fixture()
def files(tmp_path):
    m, s = str(tmp_path / "ct.npz"), str(tmp_path / "ev.npz")
    assert main(["random-model", "--kind", "ctegru", "--inputs", "4", "--layers", "12,6",
                 "--thr-mean", "0.2", "--seed", "2", "--out", m]) == 0
    assert main(["random-input", "--model", m, "--duration", "0.05", "--rate", "400", "--samples", "2",
                 "--out", s]) == 0
    return tmp_path, m, s


def test_count_writes_counts_and_events_as_the_api(files, capsys):
    tmp, m, s = files
    assert main(["count", "--model", m, "--input", s, "--json", str(tmp / "c.json"),
                 "--save-outputs", str(tmp / "o.npz")]) == 0
    out = capsys.readouterr().out
    assert "continuous-time EGRU" in out and "solver steps" in out
    counts = json.loads((tmp / "c.json").read_text())
    res = simulate_ctegru(load_ctegru(m), SpikeStream.load(s))
    assert counts == json.loads(json.dumps(res.counts.to_dict()))
    assert counts["kind"] == "ctegru" and counts["samples"] == 2 and counts["duration_s"] == 0.1
    layer = counts["layers"][0]
    assert layer["accumulates"] == 2 * layer["synaptic_events"] == 2 * layer["macs"]
    assert main(["count", "--model", m, "--input", s, "--engine", "dense", "--quiet",
                 "--json", str(tmp / "ref.json")]) == 0  # the naive reference: same integer counts
    ref = json.loads((tmp / "ref.json").read_text())
    assert ref["engine"] == "reference" and counts["total"]["events"] > 0
    for f in ("events", "synaptic_events", "unit_wakeups"):
        assert ref["total"][f] == counts["total"][f]
    with np.load(tmp / "o.npz") as z:
        assert sorted(z.files) == sorted(f"layer{k}.event_{x}" for k in (0, 1)
                                         for x in ("time", "unit", "sample"))
        np.testing.assert_array_equal(z["layer0.event_time"], res.event_time[0])


def test_cost_prices_event_hardware_and_refuses_clocked(files, capsys):
    tmp, m, s = files
    assert main(["cost", "--model", m, "--input", s, "--hardware", "loihi", "--hardware", "horowitz45nm",
                 "--json", str(tmp / "cost.json")]) == 0
    doc = json.loads((tmp / "cost.json").read_text())
    assert [e["profile"] for e in doc["estimates"]] == ["loihi", "horowitz45nm"]
    assert all(e["total"]["energy_pj"] > 0 for e in doc["estimates"])
    assert main(["cost", "--model", m, "--input", s, "--hardware", "gpu-dense"]) == 2
    assert "no clock" in capsys.readouterr().err


@pytest.mark.parametrize("argv, match", [
    (["count", "--steps", "5"], "--steps does not apply to a continuous-time EGRU"),
    (["count", "--delays", "0:1,0:0"], "--delays does not apply"),
])
def test_count_refuses_discrete_options(files, capsys, argv, match):
    tmp, m, s = files
    assert main([argv[0], "--model", m, "--input", s] + argv[1:]) == 2
    assert match in capsys.readouterr().err


def test_random_commands_refuse_other_models_options(tmp_path, capsys):
    assert main(["random-model", "--kind", "ctegru", "--inputs", "2", "--layers", "3", "--outputs", "2",
                 "--out", str(tmp_path / "x.npz")]) == 2
    assert "--outputs does not apply to a continuous-time EGRU" in capsys.readouterr().err
    m = str(tmp_path / "m.npz")
    main(["random-model", "--kind", "ctegru", "--inputs", "2", "--layers", "3", "--out", m])
    assert main(["random-input", "--model", m, "--steps", "10", "--out", str(tmp_path / "s.npz")]) == 2
    assert "give --duration (seconds)" in capsys.readouterr().err


def test_plot_raster_draws_the_dense_reference_events_at_their_times(files, capsys, monkeypatch):
    """The raster's dots are the events of the naive reference (an independent integration)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure

    tmp, m, s = files
    drawn = []
    real_savefig = matplotlib.figure.Figure.savefig

    def spy(fig, *a, **k):
        drawn.extend(ax.collections[0].get_offsets() for ax in fig.axes if ax.collections)
        return real_savefig(fig, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    png = tmp / "r.png"
    assert main(["plot", "raster", s, "--model", m, "--samples", "1", "-o", str(png)]) == 0
    assert png.stat().st_size > 0
    ref = simulate_ctegru(load_ctegru(m), SpikeStream.load(s), engine="reference")
    stream = SpikeStream.load(s)
    assert len(drawn) == 3  # input + two layers
    np.testing.assert_array_equal(drawn[0][:, 0], stream.t[stream.sample == 1])
    for k in (0, 1):
        sel = ref.event_sample[k] == 1
        np.testing.assert_allclose(drawn[k + 1][:, 0], ref.event_time[k][sel], atol=1e-7)
        np.testing.assert_array_equal(drawn[k + 1][:, 1], ref.event_unit[k][sel])
    capsys.readouterr()
    for extra, match in ((["--samples", "0,1"], "one sample"), (["--samples", "7"], "2 sample"),
                         (["--steps", "0:5"], "no steps")):
        assert main(["plot", "raster", s, "--model", m, "-o", str(tmp / "x.png"), *extra]) == 2
        assert match in capsys.readouterr().err
