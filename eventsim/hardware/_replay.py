"""Numba kernel of the timing simulation: the same discrete-event model as the
Python loop in :mod:`eventsim.hardware.timing` (which stays the readable
reference; tests check both agree bit for bit), on flat arrays, with one heap
entry per *send* instead of one per packet batch.

The reference queue holds one ARRIVE entry (a *batch*) per (send, destination
core): a send is the packets of one core's update to one population (or the
host's packets of one step), reaching every core that holds targets of its
emitters. The kernel serves the same batches in the same order, but its heap
holds each send once, keyed by the arrival time of its next *group* (its
batches of one arrival time); the entry at the top serves that group's
batches in core order, then is re-keyed to the send's next group (one
sift-down) or dropped after the last. The heap's work per send is one entry
per distinct arrival time (at most the mesh's hop distances + 1), not one per
destination core. An update's two sends (feed-forward to the next population,
recurrent to its own) leave at the same time and share one entry: a group
holds both sends' batches of one arrival time, the feed-forward ones first.

Why the order is exactly the reference's. Entries are ordered by (time, seq),
seq counting creations. One send creates its batches all at once, in
ascending destination core d, with seqs s0, s0 + 1, ..., s0 + k - 1; batch d
arrives at ``t_out + H[c, d] * hop_ns``. Take a group G: the batches of one
send with one arrival time T. (1) No other entry sorts between two members of
G: it would need time T and a seq between theirs, but the seqs between them
belong to the same send, whose batches not in G have other times. (2) Entries
created while G is being served (a READY at ``fin``, when a batch is the
core's last feed-forward one) have fin >= T (serving ends no earlier than it
starts) and a seq above all of G's, so they sort after G's last member too.
Hence the reference pops G's members one after another, in seq = core order,
and nothing it creates meanwhile comes in between: serving G in core order
from one entry makes the same changes in the same order. (3) Against other
entries nothing changes if every entry keeps its rank in creation order: the
kernel numbers its entries (slots) in creation order, a send taking one
number for all its groups (they have distinct times), so for entries of two
different creations "slot a < slot b" holds exactly when "seq a < seq b" did;
a re-keyed send keeps its slot, so entries created after the send still
compare above it, those created before below. (4) An update's feed-forward
send and recurrent send are created one after the other (seqs s0 ... s1 - 1
and s1 ... s2 - 1) and leave at the same ``t_out``, so their batches of one
arrival time T form one run of the order by (1) and (2): the feed-forward
ones in core order, then the recurrent ones in core order; one entry with one
slot serves them so, and by (3) with one slot for both they keep their rank
against every other entry. Hence, by induction over the entries handled,
every core sees the same jobs in the same order, and every time, tally and
floating-point sum comes out bit for bit the same.

Building the groups: from each source core (and the host) the cores holding a
population are precomputed in (hops, core) order, cut into runs of one hop
distance (``dcore``, ``rptr``, ``rh``); a send's group is a run with at least
one batch, at ``t_out + h * hop_ns`` (with the other part's run of the same
time). These times do not decrease with h (rounding is monotone); when
rounding makes two runs' times equal (or hops take no time: then there is one
run, in core order), they form one group, each part served by ascending core
(``dpos``, the inverse order; rare). Each unit's
fan-out row (MACs per destination) is stored in its core's destination order
(``W``) with the list of its runs that hold batches (``run_ptr``,
``run_idx``) and its destination cores as a 0/1 row in core order (``PM``):
a send of one emitter reads its row in place, adds its 0/1 row to the
feed-forward batches each core waits for (``pending``) and walks its runs,
so a send costs no work per destination core; one of several emitters sums
their rows into a scratch row of ``W`` (emitters outer, destinations inner,
contiguous). Serving a group is then the one piece of work per batch.

The integer tallies (MACs, packets sent and received per core, host packets,
hops) do not depend on the order of work, only on which units emit at which
step; :func:`eventsim.hardware.timing._run_kernel` sums them from the fan-out
tables (exact integer sums, equal to the reference loop's, tested). The
kernel computes what depends on the order: the times, per-core busy time and
the unit updates.

The host's packets of a step: an INJECT entry at the step start (slot 0,
before layer 0's barrier, slot 1, as the reference creates its batches
first) becomes the host's send when handled. The queue empties at the end of
every step, so slots, groups and scratch rows restart at 0 each step; the
arrays are allocated once with the most a step can create (1 inject + P
barriers + C·L updates + 2·C·L sends). The kernel's arguments are named
tuples: :data:`ReplayNet` (the placed network), :data:`ReplayChip` (the
chip's times), :data:`ReplayActivity` (the run's events); :func:`_replay`
is one function (see its docstring for why).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

SEND, READY, BARRIER, INJECT = 0, 1, 2, 3

ReplayNet = namedtuple("ReplayNet", "P L C N m W PM run_ptr run_idx dcore dpos rptr rh nruns unit_ptr units "
                                    "n_cores_pop")
ReplayNet.__doc__ = """The placed network: P populations (L layers + readout), C cores, N units (all
populations in one index space), m input channels. Destination orders from source s (a core, or
s = C for the host, for population 0 only): ``dcore[q, s, :n_cores_pop[q]]`` the cores holding
population q in (hops, core) order, ``dpos[q, s, d]`` the position of core d in it (-1 if none),
``rptr[q, s, :nruns[q, s] + 1]`` the bounds of its runs of equal hops, ``rh[q, s, j]`` run j's hops.
W (2N + m, C) MACs per destination in the source's order: rows u < N the unit's feed-forward
fan-out (to population pop(u) + 1), N + u its recurrent fan-out, 2N + i input channel i's; the
runs holding batches of row w are run_idx[run_ptr[w]:run_ptr[w + 1]] (ascending); PM (2N + m, C)
int8 is 1 where a feed-forward or input row sends a batch, in core order (0 for recurrent rows). The
units of population p on core c are units[unit_ptr[p, c]:unit_ptr[p, c+1]]; n_cores_pop (P,) cores
holding each population."""
ReplayChip = namedtuple("ReplayChip", "mac_ns upd_ns pkt_ns hop_ns bar_ns dense")
ReplayChip.__doc__ = """ns per MAC per core (C,), per unit update, per packet, per hop, per barrier;
``dense``: a clocked (dense) profile."""
ReplayActivity = namedtuple("ReplayActivity", "B T x_act y_all y_rec wake")
ReplayActivity.__doc__ = """x_act (B*T, m) bool active inputs; y_all (B*T, N) bool units that send
to the next population at (b, t) (readout units never emit); y_rec (B*T, N) bool units that send
to their own layer (for step t + 1): the same array for an EGRU, a DeltaGRU's state deltas;
wake (L, B*T, C) units to update per core."""
# fields of a slot; a send's feed-forward (or the host's) part: S_POP, S_ROW (population, row
# of W), its recurrent part: S_POP2 = S_POP + 2, S_ROW2 = S_ROW + 2
S_KIND, S_CORE, S_POP, S_ROW, S_POP2, S_ROW2, S_GRP, S_GEND = range(8)


@njit(cache=True, inline="always")
def _less(ta, sa, tb, sb):
    """(time ta, slot sa) sorts before (tb, sb)."""
    return ta < tb or (ta == tb and sa < sb)


@njit(cache=True)
def _replay(net, chip, act):
    """Run every step; returns latency (B*T,), busy_total, upd_c, queue entries (the reference
    queue's: batches, READY and BARRIER entries, all steps) and heap entries (the entries this
    kernel handled at its heap's top: one per (send, arrival time) group, READY, BARRIER, and
    the step's inject).

    One function, no helpers taking arrays: Numba counts references to arrays passed to a
    function (inlined or not) at every call, which cost more than the work here. The heap hk
    (rows: time, slot) keeps the entry being handled at its top while the entries it creates
    are collected (``nt``, ``ns``); then the top is re-keyed or removed (one sift-down) and the
    new entries pushed. They all sort after it (time >= now, a larger slot), and (time, slot)
    keys are distinct, so the order of entries handled does not depend on this. The slots'
    fields are ``si`` (columns ``S_*``); groups: gt (arrival time) and grp (first and end
    position and merged flag of the send's feed-forward part, then of its recurrent part; first =
    end: no batch); per core ``cf`` = (free at, busy total) and ``upd``; per population
    ``pending``/``ff_done`` (P, C), ``done``, ``last_update``, ``barrier``."""
    P, L, C, N = net.P, net.L, net.C, net.N
    dcore, dpos, rptr, rh, nruns, n_cores_pop = net.dcore, net.dpos, net.rptr, net.rh, net.nruns, net.n_cores_pop
    unit_ptr, units = net.unit_ptr, net.units
    mac_ns, upd_ns, pkt_ns, hop_ns, bar_ns, dense = chip.mac_ns, chip.upd_ns, chip.pkt_ns, chip.hop_ns, chip.bar_ns, \
        chip.dense
    T, x_act, y_all, y_rec, wake = act.T, act.x_act, act.y_all, act.y_rec, act.wake
    latency = np.zeros(act.B * T)
    cf = np.zeros((2, C))
    upd = np.zeros(C, np.int64)
    pending = np.zeros((P, C), np.int64)
    ff_done = np.zeros((P, C))
    done = np.zeros(P, np.int64)
    last_update = np.zeros(P)
    barrier = np.zeros(P, np.bool_)
    emit = np.empty(max(units.size, x_act.shape[1]) + 1, np.int64)
    n_slots = 1 + P + C * L + 2 * C * L + 1  # (an update makes one send and at most two scratch rows)
    hk = np.full((n_slots + 2, 2), np.inf)
    si = np.zeros((n_slots, 8), np.int64)
    gt = np.empty(n_slots * (C + 1))
    grp = np.empty((n_slots * (C + 1), 6), np.int64)
    W = np.empty((net.W.shape[0] + n_slots, C), net.W.dtype)  # the fan-out rows, then scratch rows
    W[:net.W.shape[0]] = net.W
    n_static = net.W.shape[0]
    nt = np.empty(C + 4)
    ns = np.empty(C + 4, np.int64)
    mpos = np.empty(C, np.int64)
    # flat views indexed with unsigned offsets in the serve loop (the work per batch): Numba adds
    # a negative-index wraparound to every signed index
    Wf = W.reshape(-1)
    dcf = dcore.reshape(-1)
    pendf = pending.reshape(-1)
    ffdf = ff_done.reshape(-1)
    busy = cf[0]
    btot = cf[1]
    PM, run_ptr, run_idx = net.PM, net.run_ptr, net.run_idx
    um = np.zeros(C, PM.dtype)
    run_on = np.zeros(C + 1, np.bool_)
    runs = np.empty((2, C + 1), np.int64)
    n_runs = np.zeros(2, np.int64)
    part_q = np.zeros(2, np.int64)
    part_r = np.zeros(2, np.int64)
    n_queue = 0
    n_heap = 0
    t0 = 0.0
    for b in range(act.B):
        for t in range(T):
            bt = b * T + t
            pending[:, :] = 0
            ff_done[:, :] = t0
            done[:] = 0
            last_update[:] = t0
            barrier[:] = False
            n = 0
            n_slot = 0
            n_grp = 0
            n_acc = 0
            for i in range(x_act.shape[1]):  # the host's send (slot 0) comes first, then layer 0's barrier
                if x_act[bt, i]:
                    si[0, S_KIND] = INJECT
                    hk[0, 0] = t0
                    hk[0, 1] = 0
                    n = 1
                    n_slot = 1
                    break
            si[n_slot, S_KIND] = BARRIER
            si[n_slot, S_POP] = 0
            hk[n, 0] = t0
            hk[n, 1] = n_slot
            n += 1
            n_slot += 1
            n_queue += 1
            end = t0
            while n > 0:
                now = hk[0, 0]
                s = int(hk[0, 1])
                n_heap += 1
                kind = si[s, S_KIND]
                nn = 0  # entries created while handling this one
                rekey = False
                if kind == SEND:  # serve the send's group: its batches reach their cores now
                    g = si[s, S_GRP]
                    src = si[s, S_CORE]
                    for part in range(2):  # its feed-forward batches by core, then its recurrent ones
                        lo, hi = grp[g, 3 * part], grp[g, 3 * part + 1]
                        if hi == lo:
                            continue
                        p, r, ff = si[s, S_POP + 2 * part], si[s, S_ROW + 2 * part], part == 0
                        k_end = hi - lo
                        merged = grp[g, 3 * part + 2] != 0
                        if merged:  # several hop distances at one time (rare): positions by ascending core
                            k_end = 0
                            for d in range(C):
                                i = dpos[p, src, d]
                                if i >= lo and i < hi:
                                    mpos[k_end] = i
                                    k_end += 1
                        wrow = np.uint64(r * C)
                        drow = np.uint64((p * (C + 1) + src) * C)
                        prow = np.uint64(p * C)
                        for k in range(k_end):
                            i = np.uint64(mpos[k] if merged else lo + k)
                            macs = Wf[wrow + i]
                            if macs > 0:  # one batch: the reference's ``arrive``
                                c = np.uint64(dcf[drow + i])
                                dur = macs * mac_ns[c]
                                b0 = busy[c]
                                fin = (b0 if b0 > now else now) + dur
                                busy[c] = fin
                                btot[c] += dur
                                n_queue += 1
                                end = max(end, fin)
                                if ff:
                                    left = pendf[prow + c] - 1
                                    pendf[prow + c] = left
                                    ffdf[prow + c] = fin
                                    if left == 0 and barrier[p] and p < L:  # the core is ready
                                        si[n_slot, S_KIND] = READY
                                        si[n_slot, S_CORE] = c
                                        si[n_slot, S_POP] = p
                                        nt[nn] = fin
                                        ns[nn] = n_slot
                                        nn += 1
                                        n_slot += 1
                                        n_queue += 1
                    g += 1
                    if g < si[s, S_GEND]:  # the send's next group
                        si[s, S_GRP] = g
                        rekey = True
                        rt = gt[g]
                elif kind == BARRIER:  # each core of p with no feed-forward packet left becomes ready
                    p = si[s, S_POP]
                    barrier[p] = True
                    if p < L:  # (the readout has nothing to update)
                        for c in range(C):
                            if unit_ptr[p, c + 1] > unit_ptr[p, c] and pending[p, c] == 0:
                                si[n_slot, S_KIND] = READY
                                si[n_slot, S_CORE] = c
                                si[n_slot, S_POP] = p
                                nt[nn] = ff_done[p, c] if ff_done[p, c] > now else now
                                ns[nn] = n_slot
                                nn += 1
                                n_slot += 1
                                n_queue += 1
                else:  # READY: core c updates its waking units of p and sends; or the host's inject
                    if kind == READY:
                        c, p = si[s, S_CORE], si[s, S_POP]
                        n_upd = wake[p, bt, c]
                        fin = now
                        if n_upd > 0:
                            dur = n_upd * upd_ns
                            fin = (cf[0, c] if cf[0, c] > now else now) + dur
                            cf[0, c] = fin
                            cf[1, c] += dur
                        upd[c] += n_upd
                        if fin > end:
                            end = fin
                        t_out = fin + pkt_ns
                        n_sends = 2
                    else:
                        c, p = C, -1
                        t_out = now + pkt_ns
                        n_sends = 1
                    n_parts = 0
                    for which in range(n_sends):  # the parts of the send: feed-forward (or the host's), recurrent
                        ne = 0
                        if kind == INJECT:  # the active input channels, to population 0
                            src, q, ff, base = C, 0, True, 2 * N
                            for i in range(x_act.shape[1]):
                                if x_act[bt, i]:
                                    emit[ne] = i
                                    ne += 1
                        elif which == 0:  # feed-forward: to the next population, this step
                            src, q, ff, base = c, p + 1, True, 0
                            if q < P:
                                for j in range(unit_ptr[p, c], unit_ptr[p, c + 1]):
                                    if y_all[bt, units[j]]:
                                        emit[ne] = units[j]
                                        ne += 1
                        else:  # recurrent: to its own layer, for step t + 1
                            src, q, ff, base = c, p, False, N
                            if t + 1 < T or dense:
                                for j in range(unit_ptr[p, c], unit_ptr[p, c + 1]):
                                    if y_rec[bt, units[j]]:
                                        emit[ne] = units[j]
                                        ne += 1
                        n_runs[which] = 0
                        if ne == 0:
                            continue
                        m = n_cores_pop[q]
                        if ne == 1:  # one emitter: its row in place, its runs with batches
                            r = base + emit[0]
                            if ff:  # count the feed-forward batches each core waits for
                                for d in range(C):
                                    pending[q, d] += PM[r, d]
                            for k in range(run_ptr[r], run_ptr[r + 1]):
                                runs[which, k - run_ptr[r]] = run_idx[k]
                            n_runs[which] = run_ptr[r + 1] - run_ptr[r]
                        else:  # several: the sum of their rows in a scratch row, the union of the rest
                            r = n_static + n_acc
                            n_acc += 1
                            for i in range(m):
                                W[r, i] = 0
                            for d in range(C):
                                um[d] = 0
                            for e in range(ne):
                                u = base + emit[e]
                                for i in range(m):
                                    W[r, i] += W[u, i]
                                for d in range(C):
                                    um[d] |= PM[u, d]
                                for k in range(run_ptr[u], run_ptr[u + 1]):
                                    run_on[run_idx[k]] = True
                            if ff:
                                for d in range(C):
                                    pending[q, d] += um[d]
                            for j in range(nruns[q, src]):
                                if run_on[j]:
                                    run_on[j] = False
                                    runs[which, n_runs[which]] = j
                                    n_runs[which] += 1
                        part_q[which] = q
                        part_r[which] = r
                        n_parts += 1
                    if n_parts > 0:
                        # the groups: the parts' runs of one hop distance with batches, merged by
                        # arrival time (a part's runs of equal times: one range, by core)
                        g0 = n_grp
                        ka = 0
                        kb = 0
                        while ka < n_runs[0] or kb < n_runs[1]:
                            ta = t_out + rh[part_q[0], src, runs[0, ka]] * hop_ns if ka < n_runs[0] else np.inf
                            tb = t_out + rh[part_q[1], src, runs[1, kb]] * hop_ns if kb < n_runs[1] else np.inf
                            tg = ta if ta < tb else tb
                            if not (n_grp > g0 and tg == gt[n_grp - 1]):
                                gt[n_grp] = tg
                                for k in range(6):
                                    grp[n_grp, k] = 0
                                n_grp += 1
                            for part in range(2):
                                if (ta if part == 0 else tb) == tg:
                                    j = runs[part, ka if part == 0 else kb]
                                    q = part_q[part]
                                    if grp[n_grp - 1, 3 * part + 1] == grp[n_grp - 1, 3 * part]:
                                        grp[n_grp - 1, 3 * part] = rptr[q, src, j]
                                    else:  # joins the part's previous run: by core
                                        grp[n_grp - 1, 3 * part + 2] = 1
                                    grp[n_grp - 1, 3 * part + 1] = rptr[q, src, j + 1]
                                    if part == 0:
                                        ka += 1
                                    else:
                                        kb += 1
                        ss = s if kind == INJECT else n_slot  # the inject's slot becomes its send
                        if kind != INJECT:
                            n_slot += 1
                        si[ss, S_KIND] = SEND
                        si[ss, S_CORE] = src
                        si[ss, S_POP] = part_q[0]
                        si[ss, S_ROW] = part_r[0]
                        si[ss, S_POP2] = part_q[1]
                        si[ss, S_ROW2] = part_r[1]
                        si[ss, S_GRP] = g0
                        si[ss, S_GEND] = n_grp
                        nt[nn] = gt[g0]
                        ns[nn] = ss
                        nn += 1
                    if kind == READY:
                        done[p] += 1
                        if fin > last_update[p]:
                            last_update[p] = fin
                        if done[p] == n_cores_pop[p] and p + 1 < P:  # the barrier of p + 1
                            si[n_slot, S_KIND] = BARRIER
                            si[n_slot, S_POP] = p + 1
                            nt[nn] = last_update[p] + bar_ns
                            ns[nn] = n_slot
                            nn += 1
                            n_slot += 1
                            n_queue += 1
                # the top: re-keyed to (rt, s), or replaced by the last entry; sift it down
                if not rekey:
                    n -= 1
                    rt = hk[n, 0]
                    s = int(hk[n, 1])
                if not rekey:
                    hk[n, 0] = np.inf
                if n > 0:
                    i = 0
                    while True:
                        a = 2 * i + 1
                        if a >= n:
                            break
                        ta, tb = hk[a, 0], hk[a + 1, 0]
                        a += (tb < ta) | ((tb == ta) & (hk[a + 1, 1] < hk[a, 1]))
                        if _less(hk[a, 0], hk[a, 1], rt, s):
                            hk[i, 0] = hk[a, 0]
                            hk[i, 1] = hk[a, 1]
                            i = a
                        else:
                            break
                    hk[i, 0] = rt
                    hk[i, 1] = s
                for k in range(nn):  # push the new entries
                    i = n
                    while i > 0:
                        j = (i - 1) >> 1
                        if _less(nt[k], ns[k], hk[j, 0], hk[j, 1]):
                            hk[i, 0] = hk[j, 0]
                            hk[i, 1] = hk[j, 1]
                            i = j
                        else:
                            break
                    hk[i, 0] = nt[k]
                    hk[i, 1] = ns[k]
                    n += 1
            latency[bt] = (end - t0 + bar_ns) * 1e-9
            t0 = end + bar_ns
    return latency, cf[1].copy(), upd, n_queue, n_heap
