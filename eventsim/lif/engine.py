"""The LIF unit model on the event engine (Numba).

Shared with the EGRU engine (:mod:`eventsim.engine.core`): fan-out rows as packed
CSR projections (``pack_projections``), the row walk that accumulates ``value * w``
and returns the operations it performed (``walk_row``), and the marking of the units
a row reaches (``mark_units``); the input table of :mod:`eventsim.inputs`. Specific
to LIF: per-synapse delays, so the queue is a ring of per-step *input buckets*
``ring[(t + d) % D, unit]`` (as NEST and Brian2 keep them) into which an event's row
is accumulated when it is emitted; ``D`` = largest delay + 1. A projection whose
synapses all share one delay is walked straight into bucket ``t + d``: with the shared
``walk_row`` + ``mark_units``, or, when no row repeats a target, with
:func:`walk_row_mark`, the same two fused into one pass (one index load per synapse;
3x faster on the Brian2 benchmark); otherwise :func:`walk_row_delayed` sends each
synapse to its own bucket. A synapse whose bucket lies at or past the end of the run is not delivered
and not counted.

Order of work inside step t (one sample; samples are independent):

1. input events of step t (the input table's row), in channel order: each walks its
   row of the input projection into the buckets of steps t + d (d >= 0);
2. every unit i, in index order: take and clear bucket t (``I``); if refractory,
   count down and keep ``v``; else ``v = (alpha*v + b) + I`` and, if ``v > thr``,
   emit (value 1, or ``v`` when graded), walk its recurrent row into the buckets of
   steps t + d (d >= 1, so never into bucket t) and reset.

The unit model (state ``v``, refractory counters; step update; event rule) is the
body of loop 2; everything else is queue and fan-out.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..engine.core import PM_COLS, PM_INDPTR, Projection as CoreProjection, mark_units, \
    pack_projections, ring_push, walk_row

# raw count slots
C_EVENTS, C_INPUT_EVENTS, C_IN_ACS, C_IN_MACS, C_REC_ACS, C_REC_MACS, C_UPDATES = range(7)
N_COUNTS = 7


@njit(cache=True)
def distinct_targets(indptr, indices, n_units):
    """Per row, the distinct target units in first-seen order: (uindptr, uidx). O(nnz)."""
    rows = indptr.shape[0] - 1
    seen = np.full(n_units, -1, dtype=np.int64)
    uidx = np.empty(indices.shape[0], dtype=np.int32)
    uindptr = np.zeros(rows + 1, dtype=np.int64)
    q = 0
    for r in range(rows):
        for k in range(indptr[r], indptr[r + 1]):
            c = indices[k]
            if seen[c] != r:
                seen[c] = r
                uidx[q] = c
                q += 1
        uindptr[r + 1] = q
    return uindptr, uidx[:q].copy()


def core_projection(p, n_units: int) -> CoreProjection:
    """The shared engine's fan-out rows for a LIF :class:`~eventsim.lif.model.Projection`
    (built from CSR, no dense matrix: LIF networks have ~10^7 synapses among 10^4 units)."""
    rows = p.n_src
    indptr = np.ascontiguousarray(p.indptr, dtype=np.int64)
    cols = np.ascontiguousarray(p.indices, dtype=np.int64)
    uindptr, uidx = distinct_targets(indptr, cols, int(n_units))
    ucount = np.diff(uindptr)
    dense = bool(p.nnz == rows * n_units and np.all(p.weight != 0) and np.all(ucount == n_units)
                 and all(np.all(np.diff(cols[indptr[r]:indptr[r + 1]]) == 1) for r in range(rows)))
    return CoreProjection(indptr=indptr, cols=cols.astype(np.int32),
                          vals=np.ascontiguousarray(p.weight, dtype=np.float64),
                          uindptr=uindptr, uidx=uidx, full=(ucount == n_units).astype(np.uint8),
                          dense=dense, width=int(n_units), rows=int(rows))


@njit(cache=True)
def walk_row_delayed(p, i, v, t, horizon, meta, indptr, cols, vals, delays, ring, recv):
    """Add ``v * w`` of each synapse of row ``i`` into bucket ``(t + d) % D`` of its own
    delay ``d`` and mark the target there; synapses due at or after ``horizon`` are
    skipped. Returns the operations performed."""
    base = meta[p, PM_INDPTR]
    voff = meta[p, PM_COLS]
    D = ring.shape[0]
    done = 0
    for k in range(voff + indptr[base + i], voff + indptr[base + i + 1]):
        due = t + delays[k]
        if due < horizon:
            s = due % D
            c = cols[k]
            ring[s, c] += v * vals[k]
            recv[s, c] = 1
            done += 1
    return done


@njit(cache=True)
def walk_row_mark(p, i, v, meta, indptr, cols, vals, acc, mark):
    """``walk_row`` and ``mark_units`` fused into one pass over the row (for rows without
    duplicate targets): one index load per synapse instead of two. Returns the operations."""
    base = meta[p, PM_INDPTR]
    voff = meta[p, PM_COLS]
    a = voff + indptr[base + i]
    b = voff + indptr[base + i + 1]
    for k in range(a, b):
        c = cols[k]
        acc[c] += v * vals[k]
        mark[c] = 1
    return b - a


@njit(cache=True)
def walk(p, i, v, fused, meta, indptr, cols, vals, uindptr, uidx, full, acc, mark):
    """Walk row ``i`` of projection ``p`` into ``acc`` and mark the units reached in ``mark``;
    returns (operations performed, every unit reached)."""
    if fused[p]:
        return walk_row_mark(p, i, v, meta, indptr, cols, vals, acc, mark), False
    allr = mark_units(p, i, meta, uindptr, uidx, full, mark)
    return walk_row(p, i, v, meta, indptr, cols, vals, acc), allr


@njit(cache=True)
def emit(i, val, t, horizon, dr, n_out, out_t, out_i, out_val, qmeta, qsrc, qval, qcnt,
         meta, indptr, cols, vals, delays, ring, recv):
    """Record unit i's event and send it: queued when the recurrent projection has one delay
    ``dr`` >= 1, else walked into the buckets of its synapses. Returns (n_out, operations now)."""
    out_t[n_out] = t
    out_i[n_out] = i
    out_val[n_out] = val
    if dr >= 0:
        if t + dr < horizon:
            ring_push(qsrc, qval, qcnt, qmeta[1, 0], qmeta[1, 1], qmeta[1, 2], qmeta[1, 3], t + dr, i, val)
        return n_out + 1, 0
    return n_out + 1, walk_row_delayed(1, i, val, t, horizon, meta, indptr, cols, vals, delays, ring, recv)


@njit(cache=True)
def lif_run(t0, t1, horizon, rows, in_indptr, in_idx, in_val,
            pdelay, fused, meta, indptr, cols, vals, uindptr, uidx, full, delays,
            qmeta, qsrc, qval, qcnt,
            alpha, thr, bias, v_reset, subtract, refractory, graded,
            v, refr, ring, recv, recv_all, out_t, out_i, out_val, n_out, cnt, rec_v, v_out):
    """Run steps t0 .. t1-1 of one sample (state arrays are updated in place).

    Projection p (0 input, 1 recurrent) with one delay d = pdelay[p] >= 0 queues its events
    in the shared bucket ring (``ring_push``; queue p's offsets and slots in ``qmeta[p]``)
    and walks them when due, into bucket t; with per-synapse delays (pdelay[p] = -1) an
    event is walked at once into the buckets of its synapses (``walk_row_delayed``).
    Stops early, before a step, when the spike buffers could overflow in it; returns
    (next step, spikes written)."""
    n = v.shape[0]
    D = ring.shape[0]
    cap = out_t.shape[0]
    for t in range(t0, t1):
        if n_out + n > cap:
            return t, n_out
        s = t % D
        ring_s = ring[s]
        recv_s = recv[s]
        # 1. input events of step t: queue them (one delay) or spread them (per-synapse delays)
        r = rows[t]
        for k in range(in_indptr[r], in_indptr[r + 1]):
            x = in_val[k]
            cnt[C_INPUT_EVENTS] += 1
            if pdelay[0] >= 0:
                if t + pdelay[0] < horizon:
                    ring_push(qsrc, qval, qcnt, qmeta[0, 0], qmeta[0, 1], qmeta[0, 2], qmeta[0, 3],
                              t + pdelay[0], in_idx[k], x)
            else:
                ops = walk_row_delayed(0, in_idx[k], x, t, horizon, meta, indptr, cols, vals, delays,
                                       ring, recv)
                if x == 1.0:
                    cnt[C_IN_ACS] += ops
                else:
                    cnt[C_IN_MACS] += ops
        # 2. drain the queued events due at step t into bucket t (inputs, then units)
        for p in range(2):
            if pdelay[p] < 0:
                continue
            c0 = qmeta[p, 1] + t % qmeta[p, 2]
            base = qmeta[p, 0] + (t % qmeta[p, 2]) * qmeta[p, 3]
            for q in range(qcnt[c0]):
                x = qval[base + q]
                ops, allr = walk(p, qsrc[base + q], x, fused, meta, indptr, cols, vals, uindptr, uidx,
                                 full, ring_s, recv_s)
                if allr:
                    recv_all[s] = 1
                if p == 0:
                    if x == 1.0:
                        cnt[C_IN_ACS] += ops
                    else:
                        cnt[C_IN_MACS] += ops
                elif graded:
                    cnt[C_REC_MACS] += ops
                else:
                    cnt[C_REC_ACS] += ops
            qcnt[c0] = 0
        # 3. unit updates (the LIF unit model) and emission. Counters are kept in locals
        #    (no aliasing with the state arrays) and the wake-up count is branch-free.
        wall = recv_all[s]
        recv_all[s] = 0
        updates = 0
        events = 0
        rec_ops = 0
        dr = pdelay[1]
        if refractory == 0:
            # no refractoriness: leak + input for every unit in one vectorisable pass, then the
            # event rule in a second pass (same arithmetic per unit; 3x faster than one pass)
            for i in range(n):
                v[i] = (alpha[i] * v[i] + bias[i]) + ring_s[i]
                ring_s[i] = 0.0
            for i in range(n):
                wk = recv_s[i] | wall
                recv_s[i] = 0
                updates += wk
                if v[i] > thr[i]:
                    val = v[i] if graded else 1.0
                    n_out, ops = emit(i, val, t, horizon, dr, n_out, out_t, out_i, out_val, qmeta, qsrc, qval,
                                      qcnt, meta, indptr, cols, vals, delays, ring, recv)
                    rec_ops += ops
                    v[i] = v[i] - thr[i] if subtract else v_reset[i]
                    events += 1
                    updates += 1 - wk
            if rec_v:
                for i in range(n):
                    v_out[t, i] = v[i]
        else:
            for i in range(n):
                I = ring_s[i]
                ring_s[i] = 0.0
                wk = recv_s[i] | wall
                recv_s[i] = 0
                updates += wk
                if refr[i] > 0:
                    refr[i] -= 1
                    if rec_v:
                        v_out[t, i] = v[i]
                    continue
                vi = (alpha[i] * v[i] + bias[i]) + I
                if vi > thr[i]:
                    val = vi if graded else 1.0
                    n_out, ops = emit(i, val, t, horizon, dr, n_out, out_t, out_i, out_val, qmeta, qsrc, qval,
                                      qcnt, meta, indptr, cols, vals, delays, ring, recv)
                    rec_ops += ops
                    vi = vi - thr[i] if subtract else v_reset[i]
                    refr[i] = refractory
                    events += 1
                    updates += 1 - wk
                v[i] = vi
                if rec_v:
                    v_out[t, i] = vi
        cnt[C_UPDATES] += updates
        cnt[C_EVENTS] += events
        if graded:
            cnt[C_REC_MACS] += rec_ops
        else:
            cnt[C_REC_ACS] += rec_ops
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
            rows = np.ascontiguousarray(table.row_of[b])
            t = 0
            while t < T:
                out_t = np.empty(cap, np.int64)
                out_i = np.empty(cap, np.int64)
                out_v = np.empty(cap, np.float64)
                t1 = min(T, t + chunk)
                t_new, k = lif_run(t, t1, T, rows, table.indptr, table.idx, in_val,
                                   self.pdelay, self.fused, self.meta, self.indptr, self.cols, self.vals,
                                   self.uindptr, self.uidx, self.full, self.delays,
                                   self.qmeta, qsrc, qval, qcnt,
                                   self.alpha, self.thr, self.bias, self.v_reset,
                                   m.reset == "subtract", int(m.refractory), m.events == "graded",
                                   v, refr, ring, recv, recv_all, out_t, out_i, out_v, 0, cnt,
                                   record_v, v_out)
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
