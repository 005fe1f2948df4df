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

The kernel: :func:`_egru_run` runs the samples in parallel, :func:`_egru_step`
one step (layers in order), :func:`_deliver_ff` does a and b, the queue's
``queue_drain`` and the core's ``deliver_list`` do c, :func:`_update_layer` d
and e. The queue, the row walks and the projections are the shared core's
(:mod:`eventsim.engine`); the state (``EGRUState``), the update and the run
loop are the EGRU's.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..engine.core import build_projection, deliver_list, pack_projections, walk_row
from ..engine.queue import EventQueue, copy_queue, queue_drain, queue_empty, queue_push, ring_layout

# layer metadata columns
LM_NIN, LM_N, LM_UOFF, LM_DFF, LM_DREC = range(5)
# per-step record fields
ST_EVENTS, ST_MACS, ST_UPDATES = range(3)
# raw count columns (per layer)
R_EVENTS, R_FF_MACS, R_REC_MACS, R_ACT_IN, R_ACT_REC, R_UPDATES = range(6)
N_RAW = 6

# The kernel's arguments (named tuples of arrays and scalars: Numba passes them as plain tuples).
EGRUNet = namedtuple("EGRUNet", "lmeta bias rbias thr ro_bias qmeta q_src q_cnt max_n n_out "
                                "reset_output has_readout one")
EGRUNet.__doc__ = """A compiled EGRU (beside its :class:`~eventsim.engine.core.Projections`, 2l: the
kernel of layer l, 2l + 1: its recurrent kernel, 2L: the readout): layer table ``lmeta`` (columns ``LM_*``), concatenated biases and
thresholds, the queue layout (``qmeta`` and the sizes of its arrays), and ``one`` (1 in the
model's dtype: float literals would promote float32 arithmetic to float64)."""
InputRows = namedtuple("InputRows", "indptr idx val row_of")
InputRows.__doc__ = "The input table (:class:`~eventsim.inputs.InputTable`) of the samples run."
EGRURecords = namedtuple("EGRURecords", "rec_y y rec_c c rec_ro readout rec_steps steps")
EGRURecords.__doc__ = "Per-step records: a flag and its (B, T, ...) array (a dummy when off)."
EGRUOut = namedtuple("EGRUOut", "raw ro_counts s_final y_final last_ro")
EGRUOut.__doc__ = """Per-sample results: raw counts (B, L, N_RAW), readout (MACs, events) (B, 2),
final state and last logits."""
EGRUState = namedtuple("EGRUState", "s ylast vx vh touched ro_acc queue")
EGRUState.__doc__ = """One sample's state inside the kernel: internal state ``s`` and last output
``ylast`` (all units), the pre-activations ``vx``/``vh`` and wake-up marks of the layer being
stepped, the step's logits and the sample's event queue."""


@njit(cache=True, parallel=True)
def _egru_run(proj, net, inputs, rec, out, kept):
    """Run every sample (rows of ``inputs.row_of``), in parallel across threads. ``kept``: an
    :class:`~eventsim.engine.queue.EventQueue` of arrays with a leading sample axis that
    receives each sample's final queue (length 0: not kept). (The arguments of a parallel
    loop must be flat tuples: Numba's parfors reject nested ones.)"""
    B, T = inputs.row_of.shape
    for b in prange(B):
        st = _new_state(proj, net, out.s_final.shape[1])
        for t in range(T):
            _egru_step(proj, net, inputs, b, t, st, rec, out)
        _finish(b, st, out, kept)


@njit(cache=True)
def _new_state(proj, net, n_tot):
    """A sample's zero state and empty event queue."""
    dt = proj.vals.dtype
    return EGRUState(np.zeros(n_tot, dtype=dt), np.zeros(n_tot, dtype=dt), np.empty(3 * net.max_n, dtype=dt),
                     np.empty(3 * net.max_n, dtype=dt), np.zeros(net.max_n, dtype=np.uint8),
                     np.empty(max(net.n_out, 1), dtype=dt), queue_empty(net.qmeta, net.q_src, net.q_cnt, proj.vals))


@njit(cache=True)
def _egru_step(proj, net, inputs, b, t, st, rec, out):
    """Step t of sample b: every layer in order (deliver, update, emit), then the logits."""
    L = net.lmeta.shape[0]
    if net.has_readout:
        for q in range(net.n_out):
            st.ro_acc[q] = net.ro_bias[q]
    for l in range(L):
        ff_macs, n_act_in, ff_all = _deliver_ff(proj, net, inputs, b, t, l, st)
        a, z = queue_drain(st.queue, 2 * l + 1, t)  # (c) own events due at step t
        rec_macs, rec_all = deliver_list(proj, 2 * l + 1, st.queue.src, st.queue.val, a, z, st.vh,
                                         st.touched)
        events, updates = _update_layer(proj, net, b, t, l, ff_all or rec_all, st, rec, out)
        raw = out.raw
        raw[b, l, R_EVENTS] += events
        raw[b, l, R_FF_MACS] += ff_macs
        raw[b, l, R_REC_MACS] += rec_macs
        raw[b, l, R_ACT_IN] += n_act_in
        raw[b, l, R_ACT_REC] += z - a
        raw[b, l, R_UPDATES] += updates
        if rec.rec_steps:
            rec.steps[b, t, l, ST_EVENTS] = events
            rec.steps[b, t, l, ST_MACS] = ff_macs + rec_macs
            rec.steps[b, t, l, ST_UPDATES] = updates
    if net.has_readout:
        if rec.rec_ro:
            for q in range(net.n_out):
                rec.readout[b, t, q] = st.ro_acc[q]
        if t == inputs.row_of.shape[1] - 1:
            for q in range(net.n_out):
                out.last_ro[b, q] = st.ro_acc[q]


@njit(cache=True)
def _deliver_ff(proj, net, inputs, b, t, l, st):
    """(a) start layer l's pre-activations from the biases and clear its marks; (b) deliver
    its feed-forward events due at step t. Returns (MACs, events, some row reached every unit)."""
    n = net.lmeta[l, LM_N]
    goff = 3 * net.lmeta[l, LM_UOFF]
    for q in range(3 * n):
        st.vx[q] = net.bias[goff + q]
        st.vh[q] = net.rbias[goff + q]
    for q in range(n):
        st.touched[q] = 0
    if l > 0:  # the events layer l-1 emitted at step t - d_ff
        a, z = queue_drain(st.queue, 2 * l, t)
        macs, full = deliver_list(proj, 2 * l, st.queue.src, st.queue.val, a, z, st.vx, st.touched)
        return macs, z - a, full
    tt = t - net.lmeta[0, LM_DFF]  # the input table is layer 0's calendar: its row of step t - d_ff
    if tt < 0:
        return 0, 0, False
    r = inputs.row_of[b, tt]
    a, z = inputs.indptr[r], inputs.indptr[r + 1]
    macs, full = deliver_list(proj, 0, inputs.idx, inputs.val, a, z, st.vx, st.touched)
    return macs, z - a, full


@njit(cache=True)
def _update_layer(proj, net, b, t, l, all_touched, st, rec, out):
    """(d) update every unit of layer l (SPEC §1) and (e) emit its events: unit j emitting y
    at step t queues (j, y) for its own layer at step t + 1 + d_rec and for layer l+1 at step
    t + d_ff(l+1); the last layer's events walk the readout at once. Returns (events,
    event-driven updates)."""
    one = net.one
    n = net.lmeta[l, LM_N]
    uoff = net.lmeta[l, LM_UOFF]
    # arrays read out of their tuples once, not in the loop (each read costs a reference count)
    s, ylast, vx, vh, touched, thr, queue = st.s, st.ylast, st.vx, st.vh, st.touched, net.thr, st.queue
    reset_output = net.reset_output
    rec_y, rec_c, y_rec, c_rec = rec.rec_y, rec.rec_c, rec.y, rec.c
    L = net.lmeta.shape[0]
    last = l == L - 1
    due_rec = t + 1 + net.lmeta[l, LM_DREC]
    due_ff = t + net.lmeta[l + 1, LM_DFF] if not last else t
    events = 0
    updates = 0
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
            queue_push(queue, 2 * l + 1, due_rec, j, y)
            if not last:
                queue_push(queue, 2 * l + 2, due_ff, j, y)
            elif net.has_readout:
                m_ro = walk_row(proj, 2 * L, j, y, st.ro_acc)
                out.ro_counts[b, 0] += m_ro
                out.ro_counts[b, 1] += 1
                if rec.rec_steps:
                    rec.steps[b, t, L, ST_MACS] += m_ro
        else:
            y = one - one
            s[u] = c
        ylast[u] = y
        if fire or all_touched or touched[j] == 1:
            updates += 1
        if rec_y:
            y_rec[b, t, u] = y
        if rec_c:
            c_rec[b, t, u] = c
    return events, updates


@njit(cache=True)
def _finish(b, st, out, kept):
    """Write sample b's final state (and its event queue when kept)."""
    for u in range(st.s.shape[0]):
        out.s_final[b, u] = st.s[u]
        out.y_final[b, u] = st.ylast[u]
    if kept.src.shape[0] > 0:
        kept.src[b, :] = st.queue.src
        kept.val[b, :] = st.queue.val
        kept.cnt[b, :] = st.queue.cnt
        kept.due[b, :] = st.queue.due


class CompiledEGRU:
    """A model's parameters laid out for the event engine (build once, run many times).

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
        L = model.n_layers
        sizes = model.sizes
        self.unit_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        lmeta = np.zeros((L, 5), dtype=np.int64)
        caps, slots = [], []  # one bucket ring per projection fed by a layer's events
        for k, layer in enumerate(model.layers):
            lmeta[k] = (layer.n_in, layer.n_units, self.unit_off[k], model.ff_delays[k], model.rec_delays[k])
            caps += [layer.n_in if k > 0 else 0, layer.n_units]
            slots += [model.ff_delays[k] + 1 if k > 0 else 0, model.rec_delays[k] + 1]
        qmeta, q_src, q_cnt = ring_layout(caps + [0], slots + [0])
        cat = lambda name: np.ascontiguousarray(np.concatenate([getattr(l, name) for l in model.layers]))
        self.n_out = model.n_out or 0
        self.proj = pack_projections(projs, dt)
        self.net = EGRUNet(lmeta, cat("bias"), cat("recurrent_bias"), cat("thr"),
                           model.readout_bias if self.has_readout else np.zeros(1, dt), qmeta, q_src, q_cnt,
                           max(sizes), self.n_out, model.reset == "output", self.has_readout, dt.type(1))

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

    def final_queues(self, table):
        """The event queue of each sample of ``table`` after its last step (a list of
        :class:`~eventsim.engine.queue.EventQueue`; for checking the queue's invariants)."""
        return self._run_rows(table, table.row_of, (), keep_queue=True)["queues"]

    def _run_rows(self, table, row_of, record, keep_queue=False):
        dt = self.model.dtype
        net = self.net
        B, T = row_of.shape
        L = self.model.n_layers
        n_tot = int(self.unit_off[-1])
        rec_y, rec_c = "y" in record, "c" in record
        rec_ro = "readout" in record and self.has_readout
        rec_steps = "steps" in record
        dummy3 = np.zeros((1, 1, 1), dt)
        rec = EGRURecords(rec_y, np.zeros((B, T, n_tot), dt) if rec_y else dummy3,
                          rec_c, np.zeros((B, T, n_tot), dt) if rec_c else dummy3,
                          rec_ro, np.zeros((B, T, self.n_out), dt) if rec_ro else dummy3,
                          rec_steps, np.zeros((B, T, L + 1, 3), np.int64) if rec_steps
                          else np.zeros((1, 1, 1, 1), np.int64))
        K = B if keep_queue else 0
        kept = EventQueue(net.qmeta, np.zeros((K, net.q_src), np.int32), np.zeros((K, net.q_src), dt),
                          np.zeros((K, net.q_cnt), np.int64), np.zeros((K, net.q_cnt), np.int64))
        res = EGRUOut(np.zeros((B, L, N_RAW), np.int64), np.zeros((B, 2), np.int64), np.zeros((B, n_tot), dt),
                      np.zeros((B, n_tot), dt), np.zeros((B, max(self.n_out, 1)), dt))
        _egru_run(self.proj, net, InputRows(table.indptr, table.idx, table.val.astype(dt, copy=False),
                                 np.ascontiguousarray(row_of)), rec, res, kept)
        split = lambda a: [a[..., self.unit_off[k]:self.unit_off[k + 1]] for k in range(L)]
        out = {"raw": res.raw.sum(axis=0), "readout_macs": int(res.ro_counts[:, 0].sum()),
               "readout_active": int(res.ro_counts[:, 1].sum()),
               "state": list(zip(split(res.s_final), split(res.y_final))),
               "y": split(rec.y) if rec_y else None, "c": split(rec.c) if rec_c else None,
               "readout": rec.readout if rec_ro else None,
               "last_readout": res.last_ro if self.has_readout else None, "per_step": None}
        if rec_steps:
            st = rec.steps.sum(axis=0)
            out["per_step"] = {"events": st[:, :L, 0], "effective_macs": st[:, :, 1],
                               "event_driven_updates": st[:, :L, 2]}
        if keep_queue:
            out["queues"] = [copy_queue(EventQueue(net.qmeta, *(a[b] for a in kept[1:]))) for b in range(B)]
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
