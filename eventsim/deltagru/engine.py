"""The DeltaGRU unit model on the event engine (SPEC §5 on the shared core).

What travels are *deltas*: a change of an input or of a unit's state since the last
value sent, sent only when it exceeds its threshold Θ (strictly). A sent delta
(source, Δ) walks the source's fan-out row once into a pre-activation memory (``Mx``
for input deltas, ``Mh`` for state deltas; one MAC per nonzero weight walked,
counted). Unlike the EGRU's per-step accumulators, the memories persist across steps:
they start from the biases and only ever receive deltas.

Order of work inside step t, for each sample (samples are independent and run in
parallel across threads); the step order of :mod:`eventsim.engine.queue`:

For each layer l = 0 .. L-1, in order:

1. feed-forward deltas due at step t are delivered into ``Mx``: for layer 0 the input
   row of step t is delta-encoded first (every channel i checked, in channel order:
   Δ = x_t[i] − x̂_i is pushed due at t when |Δ| > Θx_i, and x̂_i ← x_t[i]); for layer
   l > 0 the deltas layer l-1 pushed in its step 4. The bucket is drained in source order;
2. the bucket of step t of the layer's recurrent ring (its state deltas, pushed at step
   t − 1: they carry h_{t-1}) is drained into ``Mh`` the same way;
3. every unit updates (SPEC §5: z, r, g from the memories, h_t = z ⊙ h_{t−1} + (1 − z) ⊙ g);
4. each unit j, in unit order, delta-encodes its new state twice: against its own ĥ_j
   with Θh_j (pushed into its recurrent ring, due at t + 1; not at the last step, whose
   deltas would be due after the run) and, below the last layer, against the next
   layer's x̂_j with that layer's Θx_j (pushed into the next layer's feed-forward ring,
   due at t).

Then the readout reads h_t of the last layer densely (every weight of ``W_out``: n_L·n_out
MACs per step). Deltas are thus delivered in (step, layer, source) order, and every float
sum over deltas is formed in that order.

The kernel: :func:`_delta_run` runs the samples in parallel, :func:`_delta_step` one step,
:func:`_encode_input` the input's delta encoding, :func:`_deliver` steps 1–2 (the queue's
``queue_drain`` and the core's ``walk_list``), :func:`_update_layer` steps 3–4,
:func:`_readout` the logits. The queue, row walks and projections are the shared core's
(:mod:`eventsim.engine`); the state (``DeltaRun``), update and run loop are the DeltaGRU's.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..engine.core import input_cursor, input_rows, input_span, pack_matrices, walk_list
from ..engine.runner import BatchRunner
from ..engine.queue import EventQueue, copy_queue, new_queue, queue_drain, queue_push, ring_layout
from ..egru.counts import RAW_FIELDS

# layer metadata columns
LM_NIN, LM_N, LM_UOFF, LM_XOFF = range(4)
# per-step record fields
ST_EVENTS, ST_INPUTS, ST_MACS = range(3)
# raw count columns (per layer): the EGRU's RAW_FIELDS
R_EVENTS, R_FF_MACS, R_REC_MACS, R_ACT_IN, R_ACT_REC, R_UPDATES = range(6)
N_RAW = len(RAW_FIELDS)

# The kernel's arguments (named tuples of arrays and scalars: Numba passes them as plain tuples).
DeltaNet = namedtuple("DeltaNet", "lmeta bias rbias theta_x theta_h ro_w ro_b qmeta q_src q_cnt "
                                  "m0 n_out has_readout one")
DeltaNet.__doc__ = """A compiled DeltaGRU (beside its :class:`~eventsim.engine.core.Projections`,
2l: the kernel of layer l, 2l + 1: its recurrent kernel): layer table ``lmeta`` (columns
``LM_*``), concatenated biases (3n per layer) and thresholds (Θx: m per layer, at
``LM_XOFF``; Θh: n per layer, at ``LM_UOFF``), the dense readout, the queue layout, the
inputs of layer 0 and ``one`` (1 in the model's dtype)."""
DeltaRecords = namedtuple("DeltaRecords", "rec_y y rec_ro readout rec_steps steps rec_d dx dh")
DeltaRecords.__doc__ = """Per-step records: a flag and its (B, T, ...) array (a dummy when off);
``dx``/``dh`` hold the deltas delivered at each step (0 where none was sent)."""
DeltaOut = namedtuple("DeltaOut", "raw h x_hat h_hat mx mh last_ro")
DeltaOut.__doc__ = """Per-sample results: raw counts (B, L, N_RAW), the final state (h, x̂, ĥ,
Mx, Mh of all layers, concatenated) and the last logits."""
DeltaRun = namedtuple("DeltaRun", "h x_hat h_hat mx mh xbuf ro_acc queue cur T")
DeltaRun.__doc__ = """One sample's state inside the kernel: hidden state, last sent values and
memories of all layers (views of the run's outputs, carried from one range of steps to the
next), the dense input vector of the step (layer 0), the step's logits, the sample's event
queue (a view of the carried queues), its input cursor (``cur[0]``) and the run's steps ``T``."""


@njit(cache=True, parallel=True)
def _delta_run(proj, net, inputs, rec, out, carry, t0, t1, T):
    """Run steps ``t0 .. t1-1`` of every sample of the chunk, in parallel across threads,
    resuming from the carried state (``out``'s state arrays, initially SPEC §5's: h = x̂ = ĥ
    = 0, Mx = bias, Mh = recurrent_bias; ``carry``: each sample's queue, a leading sample
    axis)."""
    B = out.h.shape[0]
    for b in prange(B):
        st = _state(proj, net, out, carry, b, T)
        st.cur[0] = input_cursor(inputs, b, t0)
        for t in range(t0, t1):
            _delta_step(proj, net, inputs, b, t, st, rec, out)


@njit(cache=True)
def _state(proj, net, out, carry, b, T):
    """Sample b's state: its carried state and queue (views) and fresh scratch arrays."""
    dt = proj.vals.dtype
    return DeltaRun(out.h[b], out.x_hat[b], out.h_hat[b], out.mx[b], out.mh[b], np.zeros(net.m0, dtype=dt),
                    np.zeros(max(net.n_out, 1), dtype=dt),
                    EventQueue(carry.meta, carry.src[b], carry.val[b], carry.cnt[b], carry.due[b]),
                    np.zeros(1, np.int64), T)


@njit(cache=True)
def _delta_step(proj, net, inputs, b, t, st, rec, out):
    """Step t of sample b: every layer in order (deliver, update, emit), then the logits."""
    lmeta = net.lmeta
    L = lmeta.shape[0]
    raw = out.raw
    for l in range(L):
        n = lmeta[l, LM_N]
        g0 = 3 * lmeta[l, LM_UOFF]
        if l == 0:
            _encode_input(net, inputs, b, t, st)
        ff_macs, n_a = _deliver(proj, 2 * l, t, st.queue, st.mx[g0:g0 + 3 * n], rec.rec_d, rec.dx, b,
                                lmeta[l, LM_XOFF])
        rec_macs, n_e = _deliver(proj, 2 * l + 1, t, st.queue, st.mh[g0:g0 + 3 * n], rec.rec_d, rec.dh,
                                 b, lmeta[l, LM_UOFF])
        _update_layer(net, b, t, l, st.T, st, rec)
        raw[b, l, R_EVENTS] += n_e
        raw[b, l, R_FF_MACS] += ff_macs
        raw[b, l, R_REC_MACS] += rec_macs
        raw[b, l, R_ACT_IN] += n_a
        raw[b, l, R_ACT_REC] += n_e
        raw[b, l, R_UPDATES] += n
        if rec.rec_steps:
            rec.steps[b, t, l, ST_EVENTS] = n_e
            rec.steps[b, t, l, ST_INPUTS] = n_a
            rec.steps[b, t, l, ST_MACS] = ff_macs + rec_macs
    if net.has_readout:
        _readout(net, b, t, st.T, st, rec, out)


@njit(cache=True)
def _encode_input(net, inputs, b, t, st):
    """Delta-encode layer 0's input of step t: each channel i in order whose change since
    the last value sent exceeds Θx_i (strictly) pushes (i, Δ) due at t, and x̂_i ← x_t[i]."""
    xbuf, x_hat, thx, queue = st.xbuf, st.x_hat, net.theta_x, st.queue
    idx, val = inputs.idx, inputs.val
    a, z = input_span(inputs, b, st.cur, t)
    for q in range(a, z):
        xbuf[idx[q]] = val[q]
    for i in range(net.m0):
        d = xbuf[i] - x_hat[i]
        if abs(d) > thx[i]:
            queue_push(queue, 0, t, i, d)
            x_hat[i] = xbuf[i]
    for q in range(a, z):
        xbuf[idx[q]] = 0


@njit(cache=True)
def _deliver(proj, p, t, queue, acc, rec_d, drec, b, off):
    """Drain the bucket of step t of projection ``p`` and walk its deltas, in source order,
    into the memory ``acc``; record them at ``drec[b, t, off + source]`` when asked.
    Returns (MACs performed, deltas delivered)."""
    a, z = queue_drain(queue, p, t)
    macs = walk_list(proj, p, queue.src, queue.val, a, z, acc)
    if rec_d:
        src, val = queue.src, queue.val
        for q in range(a, z):
            drec[b, t, off + src[q]] = val[q]
    return macs, z - a


@njit(cache=True)
def _update_layer(net, b, t, l, T, st, rec):
    """(3) update every unit of layer l from its memories (SPEC §5) and (4) delta-encode
    each new state: against ĥ with Θh (recurrent ring, due at t + 1, unless t is the last
    step) and, below the last layer, against the next layer's x̂ with its Θx (its
    feed-forward ring, due at t)."""
    one = net.one
    lmeta = net.lmeta
    n = lmeta[l, LM_N]
    uoff = lmeta[l, LM_UOFF]
    g0 = 3 * uoff
    last = l == lmeta.shape[0] - 1
    nx = lmeta[l + 1, LM_XOFF] if not last else 0
    send_rec = t + 1 < T
    # arrays read out of their tuples once, not in the loop (each read costs a reference count)
    h, h_hat, x_hat, mx, mh, queue = st.h, st.h_hat, st.x_hat, st.mx, st.mh, st.queue
    thh, thx = net.theta_h, net.theta_x
    rec_y, y_rec = rec.rec_y, rec.y
    for j in range(n):
        u = uoff + j
        zz = one / (one + np.exp(-(mx[g0 + j] + mh[g0 + j])))
        rr = one / (one + np.exp(-(mx[g0 + n + j] + mh[g0 + n + j])))
        gg = np.tanh(mx[g0 + 2 * n + j] + rr * mh[g0 + 2 * n + j])
        hn = zz * h[u] + (one - zz) * gg
        h[u] = hn
        if send_rec:
            d = hn - h_hat[u]
            if abs(d) > thh[u]:
                queue_push(queue, 2 * l + 1, t + 1, j, d)
                h_hat[u] = hn
        if not last:
            d = hn - x_hat[nx + j]
            if abs(d) > thx[nx + j]:
                queue_push(queue, 2 * l + 2, t, j, d)
                x_hat[nx + j] = hn
        if rec_y:
            y_rec[b, t, u] = hn


@njit(cache=True)
def _readout(net, b, t, T, st, rec, out):
    """The logits of step t: W_out · h_t + b_out over every weight (a dense read of h_t)."""
    lmeta = net.lmeta
    L = lmeta.shape[0]
    n = lmeta[L - 1, LM_N]
    uoff = lmeta[L - 1, LM_UOFF]
    W, bo, h, acc = net.ro_w, net.ro_b, st.h, st.ro_acc
    for q in range(net.n_out):
        s = bo[q]
        for j in range(n):
            s += W[q, j] * h[uoff + j]
        acc[q] = s
    if rec.rec_ro:
        for q in range(net.n_out):
            rec.readout[b, t, q] = acc[q]
    if t == T - 1:
        for q in range(net.n_out):
            out.last_ro[b, q] = acc[q]
    if rec.rec_steps:
        rec.steps[b, t, L, ST_MACS] = n * net.n_out


class CompiledDeltaGRU(BatchRunner):
    """A DeltaGRU's parameters laid out for the event engine (build once, run many times).

    Holds a private copy of the model, so editing the original afterwards has no effect.
    """

    def __init__(self, model):
        model = model.astype(model.dtype)  # a private copy
        dt = model.dtype
        self.model = model
        mats, units = [], []
        for layer in model.layers:
            mats += [layer.kernel, layer.recurrent_kernel]
            units += [layer.n_units, layer.n_units]
        self.has_readout = model.readout_weight is not None
        L = model.n_layers
        self.unit_off = np.concatenate([[0], np.cumsum(model.sizes)]).astype(np.int64)
        self.in_off = np.concatenate([[0], np.cumsum([l.n_in for l in model.layers])]).astype(np.int64)
        lmeta = np.zeros((L, 4), dtype=np.int64)
        caps = []
        for k, layer in enumerate(model.layers):
            lmeta[k] = (layer.n_in, layer.n_units, self.unit_off[k], self.in_off[k])
            caps += [layer.n_in, layer.n_units]
        qmeta, q_src, q_cnt = ring_layout(caps, [1] * len(caps))  # no delays: one bucket each
        cat = lambda name: np.ascontiguousarray(np.concatenate([getattr(l, name) for l in model.layers]))
        self.n_out = model.n_out or 0
        self.proj, _ = pack_matrices(mats, units, dt)  # dense matrices: weights copied once
        ro_w = model.readout_weight if self.has_readout else np.zeros((1, 1), dt)
        ro_b = model.readout_bias if self.has_readout else np.zeros(1, dt)
        self.net = DeltaNet(lmeta, cat("bias"), cat("recurrent_bias"), cat("theta_x"), cat("theta_h"),
                            np.ascontiguousarray(ro_w), np.ascontiguousarray(ro_b), qmeta, q_src, q_cnt,
                            model.n_in, self.n_out, self.has_readout, dt.type(1))

    @staticmethod
    def _merge(parts):
        return _merge(parts)

    def _records(self, B, T, record):
        dt = self.model.dtype
        L = self.model.n_layers
        n_tot, m_tot = int(self.unit_off[-1]), int(self.in_off[-1])
        rec_y, rec_d, rec_steps = "y" in record, "deltas" in record, "steps" in record
        rec_ro = "readout" in record and self.has_readout
        d3 = np.zeros((1, 1, 1), dt)
        return DeltaRecords(rec_y, np.zeros((B, T, n_tot), dt) if rec_y else d3,
                            rec_ro, np.zeros((B, T, self.n_out), dt) if rec_ro else d3,
                            rec_steps, np.zeros((B, T, L + 1, 3), np.int64) if rec_steps
                            else np.zeros((1, 1, 1, 1), np.int64),
                            rec_d, np.zeros((B, T, m_tot), dt) if rec_d else d3,
                            np.zeros((B, T, n_tot), dt) if rec_d else d3)

    def _ops_per_step(self):
        """A dense GRU's MACs per step of this model (its largest count per step)."""
        m = self.model
        return sum(3 * l.n_units * (l.n_in + l.n_units) + 3 * l.n_units + l.n_in for l in m.layers) + \
            (m.n_out or 0) * m.sizes[-1]

    def _sample_bytes(self, T, record):
        """(bytes kept per sample for the run: state, outputs and records; bytes of its queue)."""
        it = np.dtype(self.model.dtype).itemsize
        n_tot, m_tot, L = int(self.unit_off[-1]), int(self.in_off[-1]), self.model.n_layers
        kept = (8 * n_tot + m_tot + self.n_out + 1) * it + 8 * L * N_RAW
        kept += T * it * (n_tot * ("y" in record) + (m_tot + n_tot) * ("deltas" in record)
                          + self.n_out * ("readout" in record))
        kept += T * 8 * 3 * (L + 1) * ("steps" in record)
        return kept, self.net.q_src * (4 + it) + self.net.q_cnt * 16

    def _start(self, table, b0, b1, record, keep_queue=False):
        dt = self.model.dtype
        net = self.net
        B, T = b1 - b0, table.n_steps
        L = self.model.n_layers
        n_tot, m_tot = int(self.unit_off[-1]), int(self.in_off[-1])
        rec = self._records(B, T, record)
        carry = new_queue(net.qmeta, net.q_src, net.q_cnt, dt, batch=B)
        res = DeltaOut(np.zeros((B, L, N_RAW), np.int64), np.zeros((B, n_tot), dt), np.zeros((B, m_tot), dt),
                       np.zeros((B, n_tot), dt), np.tile(net.bias, (B, 1)), np.tile(net.rbias, (B, 1)),
                       np.zeros((B, max(self.n_out, 1)), dt))
        inputs = input_rows(table, b0, b1, dt)
        return (inputs, rec, res, carry, T, keep_queue)

    def _advance(self, job, t0, t1):
        inputs, rec, res, carry, T, _ = job
        _delta_run(self.proj, self.net, inputs, rec, res, carry, t0, t1, T)

    def _collect(self, job):
        _, rec, res, carry, T, keep_queue = job
        return self._collect_out(res, rec, res.raw.shape[0], keep_queue, carry)

    def _collect_out(self, res, rec, B, keep_queue, kept):
        L = self.model.n_layers
        uo, xo = self.unit_off, self.in_off
        units = lambda a, f=1: [a[..., f * uo[k]:f * uo[k + 1]] for k in range(L)]
        inputs = lambda a: [a[..., xo[k]:xo[k + 1]] for k in range(L)]
        state = [dict(h=h, x_hat=x, h_hat=hh, mx=mx, mh=mh) for h, x, hh, mx, mh in
                 zip(units(res.h), inputs(res.x_hat), units(res.h_hat), units(res.mx, 3), units(res.mh, 3))]
        out = {"raw": res.raw.sum(axis=0), "state": state,
               "y": units(rec.y) if rec.rec_y else None,
               "dx": inputs(rec.dx) if rec.rec_d else None, "dh": units(rec.dh) if rec.rec_d else None,
               "readout": rec.readout if rec.rec_ro else None,
               "last_readout": res.last_ro if self.has_readout else None, "per_step": None}
        if rec.rec_steps:
            st = rec.steps.sum(axis=0)
            out["per_step"] = {"events": st[:, :L, ST_EVENTS], "input_events": st[:, :L, ST_INPUTS],
                               "effective_macs": st[:, :, ST_MACS],
                               "event_driven_updates": np.tile(np.array(self.model.sizes, np.int64) * B,
                                                               (st.shape[0], 1))}
        if keep_queue:
            out["queues"] = [copy_queue(EventQueue(self.net.qmeta, *(a[b] for a in kept[1:])))
                             for b in range(B)]
        return out


def _merge(parts):
    """Join the results of consecutive sample chunks."""
    cat = lambda xs: np.concatenate(xs, axis=0)
    first = parts[0]
    out = {"raw": sum(p["raw"] for p in parts),
           "state": [{key: cat([p["state"][k][key] for p in parts]) for key in first["state"][k]}
                     for k in range(len(first["state"]))]}
    for key in ("y", "dx", "dh"):
        out[key] = None if first[key] is None else [cat([p[key][k] for p in parts])
                                                     for k in range(len(first[key]))]
    for key in ("readout", "last_readout"):
        out[key] = None if first[key] is None else cat([p[key] for p in parts])
    out["per_step"] = None if first["per_step"] is None else {
        k: sum(p["per_step"][k] for p in parts) for k in first["per_step"]}
    if "queues" in first:
        out["queues"] = [q for p in parts for q in p["queues"]]
    return out
