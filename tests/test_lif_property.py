"""LIF engine vs the naive reference on hypothesis-generated networks (seeded, rerunnable)."""
import numpy as np
import pytest

from eventsim.lif import poisson_stream, random_lif_model, simulate_lif


def both(model, x):
    return (simulate_lif(model, x, record_v=True),
            simulate_lif(model, x, engine="reference", record_v=True))


hyp = pytest.importorskip("hypothesis")
st = hyp.strategies


@hyp.settings(max_examples=25, deadline=None, derandomize=True)
@hyp.given(n_in=st.integers(1, 5), n=st.integers(1, 8), T=st.integers(1, 40), seed=st.integers(0, 10_000),
           dmax_in=st.integers(0, 4), dmax_rec=st.integers(1, 5), refractory=st.integers(0, 3),
           reset=st.sampled_from(["value", "subtract"]), events=st.sampled_from(["binary", "graded"]),
           bias=st.sampled_from([0.0, 0.05, -0.02]), samples=st.integers(1, 2))
def test_engine_equals_reference_on_generated_networks(n_in, n, T, seed, dmax_in, dmax_rec, refractory, reset,
                                                        events, bias, samples):
    rng = np.random.default_rng(seed)
    m = random_lif_model(n_in, n, fanout_in=int(rng.integers(0, n + 1)), fanout_rec=int(rng.integers(0, n + 1)),
                         w_in=(0.6, 0.4), w_rec=(0.0, 0.5), delay_in=(0, dmax_in), delay_rec=(1, dmax_rec),
                         tau=0.005, thr=1.0, bias=bias, dt=1e-3, reset=reset, refractory=refractory,
                         events=events, seed=seed)
    x = poisson_stream(n_in, T, 300.0, 1e-3, n_samples=samples, seed=seed + 1)
    r, q = both(m, x)
    np.testing.assert_array_equal(r.raster() != 0, q.raster() != 0)
    np.testing.assert_allclose(r.v, q.v, rtol=1e-12, atol=1e-12)
    assert r.counts.to_dict() | {"engine": ""} == q.counts.to_dict() | {"engine": ""}
