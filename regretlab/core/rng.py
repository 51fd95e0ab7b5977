"""Seeds and the per-replicate random generator shared by every kernel.

Seeding (DESIGN.md §2). A sweep has one root ``seed``. Cell ``c`` and replicate ``r`` get the
``numpy.random.SeedSequence(seed, spawn_key=(c, r))``; its first four 64-bit words are the replicate's
generator state. A replicate's stream therefore depends on (seed, c, r) only: not on the thread count,
the worker count, the chunking of replicates or the backend. Instance-level randomness (e.g. random
arm means shared by all replicates of a cell) comes from a separate child ``SeedSequence(seed,
spawn_key=(c, INSTANCE_KEY))``.

Generator. xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number generators",
ACM TOMS 47(4), 2021), 256 bits of state per replicate, held in a ``uint64[4]`` row. Doubles in [0, 1)
take the top 53 bits. Normals use the 256-layer ziggurat of Marsaglia and Tsang ("The ziggurat method
for generating random variables", J. Stat. Softw. 5(8), 2000) with Marsaglia's tail algorithm; gammas
use Marsaglia and Tsang ("A simple method for generating gamma variables", ACM TOMS 26(3), 2000), with
the ``U**(1/a)`` boost for shape < 1; betas are ``X / (X + Y)`` of two gammas.

The same algorithms are written three times, on purpose: ``@njit`` functions here (used by every Numba
kernel), a pure-Python class :class:`PyRandom` on Python integers (used by the plain reference
implementations, so kernel == reference can be tested bit for bit), and the CUDA twin in the CuPy
paths. The tests check that the three streams agree.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "INSTANCE_KEY",
    "ZIG_F",
    "ZIG_X",
    "PyRandom",
    "beta",
    "gamma",
    "gamma_consts",
    "gamma_dc",
    "instance_seed",
    "load_state",
    "next_u64",
    "normal",
    "randint",
    "replicate_states",
    "store_state",
    "uniform",
    "uniform_open",
    "xo_beta",
    "xo_gamma",
    "xo_gamma_dc",
    "xo_next",
    "xo_normal",
    "xo_randint",
    "xo_uniform",
    "xo_uniform_open",
]

MASK64 = (1 << 64) - 1

# ---------------------------------------------------------------------------------------------------
# Seeding lives in :mod:`regretlab.core.seeding` (NumPy only, so the registry and CLI need no Numba).

from .seeding import INSTANCE_KEY, instance_seed, replicate_states  # noqa: E402,F401

# ---------------------------------------------------------------------------------------------------
# Ziggurat tables (256 layers) for the standard normal, built once in NumPy at import (microseconds).

ZIG_R = 3.6541528853610088  # right edge of the base layer
ZIG_V = 0.00492867323399  # area of each layer (Marsaglia and Tsang 2000, 256-layer normal)


def _zig_tables():
    f = lambda x: math.exp(-0.5 * x * x)
    x = np.empty(257)
    x[0] = ZIG_V / f(ZIG_R)
    x[1] = ZIG_R
    for i in range(2, 256):
        x[i] = math.sqrt(-2.0 * math.log(ZIG_V / x[i - 1] + f(x[i - 1])))
    x[256] = 0.0
    fx = np.exp(-0.5 * x * x)
    return x, fx


ZIG_X, ZIG_F = _zig_tables()

# ---------------------------------------------------------------------------------------------------
# Numba generator. Two equivalent interfaces over one implementation:
#   - state-passing functions ``xo_*(s, ...) -> (s, value)`` with ``s`` a UniTuple(uint64, 4): kernels keep
#     the state in registers (an array state would cost a store-to-load round trip per draw);
#   - array functions ``next_u64(st)``, ``uniform(st)``, ... on a uint64[4] row, mutated in place, for code
#     where a few draws per step do not matter.

_U5 = np.uint64(5)
_U7 = np.uint64(7)
_U9 = np.uint64(9)
_U11 = np.uint64(11)
_U17 = np.uint64(17)
_U45 = np.uint64(45)
_U64 = np.uint64(64)
_U255 = np.uint64(255)
_TWO_M53 = 1.0 / 9007199254740992.0


@njit(inline="always", cache=True)
def _rotl(x, k):
    return (x << k) | (x >> (_U64 - k))


@njit(inline="always", cache=True)
def load_state(st):
    """The state tuple of a uint64[4] row."""
    return (st[0], st[1], st[2], st[3])


@njit(inline="always", cache=True)
def store_state(st, s):
    """Write the state tuple ``s`` back into the uint64[4] row ``st``."""
    st[0] = s[0]
    st[1] = s[1]
    st[2] = s[2]
    st[3] = s[3]


@njit(inline="always", cache=True)
def xo_next(s):
    """xoshiro256**: (next state, 64-bit output)."""
    s0, s1, s2, s3 = s
    result = _rotl(s1 * _U5, _U7) * _U9
    t = s1 << _U17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, _U45)
    return (s0, s1, s2, s3), result


@njit(inline="always", cache=True)
def xo_uniform(s):
    """Double in [0, 1) from the top 53 bits (converted as a signed integer: one instruction on x86)."""
    s, x = xo_next(s)
    return s, float(np.int64(x >> _U11)) * _TWO_M53


@njit(inline="always", cache=True)
def xo_uniform_open(s):
    """Double in (0, 1]: ``1 - uniform``; safe under ``log``."""
    s, u = xo_uniform(s)
    return s, 1.0 - u


@njit(inline="always", cache=True)
def xo_randint(s, n):
    """Integer uniform on {0, ..., n-1} as ``floor(n * uniform)`` (bias below n / 2**53)."""
    s, u = xo_uniform(s)
    return s, int(u * n)


@njit(inline="always", cache=True)
def xo_normal(s, zx, zf):
    """Standard normal by the 256-layer ziggurat (tables ``ZIG_X``, ``ZIG_F`` passed in).

    The fast path (about 99% of draws: one 64-bit output, the low 8 bits pick the layer, the top 53 the
    position) comes first; wedge and tail cases continue in :func:`_xo_normal_slow`.
    """
    s, bits = xo_next(s)
    i = int(bits & _U255)
    u = 2.0 * (float(np.int64(bits >> _U11)) * _TWO_M53) - 1.0
    x = u * zx[i]
    if abs(x) < zx[i + 1]:
        return s, x
    return _xo_normal_slow(s, zx, zf, i, u, x)


@njit(inline="always", cache=True)
def _xo_normal_slow(s, zx, zf, i, u, x):
    # inlined too: as a real call it made the state tuple go through memory on every draw (measured:
    # 9.6 ns per normal draw as a call, 3.4 ns inlined; the fast path alone is 1.3 ns)
    while True:
        if i == 0:
            # tail beyond ZIG_R (Marsaglia 1964)
            xt = 1.0
            yt = 0.0
            while -2.0 * yt < xt * xt:
                s, u1 = xo_uniform_open(s)
                xt = math.log(u1) / ZIG_R
                s, u2 = xo_uniform_open(s)
                yt = math.log(u2)
            return s, (xt - ZIG_R if u < 0.0 else ZIG_R - xt)
        s, v = xo_uniform(s)
        if zf[i + 1] + (zf[i] - zf[i + 1]) * v < math.exp(-0.5 * x * x):
            return s, x
        s, bits = xo_next(s)
        i = int(bits & _U255)
        u = 2.0 * (float(np.int64(bits >> _U11)) * _TWO_M53) - 1.0
        x = u * zx[i]
        if abs(x) < zx[i + 1]:
            return s, x


@njit(inline="always", cache=True)
def gamma_consts(shape):
    """Marsaglia-Tsang constants (d, c) = (a - 1/3, 1 / sqrt(9 d)) for shape a >= 1."""
    d = shape - 1.0 / 3.0
    return d, 1.0 / math.sqrt(9.0 * d)


@njit(inline="always", cache=True)
def xo_gamma_dc(s, d, c, zx, zf):
    """Gamma(a, 1) for a >= 1 from precomputed ``(d, c) = gamma_consts(a)`` (Marsaglia and Tsang 2000)."""
    while True:
        s, x = xo_normal(s, zx, zf)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        s, u = xo_uniform_open(s)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:
            return s, d * v
        if math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return s, d * v


@njit(cache=True)
def xo_gamma(s, shape, zx, zf):
    """Gamma(shape, 1) by Marsaglia-Tsang; shape > 0 (boost by U**(1/shape) when shape < 1)."""
    if shape < 1.0:
        s, u = xo_uniform_open(s)
        boost = u ** (1.0 / shape)
        d, c = gamma_consts(shape + 1.0)
        s, g = xo_gamma_dc(s, d, c, zx, zf)
        return s, g * boost
    d, c = gamma_consts(shape)
    return xo_gamma_dc(s, d, c, zx, zf)


@njit(cache=True)
def xo_beta(s, a, b, zx, zf):
    """Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b), drawn in that order."""
    s, x = xo_gamma(s, a, zx, zf)
    s, y = xo_gamma(s, b, zx, zf)
    return s, x / (x + y)


# array-state wrappers -----------------------------------------------------------------------------


@njit(inline="always", cache=True)
def next_u64(st):
    """Next 64-bit output of xoshiro256** (state ``st``, uint64[4], advanced in place)."""
    s, x = xo_next(load_state(st))
    store_state(st, s)
    return x


@njit(inline="always", cache=True)
def uniform(st):
    """Double in [0, 1) (state row advanced in place)."""
    s, u = xo_uniform(load_state(st))
    store_state(st, s)
    return u


@njit(inline="always", cache=True)
def uniform_open(st):
    """Double in (0, 1]."""
    s, u = xo_uniform_open(load_state(st))
    store_state(st, s)
    return u


@njit(inline="always", cache=True)
def randint(st, n):
    """Integer uniform on {0, ..., n-1}."""
    s, k = xo_randint(load_state(st), n)
    store_state(st, s)
    return k


@njit(cache=True)
def normal(st, zx, zf):
    """Standard normal (ziggurat)."""
    s, x = xo_normal(load_state(st), zx, zf)
    store_state(st, s)
    return x


@njit(cache=True)
def gamma(st, shape, zx, zf):
    """Gamma(shape, 1)."""
    s, g = xo_gamma(load_state(st), shape, zx, zf)
    store_state(st, s)
    return g


@njit(cache=True)
def gamma_dc(st, d, c, zx, zf):
    """Gamma from precomputed Marsaglia-Tsang constants."""
    s, g = xo_gamma_dc(load_state(st), d, c, zx, zf)
    store_state(st, s)
    return g


@njit(cache=True)
def beta(st, a, b, zx, zf):
    """Beta(a, b) = X / (X + Y), X drawn first."""
    s, x = xo_beta(load_state(st), a, b, zx, zf)
    store_state(st, s)
    return x


# ---------------------------------------------------------------------------------------------------
# Pure-Python twin (Python integers, masked to 64 bits): the reference implementations' generator.


class PyRandom:
    """xoshiro256** and the samplers above, written independently on Python ints.

    Slow and obviously correct; produces exactly the stream of the Numba functions for the same state.
    """

    def __init__(self, state):
        s = [int(v) & MASK64 for v in np.asarray(state, dtype=np.uint64)]
        if len(s) != 4:
            raise ValueError(f"PyRandom: state must have 4 words, got {len(s)}")
        self.s = s

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK64

    def next_u64(self) -> int:
        s0, s1, s2, s3 = self.s
        result = (self._rotl((s1 * 5) & MASK64, 7) * 9) & MASK64
        t = (s1 << 17) & MASK64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = self._rotl(s3, 45)
        self.s = [s0, s1, s2, s3]
        return result

    def uniform(self) -> float:
        return float(self.next_u64() >> 11) * _TWO_M53

    def uniform_open(self) -> float:
        return 1.0 - self.uniform()

    def randint(self, n: int) -> int:
        return int(self.uniform() * n)

    def normal(self) -> float:
        zx, zf = ZIG_X, ZIG_F
        while True:
            bits = self.next_u64()
            i = bits & 255
            u = 2.0 * (float(bits >> 11) * _TWO_M53) - 1.0
            x = u * float(zx[i])
            if abs(x) < zx[i + 1]:
                return x
            if i == 0:
                xt, yt = 1.0, 0.0
                while -2.0 * yt < xt * xt:
                    xt = math.log(self.uniform_open()) / ZIG_R
                    yt = math.log(self.uniform_open())
                return xt - ZIG_R if u < 0.0 else ZIG_R - xt
            if float(zf[i + 1]) + (float(zf[i]) - float(zf[i + 1])) * self.uniform() < math.exp(-0.5 * x * x):
                return x

    def gamma(self, shape: float) -> float:
        boost = 1.0
        a = shape
        if a < 1.0:
            boost = self.uniform_open() ** (1.0 / a)
            a = a + 1.0
        d = a - 1.0 / 3.0
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            x = self.normal()
            v = 1.0 + c * x
            if v <= 0.0:
                continue
            v = v * v * v
            u = self.uniform_open()
            x2 = x * x
            if u < 1.0 - 0.0331 * x2 * x2:
                return d * v * boost
            if math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
                return d * v * boost

    def beta(self, a: float, b: float) -> float:
        x = self.gamma(a)
        y = self.gamma(b)
        return x / (x + y)
