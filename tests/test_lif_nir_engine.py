"""LIF model features NIR needs: zero-delay feed-forward synapses, synaptic currents
(CubaLIF), the forward-Euler leak, IF units (tau = inf) and non-spiking units (thr = inf).
Expected values are worked by hand or come from the naive reference."""
import numpy as np
import pytest

from eventsim.errors import EventsimError
from eventsim.lif import load_lif, make_lif, save_lif, simulate_lif


def layered(seed, syn=False, refractory=0, graded=False):
    """Three layers 0..39, 40..79, 80..99 with zero-delay forward synapses, plus delayed
    recurrent ones (some backwards)."""
    rng = np.random.default_rng(seed)
    sizes = [40, 40, 20]
    off = np.cumsum([0] + sizes)
    pre, post, w, d = [], [], [], []
    for a in range(2):
        for j in range(off[a], off[a + 1]):
            tg = rng.choice(np.arange(off[a + 1], off[a + 2]), 8, replace=False)
            pre += [j] * 8
            post += list(tg)
            w += list(rng.normal(0.5, 0.4, 8))
            d += [0] * 8
    for j in range(100):  # delayed synapses, any direction
        tg = rng.choice(100, 3, replace=False)
        pre += [j] * 3
        post += list(tg)
        w += list(rng.normal(0.0, 0.3, 3))
        d += list(rng.integers(1, 4, 3))
    ipre = np.repeat(np.arange(10), 12)
    ipost = np.concatenate([rng.choice(40, 12, replace=False) for _ in range(10)])
    tau_syn = np.where(rng.random(100) < 0.5, 5e-4, 0.0) if syn else None
    syn_bias = np.where(tau_syn > 0, rng.normal(0.0, 0.05, 100), 0.0) if syn else None
    return make_lif(10, 100, (ipre, ipost, rng.normal(0.6, 0.3, ipre.size), rng.integers(0, 3, ipre.size)),
                    (pre, post, w, d), tau=rng.uniform(5e-4, 3e-3, 100), thr=1.0, dt=1e-4,
                    leak="euler", tau_syn=tau_syn, syn_bias=syn_bias, refractory=refractory,
                    events="graded" if graded else "binary")


@pytest.mark.parametrize("syn, refractory, graded", [(False, 0, False), (True, 0, False),
                                                     (True, 2, False), (False, 0, True)])
def test_engine_equals_reference_with_zero_delays_and_currents(syn, refractory, graded):
    m = layered(1, syn, refractory, graded)
    x = (np.random.default_rng(2).random((2, 120, 10)) < 0.15).astype(float)
    a = simulate_lif(m, x, record_v=True)
    b = simulate_lif(m, x, engine="reference", record_v=True)
    assert a.counts.events > 50
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.unit, b.unit)
    np.testing.assert_array_equal(a.sample, b.sample)
    np.testing.assert_allclose(a.v, b.v, rtol=1e-12, atol=1e-12)  # summation order
    assert a.counts.to_dict() == {**b.counts.to_dict(), "engine": "event"}


def test_zero_delay_chain_acts_in_the_same_step():
    # input -> unit 0 -> unit 1 -> unit 2, all delay 0: one input spike crosses in one step
    m = make_lif(1, 3, ([0], [0], [2.0]), ([0, 1], [1, 2], [2.0, 2.0], [0, 0]), tau=np.inf, thr=1.0,
                 dt=1e-3, leak="euler")
    r = simulate_lif(m, np.array([[0.0], [1.0], [0.0]]))
    assert list(zip(r.t, r.unit)) == [(1, 0), (1, 1), (1, 2)]
    # synaptic ops: 1 input + 2 recurrent, each an accumulate; 3 units updated
    d = r.counts.to_dict()
    assert (d["effective_acs"], d["unit_updates"]["event_driven"]) == (3, 3)


def test_synaptic_current_by_hand():
    # one CubaLIF unit, euler: beta = 1 - 1e-3/4e-3 = 0.75, alpha = 1 - 1e-3/2e-3 = 0.5, no spikes
    m = make_lif(1, 1, ([0], [0], [1.0]), tau=2e-3, tau_syn=4e-3, thr=np.inf, dt=1e-3, leak="euler")
    r = simulate_lif(m, np.array([[1.0], [0.0], [0.0]]), record_v=True)
    # I: 1, 0.75, 0.5625;  v: 1, 0.5 + 0.75 = 1.25, 0.625 + 0.5625 = 1.1875
    np.testing.assert_allclose(r.v[0, :, 0], [1.0, 1.25, 1.1875], rtol=0, atol=1e-15)
    assert r.counts.events == 0


def test_euler_leak_and_if_units():
    m = make_lif(1, 2, tau=[4e-3, np.inf], thr=1.0, dt=1e-3, leak="euler")
    assert m.alpha.tolist() == [0.75, 1.0]
    with pytest.raises(EventsimError, match=r"tau\[0\] = 0.0005 s is shorter than dt"):
        make_lif(1, 1, tau=5e-4, thr=1.0, dt=1e-3, leak="euler")
    with pytest.raises(EventsimError, match="leak 'rk4' is unknown"):
        make_lif(1, 1, tau=5e-4, thr=1.0, dt=1e-3, leak="rk4")


def test_new_fields_survive_the_file(tmp_path):
    m = layered(3, syn=True)
    save_lif(m, tmp_path / "m.npz")
    r = load_lif(tmp_path / "m.npz")
    assert r.leak == "euler"
    np.testing.assert_array_equal(r.tau_syn, m.tau_syn)
    np.testing.assert_array_equal(r.syn_bias, m.syn_bias)
    x = (np.random.default_rng(0).random((60, 10)) < 0.2).astype(float)
    np.testing.assert_array_equal(simulate_lif(r, x).raster(), simulate_lif(m, x).raster())
