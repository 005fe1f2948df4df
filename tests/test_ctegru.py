"""The continuous-time EGRU (SPEC §6): event engine against the naive reference and a
closed form; files; errors."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventsim.ctegru import (CTEGRULayer, CTEGRUModel, SpikeStream, load_ctegru, poisson_stream,
                             random_ctegru, save_ctegru, simulate_ctegru)
from eventsim.errors import EventsimError

TIME_TOL = 2e-8  # seconds: engine (rtol 1e-10) vs reference (RK4, h = 1e-5 s)


def _compare(model, stream, tol=TIME_TOL):
    ev = simulate_ctegru(model, stream, rtol=1e-10, atol=1e-12)
    ref = simulate_ctegru(model, stream, engine="reference")
    ev.counts._check()
    for b in range(stream.n_samples):
        a, r = ev.spikes(b), ref.spikes(b)
        assert [x[1:] for x in a] == [x[1:] for x in r], f"sample {b}: different spikes"
        if a:
            assert max(abs(x[0] - y[0]) for x, y in zip(a, r)) < tol
    # events, synaptic events (ff, rec), wakeups: exact integers in both
    np.testing.assert_array_equal(ev.counts.raw[:, :4], ref.counts.raw[:, :4])
    return ev


def _active(n_in, layers, seed, **kw):
    kw.setdefault("weight_scale", 2.0)
    return random_ctegru(n_in, layers, seed=seed, bias_means=(0.0, 1.0, 0.3), thr=0.2, **kw)


@pytest.mark.parametrize("seed, layers, ff, rec, density", [
    (0, [8], None, None, 1.0),                  # one population, recurrence
    (3, [6, 5], None, None, 0.6),               # two layers, weight-sparse
    (3, [6, 4], [1e-3, 2e-3], [5e-4, 0.0], 1.0),  # delays on every projection but one
    (4, [10], [0.0], [1e-3], 0.5),              # delayed recurrence only, sparse
])
def test_engine_matches_reference(seed, layers, ff, rec, density):
    model = _active(4, layers, seed, ff_delays=ff, rec_delays=rec, weight_density=density)
    stream = poisson_stream(4, 200.0, 0.03, n_samples=2, seed=seed)
    res = _compare(model, stream)
    assert np.all(res.counts.raw[:, 0] >= 5)  # every layer fires: the case is not vacuous
    assert res.counts.raw[:, 4].sum() > 0  # the engine reports its solver work


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(n_in=st.integers(1, 3), layers=st.lists(st.integers(1, 4), min_size=1, max_size=2),
       seed=st.integers(0, 10_000), density=st.sampled_from([0.4, 1.0]),
       delay=st.sampled_from([0.0, 7e-4]))
def test_engine_matches_reference_generated(n_in, layers, seed, density, delay):
    model = _active(n_in, layers, seed, weight_density=density, rec_delays=[delay] * len(layers))
    stream = poisson_stream(n_in, 300.0, 0.02, seed=seed)
    _compare(model, stream)


def test_constant_drive_fires_periodically_in_closed_form():
    """One unit whose input event at t = 0 sets a_u = b_u, a_z = b_z (a_r = b_r = 0): then
    c(t) = Z·(1 − exp(−σ(b_u)·t/τ_mem)) with Z = tanh(b_z), a crossing every
    T* = −τ_mem/σ(b_u)·ln(1 − ϑ/Z), each followed by a reset to c(T*) − ϑ = 0."""
    bu, bz, thr, tm, t_in = 0.4, 1.2, 0.5, 0.02, 0.0
    layer = CTEGRULayer(kernel=np.array([[bu, 0.0, 2 * bz]]),  # w_z·σ(a_r = 0) = b_z
                        recurrent_kernel=np.zeros((1, 3)), bias=np.array([bu, 0.0, bz]),
                        thr=np.array([thr]), tau_syn=np.array([0.005]), tau_mem=np.array([tm]))
    model = CTEGRUModel([layer])
    period = -tm * (1 + math.exp(-bu)) * math.log(1 - thr / math.tanh(bz))
    res = simulate_ctegru(model, ([t_in], [0]), duration=t_in + 4.5 * period, rtol=1e-11, atol=1e-13)
    expected = t_in + period * np.arange(1, 5)
    np.testing.assert_allclose(res.event_time[0], expected, rtol=0, atol=1e-11)
    assert list(res.event_unit[0]) == [0] * 4
    c = res.counts.to_dict()["total"]
    assert (c["events"], c["synaptic_events"], c["unit_wakeups"]) == (4, 1, 5)


def test_no_drive_no_work():
    model = random_ctegru(2, [5], seed=0, bias_means=(0.0, 0.0, 0.0), bias_scale=0.0)
    res = simulate_ctegru(model, ([], []), duration=0.1)
    assert res.counts.raw.sum() == 0


def test_spikes_are_in_time_order_and_saved_per_sample():
    model = _active(3, [6, 4], 3)
    stream = poisson_stream(3, 300.0, 0.03, n_samples=3, seed=3)
    res = simulate_ctegru(model, stream)
    out = res.outputs()
    for k in range(2):
        t, s = out[f"layer{k}.event_time"], out[f"layer{k}.event_sample"]
        assert t.dtype == np.float64 and out[f"layer{k}.event_unit"].dtype == np.int64
        for b in range(3):
            assert np.all(np.diff(t[s == b]) >= 0)
    one = simulate_ctegru(model, SpikeStream.from_arrays(
        np.zeros(int((stream.sample == 1).sum()), np.int64), stream.t[stream.sample == 1],
        stream.channel[stream.sample == 1], duration=0.03))
    assert one.spikes(0) == res.spikes(1)  # samples are independent


def test_file_round_trip(tmp_path):
    model = random_ctegru(3, [4, 2], seed=5, weight_density=0.5, ff_delays=[0.001, 0.0],
                          rec_delays=[0.0, 0.002], thr=np.array([0.3, 0.4, 0.5, 0.6]).max())
    model.meta["note"] = "kept"
    save_ctegru(model, tmp_path / "m.npz")
    back = load_ctegru(tmp_path / "m.npz")
    assert back.ff_delays == model.ff_delays and back.rec_delays == model.rec_delays
    assert back.meta == {"note": "kept"}
    for a, b in zip(model.layers, back.layers):
        for key in ("kernel", "recurrent_kernel", "bias", "thr", "tau_syn", "tau_mem"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    stream = poisson_stream(3, 100.0, 0.02, seed=1)
    stream.save(tmp_path / "s.npz")
    s2 = SpikeStream.load(tmp_path / "s.npz")
    assert s2.duration == 0.02 and np.array_equal(s2.t, stream.t)


def _layer(n=2, m=1):
    return dict(kernel=np.ones((m, 3 * n)), recurrent_kernel=np.zeros((n, 3 * n)), bias=np.zeros(3 * n),
                thr=np.full(n, 0.5), tau_syn=np.full(n, 0.005), tau_mem=np.full(n, 0.02))


@pytest.mark.parametrize("change, match", [
    (dict(kernel=np.ones((1, 5))), r"kernel has shape \(1, 5\) but layer 0 expects \(m, 3\*n\)"),
    (dict(recurrent_kernel=np.zeros((2, 5))), r"recurrent_kernel has shape"),
    (dict(bias=np.zeros(2)), r"bias has shape \(2,\), expected \(3n,\)"),
    (dict(thr=np.array([0.5, 0.0])), r"thr must be > 0"),
    (dict(tau_mem=np.array([0.02, -1.0])), r"tau_mem must be > 0"),
    (dict(tau_syn=np.array([0.02, np.nan])), r"tau_syn holds a NaN"),
])
def test_bad_model_is_refused(change, match):
    arrs = _layer()
    arrs.update(change)
    with pytest.raises(EventsimError, match=match):
        simulate_ctegru(CTEGRUModel([CTEGRULayer(**arrs)]), ([0.0], [0]))


def test_bad_files_are_refused(tmp_path):
    import json
    arrs = {f"layer0.{k}": v for k, v in _layer().items()}
    np.savez(tmp_path / "a.npz", **arrs, meta=json.dumps({"kind": "ctegru", "rec_delays": [-1.0]}))
    with pytest.raises(EventsimError, match=r"rec_delays \[-1.0\] must be finite numbers of seconds"):
        load_ctegru(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", **arrs, **{"layer0.recurrent_bias": np.zeros(6)},
             meta=json.dumps({"kind": "ctegru"}))
    with pytest.raises(EventsimError, match="has a single bias per layer"):
        load_ctegru(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", **arrs)
    with pytest.raises(EventsimError, match="meta 'kind' is None"):
        load_ctegru(tmp_path / "c.npz")
    np.savez(tmp_path / "d.npz", sample=[0, 0], t=[0.2, 0.1], channel=[0, 0])
    with pytest.raises(EventsimError, match=r"not sorted by \(sample, t\)"):
        SpikeStream.load(tmp_path / "d.npz")
    np.savez(tmp_path / "e.npz", sample=[0], t=[0.1], channel=[0], value=[0.5])
    with pytest.raises(EventsimError, match="must be 1 for every event"):
        SpikeStream.load(tmp_path / "e.npz")


def test_bad_run_options_are_refused():
    model = random_ctegru(2, [3], seed=0)
    with pytest.raises(EventsimError, match="the input has 3 channels but the model takes 2"):
        simulate_ctegru(model, ([0.0], [2]))
    with pytest.raises(EventsimError, match="rtol 0.0 must be a finite number > 0"):
        simulate_ctegru(model, ([0.0], [0]), rtol=0.0)
    with pytest.raises(EventsimError, match="raise max_events"):
        simulate_ctegru(_active(2, [6], 1), poisson_stream(2, 500.0, 0.05, seed=1), max_events=2)


def test_raster_draws_real_valued_times(tmp_path):
    from eventsim.plots.ct_raster import ct_raster_figure
    from eventsim.plots.style import save
    model = _active(3, [6, 4], 3)
    stream = poisson_stream(3, 300.0, 0.03, seed=3)
    res = simulate_ctegru(model, stream)
    fig = ct_raster_figure(res, model.sizes, stream)
    dots = [len(ax.collections[0].get_offsets()) for ax in fig.axes]
    assert dots == [len(stream)] + [int(n) for n in res.counts.raw[:, 0]]
    save(fig, tmp_path / "r.png")
    with pytest.raises(EventsimError, match="lack"):
        ct_raster_figure({}, model.sizes)
