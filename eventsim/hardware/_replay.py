"""Numba kernel of the timing simulation: the same discrete-event model as the
Python loop in :mod:`eventsim.hardware.timing` (which stays the readable
reference; tests check both agree bit for bit), on flat arrays.

Units of all populations share one index space. A queue entry of a step is a
slot s (0, 1, ... in creation order, so s is the Python loop's ``seq`` up to a
constant) with its time ``et[s]`` and payload row ``ei[s]`` (kind, core,
population, MACs, packets, feed-forward: columns ``E_*``); the binary heap
``hp`` holds slots ordered by (et[s], s). The queue empties at the end of
every step, so slots restart at 0 and the arrays are allocated once with the
most entries a step can create:
C (inputs) + P (barriers) + C·L (updates) + 2·C·C·L (packets of every update).

The kernel's arguments are named tuples: :data:`ReplayNet` (the placed
network), :data:`ReplayChip` (the chip's times and hops), :data:`ReplayActivity`
(the run's events). :func:`_replay` runs the steps (the pop loop), and
``_inject`` (the host's packets), ``_on_arrive``, ``_on_barrier``,
``_on_ready`` (with ``_send``) handle the kinds of entries; they are inlined
into the loop and take the hot arrays themselves, not tuples holding them
(reading an array out of a tuple costs a reference count in the loop).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

ARRIVE, READY, BARRIER = 0, 1, 2

ReplayNet = namedtuple("ReplayNet", "P L C IN FF REC unit_ptr units n_cores_pop")
ReplayNet.__doc__ = """The placed network: P populations (L layers + readout), C cores; IN (m, C)
MACs per input channel and core; FF/REC (N, C) MACs per emitting unit and core; the units of
population p on core c are units[unit_ptr[p, c]:unit_ptr[p, c+1]]; n_cores_pop (P,) cores
holding each population."""
ReplayChip = namedtuple("ReplayChip", "Hm H_host mac_ns upd_ns pkt_ns hop_ns bar_ns dense")
ReplayChip.__doc__ = """Hops between cores (C, C) and from the host (C,), ns per MAC per core (C,),
per unit update, per packet, per hop, per barrier; ``dense``: a clocked (dense) profile."""
ReplayActivity = namedtuple("ReplayActivity", "B T x_act y_all y_rec wake")
ReplayActivity.__doc__ = """x_act (B*T, m) bool active inputs; y_all (B*T, N) bool units that send
to the next population at (b, t) (readout units never emit); y_rec (B*T, N) bool units that send
to their own layer (for step t + 1): the same array for an EGRU, a DeltaGRU's state deltas;
wake (L, B*T, C) units to update per core."""
# columns of the integer payload of a queue entry, and of the per-core integer tallies
E_KIND, E_CORE, E_POP, E_MACS, E_NPK, E_FF = range(6)
K_MACS, K_UPD, K_SENT, K_RECV = range(4)


@njit(cache=True)
def _push(hp, et, n, s):
    """Insert slot s (its time already in et[s]) into the heap hp[:n]; returns n + 1."""
    hp[n] = s
    i = n
    while i > 0:
        j = (i - 1) // 2
        a, b = hp[i], hp[j]
        if et[a] < et[b] or (et[a] == et[b] and a < b):
            hp[i] = b
            hp[j] = a
            i = j
        else:
            break
    return n + 1


@njit(cache=True)
def _pop(hp, et, n):
    """Remove and return the smallest slot of hp[:n] (the heap shrinks to n - 1)."""
    top = hp[0]
    n -= 1
    hp[0] = hp[n]
    i = 0
    while True:
        a, b = 2 * i + 1, 2 * i + 2
        m = i
        if a < n and (et[hp[a]] < et[hp[m]] or (et[hp[a]] == et[hp[m]] and hp[a] < hp[m])):
            m = a
        if b < n and (et[hp[b]] < et[hp[m]] or (et[hp[b]] == et[hp[m]] and hp[b] < hp[m])):
            m = b
        if m == i:
            break
        tmp = hp[i]
        hp[i] = hp[m]
        hp[m] = tmp
        i = m
    return top


@njit(cache=True, inline="always")
def _entry(hp, et, ei, n, s, t, kind, core, pop, macs, npk, ff):
    """Create entry s (time t, payload row ``ei[s]``) and push it into the heap hp[:n];
    returns the new (n, s)."""
    et[s] = t
    ei[s, E_KIND] = kind
    ei[s, E_CORE] = core
    ei[s, E_POP] = pop
    ei[s, E_MACS] = macs
    ei[s, E_NPK] = npk
    ei[s, E_FF] = ff
    return _push(hp, et, n, s), s + 1


@njit(cache=True, inline="always")
def _send(hp, et, ei, n, s, c, t_out, FAN, emit, ne, pop_to, ff, chip, tallies):
    """One entry per destination core of the packets of the ``ne`` emitters ``emit[:ne]`` of
    core c; ``tallies`` = (pending, ci, totals). Returns (n, s)."""
    pending, ci, totals = tallies
    hops = 0
    for d in range(chip.Hm.shape[0]):
        macs = 0
        k = 0
        for q in range(ne):
            w = FAN[emit[q], d]
            if w > 0:
                macs += w
                k += 1
        if macs > 0:
            n, s = _entry(hp, et, ei, n, s, t_out + chip.Hm[c, d] * chip.hop_ns, ARRIVE, d, pop_to, macs, k, ff)
            ci[K_SENT, c] += k
            hops += k * chip.Hm[c, d]
            if ff:
                pending[pop_to, d] += 1
    totals[1] += hops
    return n, s


@njit(cache=True)
def _replay(net, chip, act):
    """Run every step; returns latency (B*T,), busy_total, macs_c, upd_c, sent_c, recv_c, host, hops,
    queue entries (all steps: the replay's work is one heap push and pop per entry).

    The state is plain arrays: the heap (hp, et, ei), per core ``cf`` = (free at, busy total)
    and ``ci`` (columns ``K_*``), per population ``pending``/``ff_done`` (P, C), ``done``,
    ``last_update``, ``barrier``; totals = (host packets, hops)."""
    P, L, C = net.P, net.L, net.C
    latency = np.zeros(act.B * act.T)
    cf = np.zeros((2, C))
    ci = np.zeros((4, C), np.int64)
    totals = np.zeros(3, np.int64)
    pending = np.zeros((P, C), np.int64)
    ff_done = np.zeros((P, C))
    done = np.zeros(P, np.int64)
    last_update = np.zeros(P)
    barrier = np.zeros(P, np.bool_)
    emit = np.empty(net.units.size + 1, np.int64)
    cap = C + P + C * L + 2 * C * C * L + 1
    hp = np.empty(cap, np.int64)
    et = np.empty(cap)
    ei = np.empty((cap, 6), np.int64)
    mac_ns = chip.mac_ns  # out of the loop: reading an array out of a tuple costs a reference count
    t0 = 0.0
    for b in range(act.B):
        for t in range(act.T):
            bt = b * act.T + t
            pending[:, :] = 0
            ff_done[:, :] = t0
            done[:] = 0
            last_update[:] = t0
            barrier[:] = False
            n, s = _inject(net, chip, act, hp, et, ei, bt, t0, pending, totals)
            n, s = _entry(hp, et, ei, n, s, t0, BARRIER, -1, 0, 0, 0, False)
            end = t0
            while n > 0:
                e = _pop(hp, et, n)
                n -= 1
                kind = ei[e, E_KIND]
                if kind == ARRIVE:
                    fin, n, s = _on_arrive(hp, et, ei, n, s, e, mac_ns, cf, ci, pending, ff_done, barrier, L)
                    if fin > end:
                        end = fin
                elif kind == BARRIER:
                    n, s = _on_barrier(hp, et, ei, n, s, e, net, pending, ff_done, barrier)
                else:
                    fin, n, s = _on_ready(hp, et, ei, n, s, e, net, chip, act, bt, t, cf, ci, totals,
                                          (pending, done, last_update, emit))
                    if fin > end:
                        end = fin
            totals[2] += s
            latency[bt] = (end - t0 + chip.bar_ns) * 1e-9
            t0 = end + chip.bar_ns
    return latency, cf[1].copy(), ci[K_MACS].copy(), ci[K_UPD].copy(), ci[K_SENT].copy(), ci[K_RECV].copy(), \
        totals[0], totals[1], totals[2]


@njit(cache=True, inline="always")
def _inject(net, chip, act, hp, et, ei, bt, t0, pending, totals):
    """The host's packets of the step's active inputs: one entry per core holding targets (the
    step's first entries); returns (n, s)."""
    n = 0
    s = 0
    for d in range(net.C):
        macs = 0
        k = 0
        for i in range(act.x_act.shape[1]):
            if act.x_act[bt, i] and net.IN[i, d] > 0:
                macs += net.IN[i, d]
                k += 1
        if macs > 0:
            n, s = _entry(hp, et, ei, n, s, t0 + chip.pkt_ns + chip.H_host[d] * chip.hop_ns, ARRIVE, d, 0, macs,
                          k, True)
            pending[0, d] += 1
            totals[0] += k
            totals[1] += k * chip.H_host[d]
    return n, s


@njit(cache=True, inline="always")
def _serve(cf, c, now, dur):
    """Core c serves a job of ``dur`` ns that reaches it at ``now`` (FIFO); returns its end."""
    fin = (cf[0, c] if cf[0, c] > now else now) + dur
    cf[0, c] = fin
    cf[1, c] += dur
    return fin


@njit(cache=True, inline="always")
def _on_arrive(hp, et, ei, n, s, e, mac_ns, cf, ci, pending, ff_done, barrier, L):
    """Packets reach core c: serve their MACs; the last feed-forward packet of a population
    after its barrier makes the core ready. Returns (when the core finished them, n, s)."""
    c, p = ei[e, E_CORE], ei[e, E_POP]
    macs = ei[e, E_MACS]
    fin = _serve(cf, c, et[e], macs * mac_ns[c])
    ci[K_MACS, c] += macs
    ci[K_RECV, c] += ei[e, E_NPK]
    if ei[e, E_FF]:
        pending[p, c] -= 1
        ff_done[p, c] = fin
        if pending[p, c] == 0 and barrier[p] and p < L:
            n, s = _entry(hp, et, ei, n, s, fin, READY, c, p, 0, 0, False)
    return fin, n, s


@njit(cache=True, inline="always")
def _on_barrier(hp, et, ei, n, s, e, net, pending, ff_done, barrier):
    """The barrier of population p is passed: each core of p with no feed-forward packet left
    becomes ready (once it served the last one). Returns (n, s)."""
    p = ei[e, E_POP]
    now = et[e]
    barrier[p] = True
    if p == net.L:  # readout: nothing to update
        return n, s
    for c2 in range(net.C):
        if net.unit_ptr[p, c2 + 1] > net.unit_ptr[p, c2] and pending[p, c2] == 0:
            r = ff_done[p, c2] if ff_done[p, c2] > now else now
            n, s = _entry(hp, et, ei, n, s, r, READY, c2, p, 0, 0, False)
    return n, s


@njit(cache=True, inline="always")
def _emitters(net, y, bt, p, c, emit):
    """Write the units of population p on core c with y[bt, u] into emit; returns how many."""
    ne = 0
    for q in range(net.unit_ptr[p, c], net.unit_ptr[p, c + 1]):
        u = net.units[q]
        if y[bt, u]:
            emit[ne] = u
            ne += 1
    return ne


@njit(cache=True, inline="always")
def _on_ready(hp, et, ei, n, s, e, net, chip, act, bt, t, cf, ci, totals, pops):
    """Core c updates its waking units of population p, then sends the emitters' packets;
    the last core of p passes the barrier of p + 1. ``pops`` = (pending, done, last_update,
    emit buffer). Returns (when the update ended, n, s)."""
    pending, done, last_update, emit = pops
    now, c, p = et[e], ei[e, E_CORE], ei[e, E_POP]
    n_upd = act.wake[p, bt, c]
    fin = now
    if n_upd > 0:
        fin = _serve(cf, c, now, n_upd * chip.upd_ns)
    ci[K_UPD, c] += n_upd
    t_out = fin + chip.pkt_ns
    if p + 1 < net.P:
        ne = _emitters(net, act.y_all, bt, p, c, emit)
        if ne > 0:
            n, s = _send(hp, et, ei, n, s, c, t_out, net.FF, emit, ne, p + 1, True, chip, (pending, ci, totals))
    if t + 1 < act.T or chip.dense:
        ne = _emitters(net, act.y_rec, bt, p, c, emit)
        if ne > 0:
            n, s = _send(hp, et, ei, n, s, c, t_out, net.REC, emit, ne, p, False, chip, (pending, ci, totals))
    done[p] += 1
    if fin > last_update[p]:
        last_update[p] = fin
    if done[p] == net.n_cores_pop[p] and p + 1 < net.P:
        n, s = _entry(hp, et, ei, n, s, last_update[p] + chip.bar_ns, BARRIER, -1, p + 1, 0, 0, False)
    return fin, n, s
