"""The LIF unit model on the event engine (Numba).

Shared with every unit model (:mod:`eventsim.engine.core`): fan-out rows as packed
CSR projections (``pack_projections``, ``projection_from_csr``), the row walks that
accumulate ``value * w`` and return the operations performed (``walk_row``,
``walk_row_mark``, ``walk_row_delayed``), the marking of the units a row reaches
(``mark_units``), the rings of per-step event buckets (``ring_push``) and the
``send``/``drain`` pair that queue events and deliver them when due. LIF synapses
carry their own delays, so there are two queues:

- a projection whose synapses all share one delay d queues each event (source, value)
  in its ring of event buckets for step t + d (as the EGRU engine does) and walks the
  row when due, into bucket t of the per-step *input buckets*;
- otherwise an event is walked when emitted, each synapse into input bucket
  ``(t + d) % D`` of its own delay (NEST's ring buffers), ``D`` = largest delay + 1.

A synapse due at or past the end of the run is not delivered and not counted.

This module holds only what is LIF: the state arrays, the step update and event
rule (:func:`lif_update`) and the run loop that calls the shared pieces.

Order of work inside step t (one sample; samples are independent):

1. input events of step t (the input table's row), in channel order, are sent: queued
   in the input projection's bucket ring for step t + d (one delay d >= 0) or walked at
   once into the buckets of their synapses (per-synapse delays);
2. the queued events due at step t are walked into bucket t: inputs, then units;
3. the unit model updates every unit from bucket t (``lif_update``: leak, input, event
   rule ``v > thr``, reset, refractoriness) and lists the units that emit;
4. each emitting unit's event is recorded and sent through the recurrent projection
   (delays >= 1, so never into bucket t).

Steps 1, 2 and 4 are unit-model independent (``send``, ``drain``, built on
:mod:`eventsim.engine.core`); only step 3 and the state arrays are LIF. A third unit
model supplies its own update function with the same contract (take and clear bucket
t, write the emitting units and their values) and a run loop like :func:`lif_run`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..engine.core import drain, pack_projections, send
from ..engine.core import projection_from_csr as core_projection

# raw count slots
C_EVENTS, C_INPUT_EVENTS, C_IN_ACS, C_IN_MACS, C_REC_ACS, C_REC_MACS, C_UPDATES = range(7)
N_COUNTS = 7


# --- the LIF unit model: its step update and event rule ---

@njit(cache=True)
def lif_update(t, I, woke, wall, v, refr, alpha, thr, bias, v_reset, subtract, refractory, graded,
               fired_i, fired_v):
    """Update every unit with its input ``I`` of step t (taking and clearing ``I`` and the
    wake-up marks ``woke``), apply the event rule and the reset. Writes the emitting units
    and their event values to ``fired_i``/``fired_v``; returns (events, event-driven updates)."""
    n = v.shape[0]
    nf = 0
    updates = 0
    if refractory == 0:
        # leak + input for every unit in one vectorisable pass, then the event rule
        for i in range(n):
            v[i] = (alpha[i] * v[i] + bias[i]) + I[i]
            I[i] = 0.0
        for i in range(n):
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
    for i in range(n):
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


@njit(cache=True)
def lif_run(t0, t1, horizon, rows, in_indptr, in_idx, in_val, net, queue, buckets,
            alpha, thr, bias, v_reset, subtract, refractory, graded,
            v, refr, fired_i, fired_v, out_t, out_i, out_val, n_out, cnt, rec_v, v_out):
    """Run steps t0 .. t1-1 of one sample (state arrays are updated in place).

    Stops early, before a step, when the spike buffers could overflow in it; returns
    (next step, spikes written)."""
    n = v.shape[0]
    ring, recv, recv_all = buckets
    D = ring.shape[0]
    cap = out_t.shape[0]
    for t in range(t0, t1):
        if n_out + n > cap:
            return t, n_out
        s = t % D
        # 1. input events of step t
        r = rows[t]
        for k in range(in_indptr[r], in_indptr[r + 1]):
            cnt[C_INPUT_EVENTS] += 1
            a, m = send(0, in_idx[k], in_val[k], False, t, horizon, net, queue, buckets)
            cnt[C_IN_ACS] += a
            cnt[C_IN_MACS] += m
        # 2. queued events due at step t: inputs, then units
        a, m = drain(0, False, t, net, queue, buckets)
        cnt[C_IN_ACS] += a
        cnt[C_IN_MACS] += m
        a, m = drain(1, graded, t, net, queue, buckets)
        cnt[C_REC_ACS] += a
        cnt[C_REC_MACS] += m
        # 3. the unit model
        wall = recv_all[s]
        recv_all[s] = 0
        nf, updates = lif_update(t, ring[s], recv[s], wall, v, refr, alpha, thr, bias, v_reset, subtract,
                                 refractory, graded, fired_i, fired_v)
        cnt[C_UPDATES] += updates
        cnt[C_EVENTS] += nf
        if rec_v:
            for i in range(n):
                v_out[t, i] = v[i]
        # 4. emission (recurrent delays are >= 1: nothing lands in bucket t)
        for q in range(nf):
            out_t[n_out] = t
            out_i[n_out] = fired_i[q]
            out_val[n_out] = fired_v[q]
            n_out += 1
            a, m = send(1, fired_i[q], fired_v[q], graded, t, horizon, net, queue, buckets)
            cnt[C_REC_ACS] += a
            cnt[C_REC_MACS] += m
    return t1, n_out


class CompiledLIF:
    """A :class:`~eventsim.lif.model.LIFModel` laid out for :func:`lif_run` (build once, run many)."""

    def __init__(self, model):
        self.model = model
        n = model.n
        projs = [core_projection(model.inp, n), core_projection(model.rec, n)]
        self.meta, self.indptr, self.cols, self.vals, self.uindptr, self.uidx, self.full = \
            pack_projections(projs, np.float64)
        self.delays = np.ascontiguousarray(np.concatenate([model.inp.delay, model.rec.delay]), dtype=np.int64)
        pdelay = []
        for p in (model.inp, model.rec):
            if p.nnz == 0:
                pdelay.append(0)
            else:
                lo, hi = int(p.delay.min()), int(p.delay.max())
                pdelay.append(lo if lo == hi else -1)
        self.pdelay = np.array(pdelay, dtype=np.int64)
        # rows without duplicate targets and not reaching every unit: one fused pass
        self.fused = np.array([int(pr.uidx.size == pr.nnz and not pr.full.any()) for pr in projs], np.uint8)
        # event queues of the one-delay projections: (src offset, cnt offset, slots, capacity)
        self.qmeta = np.zeros((2, 4), np.int64)
        so = co = 0
        for p, cap in ((0, model.n_in), (1, n)):
            slots = max(int(self.pdelay[p]), 0) + 1
            self.qmeta[p] = (so, co, slots, cap)
            so += slots * cap
            co += slots
        self.q_size, self.q_slots = so, co
        # input buckets: needed up to the largest per-synapse delay (bucket t always)
        self.D = 1 + max([model.max_delay if d < 0 else 0 for d in pdelay] + [0])
        self.alpha = np.ascontiguousarray(model.alpha)
        f = lambda a: np.ascontiguousarray(a, dtype=np.float64)
        self.thr, self.bias, self.v_reset = f(model.thr), f(model.bias), f(model.v_reset)

    def run(self, table, record_v=False, progress=None, chunk=2000):
        """Run every sample of an :class:`~eventsim.inputs.InputTable`.

        Returns dict: spikes (sample, t, unit, value) arrays, v (B, T, n) or None,
        v_final (B, n), raw counts (N_COUNTS,) int64 summed over samples.
        ``progress``: a callable(steps_done) for a progress bar, or None.
        """
        m = self.model
        B, T = table.row_of.shape
        n = m.n
        cnt = np.zeros(N_COUNTS, np.int64)
        v_all = np.zeros((B, T, n)) if record_v else None
        v_final = np.zeros((B, n))
        in_val = np.ascontiguousarray(table.val, dtype=np.float64)
        sp_s, sp_t, sp_i, sp_v = [], [], [], []
        cap = max(16 * n, 1 << 16)
        net = (self.pdelay, self.fused, self.meta, self.indptr, self.cols, self.vals, self.uindptr,
               self.uidx, self.full, self.delays)
        for b in range(B):
            v = np.zeros(n)
            refr = np.zeros(n, np.int64)
            ring = np.zeros((self.D, n))
            recv = np.zeros((self.D, n), np.uint8)
            recv_all = np.zeros(self.D, np.uint8)
            qsrc = np.zeros(self.q_size, np.int32)
            qval = np.zeros(self.q_size, np.float64)
            qcnt = np.zeros(self.q_slots, np.int64)
            v_out = v_all[b] if record_v else np.zeros((1, 1))
            fired_i = np.empty(n, np.int64)
            fired_v = np.empty(n, np.float64)
            rows = np.ascontiguousarray(table.row_of[b])
            t = 0
            while t < T:
                out_t = np.empty(cap, np.int64)
                out_i = np.empty(cap, np.int64)
                out_v = np.empty(cap, np.float64)
                t1 = min(T, t + chunk)
                t_new, k = lif_run(t, t1, T, rows, table.indptr, table.idx, in_val, net,
                                   (self.qmeta, qsrc, qval, qcnt), (ring, recv, recv_all),
                                   self.alpha, self.thr, self.bias, self.v_reset,
                                   m.reset == "subtract", int(m.refractory), m.events == "graded",
                                   v, refr, fired_i, fired_v, out_t, out_i, out_v, 0, cnt, record_v, v_out)
                sp_s.append(np.full(k, b, np.int64))
                sp_t.append(out_t[:k].copy())
                sp_i.append(out_i[:k].copy())
                sp_v.append(out_v[:k].copy())
                if progress is not None:
                    progress(t_new - t)
                t = t_new
            v_final[b] = v
        cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)
        return {"spikes": (cat(sp_s, np.int64), cat(sp_t, np.int64), cat(sp_i, np.int64),
                           cat(sp_v, np.float64)),
                "v": v_all, "v_final": v_final, "raw": cnt}
