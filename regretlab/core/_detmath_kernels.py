"""Numba compilations of :mod:`regretlab.core.detmath` (bit-identical to its NumPy and Python twins).

``exp_det`` is :func:`regretlab.core.detmath.exp_scalar` compiled as is (one source for Python and
Numba); ``ctr_uniform`` is the SplitMix64 counter-based uniform on uint64 (which wraps in Numba).
Inlined into area kernels (``inline="always"``): after editing this file, ``make clean-cache``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .detmath import _INV_ODD, _M1, _M2, _TWO_M53, GAMMA, exp_scalar

__all__ = ["ctr_uniform", "exp_det", "log1p_unit_det"]

exp_det = njit(inline="always", cache=True)(exp_scalar)

_ODD = np.array(_INV_ODD)


@njit(inline="always", cache=True)
def log1p_unit_det(u):
    """:func:`regretlab.core.detmath.log1p_unit_scalar` (same operations, same order)."""
    t = u / (2.0 + u)
    t2 = t * t
    p = _ODD[0]
    for i in range(1, _ODD.shape[0]):
        p = p * t2 + _ODD[i]
    p = p * t2 + 1.0
    return 2.0 * t * p

_G = np.uint64(GAMMA)
_K1 = np.uint64(_M1)
_K2 = np.uint64(_M2)
_ONE = np.uint64(1)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


@njit(inline="always", cache=True)
def ctr_uniform(key, counter):
    """Uniform [0, 1) number ``counter`` (uint64) of the SplitMix64 stream ``key`` (uint64)."""
    z = key + (counter + _ONE) * _G
    z = (z ^ (z >> _S30)) * _K1
    z = (z ^ (z >> _S27)) * _K2
    z = z ^ (z >> _S31)
    return float(np.int64(z >> _S11)) * _TWO_M53
