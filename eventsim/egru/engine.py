"""The EGRU unit model on the event engine.

Order of work inside step t, for each sample (samples are independent and run
in parallel across threads):

1. For each layer l = 0 .. L-1, in order (this realises the queue order
   (time, layer, source) of SPEC §3):

   a. pre-activations start from the biases: ``vx = bias``, ``vh = recurrent_bias``;
   b. drain the feed-forward bucket of step t, in source order: for layer 0 the
      input events of step t - d_ff (the nonzero entries of x), for layer l > 0
      the events layer l-1 emitted at step t - d_ff. Each event (i, v) walks
      row i of ``kernel`` and adds ``v * w`` into ``vx`` (one MAC per nonzero
      weight walked, counted) and marks the units it reaches;
   c. drain the recurrent bucket of step t: this layer's own events of step
      t - 1 - d_rec, each walking its row of ``recurrent_kernel`` into ``vh``;
   d. update every unit with SPEC §1 (z, r, g, c_t, o_t, y_t, s_t). A unit
      is an *event-driven update* when it was marked in b/c or emits now;
   e. each emitting unit j queues (j, y_t[j]) for its own layer at step
      t + 1 + d_rec and for layer l+1 at step t + d_ff(l+1); events of the last
      layer walk their readout column into the step's logits at once.
2. Per-step records (y, c, logits, counts) are written only when asked for;
   otherwise memory is independent of T.

Every unit is updated every step here (the arithmetic of a clocked machine);
the counts say what an asynchronous machine would do: it touches only event
rows (``effective`` MACs) and wakes only event-driven units.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..engine.core import build_projection, deliver_list, pack_projections, ring_push, walk_row

# layer metadata columns
LM_NIN, LM_N, LM_UOFF, LM_DFF, LM_DREC, LM_FF_SRC, LM_FF_CNT, LM_REC_SRC, LM_REC_CNT = range(9)
# per-step record fields
ST_EVENTS, ST_MACS, ST_UPDATES = range(3)
N_RAW = 6


@njit(cache=True, parallel=True)
def egru_run(lmeta, reset_output, pmeta, indptr, cols, vals, uindptr, uidx, full,
             bias, rbias, thr, ro_bias, has_readout,
             in_indptr, in_idx, in_val, row_of,
             ring_src_size, ring_cnt_size, max_n, n_out,
             rec_y, y_out, rec_c, c_out, rec_ro, ro_out, rec_steps, steps_out,
             raw_out, ro_out_counts, s_final, y_final, last_ro, one):
    # ``one`` is 1 in the model's dtype: float literals would promote float32 arithmetic to float64
    B, T = row_of.shape
    L = lmeta.shape[0]
    n_tot = s_final.shape[1]
    for b in prange(B):
        s = np.zeros(n_tot, dtype=vals.dtype)
        ylast = np.zeros(n_tot, dtype=vals.dtype)
        vx = np.empty(3 * max_n, dtype=vals.dtype)
        vh = np.empty(3 * max_n, dtype=vals.dtype)
        touched = np.zeros(max_n, dtype=np.uint8)
        rsrc = np.empty(ring_src_size, dtype=np.int32)
        rval = np.empty(ring_src_size, dtype=vals.dtype)
        rcnt = np.zeros(ring_cnt_size, dtype=np.int64)
        ro_acc = np.empty(max(n_out, 1), dtype=vals.dtype)
        for t in range(T):
            if has_readout:
                for q in range(n_out):
                    ro_acc[q] = ro_bias[q]
            for l in range(L):
                n = lmeta[l, LM_N]
                uoff = lmeta[l, LM_UOFF]
                goff = 3 * uoff
                for q in range(3 * n):
                    vx[q] = bias[goff + q]
                    vh[q] = rbias[goff + q]
                for q in range(n):
                    touched[q] = 0
                all_touched = False
                ff_macs = 0
                n_act_in = 0
                pff = 2 * l
                prec = 2 * l + 1
                # (b) feed-forward events due at step t
                if l == 0:
                    tt = t - lmeta[0, LM_DFF]
                    if tt >= 0:
                        r = row_of[b, tt]
                        k0, k1 = in_indptr[r], in_indptr[r + 1]
                        ff_macs, all_touched = deliver_list(pff, in_idx, in_val, k0, k1, pmeta, indptr, cols,
                                                            vals, uindptr, uidx, full, vx, touched)
                        n_act_in = k1 - k0
                else:
                    slots = lmeta[l, LM_DFF] + 1
                    cap = lmeta[l, LM_NIN]
                    sl = t % slots
                    c0 = lmeta[l, LM_FF_CNT] + sl
                    base = lmeta[l, LM_FF_SRC] + sl * cap
                    ff_macs, all_touched = deliver_list(pff, rsrc, rval, base, base + rcnt[c0], pmeta, indptr,
                                                        cols, vals, uindptr, uidx, full, vx, touched)
                    n_act_in = rcnt[c0]
                    rcnt[c0] = 0
                # (c) own events due at step t
                rslots = lmeta[l, LM_DREC] + 1
                sl = t % rslots
                c0 = lmeta[l, LM_REC_CNT] + sl
                base = lmeta[l, LM_REC_SRC] + sl * n
                rec_macs, rec_all = deliver_list(prec, rsrc, rval, base, base + rcnt[c0], pmeta, indptr, cols,
                                                 vals, uindptr, uidx, full, vh, touched)
                all_touched = all_touched or rec_all
                n_act_rec = rcnt[c0]
                rcnt[c0] = 0
                # (d) unit updates and (e) event emission
                events = 0
                updates = 0
                last = l == L - 1
                for j in range(n):
                    zz = one / (one + np.exp(-(vx[j] + vh[j])))
                    rr = one / (one + np.exp(-(vx[n + j] + vh[n + j])))
                    gg = np.tanh(vx[2 * n + j] + rr * vh[2 * n + j])
                    u = uoff + j
                    c = zz * s[u] + (one - zz) * gg
                    if reset_output:
                        c = c - ylast[u]
                    th = thr[u]
                    fire = c > th
                    if fire:
                        y = c
                        s[u] = c - th if not reset_output else c
                        events += 1
                        ring_push(rsrc, rval, rcnt, lmeta[l, LM_REC_SRC], lmeta[l, LM_REC_CNT],
                                  rslots, n, t + 1 + lmeta[l, LM_DREC], j, y)
                        if not last:
                            ring_push(rsrc, rval, rcnt, lmeta[l + 1, LM_FF_SRC], lmeta[l + 1, LM_FF_CNT],
                                      lmeta[l + 1, LM_DFF] + 1, n, t + lmeta[l + 1, LM_DFF], j, y)
                        elif has_readout:
                            m_ro = walk_row(2 * L, j, y, pmeta, indptr, cols, vals, ro_acc)
                            ro_out_counts[b, 0] += m_ro
                            ro_out_counts[b, 1] += 1
                            if rec_steps:
                                steps_out[b, t, L, ST_MACS] += m_ro
                    else:
                        y = one - one
                        s[u] = c
                    ylast[u] = y
                    if fire or all_touched or touched[j] == 1:
                        updates += 1
                    if rec_y:
                        y_out[b, t, u] = y
                    if rec_c:
                        c_out[b, t, u] = c
                raw_out[b, l, 0] += events
                raw_out[b, l, 1] += ff_macs
                raw_out[b, l, 2] += rec_macs
                raw_out[b, l, 3] += n_act_in
                raw_out[b, l, 4] += n_act_rec
                raw_out[b, l, 5] += updates
                if rec_steps:
                    steps_out[b, t, l, ST_EVENTS] = events
                    steps_out[b, t, l, ST_MACS] = ff_macs + rec_macs
                    steps_out[b, t, l, ST_UPDATES] = updates
            if has_readout:
                if rec_ro:
                    for q in range(n_out):
                        ro_out[b, t, q] = ro_acc[q]
                if t == T - 1:
                    for q in range(n_out):
                        last_ro[b, q] = ro_acc[q]
        for u in range(n_tot):
            s_final[b, u] = s[u]
            y_final[b, u] = ylast[u]


class CompiledEGRU:
    """A model's parameters laid out for :func:`egru_run` (build once, run many times).

    Holds a private copy of the model, so editing the original afterwards has no effect.
    """

    def __init__(self, model):
        model = model.astype(model.dtype)  # a private copy: later edits to the user's model cannot leak in
        dt = model.dtype
        self.model = model
        projs = []
        for layer in model.layers:
            n = layer.n_units
            projs.append(build_projection(layer.kernel, n))
            projs.append(build_projection(layer.recurrent_kernel, n))
        self.has_readout = model.readout_weight is not None
        if self.has_readout:
            projs.append(build_projection(np.ascontiguousarray(model.readout_weight.T), model.n_out))
        self.projections = projs
        self.pmeta, self.indptr, self.cols, self.vals, self.uindptr, self.uidx, self.full = \
            pack_projections(projs, dt)
        L = model.n_layers
        sizes = model.sizes
        self.unit_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        lmeta = np.zeros((L, 9), dtype=np.int64)
        src_off = cnt_off = 0
        for k, layer in enumerate(model.layers):
            n = layer.n_units
            lmeta[k, :5] = (layer.n_in, n, self.unit_off[k], model.ff_delays[k], model.rec_delays[k])
            if k > 0:
                slots = model.ff_delays[k] + 1
                lmeta[k, LM_FF_SRC], lmeta[k, LM_FF_CNT] = src_off, cnt_off
                src_off += slots * layer.n_in
                cnt_off += slots
            slots = model.rec_delays[k] + 1
            lmeta[k, LM_REC_SRC], lmeta[k, LM_REC_CNT] = src_off, cnt_off
            src_off += slots * n
            cnt_off += slots
        self.lmeta = lmeta
        self.ring_src_size, self.ring_cnt_size = src_off, cnt_off
        cat = lambda name: np.ascontiguousarray(np.concatenate([getattr(l, name) for l in model.layers]))
        self.bias, self.rbias, self.thr = cat("bias"), cat("recurrent_bias"), cat("thr")
        self.ro_bias = model.readout_bias if self.has_readout else np.zeros(1, dt)
        self.n_out = model.n_out or 0
        self.max_n = max(sizes)

    def run(self, table, record=(), progress=False, chunk=None):
        """Run on an :class:`~eventsim.inputs.InputTable`; returns a dict of arrays.

        With ``progress`` the samples run in chunks (``chunk`` samples each,
        default about 1/20 of the batch) under a progress bar; results are the same.
        """
        B = table.row_of.shape[0]
        if not progress or B < 2:
            return self._run_rows(table, table.row_of, record)
        from tqdm.auto import tqdm

        import numba
        chunk = chunk or max(numba.get_num_threads(), -(-B // 20))
        parts = []
        with tqdm(total=B, unit="sample", desc="simulate", leave=False) as bar:
            for b0 in range(0, B, chunk):
                parts.append(self._run_rows(table, table.row_of[b0:b0 + chunk], record))
                bar.update(min(chunk, B - b0))
        return _merge(parts)

    def _run_rows(self, table, row_of, record):
        dt = self.model.dtype
        B, T = row_of.shape
        L = self.model.n_layers
        n_tot = int(self.unit_off[-1])
        rec_y, rec_c = "y" in record, "c" in record
        rec_ro = "readout" in record and self.has_readout
        rec_steps = "steps" in record
        dummy3 = np.zeros((1, 1, 1), dt)
        y_out = np.zeros((B, T, n_tot), dt) if rec_y else dummy3
        c_out = np.zeros((B, T, n_tot), dt) if rec_c else dummy3
        ro_out = np.zeros((B, T, self.n_out), dt) if rec_ro else dummy3
        steps_out = (np.zeros((B, T, L + 1, 3), np.int64) if rec_steps
                     else np.zeros((1, 1, 1, 1), np.int64))
        raw = np.zeros((B, L, N_RAW), np.int64)
        ro_counts = np.zeros((B, 2), np.int64)
        s_final = np.zeros((B, n_tot), dt)
        y_final = np.zeros((B, n_tot), dt)
        last_ro = np.zeros((B, max(self.n_out, 1)), dt)
        egru_run(self.lmeta, self.model.reset == "output", self.pmeta, self.indptr, self.cols, self.vals,
                 self.uindptr, self.uidx, self.full, self.bias, self.rbias, self.thr, self.ro_bias,
                 self.has_readout, table.indptr, table.idx, table.val.astype(dt, copy=False),
                 np.ascontiguousarray(row_of), self.ring_src_size, self.ring_cnt_size, self.max_n, self.n_out,
                 rec_y, y_out, rec_c, c_out, rec_ro, ro_out, rec_steps, steps_out,
                 raw, ro_counts, s_final, y_final, last_ro, dt.type(1))
        split = lambda a: [a[..., self.unit_off[k]:self.unit_off[k + 1]] for k in range(L)]
        out = {"raw": raw.sum(axis=0), "readout_macs": int(ro_counts[:, 0].sum()),
               "readout_active": int(ro_counts[:, 1].sum()),
               "state": list(zip(split(s_final), split(y_final))),
               "y": split(y_out) if rec_y else None, "c": split(c_out) if rec_c else None,
               "readout": ro_out if rec_ro else None,
               "last_readout": last_ro if self.has_readout else None, "per_step": None}
        if rec_steps:
            st = steps_out.sum(axis=0)
            out["per_step"] = {"events": st[:, :L, 0], "effective_macs": st[:, :, 1],
                               "event_driven_updates": st[:, :L, 2]}
        return out


def _merge(parts):
    """Join the results of consecutive sample chunks."""
    cat = lambda xs: np.concatenate(xs, axis=0)
    first = parts[0]
    out = {"raw": sum(p["raw"] for p in parts), "readout_macs": sum(p["readout_macs"] for p in parts),
           "readout_active": sum(p["readout_active"] for p in parts),
           "state": [(cat([p["state"][k][0] for p in parts]), cat([p["state"][k][1] for p in parts]))
                     for k in range(len(first["state"]))]}
    for key in ("y", "c"):
        out[key] = None if first[key] is None else [cat([p[key][k] for p in parts])
                                                     for k in range(len(first[key]))]
    for key in ("readout", "last_readout"):
        out[key] = None if first[key] is None else cat([p[key] for p in parts])
    out["per_step"] = None if first["per_step"] is None else {
        k: sum(p["per_step"][k] for p in parts) for k in first["per_step"]}
    return out
