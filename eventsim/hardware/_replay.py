"""Numba kernel of the timing simulation: the same discrete-event model as the
Python loop in :mod:`eventsim.hardware.timing` (which stays the readable
reference; tests check both agree), on flat arrays and an array binary heap.

Units of all populations share one index space (``pop_off``). Queue entries
are (time, seq, kind, core, pop, macs, packets, ff) kept in parallel arrays;
entries compare by (time, seq) exactly as the Python tuples do.
"""
from __future__ import annotations

import numpy as np
from numba import njit

ARRIVE, READY, BARRIER = 0, 1, 2


@njit(cache=True)
def _grow(H, need):
    """H with room for at least ``need`` entries (capacity doubled as needed)."""
    cap = H.shape[1]
    if need <= cap:
        return H
    while cap < need:
        cap *= 2
    H2 = np.empty((H.shape[0], cap))
    H2[:, :H.shape[1]] = H
    return H2


@njit(cache=True)
def _push(H, n, t, seq, kind, core, pop, macs, npk, ff):
    """Push onto the heap stored in columns of H (rows: t, seq, kind, core, pop, macs, npk, ff);
    the caller has made room (:func:`_grow`). Returns the new size."""
    H[0, n] = t
    H[1, n] = seq
    H[2, n] = kind
    H[3, n] = core
    H[4, n] = pop
    H[5, n] = macs
    H[6, n] = npk
    H[7, n] = ff
    i = n
    while i > 0:
        j = (i - 1) // 2
        if H[0, i] < H[0, j] or (H[0, i] == H[0, j] and H[1, i] < H[1, j]):
            for f in range(8):
                tmp = H[f, i]
                H[f, i] = H[f, j]
                H[f, j] = tmp
            i = j
        else:
            break
    return n + 1


@njit(cache=True)
def _pop(H, n):
    """Move the smallest entry to column n-1 and restore the heap on [0, n-1)."""
    n -= 1
    for f in range(8):
        tmp = H[f, 0]
        H[f, 0] = H[f, n]
        H[f, n] = tmp
    i = 0
    while True:
        a, b = 2 * i + 1, 2 * i + 2
        m = i
        if a < n and (H[0, a] < H[0, m] or (H[0, a] == H[0, m] and H[1, a] < H[1, m])):
            m = a
        if b < n and (H[0, b] < H[0, m] or (H[0, b] == H[0, m] and H[1, b] < H[1, m])):
            m = b
        if m == i:
            break
        for f in range(8):
            tmp = H[f, i]
            H[f, i] = H[f, m]
            H[f, m] = tmp
        i = m
    return n


@njit(cache=True)
def _send(H, n, seq, c, t_out, FAN, emit, ne, pop_to, ff, Hm, hop_ns, pending, sent_c, C):
    """Push one entry per destination core of the emitters (H has room for C more)."""
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
            n = _push(H, n, float(t_out + Hm[c, d] * hop_ns), float(seq), float(ARRIVE), float(d),
                          float(pop_to), float(macs), float(k), float(ff))
            seq += 1
            sent_c[c] += k
            hops += k * Hm[c, d]
            if ff > 0:
                pending[pop_to, d] += 1
    return n, seq, hops


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
    H = np.empty((8, 1024))
    n = 0
    seq = 0
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
            H = _grow(H, n + C + 1)
            for d in range(C):
                macs = 0
                k = 0
                for i in range(m):
                    if x_act[bt, i] and IN[i, d] > 0:
                        macs += IN[i, d]
                        k += 1
                if macs > 0:
                    n = _push(H, n, float(t0 + pkt_ns + H_host[d] * hop_ns), float(seq), float(ARRIVE),
                              float(d), float(0), float(macs), float(k), float(1))
                    seq += 1
                    pending[0, d] += 1
                    host += k
                    hops_total += k * H_host[d]
            n = _push(H, n, float(t0), float(seq), float(BARRIER), -1.0, 0.0, 0.0, 0.0, 0.0)
            seq += 1
            end = t0
            while n > 0:
                n = _pop(H, n)
                now = H[0, n]
                kind = int(H[2, n])
                c = int(H[3, n])
                p = int(H[4, n])
                macs = int(H[5, n])
                npk = int(H[6, n])
                ff = H[7, n] > 0
                if kind == ARRIVE:
                    dur = macs * mac_ns[c]
                    fin = (busy[c] if busy[c] > now else now) + dur
                    busy[c] = fin
                    busy_total[c] += dur
                    macs_c[c] += macs
                    recv_c[c] += npk
                    if fin > end:
                        end = fin
                    if ff:
                        pending[p, c] -= 1
                        ff_done[p, c] = fin
                        if pending[p, c] == 0 and barrier[p] and p < L:
                            H = _grow(H, n + 1)
                            n = _push(H, n, float(fin), float(seq), float(READY), float(c), float(p),
                                      0.0, 0.0, 0.0)
                            seq += 1
                elif kind == BARRIER:
                    barrier[p] = True
                    if p == L:
                        continue
                    H = _grow(H, n + C)
                    for c2 in range(C):
                        if unit_ptr[p, c2 + 1] > unit_ptr[p, c2] and pending[p, c2] == 0:
                            r = ff_done[p, c2] if ff_done[p, c2] > now else now
                            n = _push(H, n, float(r), float(seq), float(READY), float(c2), float(p),
                                      0.0, 0.0, 0.0)
                            seq += 1
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
                            H = _grow(H, n + C)
                            n, seq, h = _send(H, n, seq, c, fin + pkt_ns, FF, emit, ne, p + 1, 1.0,
                                                 Hm, hop_ns, pending, sent_c, C)
                            hops_total += h
                        if t + 1 < T or dense:
                            H = _grow(H, n + C)
                            n, seq, h = _send(H, n, seq, c, fin + pkt_ns, REC, emit, ne, p, 0.0,
                                                 Hm, hop_ns, pending, sent_c, C)
                            hops_total += h
                    done[p] += 1
                    if fin > last_update[p]:
                        last_update[p] = fin
                    if done[p] == n_cores_pop[p] and p + 1 < P:
                        H = _grow(H, n + 1)
                        n = _push(H, n, float(last_update[p] + bar_ns), float(seq), float(BARRIER), -1.0,
                                  float(p + 1), 0.0, 0.0, 0.0)
                        seq += 1
            latency[bt] = (end - t0 + bar_ns) * 1e-9
            t0 = end + bar_ns
    return latency, busy_total, macs_c, upd_c, sent_c, recv_c, host, hops_total
