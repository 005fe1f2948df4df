"""The engine's vectorised gate arithmetic and its event-driven unit updates (sleeping units).

Gates: float32 against float64 numpy (the independent reference) to within a few ulps;
a unit's gates must not depend on the block it is computed in (the vector body and the
scalar remainder of a loop give the same bits), or quiet and woken units would differ.
Sleeping: a run in which units sleep (nothing recorded per unit but y) must give, bit for
bit, what the same run gives when every unit is updated at every step (``c`` recorded), and
both equal the dense reference; the engine must really have skipped unit-steps.
"""
import numpy as np
import pytest

import eventsim
from eventsim import EventStream, simulate
from eventsim.egru.engine import CompiledEGRU
from eventsim.engine.vmath import gates_of

SLEEP = ("y", "readout", "steps")
ALL = ("y", "c", "readout", "steps")


def exact_gates(a):
    """(z, (1 − z)·g) in float64 from float32 pre-activations, each float32 sum formed first as
    the engine forms it (vx + vh, then vxg + r·vhg with r rounded to float32)."""
    vz = (a[0] + a[1]).astype(np.float64)
    vr = (a[2] + a[3]).astype(np.float64)
    z = 1.0 / (1.0 + np.exp(-vz))
    r32 = (1.0 / (1.0 + np.exp(-vr))).astype(np.float32)
    g = np.tanh((a[4] + r32 * a[5]).astype(np.float64))
    return z, (1.0 - z) * g


def test_float32_gates_within_a_few_ulps():
    rng = np.random.default_rng(0)
    n = 400_000
    a = [(rng.normal(size=n) * s).astype(np.float32) for s in (4, 1, 4, 1, 4, 2)]
    a[4][:2000] = np.linspace(-1e-4, 1e-4, 2000)  # tiny candidates: tanh must not cancel
    a[5][:2000] = 0
    a[0][:2000] = a[1][:2000] = 0  # z = 1/2 there: k = g/2, its relative error is tanh's
    z, k = gates_of(*a)
    zr, kr = exact_gates(a)
    ulp = lambda v: np.spacing(np.abs(v).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(z - zr) / ulp(zr)) <= 2.5
    # (1 − z) is rounded where z is near 1: an absolute bound of a few float32 ulps of 1
    assert np.max(np.abs(k - kr)) <= 4 * np.spacing(np.float32(1))
    small = np.abs(kr[:2000]) > 0
    assert np.max(np.abs(k[:2000] - kr[:2000])[small] / np.abs(kr[:2000][small])) < 1e-6


def test_float32_gates_saturate_and_propagate_nan():
    big = np.array([200.0, -200.0, np.inf, -np.inf, np.nan], np.float32)
    zero = np.zeros(5, np.float32)
    z, k = gates_of(big, zero, zero, zero, big, zero)
    assert z[0] == 1.0 and z[2] == 1.0 and 0 <= z[1] < 1e-37 and 0 <= z[3] < 1e-37
    assert k[1] == pytest.approx(-1.0) and k[3] == pytest.approx(-1.0)  # (1 − 0)·tanh(−∞)
    assert k[0] == 0.0 and np.isnan(z[4]) and np.isnan(k[4])


def test_gates_do_not_depend_on_the_block():
    """Each element alone, at every offset of a longer block, or in the whole block: same bits."""
    rng = np.random.default_rng(1)
    a = [(rng.normal(size=37) * 3).astype(np.float32) for _ in range(6)]
    z, k = gates_of(*a)
    for j in range(37):
        zj, kj = gates_of(*[v[j:j + 1] for v in a])
        assert zj[0] == z[j] and kj[0] == k[j]
    for off in (1, 5, 8, 13):
        zo, ko = gates_of(*[v[off:] for v in a])
        np.testing.assert_array_equal(zo, z[off:])
        np.testing.assert_array_equal(ko, k[off:])


def test_float64_gates_are_libm_close_to_numpy():
    rng = np.random.default_rng(2)
    a = [rng.normal(size=1000) * 3 for _ in range(6)]
    z, k = gates_of(*a)
    zr = 1 / (1 + np.exp(-(a[0] + a[1])))
    r = 1 / (1 + np.exp(-(a[2] + a[3])))
    np.testing.assert_allclose(z, zr, rtol=1e-15, atol=0)
    np.testing.assert_allclose(k, (1 - zr) * np.tanh(a[4] + r * a[5]), rtol=0, atol=1e-15)


def test_sleep_flag_is_the_quiet_map_below_threshold():
    """A unit may sleep exactly when f(ϑ) = z0·ϑ + k0 ≤ ϑ in the model's arithmetic."""
    m = eventsim.random_model(3, [6], seed=0, dtype="float32", thr_mean=0.3)
    layer = m.layers[0]
    n = 6
    layer.bias[:] = 0
    layer.recurrent_bias[:] = 0
    layer.bias[2 * n:] = [3.0, 3.0, -3.0, 0.0, 0.2, 1.0]  # candidate bias: fixed point g
    layer.thr[:] = [0.5, 0.999, 0.1, 0.0, 0.3, 0.1]
    net = CompiledEGRU(m).net
    z0, k0, thr = net.z0, net.k0, layer.thr
    expected = (z0 * thr + k0 <= thr).astype(np.uint8)
    np.testing.assert_array_equal(net.sleep, expected)
    # tanh(3) ≈ 0.995: above 0.5, below 0.999 (z0 = 1/2: f(ϑ) = ϑ/2 + 0.497...)
    assert list(net.sleep) == [0, 1, 1, 1, 1, 0]


def random_case(seed, dtype, reset):
    rng = np.random.default_rng(seed)
    dens = [1.0, 0.3, 0.05][seed % 3]
    sizes = [[20], [20, 15], [12, 9, 6]][seed % 3]
    delays = [((0,) * len(sizes), (0,) * len(sizes)), ((1,) * len(sizes), (2,) * len(sizes))][seed % 2]
    m = eventsim.random_model(6, sizes, n_out=3, seed=seed, dtype=dtype, reset=reset,
                              weight_density=dens, thr_mean=0.25).with_delays(*delays)
    for layer in m.layers:
        layer.bias[:] = rng.normal(scale=0.3, size=layer.bias.shape)
    x = rng.normal(size=(3, 80, 6)) * (rng.random((3, 80, 6)) < 0.08)
    x[:, 20:60] = 0  # a long quiet stretch: units sleep through it and are caught up
    return m, x


@pytest.mark.parametrize("reset", ["threshold", "output"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sleeping_run_is_bit_identical_to_updating_every_unit(dtype, reset):
    slept = 0
    for seed in range(9):
        m, x = random_case(seed, dtype, reset)
        a = simulate(m, x, record=SLEEP)
        b = simulate(m, x, record=ALL)  # c recorded: no unit sleeps
        assert b.slept == 0
        slept += a.slept
        for p, q in zip(a.y, b.y):
            np.testing.assert_array_equal(p, q)
        for (sa, ya), (sb, yb) in zip(a.state, b.state):
            np.testing.assert_array_equal(sa, sb)
            np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(a.readout, b.readout)
        assert a.counts.to_dict() == b.counts.to_dict()
        for key in a.counts.per_step:
            np.testing.assert_array_equal(a.counts.per_step[key], b.counts.per_step[key])
    assert slept > 1000  # the engine did skip unit-steps


def test_sleeping_run_equals_reference_float64():
    from test_engine import assert_same
    for seed in range(6):
        m, x = random_case(seed, "float64", ["threshold", "output"][seed % 2])
        a = simulate(m, x, record=SLEEP)
        assert a.slept > 0
        assert_same(a, simulate(m, x, engine="dense", record=ALL))


def test_long_sleep_then_wake_by_stream():
    """A unit asleep for far longer than the vectorised catch-up rounds (16), woken by one
    input event, equals the reference; its final state too when the run ends asleep."""
    from test_engine import assert_same
    m = eventsim.random_model(2, [30], n_out=2, seed=3, dtype="float64", thr_mean=0.4)
    m.layers[0].bias[:] = np.random.default_rng(3).normal(scale=0.2, size=90)
    ev = EventStream.from_arrays([0, 0, 1], [5, 400, 250], [0, 1, 0], [2.0, -1.5, 1.0], n_steps=700)
    a = simulate(m, ev, record=SLEEP)
    assert a.slept > 30 * 500
    assert_same(a, simulate(m, ev.to_dense(np.float64), engine="dense", record=ALL))
