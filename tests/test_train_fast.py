"""The fast training passes (eventsim.train._fast) against the NumPy reference of
eventsim.train.cells, which defines them (and which the torch-autograd and
finite-difference checks verify independently).

Each case runs the same layer, or the same two-layer network through its loss, once with
``cells.FAST = False`` (the reference) and once with the fast passes: events, outputs,
caches and every gradient must be equal to the last bit, in float32 (what training
uses) and float64."""
import numpy as np
import pytest

from eventsim.train import cells
from eventsim.train.cells import EGRUOptions
from eventsim.train.network import NetSpec, init_params, loss_and_grads

def layer_params(rng, m, n, gates, dt):
    p = dict(kernel=rng.normal(0, 0.6, (m, gates * n)), recurrent_kernel=rng.normal(0, 0.4, (n, gates * n)),
             bias=rng.normal(0, 0.2, gates * n), recurrent_bias=rng.normal(0, 0.2, gates * n),
             thr=rng.uniform(0.0, 0.3, n))
    return {k: v.astype(dt) for k, v in p.items()}


def both(monkeypatch, fn, expect=("forward", "backward")):
    """fn() with the reference, then with the fast passes (checking that each fast pass
    the reference's run stood for was called)."""
    from eventsim.train import _fast
    calls = []
    for name in ("gru_forward", "gru_backward", "lstm_forward", "lstm_backward"):
        real = getattr(_fast, name)
        monkeypatch.setattr(_fast, name, lambda *a, _real=real, _name=name, **kw: calls.append(_name) or _real(*a, **kw))
    out = []
    for fast in (False, True):
        monkeypatch.setattr(cells, "FAST", fast)
        out.append(fn())
        assert bool(calls) == fast
    assert {c.split("_")[1] for c in calls} == set(expect)
    return out


def same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("kind,reset,jitter", [("egru", "threshold", False), ("egru", "threshold", True),
                                               ("egru", "output", False), ("egru", "output", True),
                                               ("gru", "threshold", False), ("lstm", "threshold", False)])
def test_layer_forward_backward(monkeypatch, dt, kind, reset, jitter):
    rng = np.random.default_rng(7)
    B, T, m, n = 6, 11, 5, 7
    p = layer_params(rng, m, n, 4 if kind == "lstm" else 3, dt)
    X = rng.normal(0, 1, (B, T, m)).astype(dt)
    dY = rng.normal(0, 1, (B, T, n)).astype(dt)
    opt = EGRUOptions(reset=reset, dampening=0.7, support=1.5, activity_reg=rng.uniform(-0.05, 0.05, n).astype(dt))
    offset = (0.2 * rng.standard_normal((B, n))).astype(dt) if jitter else None

    def run():
        Y, cache = cells.layer_forward(kind, p, X, opt, offset)
        return Y, cache, *cells.layer_backward(kind, p, cache, dY, opt)

    (Y0, c0, g0, dX0), (Y1, c1, g1, dX1) = both(monkeypatch, run)
    same(Y0, Y1)
    if kind == "egru":
        assert 0.1 < c0["O"].mean() < 0.9   # events and silences both present
        assert np.array_equal(c0["O"], c1["O"])
    assert set(g0) == set(g1)
    for k in g0:
        same(g0[k], g1[k])
    same(dX0, dX1)


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("kind,reset", [("egru", "threshold"), ("egru", "output"), ("gru", "threshold"),
                                        ("lstm", "threshold")])
def test_two_layer_network_loss_and_gradients(monkeypatch, dt, kind, reset):
    spec = NetSpec(kind=kind, n_in=3, units=[8, 6], n_out=4, reset=reset)
    p = init_params(spec, 3, dtype=dt, thr_mean=0.05)
    rng = np.random.default_rng(2)
    X = rng.normal(0, 1, (5, 13, 3)).astype(dt)
    y = rng.integers(0, 4, 5)

    def run():
        return loss_and_grads(spec, p, X, y, "trace", dropout=0.2, rng=np.random.default_rng(4),
                              activity_reg=0.3, floor_reg=1.0, floor_rate=0.3, thr_jitter=0.1,
                              floor_unjittered=True)

    (v0, g0, ps0, s0), (v1, g1, ps1, s1) = both(monkeypatch, run)
    assert v0 == v1
    assert s0.get("events") == s1.get("events")
    if kind == "egru":
        assert s0["events"] > 0
    for k in g0:
        same(g0[k], g1[k])


def test_fast_caches_read_like_the_reference(monkeypatch):
    """Every cache entry the rest of the trainer reads has the reference's shape and values."""
    rng = np.random.default_rng(1)
    p = layer_params(rng, 3, 4, 3, np.float64)
    X = rng.normal(0, 1, (2, 5, 3))
    (_, c0), (_, c1) = both(monkeypatch, lambda: cells.layer_forward("egru", p, X, EGRUOptions()), ["forward"])
    for k in ("Z", "R", "G", "VHg", "C", "Y", "S", "O"):
        same(c0[k], c1[k])


def test_a_float64_factor_on_a_float32_layer_is_left_to_the_reference(monkeypatch):
    """NumPy computes reg·h' in float64 then; the fast kernel would not, so it is not used."""
    rng = np.random.default_rng(3)
    p = layer_params(rng, 3, 4, 3, np.float32)
    X = rng.normal(0, 1, (2, 5, 3)).astype(np.float32)
    opt = EGRUOptions(activity_reg=rng.uniform(-0.05, 0.05, 4))   # float64
    monkeypatch.setattr(cells._fast, "gru_backward", lambda *a, **k: pytest.fail("fast backward used"))
    Y, cache = cells.layer_forward("egru", p, X, opt)
    g, _ = cells.layer_backward("egru", p, cache, np.ones_like(Y), opt)
    monkeypatch.setattr(cells, "FAST", False)
    g0, _ = cells.layer_backward("egru", p, cells.layer_forward("egru", p, X, opt)[1], np.ones_like(Y), opt)
    for k in g0:
        same(g0[k], g[k])
