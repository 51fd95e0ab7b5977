"""Bit-reproducible elementary functions and counter-based uniforms for NumPy, Numba, CuPy and Python.

Why. NumPy evaluates ``np.exp`` on float64 with its own SIMD code (AVX-512 where present), which differs
from glibc's ``exp`` (used by Numba's ``math.exp`` and by Python) in the last bit for a few percent of
arguments. A kernel that must agree *bit for bit* with its NumPy twin and its plain-Python reference (the
rule every backend of this package follows) therefore cannot call the platform ``exp``. :func:`exp_array`
(NumPy or CuPy arrays), :func:`exp_scalar` (plain Python) and ``exp_det`` (its Numba compilation in
:mod:`regretlab.core._detmath_kernels`) perform the *same* IEEE-754 operations in the same order, so they
return identical doubles on the CPU. On a GPU, CuPy compiles its elementwise kernels with FMA
contraction (NVRTC's default), so the Horner steps round once instead of twice: CuPy's values agree with
the CPU's to about 1 ulp, not bit for bit.

Algorithm (Cody-Waite range reduction, as in fdlibm's ``e_exp.c``; the polynomial is a Taylor series):
``k = floor(x / ln 2 + 1/2)``, ``r = (x - k ln2_hi) - k ln2_lo`` with ``|r| <= ln(2)/2``, then
``exp(r) = sum_{j<=13} r^j / j!`` in Horner form (truncation error < 5e-18 relative) and
``exp(x) = ldexp(exp(r), k)``. Measured against glibc over 10^6 points of [-700, 0]: at most 1 ulp apart
(tests/core/test_detmath.py). ``x < -746`` gives 0.0, ``x > 709.78`` gives inf; NaN is not accepted
(callers validate their inputs).

Counter-based uniforms. Sampling N tokens per step with a sequential generator (xoshiro256**) cannot be
vectorised across the draws in NumPy. SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom
number generators", OOPSLA 2014) is a counter-based generator: its k-th output is
``mix64(key + (k + 1) * GAMMA)``, so draw k of a stream is computed directly from (key, k), in any order,
vectorised. :func:`counter_uniforms` (arrays), :func:`py_counter_uniform` (Python ints) and
``ctr_uniform`` in :mod:`regretlab.core._detmath_kernels` (Numba) give identical doubles
``(out >> 11) * 2**-53`` in [0, 1).
Keys come from the replicate's ``SeedSequence`` (:func:`regretlab.core.seeding.counter_keys`).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["GAMMA", "INV_LN2", "LN2_HI", "LN2_LO", "counter_uniforms", "exp_array", "exp_scalar",
           "log1p_unit_array", "log1p_unit_scalar", "py_counter_uniform", "py_mix64"]

LN2_HI = 6.93147180369123816490e-01  # fdlibm: ln 2 with trailing zero bits, so k * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI
INV_LN2 = 1.44269504088896338700e00
EXP_UNDER = -746.0  # exp(x) rounds to 0 below this
EXP_OVER = 709.782712893384  # exp(x) overflows above this
# 1/j! for j = 13 .. 1, Horner order (Python floats: correctly rounded)
_INV_FACT = tuple(1.0 / math.factorial(j) for j in range(13, 0, -1))
C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1 = _INV_FACT

# 1/(2j+1) for j = 18 .. 1, Horner order, for log1p on [0, 1]
_INV_ODD = tuple(1.0 / (2 * j + 1) for j in range(18, 0, -1))

GAMMA = 0x9E3779B97F4A7C15  # SplitMix64 increment (golden ratio)
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1
_TWO_M53 = 1.0 / 9007199254740992.0


def exp_scalar(x: float) -> float:
    """exp(x) by the operations documented in the module docstring (plain Python floats)."""
    if x < EXP_UNDER:
        return 0.0
    if x > EXP_OVER:
        return math.inf
    k = float(math.floor(x * INV_LN2 + 0.5))
    r = (x - k * LN2_HI) - k * LN2_LO
    p = C13
    p = p * r + C12
    p = p * r + C11
    p = p * r + C10
    p = p * r + C9
    p = p * r + C8
    p = p * r + C7
    p = p * r + C6
    p = p * r + C5
    p = p * r + C4
    p = p * r + C3
    p = p * r + C2
    p = p * r + C1
    p = p * r + 1.0
    return math.ldexp(p, int(k))


def exp_array(x, xp=np):
    """Elementwise :func:`exp_scalar` on a float64 array of NumPy (``xp=numpy``) or CuPy (``xp=cupy``)."""
    x = xp.asarray(x, dtype=xp.float64)
    xc = xp.clip(x, EXP_UNDER, EXP_OVER)  # keeps k finite; the true limits are put back below
    k = xp.floor(xc * INV_LN2 + 0.5)
    r = (xc - k * LN2_HI) - k * LN2_LO
    p = xp.full_like(r, C13)
    for c in (C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, 1.0):
        p = p * r + c
    out = xp.ldexp(p, k.astype(xp.int32))
    out = xp.where(x < EXP_UNDER, 0.0, out)
    return xp.where(x > EXP_OVER, xp.inf, out)


def log1p_unit_scalar(u: float) -> float:
    """log(1 + u) for u in [0, 1] (e.g. u = exp(-|z|) in a softplus), portable like :func:`exp_scalar`.

    ``log1p(u) = 2 atanh(t)``, ``t = u / (2 + u)`` in [0, 1/3], by the odd series
    ``2 t sum_{j<=18} t^(2j) / (2j + 1)`` in Horner form (truncation < 1e-18 relative). Measured against
    ``numpy.log1p`` over 2*10^5 points of [0, 1]: at most 3 ulp apart (tests/core/test_detmath.py).
    """
    t = u / (2.0 + u)
    t2 = t * t
    p = _INV_ODD[0]
    for c in _INV_ODD[1:]:
        p = p * t2 + c
    p = p * t2 + 1.0
    return 2.0 * t * p


def log1p_unit_array(u, xp=np):
    """Elementwise :func:`log1p_unit_scalar` on a float64 array in [0, 1] (NumPy or CuPy)."""
    u = xp.asarray(u, dtype=xp.float64)
    t = u / (2.0 + u)
    t2 = t * t
    p = xp.full_like(t, _INV_ODD[0])
    for c in _INV_ODD[1:]:
        p = p * t2 + c
    p = p * t2 + 1.0
    return 2.0 * t * p


# ---------------------------------------------------------------------------------------------------
# Counter-based uniforms (SplitMix64)


def py_mix64(z: int) -> int:
    """The SplitMix64 output function on a Python int (64-bit arithmetic by masking)."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def py_counter_uniform(key: int, counter: int) -> float:
    """Uniform [0, 1) number ``counter`` of the stream ``key`` (plain Python twin of the array version)."""
    out = py_mix64(int(key) + (int(counter) + 1) * GAMMA)
    return float(out >> 11) * _TWO_M53


def counter_uniforms(key, counters, xp=np):
    """Uniforms [0, 1) of stream(s) ``key`` (uint64, broadcastable) at ``counters`` (uint64/int64 >= 0).

    Identical doubles to :func:`py_counter_uniform` and the Numba ``ctr_uniform`` for the same (key,
    counter). Works on NumPy and CuPy arrays (uint64 arithmetic wraps modulo 2**64).
    """
    u64 = xp.uint64
    key = xp.asarray(key, dtype=u64)
    c = xp.asarray(counters).astype(u64)
    z = key + (c + u64(1)) * u64(GAMMA)
    z = (z ^ (z >> u64(30))) * u64(_M1)
    z = (z ^ (z >> u64(27))) * u64(_M2)
    z = z ^ (z >> u64(31))
    return (z >> u64(11)).astype(xp.float64) * _TWO_M53
