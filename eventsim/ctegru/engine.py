"""The continuous-time event engine of the EGRU (SPEC §6): private Numba kernels.

What it does, per sample. Each unit ``g`` keeps its state at its own time ``t0[g]``
(``c, a_u, a_r, a_z``) and is advanced only when something reaches it:

- the pre-activations in closed form, ``a_x(t) = b_x + (a_x(t0) − b_x)·exp(−(t−t0)/τ_syn)``;
- ``c`` by an adaptive Dormand–Prince 5(4) integrator (the scalar ODE
  ``τ_mem·dc/dt = σ(a_u(t))·(tanh(a_z(t)) − c)``, error per step
  ``|e| <= atol + rtol·max(|c_old|, |c_new|)``; the last accepted step size is kept per unit).

After every change of a unit (an input reached it, it fired) the queue gets its next
entry (:func:`_reschedule`; :mod:`eventsim.engine.pqueue`, rescheduled or removed when
an input reaches the unit first):

- none, when the unit cannot cross before ``t_end`` without input: ``dc/dt <= 0`` at
  ``c = ϑ`` whenever ``tanh(a_z) <= ϑ``, and ``a_z`` relaxes monotonically to ``b_z``, so
  once ``tanh(a_z) <= ϑ`` and ``tanh(b_z) <= ϑ`` (from a time given in closed form) it
  cannot fire (with ``ϑ >= 1``, never);
- a CHECK at a lower bound of its crossing time, ``t_lb = t0 + τ_mem/u_max ·
  ln((z_max − c)/(z_max − ϑ))`` (``dc/dt <= u_max·(z_max − c)/τ_mem`` with the largest
  future ``u`` and ``z``), when that is more than 4 of its steps away: at the CHECK the
  unit is integrated to ``t_lb`` (time that has passed without input: no work is thrown
  away) and looked at again;
- otherwise a short speculative integration (at most 8 accepted steps): a crossing
  inside it gives a FIRE entry at the crossing (located inside its step by a bracketed
  Newton iteration, each trial a Dormand–Prince step from the step's start, until it moves
  less than ``root_tol`` seconds); else a CHECK at its end, whose state is kept and
  taken over if nothing reaches the unit first. An input arriving earlier throws away
  at most those 8 steps.

The queue orders entries by (time, key), ``key = ((source layer + 1)·S + source index)·4
+ kind`` (input channels are layer −1; kind 0 a predicted crossing, 1 a delayed
recurrent delivery, 2 a delayed feed-forward delivery): ties go by layer, then source
index. Input events are not queued: they are merged in from the sorted input arrays
(they carry layer −1 keys, so they come first on ties). A unit that fires is reset
(``c ← min(c − ϑ, ϑ − ε)``), its next crossing predicted, and its events delivered: at
once for a zero delay, else queued for ``t + d``. A delivery walks the source's fan-out
row (CSR; only targets with a nonzero weight are stored) and, per target: advances it,
applies ``a_z += w_z·σ(a_r)``, ``a_u += w_u``, ``a_r += w_r`` (in that order, with ``a_r``
before its jump) and predicts its next crossing. Nothing after ``t_end`` is processed.

Counts, per layer (``raw`` columns): events, feed-forward and recurrent synaptic
events (row entries walked, by target layer), unit wakeups (each advance of a unit
because an event reached it or it fired) and solver steps (every Dormand–Prince step
evaluated: accepted, rejected and root-finding trials).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..engine.pqueue import pq_new, pq_pop, pq_push, pq_remove, pq_reserve, pq_top, pq_update

RAW = ("events", "syn_ff", "syn_rec", "wakeups", "solver_steps")

# Dormand–Prince 5(4) coefficients
_A21 = 1 / 5
_A31, _A32 = 3 / 40, 9 / 40
_A41, _A42, _A43 = 44 / 45, -56 / 15, 32 / 9
_A51, _A52, _A53, _A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
_A61, _A62, _A63, _A64, _A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
_B1, _B3, _B4, _B5, _B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
_E1, _E3, _E4, _E5, _E6, _E7 = (71 / 57600, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525,
                                -1 / 40)


@njit(cache=True, inline="always")
def _rhs(t, c, t0, au0, az0, bu, bz, ts, tm):
    e = math.exp(-(t - t0) / ts)
    au = bu + (au0 - bu) * e
    az = bz + (az0 - bz) * e
    return (math.tanh(az) - c) / (tm * (1.0 + math.exp(-au)))


@njit(cache=True)
def _dp5(t, c, h, k1, t0, au0, az0, bu, bz, ts, tm):
    """One Dormand–Prince step from (t, c) of size h; returns (c_new, error estimate,
    dc/dt at the new point)."""
    k2 = _rhs(t + h / 5, c + h * (_A21 * k1), t0, au0, az0, bu, bz, ts, tm)
    k3 = _rhs(t + 3 * h / 10, c + h * (_A31 * k1 + _A32 * k2), t0, au0, az0, bu, bz, ts, tm)
    k4 = _rhs(t + 4 * h / 5, c + h * (_A41 * k1 + _A42 * k2 + _A43 * k3), t0, au0, az0, bu, bz, ts, tm)
    k5 = _rhs(t + 8 * h / 9, c + h * (_A51 * k1 + _A52 * k2 + _A53 * k3 + _A54 * k4),
              t0, au0, az0, bu, bz, ts, tm)
    k6 = _rhs(t + h, c + h * (_A61 * k1 + _A62 * k2 + _A63 * k3 + _A64 * k4 + _A65 * k5),
              t0, au0, az0, bu, bz, ts, tm)
    c5 = c + h * (_B1 * k1 + _B3 * k3 + _B4 * k4 + _B5 * k5 + _B6 * k6)
    k7 = _rhs(t + h, c5, t0, au0, az0, bu, bz, ts, tm)
    err = h * (_E1 * k1 + _E3 * k3 + _E4 * k4 + _E5 * k5 + _E6 * k6 + _E7 * k7)
    return c5, err, k7


@njit(cache=True, inline="always")
def _factor(q):
    if q == 0.0:
        return 5.0
    return min(5.0, max(0.2, 0.9 * q ** -0.2))


@njit(cache=True)
def _advance(g, t1, S, P, rtol, atol):
    """Bring unit g's state to time t1 (>= its time); returns the solver steps taken."""
    t0, c, au, ar, az, hs = S[0], S[1], S[2], S[3], S[4], S[5]
    bu, br, bz, ts, tm = P[0], P[1], P[2], P[4], P[5]
    ta = t0[g]
    if t1 <= ta:
        return 0
    t = ta
    cc = c[g]
    h = hs[g]
    k1 = _rhs(t, cc, ta, au[g], az[g], bu[g], bz[g], ts[g], tm[g])
    steps = 0
    while t < t1:
        last = h >= t1 - t
        hh = t1 - t if last else h
        c5, err, k7 = _dp5(t, cc, hh, k1, ta, au[g], az[g], bu[g], bz[g], ts[g], tm[g])
        steps += 1
        q = abs(err) / (atol + rtol * max(abs(cc), abs(c5)))
        fac = _factor(q)
        if q <= 1.0:
            t = t1 if last else t + hh
            cc = c5
            k1 = k7
            if not (last and fac >= 1.0):
                h = hh * fac
        else:
            h = hh * fac
    e = math.exp(-(t1 - ta) / ts[g])
    au[g] = bu[g] + (au[g] - bu[g]) * e
    ar[g] = br[g] + (ar[g] - br[g]) * e
    az[g] = bz[g] + (az[g] - bz[g]) * e
    c[g] = cc
    t0[g] = t1
    hs[g] = h
    return steps


@njit(cache=True)
def _bound(g, S, P, t_end):
    """(t_lb, t_lim): no crossing of unit g before t_lb, none after t_lim (inf: none at all
    up to t_end), without further input. With z_max = max(tanh(a_z), tanh(b_z)) and
    u_max = σ(max(a_u, b_u)) (a_x relaxes monotonically to b_x), dc/dt <= u_max·(z_max − c)/τ_mem,
    so c stays below z_max − (z_max − c0)·exp(−u_max·(t − t0)/τ_mem); and once tanh(a_z) <= ϑ
    and tanh(b_z) <= ϑ, dc/dt <= 0 at c = ϑ."""
    t0, c, au, az = S[0][g], S[1][g], S[2][g], S[4][g]
    bu, bz, th, ts, tm = P[0][g], P[2][g], P[3][g], P[4][g], P[5][g]
    if th >= 1.0:
        return np.inf, np.inf
    zmax = max(math.tanh(az), math.tanh(bz))
    if zmax <= th:
        return np.inf, np.inf
    athr = math.atanh(th)
    if bz >= athr:
        t_lim = t_end
    else:
        t_lim = min(t_end, t0 + ts * math.log((az - bz) / (athr - bz)))
    umax = 1.0 / (1.0 + math.exp(-max(au, bu)))
    t_lb = t0 + tm / umax * math.log((zmax - c) / (zmax - th))
    if t_lb >= t_lim:
        return np.inf, np.inf
    return t_lb, t_lim


@njit(cache=True)
def _speculate(g, t_lim, kmax, S, P, rtol, atol, root_tol, out):
    """Integrate unit g from its state, without input, for at most ``kmax`` accepted steps
    and not past ``t_lim``. out = (status, time, c, step size): status 1 a crossing at that
    time (c there), 2 the step limit reached at that time, 0 t_lim reached (no crossing).
    Returns the solver steps taken."""
    t0, c, au, az, hs = S[0], S[1], S[2], S[4], S[5]
    bu, bz, thr, ts, tm = P[0], P[2], P[3], P[4], P[5]
    ta = t0[g]
    th = thr[g]
    cc = c[g]
    au0, az0, b_u, b_z, tsg, tmg = au[g], az[g], bu[g], bz[g], ts[g], tm[g]
    t = ta
    h = hs[g]
    k1 = _rhs(t, cc, ta, au0, az0, b_u, b_z, tsg, tmg)
    steps = 0
    accepted = 0
    out[0] = 0.0
    while t < t_lim:
        if accepted == kmax:
            out[0], out[1], out[2], out[3] = 2.0, t, cc, h
            return steps
        last = h >= t_lim - t
        hh = t_lim - t if last else h
        c5, err, k7 = _dp5(t, cc, hh, k1, ta, au0, az0, b_u, b_z, tsg, tmg)
        steps += 1
        q = abs(err) / (atol + rtol * max(abs(cc), abs(c5)))
        fac = _factor(q)
        if q > 1.0:
            h = hh * fac
            continue
        accepted += 1
        if c5 > th:  # crossing inside [t, t + hh]: bracketed Newton on the step length
            lo, hi = 0.0, hh
            s = hh * (th - cc) / (c5 - cc)
            cs = c5
            for _ in range(60):
                cs, err2, ks = _dp5(t, cc, s, k1, ta, au0, az0, b_u, b_z, tsg, tmg)
                steps += 1
                gs = cs - th
                if gs > 0:
                    hi = s
                else:
                    lo = s
                if gs == 0.0:
                    break
                s_new = s - gs / ks if ks > 0 else 0.5 * (lo + hi)
                if not (lo < s_new < hi):
                    s_new = 0.5 * (lo + hi)
                if abs(s_new - s) <= root_tol:
                    s = s_new
                    cs, err2, ks = _dp5(t, cc, s, k1, ta, au0, az0, b_u, b_z, tsg, tmg)
                    steps += 1
                    break
                s = s_new
            out[0], out[1], out[2], out[3] = 1.0, t + s, cs, hh * fac
            return steps
        t = t_lim if last else t + hh
        cc = c5
        k1 = k7
        h = hh * fac
    return steps


@njit(cache=True)
def _reschedule(g, t_end, S, P, U, q, slot, rtol, atol, root_tol, raw, tmp):
    """Queue unit g's next entry after a change of its state: FIRE (payload g) at its
    crossing, or CHECK (payload −1−g) at a time before which it cannot cross (a lower bound,
    or the end of a short speculative integration whose state is kept in S[6..8]), or
    nothing when it cannot cross before t_end."""
    when = np.inf
    payload = g
    S[8][g] = 0.0
    if S[1][g] >= P[3][g]:
        when = S[0][g]
        S[6][g] = S[1][g]
    else:
        t_lb, t_lim = _bound(g, S, P, t_end)
        if t_lb <= t_end:
            if t_lb - S[0][g] > 4.0 * S[5][g]:
                when = t_lb
                payload = -1 - g
            else:
                raw[U[0][g], 4] += _speculate(g, t_lim, 8, S, P, rtol, atol, root_tol, tmp)
                if tmp[0] == 1.0 and tmp[1] <= t_end:
                    when = tmp[1]
                    S[6][g] = tmp[2]
                elif tmp[0] == 2.0:
                    when = tmp[1]
                    payload = -1 - g
                    S[6][g], S[7][g], S[8][g] = tmp[2], tmp[3], 1.0
    if when <= t_end:
        if slot[g] >= 0:
            pq_update(q, slot[g], when, U[1][g])
            q[2][slot[g]] = payload
        else:
            slot[g] = pq_push(q, when, U[1][g], payload)
    elif slot[g] >= 0:
        pq_remove(q, slot[g])
        slot[g] = -1


@njit(cache=True)
def _set_time(g, t1, S, P):
    """Move unit g's pre-activations to t1 in closed form and its time to t1 (c is set apart)."""
    e = math.exp(-(t1 - S[0][g]) / P[4][g])
    S[2][g] = P[0][g] + (S[2][g] - P[0][g]) * e
    S[3][g] = P[1][g] + (S[3][g] - P[1][g]) * e
    S[4][g] = P[2][g] + (S[4][g] - P[2][g]) * e
    S[0][g] = t1


@njit(cache=True)
def _deliver(row, t, t_end, S, P, U, R, q, slot, rtol, atol, root_tol, raw, tmp):
    indptr, tgt, wu, wr, wz, rec = R[0], R[1], R[2], R[3], R[4], R[5]
    au, ar, az = S[2], S[3], S[4]
    col = 2 if rec[row] else 1
    for p in range(indptr[row], indptr[row + 1]):
        k = tgt[p]
        lk = U[0][k]
        raw[lk, 4] += _advance(k, t, S, P, rtol, atol)
        az[k] += wz[p] / (1.0 + math.exp(-ar[k]))  # a_r before its jump
        au[k] += wu[p]
        ar[k] += wr[p]
        raw[lk, col] += 1
        raw[lk, 3] += 1
        q = pq_reserve(q)
        _reschedule(k, t_end, S, P, U, q, slot, rtol, atol, root_tol, raw, tmp)
    return q


@njit(cache=True)
def run_sample(P, U, R, row_delay, row_key, m0, in_t, in_ch, t_end, rtol, atol, root_tol, eps,
               max_events, n_layers):
    """One sample. P: (b_u, b_r, b_z, thr, tau_syn, tau_mem) per unit; U: (layer, crossing
    key, recurrent row, feed-forward row) per unit; R: the fan-out rows (indptr, target,
    w_u, w_r, w_z, is_recurrent); input events (in_t sorted, in_ch) already delayed.
    Returns (event times, event units, raw counts (L, 5), status: 0 ok, 1 max_events hit)."""
    N = P[0].size
    # t0, c, a_u, a_r, a_z, step size, then the speculation: c there, step size there, kept?
    S = (np.zeros(N), np.zeros(N), np.zeros(N), np.zeros(N), np.zeros(N),
         np.empty(N), np.zeros(N), np.zeros(N), np.zeros(N))
    for g in range(N):
        S[5][g] = 1e-3 * min(P[4][g], P[5][g])
    slot = np.full(N, -1, np.int64)
    raw = np.zeros((n_layers, 5), np.int64)
    tmp = np.zeros(4)
    q = pq_new(N + 16)
    for g in range(N):
        _reschedule(g, t_end, S, P, U, q, slot, rtol, atol, root_tol, raw, tmp)
    cap = 1024
    ev_t = np.empty(cap)
    ev_g = np.empty(cap, np.int64)
    n_ev = 0
    status = 0
    i = 0
    n_in = in_t.size
    thr = P[3]
    while True:
        s = pq_top(q)
        th = np.inf if s < 0 else q[0][s]
        ti = np.inf if i >= n_in else in_t[i]
        if ti <= th and ti < np.inf:  # inputs carry the smallest keys: first on ties
            if ti > t_end:
                break
            q = _deliver(in_ch[i], ti, t_end, S, P, U, R, q, slot, rtol, atol, root_tol, raw, tmp)
            i += 1
            continue
        if s < 0 or th > t_end:
            break
        pq_pop(q)
        key = q[1][s]
        g = q[2][s]
        if (key & 3) != 0:  # a delayed delivery; payload is the row
            q = _deliver(g, th, t_end, S, P, U, R, q, slot, rtol, atol, root_tol, raw, tmp)
            continue
        if g < 0:  # CHECK: unit -1-g cannot have crossed before th; bring it there, look again
            g = -1 - g
            slot[g] = -1
            lg = U[0][g]
            if S[8][g] == 1.0:  # the speculation that ended here holds: keep its state
                _set_time(g, th, S, P)
                S[1][g] = S[6][g]
                S[5][g] = S[7][g]
            else:
                raw[lg, 4] += _advance(g, th, S, P, rtol, atol)
            q = pq_reserve(q)
            _reschedule(g, t_end, S, P, U, q, slot, rtol, atol, root_tol, raw, tmp)
            continue
        # unit g fires at th (its c there from the prediction)
        slot[g] = -1
        l = U[0][g]
        _set_time(g, th, S, P)
        S[1][g] = min(S[6][g] - thr[g], thr[g] - eps)
        raw[l, 0] += 1
        raw[l, 3] += 1
        if n_ev == cap:
            cap *= 2
            t2 = np.empty(cap)
            g2 = np.empty(cap, np.int64)
            t2[:n_ev] = ev_t[:n_ev]
            g2[:n_ev] = ev_g[:n_ev]
            ev_t, ev_g = t2, g2
        ev_t[n_ev] = th
        ev_g[n_ev] = g
        n_ev += 1
        if n_ev >= max_events:
            status = 1
            break
        q = pq_reserve(q)
        _reschedule(g, t_end, S, P, U, q, slot, rtol, atol, root_tol, raw, tmp)
        for row in (U[2][g], U[3][g]):
            if row < 0 or R[0][row] == R[0][row + 1]:
                continue
            d = row_delay[row]
            if d == 0.0:
                q = _deliver(row, th, t_end, S, P, U, R, q, slot, rtol, atol, root_tol, raw, tmp)
            elif th + d <= t_end:
                q = pq_reserve(q)
                pq_push(q, th + d, row_key[row], row)
    return ev_t[:n_ev].copy(), ev_g[:n_ev].copy(), raw, status


class Layout:
    """The model as the kernel's flat arrays (built once per model; see :func:`run_sample`)."""

    def __init__(self, model):
        L = model.n_layers
        sizes = model.sizes
        m0 = model.n_in
        self.m0, self.n_layers = m0, L
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        N = int(self.offsets[-1])
        self.N = N
        S = max([m0] + sizes) + 1
        cat = lambda f: np.concatenate([f(l) for l in model.layers]).astype(np.float64)  # noqa: E731
        n_of = lambda l: l.n_units  # noqa: E731
        self.P = (cat(lambda l: l.bias[:n_of(l)]), cat(lambda l: l.bias[n_of(l):2 * n_of(l)]),
                  cat(lambda l: l.bias[2 * n_of(l):]), cat(lambda l: l.thr), cat(lambda l: l.tau_syn),
                  cat(lambda l: l.tau_mem))
        layer = np.concatenate([np.full(n, l) for l, n in enumerate(sizes)]).astype(np.int64)
        local = np.concatenate([np.arange(n) for n in sizes]).astype(np.int64)
        cross_key = ((layer + 1) * S + local) * 4
        rec_row = m0 + np.arange(N, dtype=np.int64)
        ff_row = m0 + N + np.arange(N, dtype=np.int64)
        self.U = (layer, cross_key.astype(np.int64), rec_row, ff_row)
        # rows: inputs (m0), recurrent rows of every unit (N), feed-forward rows (N)
        indptr, tgt, wu, wr, wz, rec, delay, key = [0], [], [], [], [], [], [], []

        def add_rows(W, target_layer, is_rec, d, src_layer, kind):
            n = sizes[target_layer]
            off = self.offsets[target_layer]
            for j in range(W.shape[0]):
                u, r, z = W[j, :n], W[j, n:2 * n], W[j, 2 * n:]
                hit = np.nonzero((u != 0) | (r != 0) | (z != 0))[0]
                tgt.append(off + hit)
                wu.append(u[hit])
                wr.append(r[hit])
                wz.append(z[hit])
                indptr.append(indptr[-1] + hit.size)
                rec.append(is_rec)
                delay.append(d)
                key.append(((src_layer + 1) * S + j) * 4 + kind)

        add_rows(model.layers[0].kernel, 0, False, model.ff_delays[0], -1, 2)
        for l in range(L):
            add_rows(model.layers[l].recurrent_kernel, l, True, model.rec_delays[l], l, 1)
        for l in range(L):
            if l + 1 < L:
                add_rows(model.layers[l + 1].kernel, l + 1, False, model.ff_delays[l + 1], l, 2)
            else:
                for j in range(sizes[l]):
                    indptr.append(indptr[-1])
                    rec.append(False)
                    delay.append(0.0)
                    key.append(((l + 1) * S + j) * 4 + 2)
        cat_i = lambda a: np.concatenate(a).astype(np.int64) if a else np.zeros(0, np.int64)  # noqa: E731
        cat_f = lambda a: np.concatenate(a).astype(np.float64) if a else np.zeros(0)  # noqa: E731
        self.R = (np.asarray(indptr, np.int64), cat_i(tgt), cat_f(wu), cat_f(wr), cat_f(wz),
                  np.asarray(rec, np.bool_))
        self.row_delay = np.asarray(delay, np.float64)
        self.row_key = np.asarray(key, np.int64)
        self.layer = layer
        self.local = local
