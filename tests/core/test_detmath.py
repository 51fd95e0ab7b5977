"""Portable exp and counter-based uniforms: the NumPy, Numba and plain-Python twins agree bit for bit."""
import math

import numpy as np
import pytest
from numba import njit

from regretlab.core import detmath
from regretlab.core._detmath_kernels import ctr_uniform, exp_det, log1p_unit_det


@njit(cache=True)
def _exp_many(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = exp_det(x[i])
    return out


@njit(cache=True)
def _uniforms(key, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = ctr_uniform(key, np.uint64(i))
    return out


def _args():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.uniform(-745.0, 709.0, 20_000), rng.uniform(-2.0, 2.0, 20_000),
                           [0.0, -0.0, 1e-300, -1e-300, 709.78, -745.1, 0.5 * math.log(2), -0.5 * math.log(2)]])


def test_exp_within_one_ulp_of_libm():
    x = _args()
    got = detmath.exp_array(x)
    want = np.array([math.exp(v) for v in x])
    ulp = np.abs(got - want) / np.spacing(np.maximum(want, np.finfo(float).tiny))
    assert ulp.max() <= 1.0


def test_exp_twins_bitwise():
    x = _args()
    arr = detmath.exp_array(x)
    assert np.array_equal(arr, _exp_many(x))
    assert np.array_equal(arr[::97], np.array([detmath.exp_scalar(float(v)) for v in x[::97]]))


def test_exp_limits():
    out = detmath.exp_array(np.array([-800.0, -746.5, 710.0, 1e308, -1e308]))
    assert out[0] == 0.0 and out[1] == 0.0 and out[4] == 0.0
    assert np.isinf(out[2]) and np.isinf(out[3])
    assert detmath.exp_array(np.array([0.0]))[0] == 1.0


def test_uniform_twins_bitwise_and_range():
    key = np.uint64(0xDEADBEEF12345678)
    arr = detmath.counter_uniforms(key, np.arange(5000, dtype=np.uint64))
    assert np.array_equal(arr, _uniforms(key, 5000))
    assert np.array_equal(arr[:200], np.array([detmath.py_counter_uniform(int(key), i) for i in range(200)]))
    assert arr.min() >= 0.0 and arr.max() < 1.0


def test_uniforms_are_uniform_and_streams_differ():
    from scipy import stats

    u = detmath.counter_uniforms(np.uint64(12345), np.arange(200_000, dtype=np.uint64))
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    v = detmath.counter_uniforms(np.uint64(12346), np.arange(200_000, dtype=np.uint64))
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.02
    # broadcasting: (keys, counters) grid equals row-wise calls
    keys = np.array([1, 2, 3], dtype=np.uint64)
    grid = detmath.counter_uniforms(keys[:, None], np.arange(7, dtype=np.uint64)[None, :])
    for i, k in enumerate(keys):
        assert np.array_equal(grid[i], detmath.counter_uniforms(k, np.arange(7, dtype=np.uint64)))


@pytest.mark.gpu
def test_cupy_twins():
    import cupy

    x = _args()
    got = cupy.asnumpy(detmath.exp_array(cupy.asarray(x), cupy))
    assert np.max(np.abs(got - detmath.exp_array(x)) / np.maximum(detmath.exp_array(x), 1e-300)) < 4e-16
    c = np.arange(1000, dtype=np.uint64)
    assert np.array_equal(cupy.asnumpy(detmath.counter_uniforms(np.uint64(7), cupy.asarray(c), cupy)),
                          detmath.counter_uniforms(np.uint64(7), c))


@njit(cache=True)
def _log1p_many(u):
    out = np.empty_like(u)
    for i in range(u.size):
        out[i] = log1p_unit_det(u[i])
    return out


def test_log1p_unit_twins_agree_and_are_accurate():
    u = np.concatenate([np.random.default_rng(1).random(200_000), [0.0, 1.0, 5e-324, 1e-300, 1e-17, 0.5]])
    a = detmath.log1p_unit_array(u)
    np.testing.assert_array_equal(_log1p_many(u), a)
    assert all(detmath.log1p_unit_scalar(float(x)) == y for x, y in zip(u[-3000:], a[-3000:]))
    ref = np.log1p(u)
    ulp = np.abs(a - ref) / np.spacing(np.maximum(ref, 5e-324))
    assert ulp.max() <= 3
