"""The LIF unit model on the event engine (Numba).

Shared with every unit model: fan-out rows as packed CSR projections
(:mod:`eventsim.engine.core`: ``pack_projections``, ``projection_from_csr``), the row
walks that accumulate ``value * w`` and return the operations performed (``walk_row``,
``walk_row_mark``, ``walk_row_delayed``), the marking of the units a row reaches
(``mark_units``) and the event queue, a calendar queue of per-step buckets
(:mod:`eventsim.engine.queue`: ``queue_push``, ``queue_drain``). LIF synapses carry
their own delays, so events reach their targets in one of two ways:

- a projection whose synapses all share one delay d pushes each event (source, value)
  into its bucket ring for step t + d (as the EGRU engine does) and walks the row when
  due, into bucket t of the per-step *input buckets* (:func:`_deliver_due`);
- otherwise an event is walked when emitted, each synapse into input bucket
  ``(t + d) % D`` of its own delay (NEST's ring buffers), ``D`` = largest delay + 1.

A synapse due at or past the end of the run is not delivered and not counted.

This module holds what is LIF: the state arrays, the step update and event rule
(:func:`_lif_update`), the choice between the two ways above (:func:`_send`) and the
run loop (:func:`_lif_run`). The step order is the queue's (see
:mod:`eventsim.engine.queue`), one population; inside step t (one sample; samples are
independent):

1. input events of step t (the input table's row), in channel order, are sent: pushed
   into the input projection's bucket ring for step t + d (one delay d >= 0) or walked
   at once into the input buckets of their synapses (per-synapse delays);
2. the queued events due at step t are drained and walked into input bucket t: inputs,
   then units;
3. the unit model updates every unit from input bucket t (``_lif_update``: synaptic
   current, leak, input, event rule ``v > thr``, reset, refractoriness) and lists the units
   that emit;
4. each emitting unit's event is recorded and sent through the recurrent projection
   (delays >= 1, so never into bucket t).

With zero-delay recurrent synapses (always from a lower to a higher unit index) steps 3
and 4 run block by block: the units are cut into contiguous blocks with no zero-delay
synapse inside a block, and a block's events reach the later blocks' bucket t before
those are updated.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ..engine.core import (InputRows, input_cursor, input_span, mark_units, pack_projections, walk_row,
                           walk_row_delayed, walk_row_mark)
from ..engine.core import projection_from_csr as core_projection
from ..engine.queue import copy_queue, new_queue, queue_drain, queue_push, ring_layout
from ..engine.runner import check_counts, step_chunks

# raw count slots
C_EVENTS, C_INPUT_EVENTS, C_IN_ACS, C_IN_MACS, C_REC_ACS, C_REC_MACS, C_UPDATES = range(7)
N_COUNTS = 7

# The kernels' arguments (named tuples of arrays and scalars).
LIFNet = namedtuple("LIFNet", "pdelay fused delays blocks")
LIFNet.__doc__ = """Beside the packed projections (0: inputs, 1: recurrent): ``pdelay[p]`` the delay
of projection p if all its synapses share it, else -1; ``fused[p]`` its rows have no duplicate
targets and do not reach every unit (one fused walk-and-mark pass); ``delays`` the delay of
each synapse (aligned with the projections' ``vals``); ``blocks`` the unit blocks updated one
after the other inside a step (boundaries, ``[0, n]`` without zero-delay synapses)."""
LIFParams = namedtuple("LIFParams", "alpha thr bias v_reset subtract refractory graded beta has_syn syn_bias")
LIFParams.__doc__ = """The unit parameters (per unit arrays), the reset/refractory/event rules, and
the synaptic-current decay ``beta`` (0: no current) with ``has_syn`` (some unit has one) and
the constant input ``syn_bias`` of the currents."""
LIFState = namedtuple("LIFState", "v refr fired_i fired_v syn")
LIFState.__doc__ = """One sample's state: membrane ``v``, refractory steps left ``refr``, and the
units emitting at the current step with their values (``fired_i``/``fired_v``), the
synaptic currents ``syn``."""
InputBuckets = namedtuple("InputBuckets", "ring recv recv_all")
InputBuckets.__doc__ = """Per-step input buckets: summed input (D, n), wake-up marks (D, n) and
"every unit woken" flags (D,) of steps t .. t + D - 1 (bucket ``t % D``)."""
LIFOut = namedtuple("LIFOut", "t i val cnt rec_v v")
LIFOut.__doc__ = """Outputs: the spike buffers (step, unit, value), the raw counts (``C_*``), and
the per-step membrane record when ``rec_v``."""


# --- the LIF unit model: its step update and event rule ---

@njit(cache=True)
def _lif_update(I, woke, wall, prm, st, lo, hi):
    """Update units lo .. hi-1 with their input ``I`` of the step (taking and clearing ``I``
    and the wake-up marks ``woke``; ``wall``: every unit woken), apply the event rule and the
    reset. Writes the emitting units and their event values to ``st.fired_i``/``st.fired_v``;
    returns (events, event-driven updates)."""
    v, refr, fired_i, fired_v = st.v, st.refr, st.fired_i, st.fired_v
    alpha, thr, bias, v_reset = prm.alpha, prm.thr, prm.bias, prm.v_reset
    subtract, refractory, graded = prm.subtract, prm.refractory, prm.graded
    if prm.has_syn:  # synaptic currents: I(t) = beta I(t-1) + input + syn_bias, where beta > 0
        beta, syn, sb = prm.beta, st.syn, prm.syn_bias
        for i in range(lo, hi):
            if beta[i] > 0.0:
                syn[i] = beta[i] * syn[i] + I[i] + sb[i]
                I[i] = syn[i]
    nf = 0
    updates = 0
    if refractory == 0:
        # leak + input for every unit in one vectorisable pass, then the event rule
        for i in range(lo, hi):
            v[i] = (alpha[i] * v[i] + bias[i]) + I[i]
            I[i] = 0.0
        for i in range(lo, hi):
            wk = woke[i] | wall
            woke[i] = 0
            updates += wk
            if v[i] > thr[i]:
                fired_i[nf] = i
                fired_v[nf] = v[i] if graded else 1.0
                nf += 1
                v[i] = v[i] - thr[i] if subtract else v_reset[i]
                updates += 1 - wk
        return nf, updates
    for i in range(lo, hi):
        x = I[i]
        I[i] = 0.0
        wk = woke[i] | wall
        woke[i] = 0
        updates += wk
        if refr[i] > 0:  # refractory: v held, input discarded
            refr[i] -= 1
            continue
        vi = (alpha[i] * v[i] + bias[i]) + x
        if vi > thr[i]:
            fired_i[nf] = i
            fired_v[nf] = vi if graded else 1.0
            nf += 1
            vi = vi - thr[i] if subtract else v_reset[i]
            refr[i] = refractory
            updates += 1 - wk
        v[i] = vi
    return nf, updates


# --- delivery: the queue for one-delay projections, per-synapse buckets otherwise ---

@njit(cache=True, inline="always")
def _split(ops, x, graded):
    """(ACs, MACs): a binary event (value exactly 1, not graded) costs ACs, anything else MACs."""
    if graded or x != 1.0:
        return 0, ops
    return ops, 0


@njit(cache=True, inline="always")
def _send(proj, net, queue, buckets, p, j, x, graded, t, horizon):
    """Event (j, x) of projection p emitted at step t: pushed for step t + d when the projection
    has one delay d, else walked at once into the input buckets of its synapses. Synapses due
    at or after ``horizon`` are dropped. Returns the (ACs, MACs) performed now."""
    d = net.pdelay[p]
    if d >= 0:
        if t + d < horizon:
            queue_push(queue, p, t + d, j, x)
        return 0, 0
    return _split(walk_row_delayed(proj, p, j, x, t, horizon, net.delays, buckets.ring, buckets.recv),
                  x, graded)


@njit(cache=True, inline="always")
def _deliver_due(proj, net, queue, buckets, p, graded, t):
    """Drain projection p's bucket of step t and walk its events (in queue order) into input
    bucket t. Returns the (ACs, MACs) performed."""
    if net.pdelay[p] < 0:
        return 0, 0
    s = t % buckets.ring.shape[0]
    acc = buckets.ring[s]
    mark = buckets.recv[s]
    a, z = queue_drain(queue, p, t)
    acs = 0
    macs = 0
    for q in range(a, z):
        x = queue.val[q]
        j = queue.src[q]
        if net.fused[p]:
            ops = walk_row_mark(proj, p, j, x, acc, mark)
        else:
            if mark_units(proj, p, j, mark):
                buckets.recv_all[s] = 1
            ops = walk_row(proj, p, j, x, acc)
        ac, mac = _split(ops, x, graded)
        acs += ac
        macs += mac
    return acs, macs


# --- the run loop ---

@njit(cache=True)
def _lif_run(t0, t1, horizon, inputs, b, proj, net, queue, buckets, prm, st, out, n_out):
    """Run steps t0 .. t1-1 of sample b (state, queue and buckets are updated in place; the
    input cursor is found again at t0).

    Stops early, before a step, when the spike buffers could overflow in it; returns
    (next step, spikes written)."""
    n = st.v.shape[0]
    cnt = out.cnt
    cur = np.zeros(1, np.int64)
    cur[0] = input_cursor(inputs, b, t0)
    for t in range(t0, t1):
        if n_out + n > out.t.shape[0]:
            return t, n_out
        s = t % buckets.ring.shape[0]
        # 1. input events of step t
        ia, iz = input_span(inputs, b, cur, t)
        for k in range(ia, iz):
            cnt[C_INPUT_EVENTS] += 1
            a, m = _send(proj, net, queue, buckets, 0, inputs.idx[k], inputs.val[k], False, t, horizon)
            cnt[C_IN_ACS] += a
            cnt[C_IN_MACS] += m
        # 2. queued events due at step t: inputs, then units
        a, m = _deliver_due(proj, net, queue, buckets, 0, False, t)
        cnt[C_IN_ACS] += a
        cnt[C_IN_MACS] += m
        a, m = _deliver_due(proj, net, queue, buckets, 1, prm.graded, t)
        cnt[C_REC_ACS] += a
        cnt[C_REC_MACS] += m
        # 3. the unit model and 4. emission, block by block (a block's zero-delay synapses
        # land in bucket t of later blocks; all other recurrent synapses in later buckets)
        wall = buckets.recv_all[s]
        for k in range(net.blocks.shape[0] - 1):
            nf, updates = _lif_update(buckets.ring[s], buckets.recv[s], wall, prm, st,
                                      net.blocks[k], net.blocks[k + 1])
            cnt[C_UPDATES] += updates
            cnt[C_EVENTS] += nf
            n_out = _emit(t, horizon, proj, net, queue, buckets, prm, st, out, nf, n_out)
        buckets.recv_all[s] = 0
        if out.rec_v:
            for i in range(n):
                out.v[t, i] = st.v[i]
    return t1, n_out


@njit(cache=True, inline="always")
def _emit(t, horizon, proj, net, queue, buckets, prm, st, out, nf, n_out):
    """Record the nf events of step t and send them through the recurrent projection;
    returns the spikes written."""
    cnt = out.cnt
    for q in range(nf):
        out.t[n_out] = t
        out.i[n_out] = st.fired_i[q]
        out.val[n_out] = st.fired_v[q]
        n_out += 1
        a, m = _send(proj, net, queue, buckets, 1, st.fired_i[q], st.fired_v[q], prm.graded, t, horizon)
        cnt[C_REC_ACS] += a
        cnt[C_REC_MACS] += m
    return n_out


def unit_blocks(model) -> list:
    """Bounds of the unit blocks a step updates in order: a cut before unit ``b`` when a
    zero-delay recurrent synapse reaches ``b`` from inside the current block (so that the
    synapse acts within the step, after its source has been updated). ``[0, ..., n]``."""
    n = model.n
    pre, post, _, d = model.rec.synapses()
    zmax = np.full(n, -1, np.int64)
    np.maximum.at(zmax, post[d == 0], pre[d == 0])
    blocks = [0]
    for b in range(n):
        if zmax[b] >= blocks[-1]:
            blocks.append(b)
    blocks.append(n)
    return blocks


class CompiledLIF:
    """A :class:`~eventsim.lif.model.LIFModel` laid out for the event engine (build once, run many)."""

    def __init__(self, model):
        self.model = model
        n = model.n
        projs = [core_projection(model.inp, n), core_projection(model.rec, n)]
        self.proj = pack_projections(projs, np.float64)
        self.meta = self.proj.meta
        delays = np.ascontiguousarray(np.concatenate([model.inp.delay, model.rec.delay]), dtype=np.int64)
        pdelay = []
        for p in (model.inp, model.rec):
            if p.nnz == 0:
                pdelay.append(0)
            else:
                lo, hi = int(p.delay.min()), int(p.delay.max())
                # zero-delay recurrent synapses are walked when emitted, into bucket t
                pdelay.append(lo if lo == hi and not (p is model.rec and lo == 0) else -1)
        blocks = unit_blocks(model)
        # rows without duplicate targets and not reaching every unit: one fused pass
        fused = np.array([int(pr.uidx.size == pr.nnz and not pr.full.any()) for pr in projs], np.uint8)
        self.net = LIFNet(np.array(pdelay, dtype=np.int64), fused, delays, np.array(blocks, dtype=np.int64))
        # event queue: a bucket ring per projection (used by the one-delay projections)
        self.queue_layout = ring_layout([model.n_in, n], [max(d, 0) + 1 for d in pdelay])
        # input buckets: needed up to the largest per-synapse delay (bucket t always)
        self.D = 1 + max([model.max_delay if d < 0 else 0 for d in pdelay] + [0])
        f = lambda a: np.ascontiguousarray(a, dtype=np.float64)
        self.params = LIFParams(np.ascontiguousarray(model.alpha), f(model.thr), f(model.bias), f(model.v_reset),
                                model.reset == "subtract", int(model.refractory), model.events == "graded",
                                f(model.syn_decay), model.has_syn,
                                f(np.zeros(n) if model.syn_bias is None else model.syn_bias))

    def run(self, table, record_v=False, progress=None, chunk=None):
        """Run every sample of an :class:`~eventsim.inputs.InputTable`.

        Returns dict: spikes (sample, t, unit, value) arrays, v (B, T, n) or None,
        v_final (B, n), raw counts (N_COUNTS,) int64 summed over samples.
        ``progress``: a callable(steps_done) for a progress bar, or None. Each sample runs in
        ranges of ``chunk`` steps (default: about a quarter second of work each, so that Ctrl-C
        is honoured; the results do not depend on it).
        """
        return self._run(table, record_v, progress, chunk)

    def final_queues(self, table, chunk=None, check=False):
        """The event queue of each sample of ``table`` after its last step (a list of
        :class:`~eventsim.engine.queue.EventQueue`; for checking the queue's invariants).
        ``check``: also assert them (``EventQueue._check``) after every ``chunk`` steps."""
        return self._run(table, False, None, chunk, keep_queues=True, check=check)["queues"]

    def run_bytes(self, B, T, record_v=False):
        """About the memory a run of ``B`` samples x ``T`` steps allocates (delay buckets, event
        queue, final and recorded membranes), for checking before allocating anything."""
        n = self.model.n
        return (9 * self.D * n + 12 * (self.queue_layout[1] + self.queue_layout[2]) + 8 * B * n
                + (8 * B * T * n if record_v else 0))

    def _run(self, table, record_v, progress, chunk, keep_queues=False, check=False):
        from ..inputs import check_memory

        B, T = table.n_samples, table.n_steps
        n = self.model.n
        check_counts(B, T, (self.model.n_in + n + 1) * n)
        check_memory(self.run_bytes(B, T, record_v),
                     f"a LIF run of {B:,} samples x {T:,} steps (its delay buckets of {self.D:,} steps x "
                     f"{n:,} units" + (" and the recorded membranes)" if record_v else ")"),
                     "use smaller delays, fewer units, or do not record the membranes")
        cnt = np.zeros(N_COUNTS, np.int64)
        v_all = np.zeros((B, T, n)) if record_v else None
        v_final = np.zeros((B, n))
        in_val = np.ascontiguousarray(table.val, dtype=np.float64)
        spikes = ([], [], [], [])
        queues = []
        inputs = InputRows(table.indptr, table.idx, in_val, table.sptr, table.steps, table.rows)
        for b in range(B):
            st, queue = self._run_sample(b, inputs, T, cnt, v_all[b] if record_v else None, spikes,
                                         progress, chunk, check)
            v_final[b] = st.v
            if keep_queues:
                queues.append(copy_queue(queue))
        cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)
        out = {"spikes": tuple(cat(sp, dt) for sp, dt in zip(spikes, (np.int64, np.int64, np.int64, np.float64))),
               "v": v_all, "v_final": v_final, "raw": cnt}
        if keep_queues:
            out["queues"] = queues
        return out

    def _run_sample(self, b, inputs, T, cnt, v_out, spikes, progress, chunk, check=False):
        """Run sample b in chunks of steps (appending its spikes); returns (state, queue)."""
        n = self.model.n
        st = LIFState(np.zeros(n), np.zeros(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float64),
                      np.zeros(n))
        buckets = InputBuckets(np.zeros((self.D, n)), np.zeros((self.D, n), np.uint8), np.zeros(self.D, np.uint8))
        queue = new_queue(*self.queue_layout, np.float64)
        cap = max(16 * n, 1 << 16)
        rec_v = v_out is not None
        for t, t1 in step_chunks(T, chunk):
            while t < t1:
                out = LIFOut(np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.float64), cnt,
                             rec_v, v_out if rec_v else np.zeros((1, 1)))
                t_new, k = _lif_run(t, t1, T, inputs, b, self.proj, self.net, queue, buckets,
                                    self.params, st, out, 0)
                spikes[0].append(np.full(k, b, np.int64))
                spikes[1].append(out.t[:k].copy())
                spikes[2].append(out.i[:k].copy())
                spikes[3].append(out.val[:k].copy())
                if progress is not None:
                    progress(t_new - t)
                if check:
                    queue._check(t_new)
                t = t_new
        return st, queue
