"""Shared machinery of the event engine: projections (fan-out rows) and row walks.

A *projection* is a weight matrix read by rows: row ``i`` is the fan-out of
source ``i`` (a row of ``kernel``, of ``recurrent_kernel`` or a column of the
readout weight). It is stored CSR-style, each source's nonzero weights
contiguous, so that an absent synapse (a zero weight) is never walked and never
counted. A projection whose weights are all nonzero is flagged ``dense``: its
rows are walked as contiguous vectors without column indices (the same MACs,
vectorisable).

For counting event-driven unit updates each row also lists the distinct
*units* it reaches (a target column ``k`` belongs to unit ``k mod n``); a row
that reaches every unit is flagged ``full`` so that marking costs O(1).

A run's projections are packed into one :class:`Projections` (flat arrays and a
metadata table); the row walks take it with a projection index ``p``. The event
queue that holds events until they are due is :mod:`eventsim.engine.queue`.
Kernels that use these helpers take only (named) tuples of arrays and scalars
(``cache=True`` works).
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import numpy as np
from numba import njit

# columns of the projection metadata table (one row per projection)
PM_INDPTR, PM_COLS, PM_UINDPTR, PM_UIDX, PM_FULL, PM_DENSE, PM_WIDTH, PM_ROWS, PM_VALS = range(9)

Projections = namedtuple("Projections", "meta indptr cols vals uindptr uidx full")
Projections.__doc__ = """Projections packed into flat arrays (:func:`pack_projections`).

meta (P, 9) int64: per projection the offsets of its parts of ``indptr``, ``cols``,
``uindptr``, ``uidx``, ``full``, then its ``dense`` flag, width and rows, and the offset of its
part of ``vals`` (columns ``PM_*``); the other fields concatenate the :class:`Projection`
fields. A dense projection laid out by :func:`pack_matrices` has no ``cols`` and no ``uidx``
(its rows are contiguous, of ``width`` weights, and reach every unit)."""


@dataclass
class Projection:
    """Fan-out rows of one weight matrix (rows = sources, columns = targets)."""

    indptr: np.ndarray   # (rows + 1,) int64
    cols: np.ndarray     # (nnz,) int32 target column of each weight
    vals: np.ndarray     # (nnz,) weights, row-major
    uindptr: np.ndarray  # (rows + 1,) int64 into uidx
    uidx: np.ndarray     # distinct target units of each row, int32
    full: np.ndarray     # (rows,) uint8: the row reaches every unit
    dense: bool          # every weight is nonzero
    width: int           # number of target columns
    rows: int

    @property
    def nnz(self) -> int:
        return int(self.vals.size)


def build_projection(W: np.ndarray, n_units: int) -> Projection:
    """Fan-out rows of ``W`` (sources x targets); target column k is unit k mod n_units."""
    W = np.asarray(W)
    rows, width = W.shape
    nz = W != 0
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(nz.sum(axis=1), out=indptr[1:])
    r, c = np.nonzero(nz)
    reach = nz.reshape(rows, width // n_units, n_units).any(axis=1)  # (rows, n_units)
    uindptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(reach.sum(axis=1), out=uindptr[1:])
    ur, uc = np.nonzero(reach)
    return Projection(indptr=indptr, cols=c.astype(np.int32), vals=np.ascontiguousarray(W[r, c]),
                      uindptr=uindptr, uidx=uc.astype(np.int32),
                      full=reach.all(axis=1).astype(np.uint8), dense=bool(nz.all()),
                      width=int(width), rows=int(rows))


def pack_projections(projs, dtype) -> "Projections":
    """Concatenate projections into flat arrays plus a metadata table (:class:`Projections`);
    the offsets in ``meta`` locate each projection's part of the flat arrays."""
    meta = np.zeros((len(projs), 9), dtype=np.int64)
    offs = [0, 0, 0, 0, 0]
    for p, pr in enumerate(projs):
        meta[p, :5] = offs
        meta[p, PM_VALS] = offs[1]
        meta[p, PM_DENSE] = int(pr.dense)
        meta[p, PM_WIDTH] = pr.width
        meta[p, PM_ROWS] = pr.rows
        offs = [offs[0] + pr.rows + 1, offs[1] + pr.nnz, offs[2] + pr.rows + 1,
                offs[3] + pr.uidx.size, offs[4] + pr.rows]

    def cat(name, dt):
        parts = [getattr(pr, name) for pr in projs]
        return np.ascontiguousarray(np.concatenate(parts).astype(dt)) if parts else np.zeros(0, dt)

    return Projections(meta, cat("indptr", np.int64), cat("cols", np.int32), cat("vals", dtype),
                       cat("uindptr", np.int64), cat("uidx", np.int32), cat("full", np.uint8))


@njit(cache=True)
def walk_row(pr, p, i, v, acc):
    """Accumulate ``v * w`` over the nonzero weights of row ``i`` of projection ``p``
    into ``acc`` (indexed by target column); return the MACs performed."""
    base = pr.meta[p, PM_INDPTR]
    voff = pr.meta[p, PM_VALS]
    a = pr.indptr[base + i]
    b = pr.indptr[base + i + 1]
    # the loops index array views from 0: Numba then knows the indices are non-negative, and
    # the contiguous loop vectorises (1.3 -> 1.8 GMAC/s single-threaded at n = 1024)
    row = pr.vals[voff + a:voff + b]
    if pr.meta[p, PM_DENSE] == 1:
        for k in range(b - a):
            acc[k] += v * row[k]
    else:
        coff = pr.meta[p, PM_COLS]
        tgt = pr.cols[coff + a:coff + b]
        for k in range(b - a):
            acc[tgt[k]] += v * row[k]
    return b - a


@njit(cache=True)
def walk_list(pr, p, idx, val, a, b, acc):
    """Walk the rows of events ``idx[a:b]`` (values ``val[a:b]``) of projection ``p`` into
    ``acc``; return the MACs performed. Rows of a dense projection are walked eight at a
    time, then four, then one (one pass over ``acc`` per block of rows instead of one per
    row: the same MACs; a block's eight products are summed as a balanced tree, then added
    to ``acc``). Eight rows measured 1.1-1.2x faster than four on this machine's AVX2 core
    (fewer loads and stores of ``acc``); sixteen no faster."""
    if pr.meta[p, PM_DENSE] == 0:
        done = 0
        for q in range(a, b):
            done += walk_row(pr, p, idx[q], val[q], acc)
        return done
    indptr, vals = pr.indptr, pr.vals
    base = pr.meta[p, PM_INDPTR]
    voff = pr.meta[p, PM_VALS]
    w = pr.meta[p, PM_WIDTH]
    q = a
    while q + 8 <= b:
        s0 = voff + indptr[base + idx[q]]
        s1 = voff + indptr[base + idx[q + 1]]
        s2 = voff + indptr[base + idx[q + 2]]
        s3 = voff + indptr[base + idx[q + 3]]
        s4 = voff + indptr[base + idx[q + 4]]
        s5 = voff + indptr[base + idx[q + 5]]
        s6 = voff + indptr[base + idx[q + 6]]
        s7 = voff + indptr[base + idx[q + 7]]
        r0, r1, r2, r3 = vals[s0:s0 + w], vals[s1:s1 + w], vals[s2:s2 + w], vals[s3:s3 + w]
        r4, r5, r6, r7 = vals[s4:s4 + w], vals[s5:s5 + w], vals[s6:s6 + w], vals[s7:s7 + w]
        v0, v1, v2, v3 = val[q], val[q + 1], val[q + 2], val[q + 3]
        v4, v5, v6, v7 = val[q + 4], val[q + 5], val[q + 6], val[q + 7]
        for k in range(w):
            acc[k] += (((v0 * r0[k] + v1 * r1[k]) + (v2 * r2[k] + v3 * r3[k]))
                       + ((v4 * r4[k] + v5 * r5[k]) + (v6 * r6[k] + v7 * r7[k])))
        q += 8
    if q + 4 <= b:
        s0 = voff + indptr[base + idx[q]]
        s1 = voff + indptr[base + idx[q + 1]]
        s2 = voff + indptr[base + idx[q + 2]]
        s3 = voff + indptr[base + idx[q + 3]]
        r0, r1, r2, r3 = vals[s0:s0 + w], vals[s1:s1 + w], vals[s2:s2 + w], vals[s3:s3 + w]
        v0, v1, v2, v3 = val[q], val[q + 1], val[q + 2], val[q + 3]
        for k in range(w):
            acc[k] += (v0 * r0[k] + v1 * r1[k]) + (v2 * r2[k] + v3 * r3[k])
        q += 4
    while q < b:
        walk_row(pr, p, idx[q], val[q], acc)
        q += 1
    return (b - a) * w


@njit(cache=True)
def deliver_list(pr, p, idx, val, a, b, acc, touched):
    """Deliver the events ``idx[a:b]`` (values ``val[a:b]``) through projection ``p``: walk
    their rows into ``acc`` and mark the units they reach in ``touched``. Returns (MACs
    performed, True when some row reaches every unit)."""
    macs = walk_list(pr, p, idx, val, a, b, acc)
    for q in range(a, b):
        if mark_units(pr, p, idx[q], touched):
            return macs, True
    return macs, False


@njit(cache=True)
def mark_units(pr, p, i, touched):
    """Mark the units reached by row ``i``; return True when it reaches all of them."""
    if pr.full[pr.meta[p, PM_FULL] + i] == 1:
        return True
    base = pr.meta[p, PM_UINDPTR]
    uoff = pr.meta[p, PM_UIDX]
    for k in range(uoff + pr.uindptr[base + i], uoff + pr.uindptr[base + i + 1]):
        touched[pr.uidx[k]] = 1
    return False


@njit(cache=True)
def distinct_targets(indptr, indices, n_units):
    """Per row, the distinct target units in first-seen order: (uindptr, uidx). O(nnz)."""
    rows = indptr.shape[0] - 1
    seen = np.full(n_units, -1, dtype=np.int64)
    uidx = np.empty(indices.shape[0], dtype=np.int32)
    uindptr = np.zeros(rows + 1, dtype=np.int64)
    q = 0
    for r in range(rows):
        for k in range(indptr[r], indptr[r + 1]):
            c = indices[k]
            if seen[c] != r:
                seen[c] = r
                uidx[q] = c
                q += 1
        uindptr[r + 1] = q
    return uindptr, uidx[:q].copy()


def projection_from_csr(p, n_units: int) -> Projection:
    """Fan-out rows from a CSR description (``p.n_src``, ``p.indptr``, ``p.indices``,
    ``p.weight``, ``p.nnz``) without ever building a dense matrix: spiking networks have
    ~10^7 synapses among 10^4 units. Used by the LIF model."""
    rows = p.n_src
    indptr = np.ascontiguousarray(p.indptr, dtype=np.int64)
    cols = np.ascontiguousarray(p.indices, dtype=np.int64)
    uindptr, uidx = distinct_targets(indptr, cols, int(n_units))
    ucount = np.diff(uindptr)
    dense = bool(p.nnz == rows * n_units and np.all(p.weight != 0) and np.all(ucount == n_units)
                 and all(np.all(np.diff(cols[indptr[r]:indptr[r + 1]]) == 1) for r in range(rows)))
    return Projection(indptr=indptr, cols=cols.astype(np.int32),
                          vals=np.ascontiguousarray(p.weight, dtype=np.float64),
                          uindptr=uindptr, uidx=uidx, full=(ucount == n_units).astype(np.uint8),
                          dense=dense, width=int(n_units), rows=int(rows))


@njit(cache=True)
def walk_row_delayed(pr, p, i, v, t, horizon, delays, ring, recv):
    """Add ``v * w`` of each synapse of row ``i`` into bucket ``(t + d) % D`` of its own
    delay ``d`` (``delays``, aligned with ``pr.vals``) and mark the target there; synapses
    due at or after ``horizon`` are skipped. Returns the operations performed."""
    base = pr.meta[p, PM_INDPTR]
    coff = pr.meta[p, PM_COLS]
    dv = pr.meta[p, PM_VALS] - coff
    D = ring.shape[0]
    done = 0
    for k in range(coff + pr.indptr[base + i], coff + pr.indptr[base + i + 1]):
        due = t + delays[k]
        if due < horizon:
            s = due % D
            c = pr.cols[k]
            ring[s, c] += v * pr.vals[k + dv]
            recv[s, c] = 1
            done += 1
    return done


@njit(cache=True)
def walk_row_mark(pr, p, i, v, acc, mark):
    """``walk_row`` and ``mark_units`` fused into one pass over the row (for rows without
    duplicate targets): one index load per synapse instead of two. Returns the operations."""
    base = pr.meta[p, PM_INDPTR]
    coff = pr.meta[p, PM_COLS]
    dv = pr.meta[p, PM_VALS] - coff
    a = coff + pr.indptr[base + i]
    b = coff + pr.indptr[base + i + 1]
    for k in range(a, b):
        c = pr.cols[k]
        acc[c] += v * pr.vals[k + dv]
        mark[c] = 1
    return b - a


# -- the input table's calendar (eventsim.inputs.InputTable) inside kernels -----------------

InputRows = namedtuple("InputRows", "indptr idx val sptr steps rows")
InputRows.__doc__ = """The input table (:class:`~eventsim.inputs.InputTable`) as a kernel takes it:
its rows (CSR) and each sample's calendar (CSR by step)."""


def input_rows(table, b0: int, b1: int, dtype) -> InputRows:
    """The kernel's view of samples ``b0 .. b1-1`` of an input table, values as ``dtype``."""
    return InputRows(table.indptr, table.idx, table.val.astype(dtype, copy=False),
                     np.ascontiguousarray(table.sptr[b0:b1 + 1]), table.steps, table.rows)


@njit(cache=True)
def input_cursor(inputs, b, t):
    """The first calendar entry of sample ``b`` at step ``t`` or later (binary search); a run
    resuming at step ``t`` starts its cursor there."""
    lo = inputs.sptr[b]
    hi = inputs.sptr[b + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        if inputs.steps[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def input_span(inputs, b, cur, t):
    """Sample ``b``'s input events at step ``t``, with its cursor ``cur[0]`` at or before the
    entry of step ``t`` (steps are visited in increasing order). Returns (a, z): the events
    are ``inputs.idx[a:z]``, ``inputs.val[a:z]`` (empty when the step has none)."""
    k = cur[0]
    end = inputs.sptr[b + 1]
    while k < end and inputs.steps[k] < t:
        k += 1
    if k < end and inputs.steps[k] == t:
        cur[0] = k + 1
        r = inputs.rows[k]
        return inputs.indptr[r], inputs.indptr[r + 1]
    cur[0] = k
    return 0, 0


# -- lean layout of dense weight matrices (the EGRU's kernels, readouts) -------------------

@njit(cache=True)
def _row_counts(W, n_units):
    """Per row of ``W``: its nonzero weights and the distinct units they reach (column k is
    unit k mod n_units)."""
    rows, width = W.shape
    nnz = np.zeros(rows, np.int64)
    units = np.zeros(rows, np.int64)
    seen = np.zeros(n_units, np.uint8)
    for r in range(rows):
        seen[:] = 0
        c = 0
        u = 0
        for k in range(width):
            if W[r, k] != 0:
                c += 1
                j = k % n_units
                if seen[j] == 0:
                    seen[j] = 1
                    u += 1
        nnz[r] = c
        units[r] = u
    return nnz, units


@njit(cache=True)
def _fill_sparse(W, n_units, indptr, cols, vals, uindptr, uidx, full):
    """Write the CSR rows of ``W`` (nonzero weights in column order) and, per row, the
    distinct units reached in ascending order, into the given slices."""
    rows, width = W.shape
    seen = np.zeros(n_units, np.uint8)
    q = 0
    uq = 0
    indptr[0] = 0
    uindptr[0] = 0
    for r in range(rows):
        seen[:] = 0
        for k in range(width):
            w = W[r, k]
            if w != 0:
                cols[q] = k
                vals[q] = w
                q += 1
                seen[k % n_units] = 1
        u0 = uq
        for j in range(n_units):
            if seen[j] == 1:
                uidx[uq] = j
                uq += 1
        full[r] = 1 if uq - u0 == n_units else 0
        indptr[r + 1] = q
        uindptr[r + 1] = uq


@njit(cache=True)
def _count_zeros(W):
    """Zero entries of W (a loop, ~30x numpy's count_nonzero on floats); W C-ordered."""
    c = 0
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            if W[i, j] == 0:
                c += 1
    return c


@njit(cache=True)
def _copy_tiles(src, dst):
    """dst[...] = src in 64 x 64 tiles (fast when one of them is a transposed view)."""
    R, C = src.shape
    for i0 in range(0, R, 64):
        for j0 in range(0, C, 64):
            for i in range(i0, min(R, i0 + 64)):
                for j in range(j0, min(C, j0 + 64)):
                    dst[i, j] = src[i, j]


def count_nonzero(W) -> int:
    """Nonzero entries of a 2-D array (any memory order), in one pass without temporaries."""
    if W.size == 0:
        return 0
    if not W.flags.c_contiguous and W.flags.f_contiguous:
        W = W.T
    return int(W.size - _count_zeros(W))


def pack_matrices(mats, units, dtype):
    """Lay out weight matrices (sources x targets; target column k is unit k mod
    ``units[p]``) as one :class:`Projections`, without large temporaries.

    A matrix whose weights are all nonzero is laid out *dense*: its weights are copied once,
    row-major, into ``vals`` and it gets no column indices and no unit lists (each row is
    contiguous and reaches every unit). Other matrices get CSR rows (int32 columns) and
    per-row unit lists. Returns ``(projections, views)``: ``views[p]`` is matrix ``p`` as a
    read view of ``vals`` (shape of the matrix) when it is dense, else ``None``.
    Memory: the weights once for dense matrices; ``nnz`` weights + ``nnz`` int32 columns + the
    units reached for the others (plus small per-row arrays)."""
    dtype = np.dtype(dtype)
    mats = list(mats)
    P = len(mats)
    meta = np.zeros((P, 9), dtype=np.int64)
    info = []
    offs = [0, 0, 0, 0, 0, 0]  # indptr, cols, uindptr, uidx, full, vals
    for p, W in enumerate(mats):
        rows, width = W.shape
        nnz = count_nonzero(W)
        dense = nnz == rows * width
        if dense:
            ucount = None
            n_units_total = 0
        else:
            if not W.flags.c_contiguous:  # the row scans below read W by rows
                W = mats[p] = np.ascontiguousarray(W)
            rn, ru = _row_counts(W, int(units[p]))
            ucount = (rn, ru)
            n_units_total = int(ru.sum())
        meta[p] = (offs[0], offs[1], offs[2], offs[3], offs[4], int(dense), width, rows, offs[5])
        info.append((dense, nnz, ucount))
        offs = [offs[0] + rows + 1, offs[1] + (0 if dense else nnz), offs[2] + rows + 1,
                offs[3] + n_units_total, offs[4] + rows, offs[5] + nnz]
    indptr = np.zeros(offs[0], np.int64)
    cols = np.zeros(offs[1], np.int32)
    uindptr = np.zeros(offs[2], np.int64)
    uidx = np.zeros(offs[3], np.int32)
    full = np.zeros(offs[4], np.uint8)
    vals = np.empty(offs[5], dtype)
    views = []
    for p, W in enumerate(mats):
        rows, width = W.shape
        dense, nnz, _ = info[p]
        i0, c0, u0, x0, f0, v0 = (int(meta[p, k]) for k in (PM_INDPTR, PM_COLS, PM_UINDPTR, PM_UIDX,
                                                              PM_FULL, PM_VALS))
        if dense:
            view = vals[v0:v0 + nnz].reshape(rows, width)
            if W.flags.c_contiguous and W.dtype == dtype:
                view[...] = W
            else:
                _copy_tiles(W.astype(dtype, copy=False), view)
            indptr[i0:i0 + rows + 1] = np.arange(rows + 1, dtype=np.int64) * width
            full[f0:f0 + rows] = 1
            view = view.view()
            view.flags.writeable = False
            views.append(view)
        else:
            n_u = int(units[p])
            _fill_sparse(W, n_u, indptr[i0:i0 + rows + 1], cols[c0:c0 + nnz], vals[v0:v0 + nnz],
                         uindptr[u0:u0 + rows + 1], uidx[x0:], full[f0:f0 + rows])
            views.append(None)
    return Projections(meta, indptr, cols, vals, uindptr, uidx, full), views


@njit(cache=True)
def csr_matches(W, indptr, idx, val) -> bool:
    """True when the CSR rows (indptr, idx, val) hold exactly the nonzero entries of the 2-D
    array ``W`` (``!= 0``, in column order; NaN never matches): one pass over ``W``."""
    if indptr.shape[0] != W.shape[0] + 1:
        return False
    for r in range(W.shape[0]):
        k = indptr[r]
        end = indptr[r + 1]
        for j in range(W.shape[1]):
            w = W[r, j]
            if w != 0:
                if k >= end or idx[k] != j or val[k] != w:
                    return False
                k += 1
        if k != end:
            return False
    return True


def same_values(a, b, chunk=1 << 20) -> bool:
    """``a`` and ``b`` have the same shape and dtype and equal values (``==``, so NaN never
    matches; -0.0 matches 0.0, which no weight, bias or threshold can tell apart). One pass in
    chunks of about ``chunk`` elements (numpy's comparison, at memory speed; temporaries of one
    chunk), stopping at the first differing chunk. Either may be a strided view."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.ndim == 0 or a.size <= chunk:
        return bool(np.array_equal(a, b))
    rows = max(1, chunk // max(1, a.size // a.shape[0]))
    for i in range(0, a.shape[0], rows):
        if not np.array_equal(a[i:i + rows], b[i:i + rows]):
            return False
    return True
