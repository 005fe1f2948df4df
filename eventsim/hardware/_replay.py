"""Numba kernel of the timing simulation: the same discrete-event model as the
Python loop in :mod:`eventsim.hardware.timing` (which stays the readable
reference; tests check both agree bit for bit), on flat arrays.

Units of all populations share one index space (``pop_off``). A queue entry of
a step is a slot s (0, 1, ... in creation order, so s is the Python loop's
``seq`` up to a constant) with payload arrays ``et[s]`` (time), ``ek`` (kind),
``ec`` (core), ``ep`` (population), ``em`` (MACs), ``en`` (packets), ``ef``
(feed-forward); the binary heap ``hp`` holds slots ordered by (et[s], s). The
queue empties at the end of every step, so slots restart at 0 and the arrays
are allocated once with the most entries a step can create:
C (inputs) + P (barriers) + C·L (updates) + 2·C·C·L (packets of every update).
"""
from __future__ import annotations

import numpy as np
from numba import njit

ARRIVE, READY, BARRIER = 0, 1, 2


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


@njit(cache=True)
def _entry(hp, et, ek, ec, ep, em, en, ef, n, s, t, kind, core, pop, macs, npk, ff):
    """Create entry s with its payload and push it; returns the new heap size."""
    et[s] = t
    ek[s] = kind
    ec[s] = core
    ep[s] = pop
    em[s] = macs
    en[s] = npk
    ef[s] = ff
    return _push(hp, et, n, s)


@njit(cache=True)
def _send(hp, et, ek, ec, ep, em, en, ef, n, s, c, t_out, FAN, emit, ne, pop_to, ff, Hm, hop_ns,
          pending, sent_c, C):
    """One entry per destination core of the emitters' packets; returns (n, s, hops)."""
    hops = 0
    for d in range(C):
        macs = 0
        k = 0
        for q in range(ne):
            w = FAN[emit[q], d]
            if w > 0:
                macs += w
                k += 1
        if macs > 0:
            n = _entry(hp, et, ek, ec, ep, em, en, ef, n, s, t_out + Hm[c, d] * hop_ns, ARRIVE, d, pop_to,
                       macs, k, ff)
            s += 1
            sent_c[c] += k
            hops += k * Hm[c, d]
            if ff:
                pending[pop_to, d] += 1
    return n, s, hops


@njit(cache=True)
def replay(B, T, P, L, C, dense, x_act, IN, y_all, pop_off, FF, REC, unit_ptr, units, n_cores_pop,
           wake, Hm, H_host, mac_ns, upd_ns, pkt_ns, hop_ns, bar_ns):
    """Run every step; returns latency (B*T,), busy_total, macs_c, upd_c, sent_c, recv_c, host, hops.

    x_act (B*T, m) bool; IN (m, C) MACs per input channel and core; y_all (B*T, N) bool events
    of all units (readout units never emit); FF/REC (N, C) MACs per emitting unit and core;
    unit_ptr (P, C+1) / units: the units of population p on core c are
    units[unit_ptr[p, c]:unit_ptr[p, c+1]]; wake (L, B*T, C) units to update.
    """
    latency = np.zeros(B * T)
    busy = np.zeros(C)
    busy_total = np.zeros(C)
    macs_c = np.zeros(C, np.int64)
    upd_c = np.zeros(C, np.int64)
    sent_c = np.zeros(C, np.int64)
    recv_c = np.zeros(C, np.int64)
    pending = np.zeros((P, C), np.int64)
    ff_done = np.zeros((P, C))
    done = np.zeros(P, np.int64)
    last_update = np.zeros(P)
    barrier = np.zeros(P, np.bool_)
    emit = np.empty(units.size + 1, np.int64)
    cap = C + P + C * L + 2 * C * C * L + 1
    hp = np.empty(cap, np.int64)
    et = np.empty(cap)
    ek = np.empty(cap, np.int64)
    ec = np.empty(cap, np.int64)
    ep = np.empty(cap, np.int64)
    em = np.empty(cap, np.int64)
    en = np.empty(cap, np.int64)
    ef = np.empty(cap, np.bool_)
    host = 0
    hops_total = 0
    t0 = 0.0
    m = x_act.shape[1]
    for b in range(B):
        for t in range(T):
            bt = b * T + t
            pending[:, :] = 0
            ff_done[:, :] = t0
            done[:] = 0
            last_update[:] = t0
            barrier[:] = False
            n = 0
            s = 0
            for d in range(C):
                macs = 0
                k = 0
                for i in range(m):
                    if x_act[bt, i] and IN[i, d] > 0:
                        macs += IN[i, d]
                        k += 1
                if macs > 0:
                    n = _entry(hp, et, ek, ec, ep, em, en, ef, n, s, t0 + pkt_ns + H_host[d] * hop_ns,
                               ARRIVE, d, 0, macs, k, True)
                    s += 1
                    pending[0, d] += 1
                    host += k
                    hops_total += k * H_host[d]
            n = _entry(hp, et, ek, ec, ep, em, en, ef, n, s, t0, BARRIER, -1, 0, 0, 0, False)
            s += 1
            end = t0
            while n > 0:
                e = _pop(hp, et, n)
                n -= 1
                now = et[e]
                kind = ek[e]
                c = ec[e]
                p = ep[e]
                if kind == ARRIVE:
                    macs = em[e]
                    dur = macs * mac_ns[c]
                    fin = (busy[c] if busy[c] > now else now) + dur
                    busy[c] = fin
                    busy_total[c] += dur
                    macs_c[c] += macs
                    recv_c[c] += en[e]
                    if fin > end:
                        end = fin
                    if ef[e]:
                        pending[p, c] -= 1
                        ff_done[p, c] = fin
                        if pending[p, c] == 0 and barrier[p] and p < L:
                            n = _entry(hp, et, ek, ec, ep, em, en, ef, n, s, fin, READY, c, p, 0, 0, False)
                            s += 1
                elif kind == BARRIER:
                    barrier[p] = True
                    if p == L:
                        continue
                    for c2 in range(C):
                        if unit_ptr[p, c2 + 1] > unit_ptr[p, c2] and pending[p, c2] == 0:
                            r = ff_done[p, c2] if ff_done[p, c2] > now else now
                            n = _entry(hp, et, ek, ec, ep, em, en, ef, n, s, r, READY, c2, p, 0, 0, False)
                            s += 1
                else:
                    n_upd = wake[p, bt, c]
                    fin = now
                    if n_upd > 0:
                        dur = n_upd * upd_ns
                        fin = (busy[c] if busy[c] > now else now) + dur
                        busy[c] = fin
                        busy_total[c] += dur
                    upd_c[c] += n_upd
                    if fin > end:
                        end = fin
                    ne = 0
                    for q in range(unit_ptr[p, c], unit_ptr[p, c + 1]):
                        u = units[q]
                        if y_all[bt, u]:
                            emit[ne] = u
                            ne += 1
                    if ne > 0:
                        if p + 1 < P:
                            n, s, h = _send(hp, et, ek, ec, ep, em, en, ef, n, s, c, fin + pkt_ns, FF, emit, ne,
                                            p + 1, True, Hm, hop_ns, pending, sent_c, C)
                            hops_total += h
                        if t + 1 < T or dense:
                            n, s, h = _send(hp, et, ek, ec, ep, em, en, ef, n, s, c, fin + pkt_ns, REC, emit, ne,
                                            p, False, Hm, hop_ns, pending, sent_c, C)
                            hops_total += h
                    done[p] += 1
                    if fin > last_update[p]:
                        last_update[p] = fin
                    if done[p] == n_cores_pop[p] and p + 1 < P:
                        n = _entry(hp, et, ek, ec, ep, em, en, ef, n, s, last_update[p] + bar_ns, BARRIER, -1,
                                   p + 1, 0, 0, False)
                        s += 1
            latency[bt] = (end - t0 + bar_ns) * 1e-9
            t0 = end + bar_ns
    return latency, busy_total, macs_c, upd_c, sent_c, recv_c, host, hops_total
