"""Spike-for-spike agreement with Brian2 (small; analysis/brian2_compare.py runs the large one)."""
import numpy as np
import pytest

from eventsim.lif import make_lif, poisson_stream, random_lif_model, simulate_lif
from eventsim.lif.brian import brian2_unavailable

_reason = brian2_unavailable()
pytestmark = pytest.mark.skipif(_reason is not None, reason=f"Brian2 does not import here: {_reason}")


def ring_model(n=120, k=3, **kw):
    """Structured: unit i excites its k neighbours on each side of a ring, delay = distance."""
    pre, post, w, d = [], [], [], []
    for i in range(n):
        for off in range(1, k + 1):
            for j in ((i + off) % n, (i - off) % n):
                pre.append(i), post.append(j), w.append(0.3 / off), d.append(off)
    ch = np.arange(n) // 10  # 12 input channels, each drives a block of 10 units
    return make_lif(n // 10, n, (ch, np.arange(n), np.full(n, 0.9)), (pre, post, w, d),
                    tau=0.02, thr=1.0, dt=1e-4, **kw)


CASES = {
    "random, no delays": (lambda: random_lif_model(40, 150, fanout_in=20, fanout_rec=15, w_in=(0.3, 0.2),
                                                   w_rec=(0.02, 0.3), bias=0.01, seed=1), 40),
    "random, delays + refractory": (lambda: random_lif_model(
        40, 150, fanout_in=20, fanout_rec=15, w_in=(0.3, 0.2), w_rec=(0.02, 0.3), delay_in=(0, 3),
        delay_rec=(1, 6), refractory=3, reset="subtract", seed=2), 40),
    "ring, distance delays": (lambda: ring_model(refractory=2), 12),
}


@pytest.mark.parametrize("name", list(CASES))
def test_identical_spike_trains(name):
    from eventsim.lif.brian import run_brian2
    build, m_in = CASES[name]
    model = build()
    T = 250
    x = poisson_stream(m_in, T, 400.0, 1e-4, seed=5)
    ours = simulate_lif(model, x, record_v=True)
    theirs = run_brian2(model, T, spikes=(x.t, x.channel), target="numpy", record_v=True)
    assert theirs["input_spikes"] == len(x)
    assert len(ours.t) > 50
    np.testing.assert_array_equal(theirs["t"], ours.t)
    np.testing.assert_array_equal(theirs["i"], ours.unit)
    np.testing.assert_allclose(theirs["v"], ours.v[0], rtol=1e-12, atol=1e-12)
