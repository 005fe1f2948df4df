"""Vectorisable gate arithmetic of the engine's unit updates.

The EGRU's update needs, per woken unit, two logistic sigmoids and one tanh
(SPEC §1). Numba calls libm for ``np.exp``/``np.tanh`` on scalars, one unit
at a time: about 25-35 ns per unit, most of a sparse step's time. Here the
gates of a block of units are computed with arithmetic only (no calls), in
loops that LLVM turns into AVX2/SSE vector code, about 2 ns per unit:

- ``exp(x)`` as ``2^k · (1 + q)``: ``k = round(x / ln 2)`` (the 1.5·2^23 rounding
  trick), ``r = x − k·ln 2`` in two parts (Cody–Waite), ``q = e^r − 1`` by its Taylor
  polynomial of degree 7 (truncation below 3e-9 on |r| ≤ ln2/2), ``2^k`` built from its
  exponent bits (an LLVM bitcast of an int32). Max error 1.0 ulp over [−87, 88]
  (numpy's own float32 ``exp`` is 2.4 ulp; glibc's ``expf`` 0.5), arguments clamped to
  that range (a sigmoid then saturates at 6e-39 instead of 0).
- ``tanh(a) = −e / (2 + e)`` with ``e = expm1(−2|a|) = 2^k·q + (2^k − 1)``, sign restored:
  accurate for small |a| too (no cancellation), and 1 exactly for |a| ≥ 9.
- ``σ(v) = 1 / (1 + exp(−v))``.

NaN propagates (the clamps compare, they do not replace). Every element gets the same
IEEE operations in the same order whether it falls in the vector body or the scalar
remainder of a loop (no fast-math: no reassociation, no fused multiply-add), so a unit's
gates do not depend on which other units are computed beside it: a quiet unit's gates
computed once at layout time are bit for bit those of the same pre-activations in a block.

This is the float32 path. A float64 model keeps libm (``np.exp``/``np.tanh``, unit by
unit), so that float64 runs, which the tests hold to the dense reference at 1e-10, keep
their digits. The dense reference itself always uses numpy; in float32 the two differ in
the last bits (as libm and numpy already did), and SPEC's contract for float32 is outputs
within float tolerance: a state within rounding of its threshold may fall either way.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from llvmlite import ir
from numba.extending import intrinsic, overload

_LOG2E = np.float32(1.4426950408889634)
_LN2HI = np.float32(0.693145751953125)      # ln 2 to 16 bits: k·_LN2HI is exact for |k| < 2^8
_LN2LO = np.float32(1.428606765330187e-06)  # ln 2 − _LN2HI
_ROUND = np.float32(12582912.0)             # 1.5·2^23: (x + _ROUND) − _ROUND rounds x to an integer
_LO = np.float32(-87.0)                     # 2^k stays a normal number: k ≥ −126
_HI = np.float32(88.0)                      # k ≤ 127
_C = [np.float32(1.0 / f) for f in (5040.0, 720.0, 120.0, 24.0, 6.0, 2.0)]
_C7, _C6, _C5, _C4, _C3, _C2 = _C


@intrinsic
def _bits_as_f32(typingctx, bits):
    """The float32 whose IEEE bits are the int32 ``bits`` (an LLVM bitcast: no memory)."""
    if bits != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@njit(inline="always")
def _expm1_parts(x):
    """(q, s) with e^x = s·(1 + q), s = 2^k, x clamped to [−87, 88] (NaN passes through)."""
    if x < _LO:
        x = _LO
    if x > _HI:
        x = _HI
    kf = (x * _LOG2E + _ROUND) - _ROUND
    r = (x - kf * _LN2HI) - kf * _LN2LO
    p = _C7 * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    return r + r * r * p, _bits_as_f32(np.int32((np.int32(kf) + 127) << 23))


@njit(inline="always")
def _sigmoid32(v):
    q, s = _expm1_parts(-v)
    return np.float32(1.0) / (np.float32(1.0) + (s * q + s))


@njit(inline="always")
def _tanh32(a):
    """tanh(a) = −e / (2 + e), e = expm1(−2|a|) (no cancellation near 0), sign of a."""
    q, s = _expm1_parts(np.float32(-2.0) * abs(a))
    e = s * q + (s - np.float32(1.0))
    th = -e / (np.float32(2.0) + e)
    return th if a >= 0 else -th


def gate_block(vxz, vhz, vxr, vhr, vxg, vhg, zout, kout):
    """Gates of a block of units from their pre-activations (SPEC §1): ``zout = z`` and
    ``kout = (1 − z)·g`` for each unit, ``z = σ(vxz + vhz)``, ``r = σ(vxr + vhr)``,
    ``g = tanh(vxg + r·vhg)``. All arrays are 1-D of the block's length; ``zout``/``kout``
    may not overlap the inputs. Float32: vectorised (module docstring); float64: libm, unit
    by unit. (Kernels call the compiled versions; from Python this runs them too.)"""
    zout[...], kout[...] = gates_of(vxz, vhz, vxr, vhr, vxg, vhg)


@njit(inline="always")
def _gates_libm(vxz, vhz, vxr, vhr, vxg, vhg, one):
    zz = one / (one + np.exp(-(vxz + vhz)))
    rr = one / (one + np.exp(-(vxr + vhr)))
    gg = np.tanh(vxg + rr * vhg)
    return zz, (one - zz) * gg


def _gate_block_f32(vxz, vhz, vxr, vhr, vxg, vhg, zout, kout):
    # one array written per loop, two or three read: LLVM's runtime overlap checks stay few
    # enough for it to vectorise every loop (with more arrays per loop it gives up)
    n = zout.shape[0]
    for j in range(n):
        zout[j] = _sigmoid32(vxz[j] + vhz[j])
    for j in range(n):
        kout[j] = _sigmoid32(vxr[j] + vhr[j])          # r, for now
    for j in range(n):
        kout[j] = _tanh32(vxg[j] + kout[j] * vhg[j])   # g
    one = np.float32(1.0)
    for j in range(n):
        kout[j] = (one - zout[j]) * kout[j]            # (1 − z)·g


def _gate_block_f64(vxz, vhz, vxr, vhr, vxg, vhg, zout, kout):
    one = np.float64(1.0)
    for j in range(zout.shape[0]):
        zout[j], kout[j] = _gates_libm(vxz[j], vhz[j], vxr[j], vhr[j], vxg[j], vhg[j], one)


@overload(gate_block, jit_options={"cache": True, "error_model": "numpy"})
def _ov_gate_block(vxz, vhz, vxr, vhr, vxg, vhg, zout, kout):
    if zout.dtype == types.float32:
        return _gate_block_f32
    return _gate_block_f64


@njit(cache=True)
def gates_of(vxz, vhz, vxr, vhr, vxg, vhg):
    """(z, (1 − z)·g) of each unit, new arrays: :func:`gate_block` from Python (tests, layout)."""
    n = vxz.shape[0]
    zout = np.empty(n, vxz.dtype)
    kout = np.empty(n, vxz.dtype)
    gate_block(vxz, vhz, vxr, vhr, vxg, vhg, zout, kout)
    return zout, kout
