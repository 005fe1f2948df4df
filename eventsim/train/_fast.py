"""Fast forward and backward passes of the training layers (EGRU, GRU and LSTM).

The same computation as the NumPy reference in :mod:`eventsim.train.cells` (which
stays the definition, and which the tests compare this module with), arranged so that
Python is out of the inner work:

- arrays are time-major, ``(T, B, ·)``, so that one step's block is contiguous;
- the backward pass has no transcendental function: its whole time loop, the
  recurrent product of each step included (``np.dot`` on BLAS), is one Numba kernel;
- the forward pass keeps its loop over steps in Python because NumPy's float32
  ``tanh`` is vectorised (about 0.5 ns per value here) and Numba's call to libm is
  not (about 15 ns): per step it makes one BLAS call, two ``np.tanh`` calls on whole
  gate blocks and fused Numba kernels for everything else.

Per forward+backward batch of 32 × 64 steps, 128 units, float32, one thread: EGRU
33 → 20 ms (first layer) and 41 → 28 ms (second), GRU 32 → 25 ms, LSTM 39 → 34 ms.
What is left is mostly BLAS (the per-step recurrent products and the weight-gradient
products). Tried and dropped: products that skip the zero events (at 20% activity
they save a third of a step's product and nothing on the weight gradients, where
BLAS stays faster). Intermediate values are computed in float64 inside the kernels,
so float32 results differ from the reference in the last bits; float64 results agree
to about 1e-15 (tests/test_train_fast.py).

The caches this module leaves hold the reference's ``(B, T, ·)`` arrays as views of
time-major storage, so that every other consumer (regularisers, statistics,
rasters) reads them unchanged.
"""
from __future__ import annotations

import numba as nb
import numpy as np

NJIT = dict(cache=True, nogil=True)


def time_major(A: np.ndarray) -> np.ndarray:
    """A (B, T, ·) array as a C-contiguous (T, B, ·) array (no copy when A is a view made
    by :func:`batch_major` of such an array)."""
    return np.ascontiguousarray(A.swapaxes(0, 1))


def batch_major(A: np.ndarray) -> np.ndarray:
    """The (B, T, ·) view of a time-major array."""
    return A.swapaxes(0, 1)


def _input_projection(X, K, b):
    """VX (T, B, G) = x_t·K + b for all steps in one BLAS call."""
    Xt = time_major(X)
    T, B, m = Xt.shape
    return (Xt.reshape(T * B, m) @ K + b).reshape(T, B, -1)


# ------------------------------------------------------------------------ GRU-type forward
@nb.njit(**NJIT)
def _gru_pre_zr(vx, vh, rb, n, zr):
    """zr = (vx + (vh + rb))/2 for the update and reset blocks (σ(a) = (1 + tanh(a/2))/2);
    vh's candidate block gets its bias: vh[:, 2n:] += rb[2n:]."""
    B = vx.shape[0]
    for b in range(B):
        for j in range(2 * n):
            zr[b, j] = 0.5 * (vx[b, j] + (vh[b, j] + rb[j]))
        for i in range(n):
            vh[b, 2 * n + i] += rb[2 * n + i]


@nb.njit(**NJIT)
def _gru_pre_g(vx, vh, zr, n, z, r, vhg, ga):
    """The gates z, r from tanh(zr); vhg (the recurrent candidate block) and the
    candidate's pre-activation ga = vx_g + r·vhg."""
    B = vx.shape[0]
    for b in range(B):
        for i in range(n):
            zz = (1.0 + zr[b, i]) * 0.5
            rr = (1.0 + zr[b, n + i]) * 0.5
            hg = vh[b, 2 * n + i]
            z[b, i] = zz
            r[b, i] = rr
            vhg[b, i] = hg
            ga[b, i] = vx[b, 2 * n + i] + rr * hg


@nb.njit(**NJIT)
def _gru_post(z, g, s_prev, y_prev, c_out, y_out):
    """GRU: c = z·s' + (1 − z)·g, y = s = c."""
    B, n = z.shape
    for b in range(B):
        for i in range(n):
            zz = z[b, i]
            c = zz * s_prev[b, i] + (1.0 - zz) * g[b, i]
            c_out[b, i] = c
            y_out[b, i] = c


@nb.njit(**NJIT)
def _egru_post(z, g, s_prev, y_prev, thr, thr_fire, output_reset, c_out, y_out, s_out, o_out):
    """EGRU: c = z·s' + (1 − z)·g [− y'], o = H(c − ϑ_fire), y = o·c, s = c − o·ϑ
    (threshold reset) or c (output reset)."""
    B, n = z.shape
    for b in range(B):
        for i in range(n):
            zz = z[b, i]
            c = zz * s_prev[b, i] + (1.0 - zz) * g[b, i]
            if output_reset:
                c = c - y_prev[b, i]
            c_out[b, i] = c
            c = c_out[b, i]          # as stored: what the backward pass compares again
            o = 1.0 if c > thr_fire[b, i] else 0.0
            o_out[b, i] = o
            y_out[b, i] = o * c
            s_out[b, i] = c if output_reset else c - o * thr[i]


def gru_forward(p: dict, X: np.ndarray, egru: bool, output_reset: bool, thr_fire):
    """Forward of an EGRU (``egru``) or GRU layer; returns ``(Y, cache)`` as
    :func:`eventsim.train.cells.gru_type_forward`. ``thr_fire`` (B, n): the threshold
    each (sample, unit) compares with (EGRU only)."""
    K, R, b, rb = p["kernel"], p["recurrent_kernel"], p["bias"], p["recurrent_bias"]
    dt = K.dtype
    B, T = X.shape[0], X.shape[1]
    n = R.shape[0]
    VX = _input_projection(X, K, b)
    Z, Rg, G, VHg, C, Y = (np.empty((T, B, n), dt) for _ in range(6))
    S = np.empty((T, B, n), dt) if egru else Y
    O = np.empty((T, B, n), dt) if egru else None
    if egru:
        thr = np.ascontiguousarray(p["thr"], dt)
        thr_fire = np.ascontiguousarray(np.broadcast_to(thr_fire, (B, n)), dt)
    vh = np.empty((B, 3 * n), dt)
    zr = np.empty((B, 2 * n), dt)
    ga = np.empty((B, n), dt)
    zeros = np.zeros((B, n), dt)
    for t in range(T):
        if t:
            np.matmul(Y[t - 1], R, out=vh)
        else:
            vh[:] = 0.0
        _gru_pre_zr(VX[t], vh, rb, n, zr)
        np.tanh(zr, out=zr)
        _gru_pre_g(VX[t], vh, zr, n, Z[t], Rg[t], VHg[t], ga)
        np.tanh(ga, out=G[t])
        s_prev = S[t - 1] if t else zeros
        y_prev = Y[t - 1] if t else zeros
        if egru:
            _egru_post(Z[t], G[t], s_prev, y_prev, thr, thr_fire, output_reset, C[t], Y[t], S[t], O[t])
        else:
            _gru_post(Z[t], G[t], s_prev, y_prev, C[t], Y[t])
    bm = batch_major
    cache = dict(X=X, Z=bm(Z), R=bm(Rg), G=bm(G), VHg=bm(VHg), C=bm(C), Y=bm(Y), S=bm(S),
                 O=bm(O) if egru else None)
    return bm(Y), cache


# ------------------------------------------------------------------------ GRU-type backward
@nb.njit(**NJIT)
def _gru_backward_loop(dY, Z, Rg, G, VHg, C, S, O, RT, thr, thr_fire, reg, egru, output_reset,
                       dampening, support, dVX, dVH, dthr):
    """The whole BPTT time loop of :func:`eventsim.train.cells.gru_type_backward` (all
    arrays time-major); fills dVX, dVH (T, B, 3n) and dthr (n,)."""
    T, B, n = C.shape
    dy_rec = np.zeros((B, n), dVX.dtype)
    ds = np.zeros((B, n), np.float64)
    dcs = np.zeros((B, n), np.float64)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for i in range(n):
                dy = dY[t, b, i] + dy_rec[b, i]
                c = C[t, b, i]
                if egru:
                    th = thr[i]
                    o = 1.0 if c > thr_fire[b, i] else 0.0
                    h = dampening * max(0.0, 1.0 - support * abs(c - thr_fire[b, i]))
                    dc = dy * (o + c * h)
                    dthr[i] -= dy * c * h
                    if output_reset:
                        dc += ds[b, i]
                    else:
                        dc += ds[b, i] * (1.0 - th * h)
                        dthr[i] += ds[b, i] * (th * h - o)
                    dc += reg[i] * h
                    dthr[i] -= reg[i] * h
                else:
                    dc = dy + ds[b, i]
                s_prev = S[t - 1, b, i] if t > 0 else 0.0
                z = Z[t, b, i]
                r = Rg[t, b, i]
                g = G[t, b, i]
                ds[b, i] = dc * z
                dcs[b, i] = dc
                daz = dc * (s_prev - g) * z * (1.0 - z)
                dag = dc * (1.0 - z) * (1.0 - g * g)
                dar = dag * VHg[t, b, i] * r * (1.0 - r)
                dVX[t, b, i] = daz
                dVX[t, b, n + i] = dar
                dVX[t, b, 2 * n + i] = dag
                dVH[t, b, i] = daz
                dVH[t, b, n + i] = dar
                dVH[t, b, 2 * n + i] = dag * r
        np.dot(dVH[t], RT, dy_rec)
        if egru and output_reset:
            for b in range(B):
                for i in range(n):
                    dy_rec[b, i] -= dcs[b, i]


def gru_backward(p: dict, cache: dict, dY: np.ndarray, egru: bool, output_reset: bool, thr_fire,
                 reg, dampening: float, support: float, need_dx: bool = True):
    """BPTT of :func:`gru_forward`; returns ``(grads, dX)`` as
    :func:`eventsim.train.cells.gru_type_backward`."""
    K, R = p["kernel"], p["recurrent_kernel"]
    dt = K.dtype
    tm = time_major
    Z, Rg, G, VHg, C, S = (tm(cache[k]) for k in ("Z", "R", "G", "VHg", "C", "S"))
    T, B, n = C.shape
    if egru:
        thr = np.ascontiguousarray(p["thr"], np.float64)
        thr_fire = np.ascontiguousarray(np.broadcast_to(thr_fire, (B, n)), np.float64)
        O = tm(cache["O"])
        reg = np.ascontiguousarray(np.broadcast_to(np.asarray(reg, np.float64), (n,)))
    else:
        thr = reg = np.zeros(n, np.float64)
        thr_fire = np.zeros((B, n), np.float64)
        O = C
    dVX = np.empty((T, B, 3 * n), dt)
    dVH = np.empty((T, B, 3 * n), dt)
    dthr = np.zeros(n, np.float64)
    _gru_backward_loop(tm(dY), Z, Rg, G, VHg, C, S, O, np.ascontiguousarray(R.T), thr, thr_fire,
                       reg, egru, output_reset, float(dampening), float(support), dVX, dVH, dthr)
    X = tm(cache["X"])
    m = X.shape[2]
    Y = tm(cache["Y"])
    Yprev = np.concatenate([np.zeros((1, B, n), dt), Y[:-1]]).reshape(T * B, n)
    dVX2 = dVX.reshape(T * B, 3 * n)
    dVH2 = dVH.reshape(T * B, 3 * n)
    grads = {"kernel": X.reshape(T * B, m).T @ dVX2, "recurrent_kernel": Yprev.T @ dVH2,
             "bias": dVX2.sum(0), "recurrent_bias": dVH2.sum(0)}
    if egru:
        grads["thr"] = dthr.astype(dt)
    dX = batch_major((dVX2 @ K.T).reshape(T, B, m)) if need_dx else None
    return grads, dX


# ------------------------------------------------------------------------------------ LSTM
@nb.njit(**NJIT)
def _lstm_pre(vx, hr, n, P):
    """P = [a_i/2 | a_f/2 | a_g | a_o/2] with a = vx + h'·R (one tanh call then gives
    every gate)."""
    B = vx.shape[0]
    for b in range(B):
        for j in range(4 * n):
            a = vx[b, j] + hr[b, j]
            P[b, j] = a if 2 * n <= j < 3 * n else 0.5 * a


@nb.njit(**NJIT)
def _lstm_cell(P, c_prev, n, A, C):
    """Gates from tanh(P) into A = [i | f | g | o]; c = f·c' + i·g."""
    B = P.shape[0]
    for b in range(B):
        for i in range(n):
            gi = (1.0 + P[b, i]) * 0.5
            gf = (1.0 + P[b, n + i]) * 0.5
            gg = P[b, 2 * n + i]
            go = (1.0 + P[b, 3 * n + i]) * 0.5
            A[b, i] = gi
            A[b, n + i] = gf
            A[b, 2 * n + i] = gg
            A[b, 3 * n + i] = go
            C[b, i] = gf * c_prev[b, i] + gi * gg


@nb.njit(**NJIT)
def _lstm_out(A, TC, n, H):
    """h = o·tanh(c)."""
    B = TC.shape[0]
    for b in range(B):
        for i in range(n):
            H[b, i] = A[b, 3 * n + i] * TC[b, i]


def lstm_forward(p: dict, X: np.ndarray):
    """Forward of an LSTM layer; returns ``(H, cache)`` as :func:`eventsim.train.cells.lstm_forward`."""
    K, R, b, rb = p["kernel"], p["recurrent_kernel"], p["bias"], p["recurrent_bias"]
    dt = K.dtype
    B, T = X.shape[0], X.shape[1]
    n = R.shape[0]
    VX = _input_projection(X, K, b + rb)
    A = np.empty((T, B, 4 * n), dt)
    C, TC, H = (np.empty((T, B, n), dt) for _ in range(3))
    hr = np.empty((B, 4 * n), dt)
    P = np.empty((B, 4 * n), dt)
    zeros = np.zeros((B, n), dt)
    for t in range(T):
        if t:
            np.matmul(H[t - 1], R, out=hr)
        else:
            hr[:] = 0.0
        _lstm_pre(VX[t], hr, n, P)
        np.tanh(P, out=P)
        _lstm_cell(P, C[t - 1] if t else zeros, n, A[t], C[t])
        np.tanh(C[t], out=TC[t])
        _lstm_out(A[t], TC[t], n, H[t])
    bm = batch_major
    return bm(H), dict(X=X, A=bm(A), C=bm(C), TC=bm(TC), Y=bm(H))


@nb.njit(**NJIT)
def _lstm_backward_loop(dH, A, C, TC, RT, dVA):
    T, B, n = C.shape
    dh_rec = np.zeros((B, n), dVA.dtype)
    dc_next = np.zeros((B, n), np.float64)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for k in range(n):
                dh = dH[t, b, k] + dh_rec[b, k]
                gi = A[t, b, k]
                gf = A[t, b, n + k]
                gg = A[t, b, 2 * n + k]
                go = A[t, b, 3 * n + k]
                tc = TC[t, b, k]
                c_prev = C[t - 1, b, k] if t > 0 else 0.0
                dc = dh * go * (1.0 - tc * tc) + dc_next[b, k]
                dVA[t, b, k] = dc * gg * gi * (1.0 - gi)
                dVA[t, b, n + k] = dc * c_prev * gf * (1.0 - gf)
                dVA[t, b, 2 * n + k] = dc * gi * (1.0 - gg * gg)
                dVA[t, b, 3 * n + k] = dh * tc * go * (1.0 - go)
                dc_next[b, k] = dc * gf
        np.dot(dVA[t], RT, dh_rec)


def lstm_backward(p: dict, cache: dict, dH: np.ndarray, need_dx: bool = True):
    """BPTT of :func:`lstm_forward`, as :func:`eventsim.train.cells.lstm_backward`."""
    K, R = p["kernel"], p["recurrent_kernel"]
    dt = K.dtype
    tm = time_major
    A, C, TC, H = (tm(cache[k]) for k in ("A", "C", "TC", "Y"))
    T, B, n = C.shape
    dVA = np.empty((T, B, 4 * n), dt)
    _lstm_backward_loop(tm(dH), A, C, TC, np.ascontiguousarray(R.T), dVA)
    X = tm(cache["X"])
    m = X.shape[2]
    Hprev = np.concatenate([np.zeros((1, B, n), dt), H[:-1]]).reshape(T * B, n)
    dVA2 = dVA.reshape(T * B, 4 * n)
    db = dVA2.sum(0)
    grads = {"kernel": X.reshape(T * B, m).T @ dVA2, "recurrent_kernel": Hprev.T @ dVA2,
             "bias": db, "recurrent_bias": db.copy()}
    dX = batch_major((dVA2 @ K.T).reshape(T, B, m)) if need_dx else None
    return grads, dX
