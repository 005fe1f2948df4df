"""The engine's event queue (eventsim.engine.queue): push, drain, order, capacity, and its
invariants (EventQueue._check) after runs of both unit models."""
import numpy as np
import pytest

import eventsim
from eventsim.engine.queue import QM_CNT, new_queue, queue_drain, queue_push, ring_layout
from eventsim.inputs import prepare_input


def make_queue(caps=(3, 2), slots=(2, 1), dtype=np.float64):
    return new_queue(*ring_layout(list(caps), list(slots)), dtype)


def drained(q, p, t):
    a, b = queue_drain(q, p, t)
    return list(zip(q.src[a:b].tolist(), q.val[a:b].tolist()))


def test_layout_packs_the_rings():
    meta, n_src, n_cnt = ring_layout([3, 0, 2], [2, 0, 4])
    assert meta.tolist() == [[0, 0, 2, 3], [6, 2, 0, 0], [6, 2, 4, 2]]
    assert (n_src, n_cnt) == (6 + 8, 2 + 4)


def test_drain_returns_the_events_in_push_order_and_empties_the_bucket():
    q = make_queue()
    for j, v in [(2, 0.5), (0, -1.0), (1, 2.0)]:
        queue_push(q, 0, 1, j, v)
    queue_push(q, 0, 2, 1, 7.0)
    queue_push(q, 1, 1, 0, 3.0)
    q._check(1)
    assert drained(q, 0, 1) == [(2, 0.5), (0, -1.0), (1, 2.0)]
    assert drained(q, 0, 1) == []  # a drained bucket is empty
    assert drained(q, 1, 1) == [(0, 3.0)]
    q._check(2)
    assert drained(q, 0, 2) == [(1, 7.0)]
    q._check(3)
    assert not q.cnt.any()


def test_ring_wraps_around_over_many_steps():
    """A ring of d + 1 buckets carries every event exactly d steps, step after step."""
    d, n = 3, 4
    q = make_queue(caps=(n,), slots=(d + 1,))
    rng = np.random.default_rng(0)
    sent = {}
    for t in range(40):
        got = drained(q, 0, t)
        assert got == sent.pop(t, [])
        emit = sorted(rng.choice(n, size=rng.integers(0, n + 1), replace=False).tolist())
        sent[t + d] = [(j, float(t * 10 + j)) for j in emit]
        for j in emit:
            queue_push(q, 0, t + d, j, float(t * 10 + j))
        q._check(t + 1)


def test_recurrent_ring_reuses_the_bucket_drained_this_step():
    """Delay d_rec = 0: one bucket; events of step t are due at t + 1 and land in the bucket
    of step t, after it was drained."""
    q = make_queue(caps=(2,), slots=(1,))
    for t in range(5):
        assert drained(q, 0, t) == ([] if t == 0 else [(0, float(t - 1))])
        queue_push(q, 0, t + 1, 0, float(t))
        q._check(t + 1)


def test_check_catches_an_undrained_bucket():
    q = make_queue()
    queue_push(q, 0, 4, 1, 1.0)
    q._check(4)
    with pytest.raises(AssertionError, match="not drained"):
        q._check(5)
    queue_drain(q, 0, 4)
    q._check(5)


def test_check_catches_a_bucket_over_capacity():
    q = make_queue()
    for j in range(3):
        queue_push(q, 0, 1, j, 1.0)
    q._check(0)
    q.cnt[q.meta[0, QM_CNT] + 1] += 1  # a fourth event in a bucket of capacity 3
    with pytest.raises(AssertionError, match="capacity"):
        q._check(0)


def test_check_catches_an_event_in_the_wrong_bucket_or_beyond_the_ring():
    q = make_queue()
    queue_push(q, 0, 3, 0, 1.0)
    q.due[q.meta[0, QM_CNT] + 1] = 2  # bucket 1 of a 2-bucket ring cannot hold step 2
    with pytest.raises(AssertionError, match="in bucket"):
        q._check(2)
    q = make_queue()
    queue_push(q, 0, 5, 0, 1.0)  # due 5 steps ahead in a ring of 2 buckets
    with pytest.raises(AssertionError, match="past the ring"):
        q._check(1)


def egru_case(T, ff=(0, 1), rec=(2, 0)):
    m = eventsim.random_model(5, [12, 9], n_out=3, seed=3, dtype="float64", thr_mean=0.1,
                              ff_delays=ff, rec_delays=rec)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, T, 5)) * (rng.random((3, T, 5)) < 0.5)
    return eventsim.compile_model(m), prepare_input(m, x)


@pytest.mark.parametrize("T", [1, 2, 5, 13])
def test_egru_queue_invariants_after_a_run(T):
    cm, table = egru_case(T)
    queues = cm.final_queues(table)
    assert len(queues) == 3
    for q in queues:
        q._check(T)
    # the delays leave events due after the run (else the check would be vacuous)
    assert any(q.cnt.any() for q in queues)


def test_egru_queue_check_fails_on_a_corrupted_queue():
    T = 13
    cm, table = egru_case(T)
    q = cm.final_queues(table)[0]
    c = int(np.flatnonzero(q.cnt)[0])
    q.due[c] = T - 1  # pretend an event due at the last step was never drained
    with pytest.raises(AssertionError, match="not drained"):
        q._check(T)


def test_egru_final_queues_do_not_change_the_run():
    cm, table = egru_case(9)
    a = cm.run(table, ("y",))
    cm.final_queues(table)
    b = cm.run(table, ("y",))
    for ya, yb in zip(a["y"], b["y"]):
        np.testing.assert_array_equal(ya, yb)


@pytest.mark.parametrize("kw", [dict(delay_in=(0, 0), delay_rec=(1, 1)),
                                dict(delay_in=(2, 2), delay_rec=(4, 4)),
                                dict(delay_in=(0, 3), delay_rec=(1, 5))])
def test_lif_queue_invariants_after_every_chunk(kw):
    from eventsim import lif
    from eventsim.lif.engine import CompiledLIF
    from eventsim.lif.inputs import input_table
    m = lif.random_lif_model(10, 20, seed=1, tau=0.01, fanout_rec=6, **kw)
    x = lif.poisson_stream(10, 60, 300.0, 1e-3, n_samples=2, seed=2)
    cl = CompiledLIF(m)
    table = input_table(x, m.n_in)
    # after every step (chunks of one step): nothing due in the past, nothing over capacity
    queues = cl.final_queues(table, chunk=1, check=True)
    for q in queues:
        q._check(table.n_steps)
    # events due at or after the end of the run are dropped, not queued
    assert not any(q.cnt.any() for q in queues)


def test_lif_queue_check_runs_mid_run_and_fails_on_corruption(monkeypatch):
    from eventsim import lif
    from eventsim.engine import queue as Q
    from eventsim.lif.engine import CompiledLIF
    from eventsim.lif.inputs import input_table
    m = lif.random_lif_model(10, 20, seed=1, tau=0.01, fanout_rec=6, delay_in=(2, 2), delay_rec=(3, 3))
    table = input_table(lif.poisson_stream(10, 30, 300.0, 1e-3, seed=2), m.n_in)
    seen = []
    check = Q.EventQueue._check

    def spy(self, t):
        seen.append(int(self.cnt.sum()))
        check(self, t)
        if t == 20:  # an event of step 19 left in its bucket
            self.cnt[self.meta[1, QM_CNT] + 19 % 4] = 1
            self.due[self.meta[1, QM_CNT] + 19 % 4] = 19
            check(self, t)

    monkeypatch.setattr(Q.EventQueue, "_check", spy)
    with pytest.raises(AssertionError, match="not drained"):
        CompiledLIF(m).final_queues(table, chunk=1, check=True)
    assert len(seen) == 20 and max(seen) > 0  # checked after every step, with events in flight
