"""Fast forward and backward passes of the training layers (EGRU, GRU and LSTM),
bit-identical to the NumPy reference in :mod:`eventsim.train.cells`.

The reference spends most of its time in Python and in a dozen small array operations
per step, each with a temporary. Here each step's elementwise work is one or two Numba
kernels that perform exactly the reference's operations, in its order and in the
array's precision (float32 in training: constants are cast to it, as NumPy casts a
Python number; no fused multiply-add). What the kernels do not do stays NumPy: the
matrix products (the same BLAS calls on the same arrays), the transcendental functions
(NumPy's vectorised ``tanh``, about 30x faster per value than Numba's scalar call to
libm here; it gives the same bits on a whole gate block as on its parts) and the sums
over samples and steps. So every event, output and gradient equals the reference's to
the last bit (``tests/test_train_fast.py`` checks with ``array_equal``), and results
trained before this module existed reproduce exactly.

Speed: ``benchmarks/bench_train.py`` (raw results in ``benchmarks/results/train.json``);
what remains is mostly BLAS (the per-step recurrent products and the weight gradients).
Tried and dropped: products that skip zero events (at 20% activity they save a third of
a step's product and lose on the weight gradients, where BLAS stays faster), and
time-major arrays with the whole backward loop in Numba (it calls another BLAS and sums
in another order, so the bits change).
"""
from __future__ import annotations

import numba as nb
import numpy as np

NJIT = dict(cache=True, nogil=True)


def _consts(dt, *values):
    """Python numbers as an array of the layer's dtype (read inside a kernel they keep
    the arithmetic in that precision, as NumPy does with a Python scalar)."""
    return np.array(values, dt)


# ------------------------------------------------------------------------ GRU-type forward
@nb.njit(**NJIT)
def _gru_gates_pre(VX, vh, rb, t, n, k, zr):
    """vh += rb (vh = y'·R + rb); zr = 0.5·(vx + vh) over the update and reset blocks
    (σ(a) = (tanh(a/2) + 1)·0.5)."""
    half = k[1]
    B = vh.shape[0]
    for b in range(B):
        for j in range(3 * n):
            vh[b, j] = vh[b, j] + rb[j]
        for j in range(2 * n):
            zr[b, j] = half * (VX[b, t, j] + vh[b, j])


@nb.njit(**NJIT)
def _gru_gates(VX, vh, zr, t, n, k, Z, Rg, VHg, ga):
    """z, r from tanh(zr); the recurrent candidate block vhg; ga = vx_g + r·vhg."""
    one, half = k[0], k[1]
    B = vh.shape[0]
    for b in range(B):
        for i in range(n):
            zz = (zr[b, i] + one) * half
            rr = (zr[b, n + i] + one) * half
            hg = vh[b, 2 * n + i]
            Z[b, t, i] = zz
            Rg[b, t, i] = rr
            VHg[b, t, i] = hg
            ga[b, i] = VX[b, t, 2 * n + i] + rr * hg


@nb.njit(**NJIT)
def _gru_state(Z, G, t, k, egru, output_reset, thr, thr_fire, C, Y, S, O):
    """c = z·s' + (1 − z)·g; EGRU: [c −= y'], o = H(c − ϑ_fire), y = o·c, s = c − o·ϑ
    (threshold reset) or c; GRU: y = s = c."""
    one, zero = k[0], k[2]
    B, _, n = Z.shape
    for b in range(B):
        zr, gr, cr, yr, sr = Z[b, t], G[b, t], C[b, t], Y[b, t], S[b, t]
        for i in range(n):
            zz = zr[i]
            sp = S[b, t - 1, i] if t > 0 else zero
            cr[i] = zz * sp + (one - zz) * gr[i]
        if not egru:
            for i in range(n):
                yr[i] = cr[i]
            continue
        tf, orow = thr_fire[b], O[b, t]
        for i in range(n):
            c = cr[i]
            if output_reset:
                c = c - (Y[b, t - 1, i] if t > 0 else zero)
                cr[i] = c
            o = one if c > tf[i] else zero
            orow[i] = o
            yr[i] = o * c
            sr[i] = c if output_reset else c - o * thr[i]


def gru_forward(p: dict, X: np.ndarray, egru: bool, output_reset: bool, thr_fire):
    """Forward of an EGRU (``egru``) or GRU layer: ``(Y, cache)`` as
    :func:`eventsim.train.cells.gru_type_forward`. ``thr_fire``: the threshold c is
    compared with, (n,) or (B, n) (EGRU only)."""
    K, R, b, rb = p["kernel"], p["recurrent_kernel"], p["bias"], p["recurrent_bias"]
    dt = K.dtype
    B, T, m = X.shape
    n = R.shape[0]
    VX = (X.reshape(B * T, m) @ K + b).reshape(B, T, 3 * n)
    Z, Rg, G, VHg, C, Y = (np.empty((B, T, n), dt) for _ in range(6))
    S = np.empty((B, T, n), dt) if egru else Y
    O = np.empty((B, T, n), dt) if egru else Y
    thr = np.asarray(p["thr"] if egru else np.zeros(n), dt)
    thr_fire = np.ascontiguousarray(np.broadcast_to(thr_fire if egru else thr, (B, n)), dt)
    k = _consts(dt, 1.0, 0.5, 0.0)
    vh = np.zeros((B, 3 * n), dt)    # step 0: y_0 = 0, so vh = rb (the matmul overwrites it after)
    zr = np.empty((B, 2 * n), dt)
    ga = np.empty((B, n), dt)
    for t in range(T):
        if t:
            np.matmul(Y[:, t - 1], R, out=vh)
        _gru_gates_pre(VX, vh, rb, t, n, k, zr)
        np.tanh(zr, out=zr)
        _gru_gates(VX, vh, zr, t, n, k, Z, Rg, VHg, ga)
        np.tanh(ga, out=G[:, t])
        _gru_state(Z, G, t, k, egru, output_reset, thr, thr_fire, C, Y, S, O)
    cache = dict(X=X, Z=Z, R=Rg, G=G, VHg=VHg, C=C, Y=Y, S=S, O=O if egru else None)
    return Y, cache


# ------------------------------------------------------------------------ GRU-type backward
@nb.njit(**NJIT)
def _gru_backward_step(t, dY, dy_rec, ds, C, Z, Rg, G, VHg, S, thr, thr_fire, reg, k, egru, output_reset,
                       has_reg, dVX, dVH, dthr, dc, sums):
    """Step t of the reference's BPTT loop (everything but dy_rec = dVH_t·Rᵀ): dc, ds, the
    gate gradients into dVX[:, t], dVH[:, t]; dthr updated by the reference's three
    per-step sums over samples (``sums`` (3, n): Σ_b dy·c·h', Σ_b ds·(ϑ·h' − o), Σ_b h',
    each added in sample order as NumPy's sum over axis 0 does; starting from 0 instead
    of the first sample's value changes at most the sign of a zero), in its order.
    Row by row, in two passes over few arrays each, so that LLVM vectorises them."""
    one, zero, damp, sup = k[0], k[2], k[3], k[4]
    B, _, n = C.shape
    sums[:, :] = zero
    for b in range(B):
        dyr, cr, dsr, dcr = dY[b, t], C[b, t], ds[b], dc[b]
        rec = dy_rec[b]
        if egru:
            tf = thr_fire[b]
            for i in range(n):
                dy = dyr[i] + rec[i]
                c = cr[i]
                o = one if c > tf[i] else zero
                h = damp * max(zero, one - sup * abs(c - tf[i]))
                d = dy * (o + c * h)
                sums[0, i] += dy * c * h
                if output_reset:
                    d = d + dsr[i]
                else:
                    d = d + dsr[i] * (one - thr[i] * h)
                    sums[1, i] += dsr[i] * (thr[i] * h - o)
                if has_reg:
                    d = d + reg[i] * h
                    sums[2, i] += h
                dcr[i] = d
        else:
            for i in range(n):
                dcr[i] = (dyr[i] + rec[i]) + dsr[i]
        zr, rr, gr, hg = Z[b, t], Rg[b, t], G[b, t], VHg[b, t]
        vx, vh = dVX[b, t], dVH[b, t]
        for i in range(n):
            d = dcr[i]
            z = zr[i]
            g = gr[i]
            r = rr[i]
            sp = S[b, t - 1, i] if t > 0 else zero
            dsr[i] = d * z
            daz = d * (sp - g) * z * (one - z)
            dag = d * (one - z) * (one - g * g)
            dar = dag * hg[i] * r * (one - r)
            vx[i] = daz
            vx[n + i] = dar
            vx[2 * n + i] = dag
            vh[i] = daz
            vh[n + i] = dar
            vh[2 * n + i] = dag * r
    if egru:
        for i in range(n):
            dthr[i] = dthr[i] - sums[0, i]
            if not output_reset:
                dthr[i] = dthr[i] + sums[1, i]
            if has_reg:
                dthr[i] = dthr[i] - reg[i] * sums[2, i]


def gru_backward(p: dict, cache: dict, dY: np.ndarray, egru: bool, output_reset: bool, thr_fire,
                 reg, dampening: float, support: float):
    """The BPTT time loop of :func:`eventsim.train.cells.gru_type_backward` for a layer run
    by :func:`gru_forward`: ``(dVX, dVH, dthr)`` (``reg``: the regularisers' per-entry
    factor, a number or (n,)); the caller forms the parameter gradients from them."""
    R = p["recurrent_kernel"]
    dt = R.dtype
    Z, Rg, G, VHg, C, S = (cache[key] for key in ("Z", "R", "G", "VHg", "C", "S"))
    B, T, n = C.shape
    has_reg = bool(egru and np.any(reg))
    thr = np.asarray(p["thr"] if egru else np.zeros(n), dt)
    thr_fire = np.ascontiguousarray(np.broadcast_to(thr_fire if egru else thr, (B, n)), dt)
    reg = np.ascontiguousarray(np.broadcast_to(np.asarray(reg, dt), (n,))) if has_reg else np.zeros(n, dt)
    k = _consts(dt, 1.0, 0.5, 0.0, dampening, support)
    dVX = np.empty((B, T, 3 * n), dt)
    dVH = np.empty((B, T, 3 * n), dt)
    dthr = np.zeros(n, dt)
    dy_rec = np.zeros((B, n), dt)
    ds = np.zeros((B, n), dt)
    dc = np.empty((B, n), dt)
    sums = np.zeros((3, n), dt)
    RT = R.T
    dY = np.asarray(dY, dt)
    for t in range(T - 1, -1, -1):
        _gru_backward_step(t, dY, dy_rec, ds, C, Z, Rg, G, VHg, S, thr, thr_fire, reg, k, egru, output_reset,
                           has_reg, dVX, dVH, dthr, dc, sums)
        np.matmul(dVH[:, t], RT, out=dy_rec)
        if egru and output_reset:
            dy_rec -= dc
    return dVX, dVH, dthr if egru else None


# ------------------------------------------------------------------------------------ LSTM
@nb.njit(**NJIT)
def _lstm_pre(VX, hr, t, n, k, P):
    """a = vx + h'·R; P = [a_i/2 | a_f/2 | a_g | a_o/2], so that one tanh gives every gate."""
    half = k[1]
    B = hr.shape[0]
    for b in range(B):
        for j in range(4 * n):
            a = VX[b, t, j] + hr[b, j]
            P[b, j] = a if 2 * n <= j < 3 * n else half * a


@nb.njit(**NJIT)
def _lstm_cell(P, t, n, k, A, C):
    """The gates from tanh(P) into A[:, t] = [i | f | g | o]; c = f·c' + i·g."""
    one, half, zero = k[0], k[1], k[2]
    B = P.shape[0]
    for b in range(B):
        for q in range(n):
            gi = (P[b, q] + one) * half
            gf = (P[b, n + q] + one) * half
            gg = P[b, 2 * n + q]
            go = (P[b, 3 * n + q] + one) * half
            A[b, t, q] = gi
            A[b, t, n + q] = gf
            A[b, t, 2 * n + q] = gg
            A[b, t, 3 * n + q] = go
            cp = C[b, t - 1, q] if t > 0 else zero
            C[b, t, q] = gf * cp + gi * gg


@nb.njit(**NJIT)
def _lstm_out(A, TC, t, n, H):
    """h = o·tanh(c)."""
    B = H.shape[0]
    for b in range(B):
        for q in range(n):
            H[b, t, q] = A[b, t, 3 * n + q] * TC[b, t, q]


def lstm_forward(p: dict, X: np.ndarray):
    """Forward of an LSTM layer: ``(H, cache)`` as :func:`eventsim.train.cells.lstm_forward`."""
    K, R, b, rb = p["kernel"], p["recurrent_kernel"], p["bias"], p["recurrent_bias"]
    dt = K.dtype
    B, T, m = X.shape
    n = R.shape[0]
    VX = (X.reshape(B * T, m) @ K + b + rb).reshape(B, T, 4 * n)
    A = np.empty((B, T, 4 * n), dt)
    C, TC, H = (np.empty((B, T, n), dt) for _ in range(3))
    k = _consts(dt, 1.0, 0.5, 0.0)
    hr = np.zeros((B, 4 * n), dt)
    P = np.empty((B, 4 * n), dt)
    for t in range(T):
        if t:
            np.matmul(H[:, t - 1], R, out=hr)
        _lstm_pre(VX, hr, t, n, k, P)
        np.tanh(P, out=P)
        _lstm_cell(P, t, n, k, A, C)
        np.tanh(C[:, t], out=TC[:, t])
        _lstm_out(A, TC, t, n, H)
    return H, dict(X=X, A=A, C=C, TC=TC, Y=H)


@nb.njit(**NJIT)
def _lstm_backward_step(t, dH, dh_rec, dc_next, A, C, TC, k, dVA):
    """Step t of the reference's LSTM BPTT loop (everything but dh_rec = dVA_t·Rᵀ)."""
    one, zero = k[0], k[2]
    B, _, n = C.shape
    for b in range(B):
        for q in range(n):
            dh = dH[b, t, q] + dh_rec[b, q]
            gi = A[b, t, q]
            gf = A[b, t, n + q]
            gg = A[b, t, 2 * n + q]
            go = A[b, t, 3 * n + q]
            tc = TC[b, t, q]
            cp = C[b, t - 1, q] if t > 0 else zero
            dc = dh * go * (one - tc * tc) + dc_next[b, q]
            dVA[b, t, q] = dc * gg * gi * (one - gi)
            dVA[b, t, n + q] = dc * cp * gf * (one - gf)
            dVA[b, t, 2 * n + q] = dc * gi * (one - gg * gg)
            dVA[b, t, 3 * n + q] = dh * tc * go * (one - go)
            dc_next[b, q] = dc * gf


def lstm_backward(p: dict, cache: dict, dH: np.ndarray):
    """The BPTT time loop of :func:`eventsim.train.cells.lstm_backward` for a layer run by
    :func:`lstm_forward`: the gate gradients dVA (B, T, 4n)."""
    R = p["recurrent_kernel"]
    dt = R.dtype
    A, C, TC = (cache[key] for key in ("A", "C", "TC"))
    B, T, n = C.shape
    k = _consts(dt, 1.0, 0.5, 0.0)
    dVA = np.empty((B, T, 4 * n), dt)
    dh_rec = np.zeros((B, n), dt)
    dc_next = np.zeros((B, n), dt)
    RT = R.T
    dH = np.asarray(dH, dt)
    for t in range(T - 1, -1, -1):
        _lstm_backward_step(t, dH, dh_rec, dc_next, A, C, TC, k, dVA)
        np.matmul(dVA[:, t], RT, out=dh_rec)
    return dVA
