"""The event queue of the engine: a calendar queue of per-step buckets (SPEC §3).

Time is integer (steps) and every delay of a queued projection is one integer
``d >= 0``, so the queue is, per projection ``p``, a ring of ``slots = d + 1``
buckets. An event (source ``j``, value ``v``) pushed for step ``due`` goes into
bucket ``due mod slots`` of ``p``'s ring; the bucket of step ``t`` is drained
(read in order, then emptied) at step ``t``. Events pushed at step ``t`` are
due ``slots`` steps later at most (an EGRU recurrent event: ``t + 1 + d``); one
due exactly ``slots`` steps later lands in the bucket of step ``t``, which is
drained before any push of step ``t``. A bucket holds at most ``capacity``
events: each source emits at most one event per step, and all events of one
bucket were pushed at one step, so ``capacity`` = the projection's number of
sources.

Order. Inside a bucket, events keep their push order, and unit models push
the events of a step in source order; unit models drain their buckets step
by step and, within a step, layer by layer. So events are delivered in
**(step, layer, source)** order, the queue order of SPEC §3, and float sums
over delivered events are always formed in that order.

Step order of a run (every unit model; step ``t`` of one sample, samples are
independent). For each layer ``l = 0 .. L-1`` in order (a LIF network is one
layer):

1. feed-forward events due at step ``t`` are delivered: for layer 0 the input
   events, in channel order (the EGRU reads its input table's row of step
   ``t - d_ff`` directly: the table is its own calendar; the LIF pushes the
   row of step ``t`` into its input projection's ring, due at ``t + d``, and
   drains the bucket of step ``t``), for layer ``l > 0`` the bucket of step
   ``t`` of its feed-forward ring (the events layer ``l - 1`` emitted at step
   ``t - d_ff``). :func:`queue_drain` takes the bucket; each event walks its
   fan-out row into the layer's accumulators (counted) and marks the units it
   reaches;
2. the bucket of step ``t`` of the layer's recurrent ring (its own events of
   an earlier step) is drained and walked the same way;
3. the unit model updates the layer's units from the accumulators (its own
   state, update and event rule) and finds the units that emit;
4. each emitting unit, in unit order, pushes its event (:func:`queue_push`)
   into the rings of the projections it feeds: its own layer's recurrent ring
   (due at ``t + 1`` or later) and the next layer's feed-forward ring (due at
   ``t`` or later: at ``t`` it is drained in step 1 of layer ``l + 1``, later
   in this step); the last layer's events walk the readout at once.

Then the step's records (outputs, counts) are written. A LIF projection whose
synapses have different delays bypasses the queue: its events are walked when
emitted into per-step input buckets, one per synapse delay. At the end of step
``t`` no bucket holds an event due at or before ``t``: ``_check(t + 1)`` holds.

Layout. One :class:`EventQueue` holds the rings of all of a run's
projections in flat arrays: ``meta[p] = (src offset, count offset, slots,
capacity)`` (``slots = 0``: projection ``p`` has no ring), ``src``/``val``
the events (bucket ``s`` of ``p`` at ``src[off + s * capacity:]``), ``cnt``
the events in each bucket and ``due`` the step each non-empty bucket is due
at (for the invariants; one store per push). Kernels take it as a plain
(named) tuple of arrays, so ``cache=True`` works; :func:`queue_push` and
:func:`queue_drain` are the whole API of the hot loops.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

# columns of the queue metadata table (one row per projection)
QM_SRC, QM_CNT, QM_SLOTS, QM_CAP = range(4)


class EventQueue(namedtuple("EventQueue", "meta src val cnt due")):
    """The bucket rings of a run's projections (see the module docstring for the layout).

    A named tuple of arrays: Numba kernels take it (and build it) like any tuple.
    """

    __slots__ = ()

    def _check(self, t: int) -> None:
        """Invariants before step ``t`` runs (i.e. after step ``t - 1``): no bucket over its
        capacity, every bucket due before ``t`` drained and empty, every non-empty bucket due
        at a step of the ring's window ``t .. t + slots - 1`` and in its slot."""
        meta, cnt, due = self.meta, self.cnt, self.due
        assert meta.ndim == 2 and meta.shape[1] == 4, "queue metadata must be (P, 4)"
        for p in range(meta.shape[0]):
            off, c0, slots, cap = (int(v) for v in meta[p])
            if slots == 0:
                continue
            assert off + slots * cap <= self.src.shape[0] and c0 + slots <= cnt.shape[0], \
                f"projection {p}: ring outside the queue arrays"
            for s in range(slots):
                n, d = int(cnt[c0 + s]), int(due[c0 + s])
                assert 0 <= n <= cap, f"projection {p}, bucket {s}: {n} events, capacity {cap}"
                if n == 0:
                    continue
                assert d >= t, f"projection {p}, bucket {s}: {n} events due at step {d} < {t} not drained"
                assert d < t + slots, f"projection {p}, bucket {s}: due at step {d}, past the ring"
                assert d % slots == s, f"projection {p}: events due at step {d} in bucket {s}"


def ring_layout(caps, slots):
    """Queue metadata for rings of ``slots[p]`` buckets of capacity ``caps[p]`` (0 slots: no
    ring). Returns (meta (P, 4) int64, size of src/val, size of cnt/due)."""
    meta = np.zeros((len(caps), 4), dtype=np.int64)
    so = co = 0
    for p, (cap, sl) in enumerate(zip(caps, slots)):
        meta[p] = (so, co, sl, cap)
        so += sl * cap
        co += sl
    return meta, so, co


def new_queue(meta, n_src, n_cnt, dtype, batch=None):
    """An empty queue with the layout of :func:`ring_layout` (events of ``dtype``); with
    ``batch`` one queue per sample, rows of (batch, ...) arrays (a batched run's carry)."""
    lead = () if batch is None else (batch,)
    return EventQueue(meta, np.zeros(lead + (n_src,), np.int32), np.zeros(lead + (n_src,), dtype),
                      np.zeros(lead + (n_cnt,), np.int64), np.zeros(lead + (n_cnt,), np.int64))


@njit(cache=True)
def queue_empty(meta, n_src, n_cnt, like):
    """In a kernel: an empty queue with the layout ``meta``, values of ``like``'s dtype."""
    return EventQueue(meta, np.empty(n_src, np.int32), np.empty(n_src, like.dtype),
                      np.zeros(n_cnt, np.int64), np.zeros(n_cnt, np.int64))


@njit(cache=True)
def queue_push(q, p, due, j, v):
    """Queue event (source ``j``, value ``v``) of projection ``p``, due at step ``due``."""
    slots = q.meta[p, QM_SLOTS]
    s = due % slots
    c = q.meta[p, QM_CNT] + s
    k = q.cnt[c]
    at = q.meta[p, QM_SRC] + s * q.meta[p, QM_CAP] + k
    q.src[at] = j
    q.val[at] = v
    q.cnt[c] = k + 1
    q.due[c] = due


@njit(cache=True)
def queue_drain(q, p, t):
    """Take the bucket of step ``t`` of projection ``p`` and empty it. Returns (a, b): its
    events are ``q.src[a:b]`` and ``q.val[a:b]``, in push order. They stay there until the
    next push into ``p``'s ring: walk them first."""
    s = t % q.meta[p, QM_SLOTS]
    c = q.meta[p, QM_CNT] + s
    a = q.meta[p, QM_SRC] + s * q.meta[p, QM_CAP]
    b = a + q.cnt[c]
    q.cnt[c] = 0
    return a, b


def copy_queue(q):
    """A copy of a queue (its arrays copied)."""
    return EventQueue(*(np.array(a, copy=True) for a in q))
