"""Counts against closed forms and a hand-worked case."""
import math

import numpy as np
import pytest

import eventsim
from eventsim import EGRULayer, Model, simulate


def layer(kernel, rec, thr, bias=None):
    kernel = np.asarray(kernel, float)
    n = kernel.shape[1] // 3
    return EGRULayer(kernel=kernel, recurrent_kernel=np.asarray(rec, float),
                     bias=np.zeros(3 * n) if bias is None else np.asarray(bias, float),
                     recurrent_bias=np.zeros(3 * n), thr=np.asarray(thr, float))


@pytest.mark.parametrize("engine", ["event", "dense"])
def test_hand_worked_two_units(engine):
    """1 input, 2 units, thresholds 0.3, x = [1, 0]; kernel walks g of unit 0 only, and unit 0's
    recurrent row reaches z and g of unit 1 (worked out in the comments)."""
    K = [[0, 0, 0, 0, 2.0, 0]]                    # nnz 1: g of unit 0
    R = [[0, 1.0, 0, 0, 0, 3.0], [0] * 6]         # unit 0 -> z and g of unit 1 (nnz 2)
    m = Model(layers=[layer(K, R, [0.3, 0.3])])
    x = np.array([[[1.0], [0.0]]])
    res = simulate(m, x, engine=engine, record=("y", "c"))
    # step 1: z = r = 1/2, g0 = tanh(2), c0 = tanh(2)/2 = 0.482 > 0.3: event; unit 1: c = 0
    c0 = math.tanh(2) / 2
    # step 2: unit 1 gets vh_z = c0, vh_g = 3 c0; z = sig(c0), g = tanh(3 c0 / 2); c = (1 - z) g
    z1 = 1 / (1 + math.exp(-c0))
    c1 = (1 - z1) * math.tanh(1.5 * c0)
    # unit 0 idles: s = c0 - 0.3, c = s / 2 (z = 1/2, g = 0)
    np.testing.assert_allclose(res.c[0][0], [[c0, 0.0], [(c0 - 0.3) / 2, c1]], atol=1e-12)
    np.testing.assert_allclose(res.y[0][0], [[c0, 0.0], [0.0, 0.0]], atol=1e-12)
    d = res.counts.to_dict()["layers"][0]
    assert d["events"] == 1
    assert d["macs"] == {"dense": 36, "weight_sparse": 6, "activity_sparse": 12, "effective": 3}
    assert d["unit_updates"] == {"clocked": 4, "event_driven": 2}
    assert d["elementwise"] == {"clocked": 12, "event_driven": 6}
    assert d["nonlinearities"] == {"clocked": 12, "event_driven": 6}
    assert d["activity_sparsity"] == pytest.approx(0.75)


@pytest.mark.parametrize("engine", ["event", "dense"])
def test_zero_input_no_events_only_bias_work(engine):
    m = eventsim.random_model(4, [6, 5], n_out=3, seed=1, dtype="float64")
    for l in m.layers:
        l.bias[:] = 0.7
        l.thr[:] = 10.0  # unreachable: |c| < 1
    res = simulate(m, np.zeros((2, 9, 4)), engine=engine, record=("y", "c"))
    d = res.counts.to_dict()
    for l in d["layers"]:
        assert l["events"] == 0 and l["activity_sparsity"] == 1.0
        assert l["macs"]["effective"] == 0 and l["macs"]["activity_sparse"] == 0
        assert l["unit_updates"]["event_driven"] == 0
    assert d["readout"]["macs"]["effective"] == 0
    assert all(not y.any() for y in res.y)
    assert np.abs(res.c[0]).min() > 0  # the biases still move the state (bias-driven work)


def test_full_activity_activity_sparse_equals_dense():
    """Every input nonzero and every unit firing each step: after the first step (no
    previous events, y_0 = 0) each step's activity-sparse MACs equal the dense ones."""
    m = eventsim.random_model(5, [7], seed=3, dtype="float64")
    l = m.layers[0]
    l.thr[:] = 0.0
    l.bias[14:] = 8.0          # g ~ 1 so c > 0 for every unit at every step
    l.kernel[:, 14:] *= 0.01
    l.recurrent_kernel[:, 14:] *= 0.01
    B, T, n, mm = 2, 10, 7, 5
    x = np.full((B, T, mm), 0.5)
    for engine in ("event", "dense"):
        res = simulate(m, x, engine=engine, record=("steps",))
        d = res.counts.to_dict()["layers"][0]
        assert d["events"] == B * T * n
        per_step_dense = (mm + n) * 3 * n * B
        assert d["macs"]["dense"] == T * per_step_dense
        assert d["macs"]["activity_sparse"] == T * per_step_dense - n * 3 * n * B
        assert d["macs"]["effective"] == d["macs"]["activity_sparse"]  # no zero weights
        eff = res.counts.per_step["effective_macs"][:, 0]
        assert eff[0] == mm * 3 * n * B and np.all(eff[1:] == per_step_dense)


def test_gru_lstm_baselines_25_to_5():
    """NeuroBench's own tests expect 465 (GRUCell(25, 5)) and 615 (LSTMCell(25, 5)) per step."""
    m = eventsim.random_model(25, [5], seed=0)
    T = 4
    d = simulate(m, np.ones((T, 25), np.float32)).counts.to_dict()
    assert d["baselines"]["gru"]["total"] == 465 * T
    assert d["baselines"]["lstm"]["total"] == 615 * T
    assert d["layers"][0]["macs"]["dense"] == 450 * T


def test_readout_counts_closed_form():
    m = eventsim.random_model(3, [6], n_out=4, seed=5, dtype="float64", thr_mean=0.05)
    m.readout_weight[:, 2] = 0.0  # unit 2's readout column is absent
    x = np.random.default_rng(0).normal(size=(2, 20, 3))
    res = simulate(m, x, record=("y",))
    y = res.y[0]
    nnz_col = np.count_nonzero(m.readout_weight, axis=0)
    expected = int(sum(nnz_col[j] for b in range(2) for t in range(20) for j in np.flatnonzero(y[b, t])))
    ro = res.counts.to_dict()["readout"]["macs"]
    assert ro["effective"] == expected
    assert ro["dense"] == 2 * 20 * 6 * 4
    assert ro["weight_sparse"] == 2 * 20 * 5 * 4


def test_counts_json_skeleton():
    m = eventsim.random_model(5, [40], n_out=2, seed=0)
    d = simulate(m, np.ones((3, 80, 5), np.float32)).counts.to_dict()
    assert d["samples"] == 3 and d["steps"] == 80
    l = d["layers"][0]
    for key in ("inputs", "units", "events", "activity_sparsity", "macs", "unit_updates",
                "elementwise", "nonlinearities"):
        assert key in l
    assert set(l["macs"]) == {"dense", "weight_sparse", "activity_sparse", "effective"}
    assert set(d["baselines"]) == {"gru", "lstm"}
    assert set(d["total"]["macs"]) == {"dense", "weight_sparse", "activity_sparse", "effective"}
    for v in (l["events"], l["macs"]["effective"], d["baselines"]["gru"]["macs"]):
        assert isinstance(v, int)
    assert l["activity_sparsity"] == 1 - l["events"] / (40 * 80 * 3)
