"""Finite-difference gradient checks (float64) of every layer type and loss.

The Heaviside of the EGRU has no useful derivative, so these checks run with the
internal smooth stand-in ``surrogate="sigmoid"`` (o = σ(β(c − ϑ)) with its true
derivative): the backward code path is the same one the pseudo-derivative uses,
only ``(o, h')`` differ. The pseudo-derivative itself is checked against a
hand-worked single-unit case.
"""
import numpy as np
import pytest

from eventsim.train import cells
from eventsim.train.network import NetSpec, forward, init_params, loss_and_grads, loss_value


def numeric_grads(f, params, eps=1e-6, per_array=6):
    """Central differences at up to ``per_array`` seeded entries of every array (NaN elsewhere)."""
    out = {}
    pick = np.random.default_rng(5)
    for k, v in params.items():
        g = np.full_like(v, np.nan)
        flat = list(np.ndindex(v.shape))
        for j in pick.permutation(len(flat))[:per_array]:
            i = flat[j]
            old = v[i]
            v[i] = old + eps
            a = f()
            v[i] = old - eps
            b = f()
            v[i] = old
            g[i] = (a - b) / (2 * eps)
        out[k] = g
    return out


def check(kind, loss, reset="threshold", tokens=False, act=0.0, units=(4, 3), seed=1, floor=0.0, jitter=0.0):
    spec = NetSpec(kind=kind, n_in=5, units=list(units), n_out=3, tokens=tokens,
                   embed_dim=4 if tokens else 0, reset=reset, surrogate="sigmoid")
    p = init_params(spec, seed, dtype=np.float64)
    for k in p:  # nonzero biases so that every bias path is exercised
        if "bias" in k:
            p[k] += np.random.default_rng(3).normal(0, 0.3, p[k].shape)
    rng = np.random.default_rng(0)
    B, T = 2, 4
    X = rng.integers(0, 5, (B, T)) if tokens else rng.normal(size=(B, T, 5))
    y = rng.integers(0, 3, (B, T)) if loss == "lm" else rng.integers(0, 3, B)
    floor_rate = 0.0
    if floor:
        # r_min halfway between the two middle units' rates (the smooth o's mean): some
        # units are below the floor and some above, all far from its kink
        rates = np.sort(np.concatenate([c["O"].mean(axis=(0, 1)) for c in forward(spec, p, X).caches]))
        mid = len(rates) // 2
        assert rates[mid] - rates[mid - 1] > 1e-3
        floor_rate = 0.5 * (rates[mid - 1] + rates[mid])
    # threshold jitter: every evaluation draws the same offsets from a generator seeded alike
    _, g, _, _ = loss_and_grads(spec, p, X, y, loss, activity_reg=act, floor_reg=floor, floor_rate=floor_rate,
                                rng=np.random.default_rng(11), thr_jitter=jitter)
    num = numeric_grads(lambda: loss_value(spec, p, X, y, loss, act, floor, floor_rate, jitter,
                                           np.random.default_rng(11)), p)
    assert set(g) == set(p)
    for k in p:
        sel = ~np.isnan(num[k])
        scale = max(np.abs(num[k][sel]).max(), 1e-3)
        np.testing.assert_allclose(g[k][sel], num[k][sel], atol=2e-5 * scale + 1e-9, rtol=0, err_msg=k)


@pytest.mark.parametrize("reset", ["threshold", "output"])
@pytest.mark.parametrize("loss", ["last", "all", "trace"])
def test_egru_classification(reset, loss):
    check("egru", loss, reset)


@pytest.mark.parametrize("reset", ["threshold", "output"])
def test_egru_lm_with_embedding_and_activity_regulariser(reset):
    check("egru", "lm", reset, tokens=True, act=0.5)


@pytest.mark.parametrize("reset", ["threshold", "output"])
def test_egru_rate_floor_with_activity_regulariser(reset):
    check("egru", "trace", reset, act=0.3, floor=2.0)


@pytest.mark.parametrize("reset", ["threshold", "output"])
def test_egru_threshold_jitter_with_regularisers(reset):
    check("egru", "trace", reset, act=0.3, floor=2.0, jitter=0.4)


@pytest.mark.parametrize("loss", ["last", "all", "trace"])
def test_gru(loss):
    check("gru", loss)


def test_gru_lm_embedding():
    check("gru", "lm", tokens=True, units=(3,))


@pytest.mark.parametrize("loss", ["last", "all", "trace"])
def test_lstm(loss):
    check("lstm", loss)


def test_lstm_lm_embedding():
    check("lstm", "lm", tokens=True, units=(3,))


def test_pseudo_derivative_hand_worked_single_step():
    """One unit, one step, s_0 = y_0 = 0: c = (1 − z)·g, y = H(c − ϑ)·c.

    With dL/dy = 1 the gradient to c is o + c·γ·max(0, 1 − s_w|c − ϑ|), and to ϑ
    it is −c·γ·max(0, 1 − s_w|c − ϑ|) (threshold reset, no later step)."""
    gamma, sw = 0.7, 2.0
    opt = cells.EGRUOptions(dampening=gamma, support=sw)
    for thr, expect_event in ((0.1, True), (0.5, False)):
        p = {"kernel": np.array([[0.0, 0.0, 1.0]]), "recurrent_kernel": np.zeros((1, 3)),
             "bias": np.zeros(3), "recurrent_bias": np.zeros(3), "thr": np.array([thr])}
        x = np.array([[[0.8]]])
        Y, cache = cells.gru_type_forward(p, x, "egru", opt)
        z, g = 0.5, np.tanh(0.8)          # z = σ(0), g = tanh(0.8)
        c = (1 - z) * g                   # 0.332...
        assert (Y[0, 0, 0] != 0) == expect_event
        assert Y[0, 0, 0] == pytest.approx(c if expect_event else 0.0)
        grads, _ = cells.gru_type_backward(p, cache, np.ones_like(Y), "egru", opt)
        h = gamma * max(0.0, 1 - sw * abs(c - thr))
        o = 1.0 if expect_event else 0.0
        dc = o + c * h
        assert grads["thr"][0] == pytest.approx(-c * h)
        # dc reaches the candidate through (1 − z)·(1 − g²), and kernel[0, g] = x·that
        assert grads["kernel"][0, 2] == pytest.approx(0.8 * dc * (1 - z) * (1 - g * g))


def test_pseudo_derivative_support_and_dampening():
    opt = cells.EGRUOptions(dampening=0.7, support=1.0)
    c = np.array([0.3, 0.8, 1.3, 2.0, -0.7])
    o, h = cells._event_fn(c, np.full(5, 0.3), opt)
    np.testing.assert_array_equal(o, [0, 1, 1, 1, 0])   # H(0) = 0: c = ϑ is no event
    np.testing.assert_allclose(h, [0.7, 0.35, 0.0, 0.0, 0.0])


def test_trace_readout_equals_hand_rolled_trace():
    """The "trace" loss reads W·tr_T + b with tr_t = α·tr_{t−1} + (1 − α)·y_t, tr_0 = 0:
    computed here by the recursion itself (α = 0.9, EvNN's value), not by the weights."""
    from eventsim.train.network import readout_logits
    rng = np.random.default_rng(5)
    top = rng.normal(size=(3, 7, 4))
    params = {"readout.weight": rng.normal(size=(2, 4)), "readout.bias": rng.normal(size=2)}
    tr = np.zeros((3, 4))
    for t in range(7):
        tr = 0.9 * tr + 0.1 * top[:, t]
    np.testing.assert_allclose(readout_logits(params, top, "trace"),
                               tr @ params["readout.weight"].T + params["readout.bias"], rtol=1e-12)


def _layer(seed, m=2, n=5):
    rng = np.random.default_rng(seed)
    return {"kernel": rng.normal(0, 0.8, (m, 3 * n)), "recurrent_kernel": rng.normal(0, 0.8, (n, 3 * n)),
            "bias": rng.normal(0, 0.3, 3 * n), "recurrent_bias": rng.normal(0, 0.3, 3 * n),
            "thr": rng.uniform(0.05, 0.4, n)}


def test_threshold_jitter_output_reset_is_a_shifted_threshold():
    """Reset "output" uses ϑ only in the firing test, so one sample jittered by δ runs
    exactly like the same layer with thresholds ϑ + δ and no jitter."""
    opt = cells.EGRUOptions(reset="output")
    p = _layer(0)
    X = np.random.default_rng(1).normal(size=(1, 12, 2))
    delta = np.array([[0.15, -0.1, 0.0, 0.3, -0.2]])
    Y, cache = cells.gru_type_forward(p, X, "egru", opt, thr_offset=delta)
    Y2, _ = cells.gru_type_forward(dict(p, thr=p["thr"] + delta[0]), X, "egru", opt)
    np.testing.assert_array_equal(Y, Y2)
    assert cache["O"].any() and not cache["O"].all()


def test_threshold_jitter_threshold_reset_subtracts_the_nominal_threshold():
    """Reset "threshold": sample b's unit i fires when c > ϑ_i + δ_bi, and the reset then
    subtracts ϑ_i (not ϑ_i + δ_bi); jitter changes which events happen, not their size."""
    p = _layer(2)
    X = np.random.default_rng(3).normal(size=(3, 10, 2))
    delta = np.random.default_rng(4).normal(0, 0.2, (3, 5))
    Y, c = cells.gru_type_forward(p, X, "egru", cells.EGRUOptions(), thr_offset=delta)
    fired = c["C"] > p["thr"] + delta[:, None, :]
    np.testing.assert_array_equal(c["O"], fired)
    np.testing.assert_array_equal(Y, np.where(fired, c["C"], 0.0))
    np.testing.assert_allclose(c["S"], c["C"] - fired * p["thr"], rtol=0, atol=1e-15)
    plain = cells.gru_type_forward(p, X, "egru", cells.EGRUOptions())[1]["O"]
    assert (plain != c["O"]).any()         # the offsets do change events here
