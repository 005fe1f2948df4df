"""LIF event engine: hand-worked cases, closed forms, and the naive reference as oracle."""
import numpy as np
import pytest

from eventsim.errors import EventsimError
from eventsim.inputs import EventStream
from eventsim.lif import make_lif, poisson_stream, random_lif_model, simulate_lif

DT = 1e-3
TAU_HALF = DT / np.log(2.0)  # alpha = exp(-dt/tau) = 1/2


def stream(events, T, m):
    """events: list of (t, channel) binary input spikes of one sample."""
    t = np.array([e[0] for e in events], dtype=np.int64)
    c = np.array([e[1] for e in events], dtype=np.int64)
    o = np.lexsort((c, t))
    return EventStream(np.zeros(len(t), np.int64), t[o], c[o], np.ones(len(t), np.float32), 1, T, m)


def both(model, x, **kw):
    r = simulate_lif(model, x, record_v=True, **kw)
    q = simulate_lif(model, x, engine="reference", record_v=True, **kw)
    return r, q


def test_leak_and_bias_follow_the_closed_form():
    # no input: v_t = b (1 - alpha^(t+1)) / (1 - alpha); threshold never reached
    tau, b = 0.02, 0.01
    m = make_lif(1, 1, tau=tau, thr=100.0, bias=b, dt=DT)
    T = 50
    r = simulate_lif(m, np.zeros((T, 1)), record_v=True)
    a = np.exp(-DT / tau)
    expected = b * (1 - a ** np.arange(1, T + 1)) / (1 - a)
    np.testing.assert_allclose(r.v[0, :, 0], expected, rtol=1e-12)
    assert len(r.t) == 0


def test_hand_worked_threshold_reset_and_counts():
    # alpha = 1/2; two channels -> unit 0 with w = 0.625 each (exact in binary)
    m = make_lif(2, 1, ([0, 1], [0, 0], [0.625, 0.625]), tau=TAU_HALF, thr=1.0, dt=DT)
    x = stream([(0, 0), (1, 0), (1, 1), (5, 0)], 8, 2)
    r = simulate_lif(m, x, record_v=True)
    # t0: 0.625; t1: 0.3125 + 1.25 = 1.5625 > 1 -> event, reset 0; t5: 0.625, then halves
    np.testing.assert_allclose(r.v[0, :, 0], [0.625, 0, 0, 0, 0, 0.625, 0.3125, 0.15625], rtol=0, atol=0)
    assert r.t.tolist() == [1] and r.unit.tolist() == [0]
    c = r.counts.to_dict()
    assert c["input_events"] == 4 and c["events"] == 1 and c["effective_acs"] == 4
    assert c["unit_updates"]["event_driven"] == 3  # steps 0, 1, 5
    assert c["synops"]["dense"] == 8 * (2 + 1) * 1 and c["synops"]["weight_sparse"] == 8 * 2
    assert c["synops"]["activity_sparse"] == (4 + 1) * 1
    assert c["activity_sparsity"] == 1 - 1 / 8


def test_threshold_is_strict():
    m = make_lif(1, 1, ([0], [0], [1.0]), tau=TAU_HALF, thr=1.0, dt=DT)
    r = simulate_lif(m, stream([(0, 0)], 3, 1))
    assert len(r.t) == 0  # v = 1.0 exactly is not > 1.0


def test_delays_input_and_recurrent():
    # input delay 3 to unit 0 (fires), unit 0 -> unit 1 with delay 4 (fires), unit 1 -> unit 0 delay 2
    m = make_lif(1, 2, ([0], [0], [2.0], [3]), ([0, 1], [1, 0], [1.5, 0.25], [4, 2]),
                 tau=TAU_HALF, thr=1.0, dt=DT)
    r = simulate_lif(m, stream([(0, 0)], 12, 1), record_v=True)
    assert list(zip(r.t.tolist(), r.unit.tolist())) == [(3, 0), (7, 1)]
    assert r.v[0, 9, 0] == 0.25  # unit 1's event of step 7 arrives at step 9
    # the event of step 7 delivers its synapse to unit 0 at 9 < 12; a shorter run drops it
    assert r.counts.effective_acs == 3
    short = simulate_lif(m, stream([(0, 0)], 9, 1))
    assert short.counts.effective_acs == 2 and short.counts.events == 2


def test_refractory_discards_input_and_holds_v():
    m = make_lif(1, 1, ([0], [0], [1.5]), tau=TAU_HALF, thr=1.0, v_reset=0.125, refractory=2, dt=DT)
    r = simulate_lif(m, stream([(t, 0) for t in range(6)], 6, 1), record_v=True)
    # t0 fires (reset 0.125); t1, t2 refractory (held at 0.125, input lost); t3 fires again ...
    assert r.t.tolist() == [0, 3]
    np.testing.assert_array_equal(r.v[0, :, 0], [0.125, 0.125, 0.125, 0.125, 0.125, 0.125])
    # refractory units that receive input are still woken (6 steps, all received)
    assert r.counts.event_driven_updates == 6 and r.counts.effective_acs == 6


def test_subtract_reset_keeps_the_excess():
    m = make_lif(1, 1, ([0], [0], [3.25]), tau=TAU_HALF, thr=1.0, reset="subtract", dt=DT)
    r = simulate_lif(m, stream([(0, 0)], 4, 1), record_v=True)
    # t0: 3.25 -> 2.25; t1: 1.125 -> 0.125; t2: 0.0625; t3: 0.03125
    assert r.t.tolist() == [0, 1]
    np.testing.assert_array_equal(r.v[0, :, 0], [2.25, 0.125, 0.0625, 0.03125])


def test_graded_events_carry_v_and_cost_macs():
    m = make_lif(1, 2, ([0], [0], [3.0]), ([0], [1], [0.5]), tau=TAU_HALF, thr=1.0, events="graded", dt=DT)
    r = simulate_lif(m, stream([(0, 0)], 3, 1), record_v=True)
    assert r.t.tolist() == [0, 1] and r.unit.tolist() == [0, 1]
    assert r.value.tolist() == [3.0, 1.5]  # unit 1 gets 0.5 * 3.0 at step 1
    assert r.counts.effective_acs == 1 and r.counts.effective_macs == 1  # input AC, graded MAC


def test_input_values_other_than_one_cost_macs():
    m = make_lif(2, 3, ([0, 0, 1], [0, 1, 2], [0.1, 0.1, 0.1]), tau=0.01, thr=10.0, dt=DT)
    x = np.zeros((4, 2))
    x[0, 0], x[1, 1] = 1.0, 0.5
    r = simulate_lif(m, x)
    assert r.counts.effective_acs == 2 and r.counts.effective_macs == 1


CASES = [
    dict(),
    dict(delay_in=(0, 4), delay_rec=(1, 6)),
    dict(refractory=2, delay_rec=(1, 3)),
    dict(reset="subtract", bias=0.02),
    dict(events="graded", w_rec=(0.0, 0.05), refractory=1),
    dict(fanout_rec=0, delay_in=(2, 2)),
    dict(v_reset=-0.3, refractory=4, delay_in=(1, 1), delay_rec=(3, 3)),
]


@pytest.mark.parametrize("kw", CASES)
def test_engine_equals_naive_reference(kw):
    args = dict(fanout_in=8, fanout_rec=6, w_in=(0.35, 0.2), w_rec=(0.05, 0.3), seed=7)
    args.update(kw)
    m = random_lif_model(12, 30, **args)
    x = poisson_stream(12, 120, 150.0, 1e-3, n_samples=2, seed=11)
    r, q = both(m, x)
    assert len(r.t) > 20  # the case is not vacuous
    # identical events; graded values may differ in the last bit (summation order)
    np.testing.assert_array_equal(r.raster() != 0, q.raster() != 0)
    np.testing.assert_allclose(r.raster(), q.raster(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(r.v, q.v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.v_final, q.v_final, rtol=1e-12, atol=1e-12)
    assert r.counts.to_dict() | {"engine": ""} == q.counts.to_dict() | {"engine": ""}


def test_dense_fully_connected_rows_take_the_contiguous_walk():
    rng = np.random.default_rng(3)
    from eventsim.lif.model import projection_from_dense
    W_in = rng.normal(0.4, 0.2, (5, 7))
    W_rec = rng.normal(0.0, 0.2, (7, 7))
    m = make_lif(5, 7, projection_from_dense(W_in), projection_from_dense(W_rec, delay=2), tau=0.01, dt=DT)
    from eventsim.lif.engine import CompiledLIF
    assert CompiledLIF(m).meta[:, 5].tolist() == [1, 1]  # both projections flagged dense
    x = poisson_stream(5, 80, 300.0, 1e-3, seed=1)
    r, q = both(m, x)
    assert len(r.t) > 5
    np.testing.assert_array_equal(r.raster(), q.raster())
    assert r.counts.effective == q.counts.effective


def test_long_run_chunks_and_buffer_refills():
    # every unit fires every step: more events than one output buffer holds (16 n per chunk call)
    m = make_lif(1, 3, tau=0.01, thr=0.5, bias=1.0, dt=DT)
    r = simulate_lif(m, np.zeros((5000, 1)))
    assert len(r.t) == 15000 and np.all(np.diff(r.t[::3]) == 1)


def test_bad_inputs_and_engine():
    m = make_lif(2, 3, tau=0.01, dt=DT)
    with pytest.raises(EventsimError, match=r"dense inputs must have shape \(T, 2\)"):
        simulate_lif(m, np.zeros((4, 3)))
    with pytest.raises(EventsimError, match="engine 'fast' is unknown"):
        simulate_lif(m, np.zeros((4, 2)), engine="fast")
    with pytest.raises(EventsimError, match="has channels up to 4"):
        simulate_lif(m, stream([(0, 4)], 3, 5))

