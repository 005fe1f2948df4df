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
   d. update the units that must be with SPEC §1 (z, r, g, c_t, o_t, y_t, s_t):
      those marked in b/c and the *live* ones (those that can fire); the others
      sleep and are caught up, bit for bit, when next marked (:func:`_update_layer`).
      A unit is an *event-driven update* when it was marked in b/c or emits now;
   e. each emitting unit j queues (j, y_t[j]) for its own layer at step
      t + 1 + d_rec and for layer l+1 at step t + d_ff(l+1); events of the last
      layer walk their readout column into the step's logits at once.
2. Per-step records (y, c, logits, counts) are written only when asked for;
   otherwise memory is independent of T.

The engine touches only event rows (``effective`` MACs, as counted) and visits only
the units that are reached or can fire: the event-driven update of SPEC §2, with the
live units' quiet steps on top (a unit that can fire must be stepped to know when).
With ``c`` recorded every unit is updated at every step.

The kernel: :func:`_egru_run` runs the samples in parallel, :func:`_egru_step`
one step (layers in order), :func:`_deliver_ff` does a and b, the queue's
``queue_drain`` and the core's ``deliver_list`` do c, :func:`_update_layer` d
and e (with :func:`_update_some`, :func:`_new_states`, :func:`_emit`). The queue, the row walks and the projections are the shared core's
(:mod:`eventsim.engine`); the state (``EGRUState``), the update and the run
loop are the EGRU's.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..engine.core import (PM_INDPTR, PM_ROWS, csr_matches, deliver_list, input_cursor, input_rows,
                           input_span, pack_matrices, same_values, walk_row)
from ..engine.runner import BatchRunner
from ..engine.vmath import gate_block
from ..engine.queue import EventQueue, copy_queue, new_queue, queue_drain, queue_push, ring_layout

# layer metadata columns
LM_NIN, LM_N, LM_UOFF, LM_DFF, LM_DREC = range(5)
# per-step record fields
ST_EVENTS, ST_MACS, ST_UPDATES = range(3)
# raw count columns (per layer)
R_EVENTS, R_FF_MACS, R_REC_MACS, R_ACT_IN, R_ACT_REC, R_UPDATES = range(6)
N_RAW = 6

# The kernel's arguments (named tuples of arrays and scalars: Numba passes them as plain tuples).
EGRUNet = namedtuple("EGRUNet", "lmeta bias rbias thr ro_bias qmeta q_src q_cnt max_n n_out "
                                "reset_output has_readout one z0 k0 sleep")
EGRUNet.__doc__ = """A compiled EGRU (beside its :class:`~eventsim.engine.core.Projections`, 2l: the
kernel of layer l, 2l + 1: its recurrent kernel, 2L: the readout): layer table ``lmeta`` (columns ``LM_*``), concatenated biases and
thresholds, the queue layout (``qmeta`` and the sizes of its arrays), ``one`` (1 in the
model's dtype: float literals would promote float32 arithmetic to float64) and, per unit, the
gates of a *quiet* step (no synaptic event reached the unit: its pre-activations are its
biases): ``z0`` = z and ``k0`` = (1 − z)·g, computed by the update's own
:func:`~eventsim.engine.vmath.gate_block`, so a quiet unit's ``c = z0·s + k0`` is bit for bit
the full update's; ``sleep`` (uint8): the unit may sleep, i.e. its quiet map
``f(s) = z0·s + k0`` (in the model's float arithmetic) keeps ``f(ϑ) ≤ ϑ`` (see
:func:`_update_layer`)."""
EGRURecords = namedtuple("EGRURecords", "rec_y y rec_c c rec_ro readout rec_steps steps")
EGRURecords.__doc__ = "Per-step records: a flag and its (B, T, ...) array (a dummy when off)."
EGRUOut = namedtuple("EGRUOut", "raw ro_counts s_final y_final last_ro slept")
EGRUOut.__doc__ = """Per-sample results: raw counts (B, L, N_RAW), readout (MACs, events) (B, 2),
final state, last logits and the unit-steps the engine skipped (sleeping units, (B,))."""
EGRUState = namedtuple("EGRUState", "s ylast vx vh touched ro_acc queue cur T zg kg cb gx widx "
                                    "lazy live last t_all")
EGRUState.__doc__ = """One sample's state inside the kernel: internal state ``s`` and last output
``ylast`` (all units; views of the run's ``s_final``/``y_final``, carried from one range of
steps to the next), the pre-activations ``vx``/``vh`` and wake-up marks of the layer being
stepped, the step's logits, the sample's event queue (a view of the carried queues), its
input cursor (``cur[0]``), the run's number of steps ``T`` and the update's scratch: the
gates ``zg``/``kg`` and pre-threshold states ``cb`` of the layer's units, the gathered
pre-activations and gates of its woken units ``gx`` (8, n) and a unit index list ``widx``;
the event-driven bookkeeping (``lazy``: units may sleep; ``live`` (all units): must be updated
at the next step; ``last``: a unit's last update step, ``t_all`` (per layer): the last step at
which every unit of the layer was updated; a unit's state is current as of the later of
the two)."""


@njit(cache=True, parallel=True)
def _egru_run(proj, net, inputs, rec, out, carry, t0, t1, T):
    """Run steps ``t0 .. t1-1`` of every sample of the chunk (sample ``b``: calendar
    ``inputs.sptr[b]``, outputs ``out.*[b]``), in parallel across threads, resuming from the
    carried state: ``out.s_final``/``out.y_final`` and ``carry``, an
    :class:`~eventsim.engine.queue.EventQueue` of arrays with a leading sample axis (each
    sample's queue). (The arguments of a parallel loop must be flat tuples: Numba's parfors
    reject nested ones.)"""
    B = out.s_final.shape[0]
    for b in prange(B):
        st = _state(proj, net, out, carry, b, T, not rec.rec_c, t0)
        st.cur[0] = input_cursor(inputs, b, t0 - net.lmeta[0, LM_DFF])
        for t in range(t0, t1):
            _egru_step(proj, net, inputs, b, t, st, rec, out)
        for l in range(net.lmeta.shape[0]):  # the carried state is every unit's, as of step t1 - 1
            _catch_up_layer(net, l, t1 - 1, st)


@njit(cache=True)
def _state(proj, net, out, carry, b, T, lazy, t0):
    """Sample b's state: its carried unit states and queue (views) and fresh scratch arrays;
    every unit current as of step t0 - 1 and live unless it may sleep (``lazy``)."""
    dt = proj.vals.dtype
    s = out.s_final[b]
    live = np.ones(s.shape[0], np.uint8)
    L = net.lmeta.shape[0]
    st = EGRUState(out.s_final[b], out.y_final[b], np.empty(3 * net.max_n, dtype=dt),
                     np.empty(3 * net.max_n, dtype=dt), np.zeros(net.max_n, dtype=np.uint8),
                     np.empty(max(net.n_out, 1), dtype=dt),
                     EventQueue(carry.meta, carry.src[b], carry.val[b], carry.cnt[b], carry.due[b]),
                     np.zeros(1, np.int64), T, np.empty(net.max_n, dtype=dt), np.empty(net.max_n, dtype=dt),
                     np.empty(net.max_n, dtype=dt), np.empty((8, net.max_n), dtype=dt),
                     np.empty(net.max_n, np.int64), lazy, live, np.full(s.shape[0], t0 - 1, np.int64),
                     np.full(L, t0 - 1, np.int64))
    if lazy:  # which carried units sleep: the rule of a step that updated every unit
        for l in range(L):
            _sleepers(net, l, st)
    return st


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
        if t == st.T - 1:
            for q in range(net.n_out):
                out.last_ro[b, q] = st.ro_acc[q]


@njit(cache=True)
def _deliver_ff(proj, net, inputs, b, t, l, st):
    """(a) start layer l's pre-activations from the biases and clear its marks; (b) deliver
    its feed-forward events due at step t. Returns (MACs, events, some row reached every unit)."""
    n = net.lmeta[l, LM_N]
    goff = 3 * net.lmeta[l, LM_UOFF]
    st.vx[:3 * n] = net.bias[goff:goff + 3 * n]  # slice copies: no tuple read per element
    st.vh[:3 * n] = net.rbias[goff:goff + 3 * n]
    st.touched[:n] = 0
    if l > 0:  # the events layer l-1 emitted at step t - d_ff
        a, z = queue_drain(st.queue, 2 * l, t)
        macs, full = deliver_list(proj, 2 * l, st.queue.src, st.queue.val, a, z, st.vx, st.touched)
        return macs, z - a, full
    tt = t - net.lmeta[0, LM_DFF]  # the input table is layer 0's calendar: its row of step t - d_ff
    if tt < 0:
        return 0, 0, False
    a, z = input_span(inputs, b, st.cur, tt)
    macs, full = deliver_list(proj, 0, inputs.idx, inputs.val, a, z, st.vx, st.touched)
    return macs, z - a, full


@njit(cache=True, error_model="numpy")
def _update_layer(proj, net, b, t, l, all_touched, st, rec, out):
    """(d) update the units of layer l that must be (SPEC §1) and (e) emit their events: unit j
    emitting y at step t queues (j, y) for its own layer at step t + 1 + d_rec and for layer
    l+1 at step t + d_ff(l+1); the last layer's events walk the readout at once. Returns
    (events, event-driven updates).

    **Event-driven updates.** A unit that no event reached has its biases' gates, so its step
    is the quiet map ``c = f(s) = z0·s + k0`` (``net.z0``/``net.k0``; minus its last output,
    0, with reset "output"). f is non-decreasing (z0 ≥ 0, rounding is monotone), so when
    ``f(ϑ) ≤ ϑ`` (``net.sleep``, computed once in the model's arithmetic) a unit with
    ``s ≤ ϑ`` and last output 0 cannot fire while nothing reaches it: ``f(s) ≤ f(ϑ) ≤ ϑ``,
    and its next s is that c again. Such a unit *sleeps*: it is not visited. When an event
    next reaches it (or the run's range of steps ends) it is caught up by iterating f over
    the steps it slept, stopping as soon as f(s) = s (the iterates of a non-decreasing map
    are monotone, so a repeated value stays): bit for bit the state stepping would give.
    Every other unit (it emitted, it can fire, or ``c`` is recorded) is *live* and updated
    at every step.

    The units to update (reached or live) are gathered; when they are more than half of the
    layer, every unit is updated by vectorised passes (sleepers caught up first), else one by
    one (:func:`_update_some`)."""
    n = net.lmeta[l, LM_N]
    uoff = net.lmeta[l, LM_UOFF]
    woken = n
    if not all_touched:
        k, woken = _due_units(net, l, st)
        if 2 * k <= n:
            return _update_some(proj, net, b, t, l, k, st, rec, out)
    _catch_up_layer(net, l, t - 1, st)
    vx, vh = st.vx, st.vh
    # a unit no event reached has its biases as pre-activations: its gates are z0, k0 exactly
    gate_block(vx[:n], vh[:n], vx[n:2 * n], vh[n:2 * n], vx[2 * n:3 * n], vh[2 * n:3 * n],
               st.zg[:n], st.kg[:n])
    _new_states(net, l, st)
    if rec.rec_y:
        rec.y[b, t, uoff:uoff + n] = st.ylast[uoff:uoff + n]
    if rec.rec_c:
        rec.c[b, t, uoff:uoff + n] = st.cb[:n]
    events, fired_quiet = _emit(proj, net, b, t, l, all_touched, st, rec, out)
    st.t_all[l] = t
    if st.lazy:
        _sleepers(net, l, st)
    return events, woken + fired_quiet


@njit(cache=True)
def _due_units(net, l, st):
    """List the units of layer l to update at this step (reached by an event or live) in
    ``st.widx``, in order. Returns (how many, how many were reached)."""
    n = net.lmeta[l, LM_N]
    live = st.live[net.lmeta[l, LM_UOFF]:net.lmeta[l, LM_UOFF] + n]
    touched, widx = st.touched, st.widx
    k = 0
    woken = 0
    for j in range(n):  # branch-free compaction
        widx[k] = j
        k += touched[j] | live[j]
        woken += touched[j]
    return k, woken


@njit(cache=True)
def _quiet_steps(z0, k0, sv, steps):
    """s after ``steps`` quiet steps from ``sv`` (the quiet map iterated, stopping at a repeat)."""
    for _ in range(steps):
        c = z0 * sv + k0
        if c == sv:
            break
        sv = c
    return sv


#: quiet steps caught up as vectorised rounds over the whole layer before the long sleepers
#: are finished one by one
_ROUNDS = 16


@njit(cache=True)
def _catch_up_layer(net, l, upto, st):
    """Bring every unit of layer l to step ``upto`` (nothing to do when all were updated
    then): up to ``_ROUNDS`` quiet steps as vectorised rounds over the layer (each unit takes
    the map only in the rounds it owes: the same operations as one by one), the rest of the
    long sleepers one by one."""
    ta = st.t_all[l]
    if ta >= upto:
        return
    n = net.lmeta[l, LM_N]
    uoff = net.lmeta[l, LM_UOFF]
    s, last = st.s[uoff:uoff + n], st.last[uoff:uoff + n]
    z0, k0, owe = net.z0[uoff:uoff + n], net.k0[uoff:uoff + n], st.widx
    most = 0
    for j in range(n):
        d = upto - (last[j] if last[j] > ta else ta)
        owe[j] = d
        most = d if d > most else most
    for r in range(min(most, _ROUNDS)):
        for j in range(n):
            c = z0[j] * s[j] + k0[j]
            s[j] = c if owe[j] > r else s[j]
    if most > _ROUNDS:
        for j in range(n):
            if owe[j] > _ROUNDS:
                s[j] = _quiet_steps(z0[j], k0[j], s[j], owe[j] - _ROUNDS)
    st.t_all[l] = upto


@njit(cache=True)
def _sleepers(net, l, st):
    """After a step that updated every unit of layer l: which of them sleep now."""
    n = net.lmeta[l, LM_N]
    uoff = net.lmeta[l, LM_UOFF]
    live, sleep = st.live[uoff:uoff + n], net.sleep[uoff:uoff + n]
    s, y, th = st.s[uoff:uoff + n], st.ylast[uoff:uoff + n], net.thr[uoff:uoff + n]
    for j in range(n):
        live[j] = 1 - (sleep[j] & np.uint8(y[j] == 0) & np.uint8(s[j] <= th[j]))


@njit(cache=True, error_model="numpy")
def _update_some(proj, net, b, t, l, k, st, rec, out):
    """Update the k units listed in ``st.widx`` (in order) one by one, their gates computed as
    one block; the others sleep. Returns (events, event-driven updates)."""
    n = net.lmeta[l, LM_N]
    out.slept[b] += n - k
    if k == 0:
        return 0, 0
    uoff = net.lmeta[l, LM_UOFF]
    vx, vh, widx, gx, touched = st.vx, st.vh, st.widx, st.gx, st.touched
    for part in range(3):
        ax, ah, o = gx[2 * part], gx[2 * part + 1], part * n
        for q in range(k):
            ax[q] = vx[o + widx[q]]
            ah[q] = vh[o + widx[q]]
    gz, gk = gx[6], gx[7]
    gate_block(gx[0, :k], gx[1, :k], gx[2, :k], gx[3, :k], gx[4, :k], gx[5, :k], gz[:k], gk[:k])
    s, ylast, thr, live, sleep, queue = st.s, st.ylast, net.thr, st.live, net.sleep, st.queue
    lastu, z0, k0 = st.last, net.z0, net.k0
    ta, lazy = st.t_all[l], st.lazy
    reset_output = net.reset_output
    L = net.lmeta.shape[0]
    due_rec, due_ff = _dues(net, l, t)
    zero = net.one - net.one
    events = 0
    updates = 0
    for q in range(k):
        j = widx[q]
        u = uoff + j
        owed = t - 1 - (lastu[u] if lastu[u] > ta else ta)
        sv = _quiet_steps(z0[u], k0[u], s[u], owed) if owed > 0 else s[u]
        c = gz[q] * sv + gk[q]
        if reset_output:
            c = c - ylast[u]
        th = thr[u]
        fire = c > th
        y = c if fire else zero
        s[u] = c - th if (fire and not reset_output) else c
        ylast[u] = y
        lastu[u] = t
        live[u] = 0 if (lazy and sleep[u] == 1 and not fire and s[u] <= th) else 1
        if fire or touched[j] == 1:
            updates += 1
        if rec.rec_y:
            rec.y[b, t, u] = y
        if fire:  # (as in _emit; a shared per-event function measured 10-25% slower at full activity)
            events += 1
            queue_push(queue, 2 * l + 1, due_rec, j, y)
            if l < L - 1:
                queue_push(queue, 2 * l + 2, due_ff, j, y)
            elif net.has_readout:
                m_ro = walk_row(proj, 2 * L, j, y, st.ro_acc)
                out.ro_counts[b, 0] += m_ro
                out.ro_counts[b, 1] += 1
                if rec.rec_steps:
                    rec.steps[b, t, L, ST_MACS] += m_ro
    return events, updates


@njit(cache=True)
def _dues(net, l, t):
    """The steps at which an event of layer l at step t is due: in its own layer, in the next."""
    last = l == net.lmeta.shape[0] - 1
    return t + 1 + net.lmeta[l, LM_DREC], (t if last else t + net.lmeta[l + 1, LM_DFF])


@njit(cache=True, error_model="numpy")
def _new_states(net, l, st):
    """c = z·s + (1 − z)·g (minus the last output with reset "output"), the event test c > ϑ,
    the new state s and output y of every unit of layer l; c is kept in ``st.cb``. One array
    written per loop: each loop vectorises."""
    n = net.lmeta[l, LM_N]
    uoff = net.lmeta[l, LM_UOFF]
    zg, kg, cb = st.zg, st.kg, st.cb
    s = st.s[uoff:uoff + n]
    y = st.ylast[uoff:uoff + n]
    th = net.thr[uoff:uoff + n]
    zero = net.one - net.one
    if net.reset_output:
        for j in range(n):
            cb[j] = (zg[j] * s[j] + kg[j]) - y[j]
        for j in range(n):
            s[j] = cb[j]
    else:
        for j in range(n):
            cb[j] = zg[j] * s[j] + kg[j]
        for j in range(n):
            s[j] = cb[j] - th[j] if cb[j] > th[j] else cb[j]
    for j in range(n):
        y[j] = cb[j] if cb[j] > th[j] else zero


@njit(cache=True)
def _emit(proj, net, b, t, l, all_touched, st, rec, out):
    """(e) the events of layer l at step t, in unit order: queue each for its own layer (step
    t + 1 + d_rec) and the next (step t + d_ff(l+1)), or walk the readout for the last layer.
    Returns (events, emitters that no event reached)."""
    n = net.lmeta[l, LM_N]
    uoff = net.lmeta[l, LM_UOFF]
    cb, eidx, touched, queue = st.cb, st.widx, st.touched, st.queue
    th = net.thr[uoff:uoff + n]
    e = 0
    for j in range(n):  # the emitters, in order (branch-free compaction)
        eidx[e] = j
        e += cb[j] > th[j]
    due_rec, due_ff = _dues(net, l, t)
    quiet = 0
    L = net.lmeta.shape[0]
    for q in range(e):
        j = eidx[q]
        v = cb[j]
        if not all_touched and touched[j] == 0:
            quiet += 1
        queue_push(queue, 2 * l + 1, due_rec, j, v)
        if l < L - 1:
            queue_push(queue, 2 * l + 2, due_ff, j, v)
        elif net.has_readout:
            m_ro = walk_row(proj, 2 * L, j, v, st.ro_acc)
            out.ro_counts[b, 0] += m_ro
            out.ro_counts[b, 1] += 1
            if rec.rec_steps:
                rec.steps[b, t, L, ST_MACS] += m_ro
    return e, quiet


@njit(cache=True)
def _quiet_gates(bias, rbias, lmeta):
    """Per unit (all layers), the gates of a step in which nothing reached it: (z0, k0)."""
    n_tot = lmeta[-1, LM_UOFF] + lmeta[-1, LM_N]
    z0 = np.empty(n_tot, bias.dtype)
    k0 = np.empty(n_tot, bias.dtype)
    for l in range(lmeta.shape[0]):
        n = lmeta[l, LM_N]
        uoff = lmeta[l, LM_UOFF]
        g = 3 * uoff
        gate_block(bias[g:g + n], rbias[g:g + n], bias[g + n:g + 2 * n], rbias[g + n:g + 2 * n],
                   bias[g + 2 * n:g + 3 * n], rbias[g + 2 * n:g + 3 * n], z0[uoff:uoff + n],
                   k0[uoff:uoff + n])
    return z0, k0


@njit(cache=True)
def _may_sleep(z0, k0, thr):
    """Per unit: 1 when its quiet map keeps f(ϑ) ≤ ϑ, computed exactly as the update computes c
    (see :func:`_update_layer`; with reset "output" c is that minus a last output of 0, the
    same number)."""
    out = np.zeros(thr.shape[0], np.uint8)
    for u in range(thr.shape[0]):
        c = z0[u] * thr[u] + k0[u]
        out[u] = 1 if c <= thr[u] else 0
    return out


class CompiledEGRU(BatchRunner):
    """A model's parameters laid out for the event engine (build once, run many times).

    Holds a private, read-only copy of the model (``model``), so editing the original
    afterwards has no effect; the copy of a dense matrix is a view of its layout (the weights
    are stored once). ``keep_embedding=False`` leaves the embedding out of the copy (for
    :func:`~eventsim.egru.simulate.simulate`'s layout cache, which reads the user's own).
    :meth:`matches` tells whether a model has exactly these parameters.
    """

    def __init__(self, model, keep_embedding=True):
        dt = np.dtype(model.dtype)
        mats, units = [], []
        for layer in model.layers:
            mats += [layer.kernel, layer.recurrent_kernel]
            units += [layer.n_units, layer.n_units]
        self.has_readout = model.readout_weight is not None
        if self.has_readout:
            mats.append(model.readout_weight.T)  # row j: the readout weights of unit j
            units.append(model.n_out)
        self.proj, views = pack_matrices(mats, units, dt)
        E = model.embedding
        self.embedding_shape = None if E is None else (E.shape, E.dtype)
        self.model = model = _private_copy(model, views, dt, keep_embedding)
        self.kernel_nnz = [self._nnz(2 * k) for k in range(model.n_layers)]
        self.recurrent_nnz = [self._nnz(2 * k + 1) for k in range(model.n_layers)]
        self.readout_nnz = self._nnz(2 * model.n_layers) if self.has_readout else 0
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
        bias, rbias, one = cat("bias"), cat("recurrent_bias"), dt.type(1)
        z0, k0 = _quiet_gates(bias, rbias, lmeta)
        thr = cat("thr")
        sleep = _may_sleep(z0, k0, thr)
        self.net = EGRUNet(lmeta, bias, rbias, thr,
                           model.readout_bias if self.has_readout else np.zeros(1, dt), qmeta, q_src, q_cnt,
                           max(sizes), self.n_out, model.reset == "output", self.has_readout, one, z0, k0, sleep)

    def embedding_rows(self, E):
        """The input rows (CSR: indptr, idx, val) of the embedding ``E``, kept from the previous
        call while ``E`` holds exactly the same values (checked at every call: one pass over
        ``E``, :func:`~eventsim.engine.core.csr_matches`) and built again as soon as it does not,
        so an edited embedding is never read stale. Saves rebuilding them at every call (~230 ms
        for a 10,000 x 750 embedding)."""
        from ..inputs import embedding_rows
        kept = getattr(self, "_embedding_rows", None)
        if kept is not None and kept[2].dtype == E.dtype and kept[0].size == E.shape[0] + 1:
            val = kept[2]
            if val.size == E.size:  # every entry nonzero: the rows are E itself, row-major
                if same_values(val.reshape(E.shape), E):
                    return kept
            elif csr_matches(E, *kept):
                return kept
        self._embedding_rows = None  # free the stale rows first
        rows = embedding_rows(E)
        for a in rows:
            a.flags.writeable = False
        self._embedding_rows = rows
        return rows

    def _nnz(self, p):
        base, rows = self.proj.meta[p, PM_INDPTR], self.proj.meta[p, PM_ROWS]
        return int(self.proj.indptr[base + rows] - self.proj.indptr[base])

    def counts(self, samples, steps, out):
        """The :class:`~eventsim.egru.counts.Counts` of a run's output (``run``'s dict); the
        same as ``Counts.for_model`` on the model, with the nonzero weights counted once, at
        layout time."""
        from .counts import RAW_FIELDS, Counts
        m = self.model
        return Counts(samples=int(samples), steps=int(steps), inputs=[l.n_in for l in m.layers],
                      units=m.sizes, kernel_nnz=list(self.kernel_nnz), recurrent_nnz=list(self.recurrent_nnz),
                      raw=np.asarray(out["raw"], dtype=np.int64).reshape(m.n_layers, len(RAW_FIELDS)),
                      readout_out=m.n_out or 0, readout_nnz=self.readout_nnz,
                      readout_macs=int(out["readout_macs"]), readout_active=int(out["readout_active"]),
                      ff_delays=m.ff_delays, rec_delays=m.rec_delays, engine="event",
                      per_step=out["per_step"])

    def matches(self, model) -> bool:
        """True when ``model`` has exactly this layout's parameters and settings: the same
        reset mode, delays and pseudo-derivative settings, the same shapes and dtypes, and equal
        values in every kernel, recurrent kernel, bias, recurrent bias, threshold and readout
        array (one pass over them, no temporaries; small arrays first). The embedding is not
        laid out: only its shape and dtype are compared when it was left out of the copy."""
        own = self.model
        if (model.reset != own.reset or tuple(model.ff_delays) != own.ff_delays
                or tuple(model.rec_delays) != own.rec_delays or model.dampening != own.dampening
                or model.support != own.support or len(model.layers) != len(own.layers)
                or (model.readout_weight is None) != (own.readout_weight is None)
                or (model.readout_bias is None) != (own.readout_bias is None)
                or (model.embedding is None) != (self.embedding_shape is None)):
            return False
        if model.embedding is not None and (not isinstance(model.embedding, np.ndarray)
                                            or (model.embedding.shape, model.embedding.dtype)
                                            != self.embedding_shape):
            return False
        pairs = []
        for mine, theirs in zip(own.layers, model.layers):
            for key in ("thr", "bias", "recurrent_bias", "kernel", "recurrent_kernel"):
                pairs.append((getattr(mine, key), getattr(theirs, key)))
        if own.readout_weight is not None:
            pairs.insert(0, (own.readout_bias, model.readout_bias))
            pairs.append((own.readout_weight, model.readout_weight))
        if not all(isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype for a, b in pairs):
            return False
        return all(same_values(a, b) for a, b in pairs)

    @staticmethod
    def _merge(parts):
        return _merge(parts)

    def _ops_per_step(self):
        """A dense GRU's MACs per step of this model (its largest count per step)."""
        m = self.model
        return sum(3 * l.n_units * (l.n_in + l.n_units) + 3 * l.n_units for l in m.layers) + \
            (m.n_out or 0) * m.sizes[-1]

    def _sample_bytes(self, T, record):
        """(bytes kept per sample for the run: outputs and records; bytes of its queue)."""
        it = np.dtype(self.model.dtype).itemsize
        n_tot, L = int(self.unit_off[-1]), self.model.n_layers
        kept = 2 * n_tot * it + 8 * L * 6 + (self.n_out + 2) * it
        kept += T * it * (n_tot * (("y" in record) + ("c" in record)) + self.n_out * ("readout" in record))
        kept += T * 8 * 3 * (L + 1) * ("steps" in record)
        return kept, self.net.q_src * (4 + it) + self.net.q_cnt * 16

    def _start(self, table, b0, b1, record, keep_queue=False):
        dt = self.model.dtype
        net = self.net
        B, T = b1 - b0, table.n_steps
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
        carry = new_queue(net.qmeta, net.q_src, net.q_cnt, dt, batch=B)
        res = EGRUOut(np.zeros((B, L, N_RAW), np.int64), np.zeros((B, 2), np.int64), np.zeros((B, n_tot), dt),
                      np.zeros((B, n_tot), dt), np.zeros((B, max(self.n_out, 1)), dt), np.zeros(B, np.int64))
        inputs = input_rows(table, b0, b1, dt)
        return (inputs, rec, res, carry, T, keep_queue)

    def _advance(self, job, t0, t1):
        inputs, rec, res, carry, T, _ = job
        _egru_run(self.proj, self.net, inputs, rec, res, carry, t0, t1, T)

    def _collect(self, job):
        _, rec, res, carry, T, keep_queue = job
        L = self.model.n_layers
        B = res.raw.shape[0]
        split = lambda a: [a[..., self.unit_off[k]:self.unit_off[k + 1]] for k in range(L)]
        out = {"raw": res.raw.sum(axis=0), "readout_macs": int(res.ro_counts[:, 0].sum()),
               "readout_active": int(res.ro_counts[:, 1].sum()),
               "state": list(zip(split(res.s_final), split(res.y_final))),
               "y": split(rec.y) if rec.rec_y else None, "c": split(rec.c) if rec.rec_c else None,
               "readout": rec.readout if rec.rec_ro else None,
               "last_readout": res.last_ro if self.has_readout else None, "per_step": None,
               "slept": int(res.slept.sum())}
        if rec.rec_steps:
            st = rec.steps.sum(axis=0)
            out["per_step"] = {"events": st[:, :L, 0], "effective_macs": st[:, :, 1],
                               "event_driven_updates": st[:, :L, 2]}
        if keep_queue:
            out["queues"] = [copy_queue(EventQueue(self.net.qmeta, *(a[b] for a in carry[1:])))
                             for b in range(B)]
        return out


def _private_copy(model, views, dt, keep_embedding):
    """A read-only copy of ``model``'s parameters; dense matrices are their layout's views."""
    from dataclasses import replace

    from .model import EGRULayer

    def own(a, view=None):
        if a is None:
            return None
        c = view if view is not None else np.array(a, dtype=dt, order="C", copy=True)
        c.flags.writeable = False
        return c

    layers = [EGRULayer(kernel=own(l.kernel, views[2 * k]), recurrent_kernel=own(l.recurrent_kernel, views[2 * k + 1]),
                        bias=own(l.bias), recurrent_bias=own(l.recurrent_bias), thr=own(l.thr))
              for k, l in enumerate(model.layers)]
    ro = None
    if model.readout_weight is not None:
        ro = views[-1].T if views[-1] is not None else own(model.readout_weight)
    return replace(model, layers=layers, readout_weight=ro, readout_bias=own(model.readout_bias),
                   embedding=own(model.embedding) if keep_embedding else None, meta=dict(model.meta),
                   ff_delays=tuple(model.ff_delays), rec_delays=tuple(model.rec_delays))


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
    out["slept"] = sum(p["slept"] for p in parts)
    out["per_step"] = None if first["per_step"] is None else {
        k: sum(p["per_step"][k] for p in parts) for k in first["per_step"]}
    if "queues" in first:
        out["queues"] = [q for p in parts for q in p["queues"]]
    return out
