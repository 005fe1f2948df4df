"""The same NIR graphs in eventsim, in snnTorch (its NIR import), in Norse, and in an
independent dense interpreter of the documented discretisation (analysis/nir_crosscheck.py),
spike for spike. Skips when the extras are not importable."""
import importlib.util
import os

import numpy as np
import pytest

pytest.importorskip("nir")
_path = os.path.join(os.path.dirname(__file__), "..", "analysis", "nir_crosscheck.py")
_spec = importlib.util.spec_from_file_location("nir_crosscheck", _path)
cc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cc)

T = 80


@pytest.mark.parametrize("cuba", [False, True])
def test_graph_written_by_snntorch_gives_snntorchs_spikes(cuba):
    pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    g = cc.graph_ff_snntorch(cuba)
    x = cc.inputs(0, T=T)
    ev, m = cc.run_eventsim(g, x, cc.DT)
    assert m.n == 400 and bool(m.has_syn) == cuba
    out = ev["3"]  # snnTorch names the layers 0 .. 3; the output layer is "3"
    assert out.sum() > 1000
    for f64 in (False, True):
        np.testing.assert_array_equal(out, cc.run_snntorch(g, x, f64))
    S = cc.interpret(g, x, cc.DT, ["1", "3"])
    np.testing.assert_array_equal(ev["1"], S["1"])
    np.testing.assert_array_equal(ev["3"], S["3"])


def test_recurrent_graph_written_by_snntorch_gives_its_modules_spikes():
    pytest.importorskip("snntorch")
    g, net = cc.rleaky_snntorch()
    x = cc.inputs(3, T=T)
    ev, m = cc.run_eventsim(g, x, cc.DT)
    assert m.rec.nnz == 300 * 300 and int(m.rec.delay.min()) == 1  # the cycle: one step
    assert ev["1.lif"].sum() > 1000
    np.testing.assert_array_equal(ev["1.lif"], cc.run_snntorch_module(net, x))


def test_recurrent_graph_against_norse_and_the_interpreter():
    g = cc.graph_recurrent()
    x = cc.inputs(1, T=T)
    ev, m = cc.run_eventsim(g, x, cc.DT)
    assert m.rec.nnz > 80000 and ev["lif"].sum() > 1000
    np.testing.assert_array_equal(ev["lif"], cc.interpret(g, x, cc.DT, ["lif"])["lif"])
    pytest.importorskip("norse")
    np.testing.assert_array_equal(ev["lif"], cc.run_norse(g, x, cc.DT))


def test_graph_with_delays_against_the_interpreter():
    g = cc.graph_delays()
    x = cc.inputs(2, T=T)
    ev, m = cc.run_eventsim(g, x, cc.DT)
    assert int(m.inp.delay.max()) == 3 and int(m.rec.delay.max()) == 6  # Delay 0..5 + the back edge's step
    S = cc.interpret(g, x, cc.DT, ["lif1", "lif2"])
    assert ev["lif2"].sum() > 500
    for k in ("lif1", "lif2"):
        np.testing.assert_array_equal(ev[k], S[k])
