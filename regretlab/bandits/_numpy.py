"""NumPy backend of the stochastic-bandit simulator: one loop over rounds, vectorised over replicates.

Semantics: :mod:`regretlab.bandits.reference`, reproduced *exactly* (same arm choices, rewards and
statistics for the same generator states). Every round is a handful of array operations on the
replicate axis: indices are (R, K) arrays, the chosen arms an (R,) vector, and the per-arm statistics
are read and written through flat indices ``r * K + arm``.

Randomness. Each replicate keeps its own xoshiro256** stream (:mod:`regretlab.core.rng`), run here on
uint64 arrays (NumPy's uint64 arithmetic wraps modulo 2**64, which is what the generator needs; every
constant is an ``np.uint64``, so no operand is ever promoted to float). Replicates consume their
streams at different rates (tie-breaks, epsilon coins, rejection loops), so the generator is
*buffered*: :class:`_Streams` steps all replicates ``M`` outputs ahead at a time, scrambles them in
bulk, derives the doubles in [0, 1) (top 53 bits) and the normal that the ziggurat returns when started
at each output, and hands them out through one read pointer per replicate. A draw for a subset of
replicates advances only their pointers, so a masked retry loop or a tie-break consumes exactly the
outputs of the replicates that need another draw, as the reference does.

Speculation. A round of Thompson sampling draws K posterior samples per replicate, each a rejection
sampler. :func:`_gammas_seq` and :func:`_normals_seq` first assume that every draw of a window takes the
common path (Marsaglia-Tsang: a fast-path normal and one uniform, accepted; ziggurat: the fast path),
check that assumption for all replicates and draws at once, keep each replicate's draws up to its first
exception, make that draw exactly, and go on from there. The result is the sequential stream use.

Transcendental functions. ``np.log``, ``np.log1p``, ``np.exp`` and ``np.expm1`` may use SIMD code
(AVX-512, SVML) that differs from the C library's in the last bit; the reference and the Numba kernel
use the C library. :func:`_exact` keeps the NumPy function only when it agrees with :mod:`math` on a
probe set, and otherwise evaluates :mod:`math`'s function element by element; the Marsaglia-Tsang log
test uses ``np.log`` wherever its two sides differ by far more than a last-bit difference could move
them, and the exact logs elsewhere. ``sqrt`` and the arithmetic are correctly rounded everywhere.

This module is also the "NumPy loop vectorised over replicates" baseline of ``benchmarks/bandits.py``.
"""
from __future__ import annotations

import math

import numpy as np

from regretlab.core.rng import ZIG_F, ZIG_R, ZIG_X

from .policies import (
    BERNOULLI,
    EPS_DECAY,
    EPS_GREEDY,
    ETC,
    GREEDY,
    KL_UCB,
    TS_BETA,
    TS_GAUSS,
    UCB1,
    UCB_ALPHA,
    UCB_C,
    UCB_K24,
    UNIFORM,
)

__all__ = ["simulate"]

_U5 = np.uint64(5)
_U7 = np.uint64(7)
_U9 = np.uint64(9)
_U11 = np.uint64(11)
_U17 = np.uint64(17)
_U19 = np.uint64(19)
_U45 = np.uint64(45)
_U57 = np.uint64(57)
_U255 = np.uint64(255)
_TWO_M53 = 1.0 / 9007199254740992.0
_ZX1 = ZIG_X[1:].copy()  # zx[i + 1]
_ZF1 = ZIG_F[1:].copy()  # zf[i + 1]
_AR = np.arange(64)


def _arange(k):
    return _AR[:k] if k <= _AR.size else np.arange(k)


# ---------------------------------------------------------------------------------------------------
# C-library-exact transcendental functions


def _exact(np_fn, math_fn, probe):
    """``np_fn`` if it matches ``math_fn`` bit for bit on ``probe``, else ``math_fn`` element-wise."""
    ufunc = np.frompyfunc(math_fn, 1, 1)

    def elementwise(x):
        x = np.asarray(x, dtype=np.float64)
        return ufunc(x).astype(np.float64) if x.size else np.empty(x.shape)

    with np.errstate(all="ignore"):
        ok = np.array_equal(np_fn(probe), elementwise(probe))
    return np_fn if ok else elementwise


_probe = np.random.default_rng(20240601)
_log = _exact(np.log, math.log, np.concatenate([
    _probe.random(8192), 1.0 - _probe.random(8192), np.exp(_probe.uniform(-40.0, 40.0, 8192))]))
_exp = _exact(np.exp, math.exp, -0.5 * _probe.uniform(0.0, 4.0, 8192) ** 2)
_expm1 = _exact(np.expm1, math.expm1, np.concatenate([
    -np.exp(_probe.uniform(-30.0, 4.0, 8192)), -_probe.uniform(0.0, 40.0, 8192)]))
_log1p = _exact(np.log1p, math.log1p, -np.concatenate([
    _probe.random(8192), 1.0 - np.exp(-_probe.uniform(0.0, 30.0, 8192))]))
del _probe


# ---------------------------------------------------------------------------------------------------
# Buffered xoshiro256** streams, one per replicate


class _Streams:
    """R xoshiro256** generators stepped together, ``M`` outputs ahead, read through per-replicate pointers.

    The outputs of replicate r live in column r of (cap, R) buffers: ``bits`` (raw uint64 outputs)
    and ``u`` (doubles in [0, 1)); with ``normals=True`` also ``zx`` and ``zl``: the standard normal
    that the ziggurat (``rng.normal``) returns when started at that output, and how many outputs it
    takes (1 on the fast path; 0 while unknown, i.e. while its wedge or tail loop would read past the
    buffered outputs). ``fp[r] = pos[r] * R + r`` is the flat index of replicate r's next unread
    output, ``end[r]`` the number of outputs in its column. ``slack`` is a lower bound on every
    replicate's unread count, so the hot path checks it with one integer comparison.
    """

    def __init__(self, states, normals=False, block=None):
        states = np.asarray(states, dtype=np.uint64)
        R = states.shape[0]
        self.R = R
        # M outputs per replicate per generation pass: long passes amortise the per-call cost of NumPy on
        # few replicates; the buffers hold cap * R outputs (about 60 MB up to R = 32768, then linear in R)
        self.M = M = int(block or min(256, max(4, (1 << 18) // max(R, 1))))
        self.cap = cap = (8 if R <= 4096 else 4) * M
        self.S = np.array(states.T, order="C")  # (4, R) copy: s0, s1, s2, s3 rows
        self.normals = normals
        self.bits = np.zeros((cap, R), dtype=np.uint64)
        self.u = np.zeros((cap, R))
        self.bitsf = self.bits.reshape(-1)
        self.uf = self.u.reshape(-1)
        bufs = [self.bitsf, self.uf]
        if normals:
            self.zx = np.zeros((cap, R))
            self.zl = np.zeros((cap, R), dtype=np.int32)
            self.zxf = self.zx.reshape(-1)
            self.zlf = self.zl.reshape(-1)
            bufs += [self.zxf, self.zlf]
        self._bufs = bufs
        self.rows = np.arange(R)
        self.fp = self.rows.copy()
        self.end = np.zeros(R, dtype=np.int64)
        self.slack = 0
        self._J = np.arange(M)[:, None]
        self._t = np.empty(R, dtype=np.uint64)
        self._tmp = np.empty(R, dtype=np.uint64)

    # -- generation ---------------------------------------------------------------------------------

    def _generate(self, S, n):
        """Step the (4, n) states ``S`` M times in place; return the (M, n) raw outputs."""
        M = self.M
        W = np.empty((M, n), dtype=np.uint64)  # s1 before each step
        s1, s2, s3 = S[1], S[2], S[3]
        s23, s01, s32 = S[2:4], S[0:2], S[3:1:-1]
        t = self._t[:n]
        tmp = self._tmp[:n]
        lsh, rsh, xor, ior = np.left_shift, np.right_shift, np.bitwise_xor, np.bitwise_or
        for j in range(M):
            W[j] = s1
            lsh(s1, _U17, out=t)  # t = s1 << 17
            xor(s23, s01, out=s23)  # s2 ^= s0; s3 ^= s1
            xor(s01, s32, out=s01)  # s0 ^= s3; s1 ^= s2
            xor(s2, t, out=s2)  # s2 ^= t
            rsh(s3, _U19, out=tmp)  # s3 = rotl(s3, 45)
            lsh(s3, _U45, out=s3)
            ior(s3, tmp, out=s3)
        # scrambler: rotl(s1 * 5, 7) * 9, in bulk
        W *= _U5
        hi = W >> _U57
        W <<= _U7
        W |= hi
        W *= _U9
        return W

    def _refill(self, unread):
        """Give every replicate with fewer than 2M unread outputs M more (compacting its column if full).

        Replicates consume at slightly different rates; topping up all but the far-ahead ones at once
        keeps the number of (equally costly) generation passes close to its minimum.
        """
        R, M, cap = self.R, self.M, self.cap
        need = np.flatnonzero(unread < 2 * M)
        if not need.size:
            return
        pos = self.fp[need] // R
        un = unread[need]
        J = self._J
        # replicates whose column cannot take M more: move the unread tail to the top first
        full = self.end[need] + M > cap
        if full.any():
            fr = need[full]
            J2 = np.arange(2 * M)[:, None]
            src = np.minimum(pos[full] + J2, cap - 1) * R + fr
            dst = J2 * R + fr
            for buf in self._bufs:
                buf[dst] = buf[src]
            self.end[fr] = un[full]
            self.fp[fr] = fr
        if need.size == R:
            W = self._generate(self.S, R)
        else:
            S = self.S[:, need]
            W = self._generate(S, need.size)
            self.S[:, need] = S
        end0 = self.end[need]
        dst = (end0 + J) * R + need
        self.bitsf[dst] = W
        u = (W >> _U11).astype(np.float64)
        u *= _TWO_M53
        self.uf[dst] = u
        self.end[need] += M
        if self.normals:
            i = (W & _U255).astype(np.intp)
            x = 2.0 * u
            x -= 1.0
            x *= ZIG_X[i]
            self.zxf[dst] = x
            fast = np.abs(x) < _ZX1[i]
            self.zlf[dst] = fast
            # the slow starts among the new outputs and the still unknown ones just before them
            lo = np.maximum(end0 - 16, self.fp[need] // R)
            Jw = np.arange(-16, M)[:, None]
            rng_rows = end0 + Jw
            cand = (rng_rows >= lo) & (rng_rows < end0)
            cand &= self.zlf.take(np.maximum(rng_rows, 0) * R + need) == 0
            P = np.concatenate([(rng_rows * R + need)[cand], dst[~fast]])
            if P.size:
                self._resolve(P)

    def _resolve(self, P):
        """Run the ziggurat's wedge/tail loop for the starts P (flat indices) on the buffered outputs."""
        R = self.R
        lim = self.end[P % R] * R + P % R  # flat index one past the row's last buffered output
        bits = self.bitsf.take(P)
        i = (bits & _U255).astype(np.intp)
        u = 2.0 * self.uf.take(P) - 1.0
        x = u * ZIG_X[i]  # not zx: a start resolved earlier holds its normal there, not the candidate
        cur = P.copy()  # last output read
        A = np.arange(P.size)
        while A.size:
            tail = i[A] == 0
            if tail.any():
                T = A[tail]
                A = A[~tail]
                xt = np.ones(T.size)
                yt = np.zeros(T.size)
                k = np.arange(T.size)
                while k.size:
                    c = cur[T[k]]
                    k = k[c + 2 * R < lim[T[k]]]  # both uniforms buffered, else unknown for now
                    if not k.size:
                        break
                    c = cur[T[k]] + R
                    xt[k] = _log(1.0 - self.uf.take(c)) / ZIG_R
                    yt[k] = _log(1.0 - self.uf.take(c + R))
                    cur[T[k]] = c + R
                    fin = -2.0 * yt[k] >= xt[k] * xt[k]
                    kf = k[fin]
                    tf = T[kf]
                    self.zxf[P[tf]] = np.where(u[tf] < 0.0, xt[kf] - ZIG_R, ZIG_R - xt[kf])
                    self.zlf[P[tf]] = (cur[tf] - P[tf]) // R + 1
                    k = k[~fin]
            A = A[cur[A] + R < lim[A]]  # wedge uniform buffered, else unknown for now
            if not A.size:
                break
            c = cur[A] + R
            cur[A] = c
            ia = i[A]
            xa = x[A]
            acc = _ZF1[ia] + (ZIG_F[ia] - _ZF1[ia]) * self.uf.take(c) < _exp(-0.5 * xa * xa)
            pa = A[acc]
            self.zxf[P[pa]] = xa[acc]
            self.zlf[P[pa]] = (cur[pa] - P[pa]) // R + 1
            A = A[~acc]
            A = A[cur[A] + R < lim[A]]  # next bits buffered, else unknown for now
            if not A.size:
                break
            c = cur[A] + R
            cur[A] = c
            b = self.bitsf.take(c)
            i[A] = (b & _U255).astype(np.intp)
            u[A] = 2.0 * self.uf.take(c) - 1.0
            x[A] = u[A] * ZIG_X[i[A]]
            ok = np.abs(x[A]) < _ZX1[i[A]]
            pa = A[ok]
            self.zxf[P[pa]] = x[pa]
            self.zlf[P[pa]] = (cur[pa] - P[pa]) // R + 1
            A = A[~ok]

    def reserve(self, k):
        """Make sure every replicate has at least k <= M unread outputs; sets ``slack`` exactly."""
        unread = self.end - self.fp // self.R
        if int(unread.min()) < k:
            self._refill(unread)
            unread = self.end - self.fp // self.R
        self.slack = int(unread.min())

    # -- drawing ------------------------------------------------------------------------------------

    def next(self, rows=None):
        """Flat buffer indices of the next output of ``rows`` (all replicates if None); advances them."""
        if self.slack <= 0:
            self.reserve(1)
        self.slack -= 1
        if rows is None:
            f = self.fp.copy()
            self.fp += self.R
        else:
            f = self.fp[rows]
            self.fp[rows] = f + self.R
        return f

    def uniform(self, rows=None):
        """Doubles in [0, 1) for ``rows`` (one each), as ``rng.uniform``."""
        return self.uf.take(self.next(rows))


# ---------------------------------------------------------------------------------------------------
# Samplers on streams (rows: replicate indices, unique; None = all)


def _normal(st, rows=None):
    """One standard normal per replicate in ``rows``: the 256-layer ziggurat of ``rng.normal``."""
    f = st.next(rows)
    x = st.zxf.take(f)
    zl = st.zlf.take(f)
    slow = zl != 1
    if slow.any():
        bad = np.flatnonzero(slow)
        rb = bad if rows is None else rows[bad]
        lb = zl[bad]
        known = lb > 1
        if known.any():  # resolved at refill: skip the outputs its wedge/tail loop read
            st.fp[rb[known]] += (lb[known] - 1) * st.R
            st.slack -= int(lb[known].max()) - 1
        un = np.flatnonzero(~known)
        if un.size:
            x[bad[un]] = _normal_slow(st, rb[un], f[bad[un]])
    return x


def _normal_slow(st, rows, f):
    """Wedge and tail cases of the ziggurat, drawn live, for ``rows`` whose first output (flat f) failed."""
    m = rows.size
    bits = st.bitsf.take(f)
    i = (bits & _U255).astype(np.intp)
    u = 2.0 * st.uf.take(f) - 1.0
    x = u * ZIG_X[i]
    out = np.empty(m)
    P = np.arange(m)
    while P.size:
        tail = i[P] == 0
        if tail.any():
            pt = P[tail]
            out[pt] = _normal_tail(st, rows[pt], u[pt])
            P = P[~tail]
            if not P.size:
                break
        ip = i[P]
        xp = x[P]
        w = st.uniform(rows[P])
        acc = _ZF1[ip] + (ZIG_F[ip] - _ZF1[ip]) * w < _exp(-0.5 * xp * xp)
        out[P[acc]] = xp[acc]
        P = P[~acc]
        if P.size:
            f2 = st.next(rows[P])
            i[P] = (st.bitsf.take(f2) & _U255).astype(np.intp)
            u[P] = 2.0 * st.uf.take(f2) - 1.0
            x[P] = u[P] * ZIG_X[i[P]]
            ok = np.abs(x[P]) < _ZX1[i[P]]
            out[P[ok]] = x[P[ok]]
            P = P[~ok]
    return out


def _normal_tail(st, rows, u):
    """Marsaglia's tail beyond ZIG_R, as in ``rng.normal`` (sign from ``u``)."""
    m = rows.size
    xt = np.ones(m)
    yt = np.zeros(m)
    A = np.arange(m)
    while A.size:
        ra = rows[A]
        xt[A] = _log(1.0 - st.uniform(ra)) / ZIG_R
        yt[A] = _log(1.0 - st.uniform(ra))
        A = A[-2.0 * yt[A] < xt[A] * xt[A]]
    return np.where(u < 0.0, xt - ZIG_R, ZIG_R - xt)


def _normals_seq(st, G):
    """(G, R) standard normals, the g-th of each replicate drawn g-th from its stream.

    Speculative: every draw is first assumed to take the ziggurat's fast path (one output each), which
    is checked for a window of draws at once; a replicate keeps the draws before its first slow one,
    draws that one with :func:`_normal` and goes on from there. Same stream use as G calls.
    """
    R = st.R
    out = np.empty((G, R))
    of = out.reshape(-1)
    W = min(G, st.M)
    g0 = np.zeros(R, dtype=np.int64)
    act = None  # None: all replicates, each at the same g0
    while True:
        if st.slack < W:
            st.reserve(W)
        if act is None:
            w = min(W, G - int(g0[0]))
            fa, ga, rem, rows = st.fp, g0, None, st.rows
        else:
            ga = g0[act]
            rem = G - ga
            w = min(W, int(rem.max()))
            fa, rows = st.fp[act], act
        Jw = st._J[:w]
        F = fa + R * Jw
        x = st.zxf.take(F)
        ok = st.zlf.take(F) == 1
        if rem is not None:
            ok |= Jw >= rem
        allok = ok.all(axis=0)
        first = np.where(allok, w if rem is None else np.minimum(w, rem), ok.argmin(axis=0))
        k = (ga + Jw) * R + rows
        keep = Jw < first
        of[k[keep]] = x[keep]
        st.slack -= w
        if act is None:
            st.fp += R * first
            g0 += first
            act = st.rows
        else:
            st.fp[act] += R * first
            g0[act] += first
        fix = act[~allok]
        if fix.size:
            of[g0[fix] * R + fix] = _normal(st, fix)
            g0[fix] += 1
        act = act[g0[act] < G]
        if not act.size:
            return out


def _mt_accept(u, x2, v, d, where=None):
    """Marsaglia-Tsang acceptance of (u, x^2, v = (1 + c x)^3) for the constant d: squeeze, then logs.

    Flat arrays; with ``where`` (bool), only those entries are decided (the others come back False).
    The log test is decided with ``np.log`` where its two sides differ by far more than the last-bit
    differences ``np.log`` may have from the C library, and with :func:`_log` (exact) elsewhere.
    """
    acc = u < 1.0 - 0.0331 * x2 * x2
    if where is not None:
        acc &= where
        rej = np.flatnonzero(where & ~acc)
    else:
        rej = np.flatnonzero(~acc)
    if rej.size:
        ur, vr, dr, hr = u[rej], v[rej], d[rej], 0.5 * x2[rej]
        lu, lv = np.log(ur), np.log(vr)
        lhs = lu
        rhs = hr + dr * (1.0 - vr + lv)
        res = lhs < rhs
        if _log is not np.log:
            scale = np.abs(lu) + hr + dr * (np.abs(1.0 - vr) + np.abs(lv)) + 1.0
            near = np.flatnonzero(np.abs(lhs - rhs) <= 1e-9 * scale)
            if near.size:
                vn = vr[near]
                res[near] = _log(ur[near]) < hr[near] + dr[near] * (1.0 - vn + _log(vn))
        acc[rej] = res
    return acc


def _mt_attempt(st, d, c, rows):
    """One Marsaglia-Tsang attempt per replicate in ``rows``: (accepted, d * v) as in ``rng.gamma_dc``."""
    x = _normal(st, rows)
    v = 1.0 + c * x
    acc = v > 0.0  # v <= 0: the attempt ends after the normal, without a uniform
    q = np.flatnonzero(acc)
    v = v * v * v
    u = 1.0 - st.uniform(rows[q])
    xq = x[q]
    acc[q] = _mt_accept(u, xq * xq, v[q], d[q])
    return acc, d * v


def _gammas_seq(st, D, C):
    """(G, R) Gamma variates, the g-th of each replicate from constants ``D[g], C[g]``, drawn in order g.

    Speculative like :func:`_normals_seq`: a Marsaglia-Tsang attempt usually takes two outputs (a
    fast-path normal giving ``v > 0``, then a uniform) and is accepted; a window of such attempts is
    checked at once. A replicate keeps the draws before its first other attempt (slow normal,
    ``v <= 0``, or a rejection), makes that attempt exactly (:func:`_mt_attempt`) and goes on from there.
    """
    G, R = D.shape
    Df, Cf = D.reshape(-1), C.reshape(-1)
    out = np.empty((G, R))
    of = out.reshape(-1)
    W = max(1, min(G, st.M // 2))
    g0 = np.zeros(R, dtype=np.int64)
    act = None
    while True:
        if st.slack < 2 * W:
            st.reserve(2 * W)
        if act is None:
            w = min(W, G - int(g0[0]))
            fa, ga, rem, rows = st.fp, g0, None, st.rows
        else:
            ga = g0[act]
            rem = G - ga
            w = min(W, int(rem.max()))
            fa, rows = st.fp[act], act
        Jw = st._J[:w]
        F = fa + (2 * R) * Jw
        x = st.zxf.take(F)
        ok = st.zlf.take(F) == 1
        F += R
        u = 1.0 - st.uf.take(F)
        gi = ga + Jw
        if rem is not None:
            np.minimum(gi, G - 1, out=gi)
        k = gi * R + rows
        d = Df.take(k)
        v = 1.0 + Cf.take(k) * x
        ok &= v > 0.0
        v = v * v * v
        x *= x
        ok = _mt_accept(u.ravel(), x.ravel(), v.ravel(), d.ravel(), ok.ravel()).reshape(x.shape)
        if rem is not None:
            ok |= Jw >= rem
        allok = ok.all(axis=0)
        first = np.where(allok, w if rem is None else np.minimum(w, rem), ok.argmin(axis=0))
        keep = Jw < first
        d *= v
        of[k[keep]] = d[keep]
        st.slack -= 2 * w
        if act is None:
            st.fp += (2 * R) * first
            g0 += first
            act = st.rows
        else:
            st.fp[act] += (2 * R) * first
            g0[act] += first
        fix = act[~allok]
        if fix.size:
            kf = g0[fix] * R + fix
            acc, val = _mt_attempt(st, Df.take(kf), Cf.take(kf), fix)
            of[kf[acc]] = val[acc]
            g0[fix[acc]] += 1
        act = act[g0[act] < G]
        if not act.size:
            return out


def _argmax_random(st, V, rows=None):
    """Row-wise argmax of V (n, K) with ties broken as the reference's reservoir scan.

    Scanning a = 0..K-1, the c-th value equal to the running maximum replaces the incumbent when
    ``uniform() * c < 1``; a draw is made for every such tie (also ties with a running maximum that
    is later exceeded), in arm order, and only by the replicates (``rows``) that have one.
    """
    arm = V.argmax(axis=1)
    cm = np.maximum.accumulate(V, axis=1)
    T = V[:, 1:] == cm[:, :-1]
    if not T.any():
        return arm
    tr = np.flatnonzero(T.any(axis=1))
    er, ec = np.nonzero(T[tr])  # tie events, by replicate then arm
    pos = ec + 1
    Vt = V[tr]
    # the reservoir's count at a tie at arm p: the arms b <= p holding the running maximum V[p]
    # (a value equal to the running maximum cannot occur before the maximum first reached it)
    cnt = ((Vt[er] == Vt[er, pos][:, None]) & (_arange(V.shape[1]) <= pos[:, None])).sum(axis=1)
    orig = tr if rows is None else rows[tr]
    first = arm[tr]  # first maximal arm; a later accepted tie with the maximum replaces it
    res = first.copy()
    if er.size == tr.size:  # one tie per replicate: one round of draws
        u = st.uniform(orig)
        acc = (u * cnt < 1.0) & (pos > first)
        res[acc] = pos[acc]
    else:
        counts = np.bincount(er, minlength=tr.size)
        rank = np.arange(er.size) - np.repeat(np.cumsum(counts) - counts, counts)
        for j in range(int(counts.max())):
            sel = np.flatnonzero(rank == j)
            e = er[sel]
            u = st.uniform(orig[e])
            p = pos[sel]
            acc = (u * cnt[sel] < 1.0) & (p > first[e])
            res[e[acc]] = p[acc]
    arm[tr] = res
    return arm


# ---------------------------------------------------------------------------------------------------
# KL-UCB index (Bernoulli), vectorised


def _klucb_index(p, delta):
    """``reference.klucb_bernoulli_index`` element-wise: same branches, same Newton iterates in x."""
    p = p.ravel()
    delta = delta.ravel()
    q = np.empty_like(p)
    c1 = delta <= 0.0
    q[c1] = p[c1]
    rest = ~c1
    c2 = rest & (p >= 1.0)
    q[c2] = 1.0
    c3 = rest & (p <= 0.0)
    q[c3] = -_expm1(-delta[c3])
    inner = np.flatnonzero(rest & (p > 0.0) & (p < 1.0))
    if inner.size:
        pi = p[inner]
        di = delta[inner]
        ent = -(pi * _log(pi) + (1.0 - pi) * _log1p(-pi))
        x = (di + ent) / (1.0 - pi)
        qp = pi + np.sqrt(0.5 * di)
        below = np.flatnonzero(qp < 1.0)
        xp = -_log1p(-qp[below])
        x[below] = np.where(xp < x[below], xp, x[below])
        lp = _log1p(-pi)
        active = np.arange(inner.size)
        for _ in range(100):
            if not active.size:
                break
            pa = pi[active]
            xa = x[active]
            qa = -_expm1(-xa)
            h = pa * _log(pa / qa) + (1.0 - pa) * (lp[active] + xa) - di[active]
            step = h * qa / (qa - pa)
            xa = xa - step
            x[active] = xa
            active = active[~(step < 1e-12 * xa)]
        q[inner] = -_expm1(-x)
    return q


# ---------------------------------------------------------------------------------------------------
# The simulator


def simulate(code, pp, fam, sigma, means, horizon, states, ckpt, *, block=None):
    """All replicates, vectorised; same arguments and outputs as ``reference.simulate``.

    ``code``: policy code; ``pp``: its parameter vector; ``fam``: reward family code; ``means`` (R, K);
    ``states`` (R, 4) uint64 (not modified); ``ckpt``: checkpoint rounds. Returns a dict with
    ``regret`` (R, C), ``counts`` (R, K) int64, ``reward_sum`` (R,), ``greedy_rounds`` (R,) int64 and
    ``last_best`` (R,) int64.
    """
    means = np.ascontiguousarray(means, dtype=np.float64)
    R, K = means.shape
    pp = np.asarray(pp, dtype=np.float64)
    horizon = int(horizon)
    ck = [int(c) for c in np.asarray(ckpt).ravel()]
    C = len(ck)
    gaussian = fam != BERNOULLI
    st = _Streams(states, normals=gaussian or code in (TS_BETA, TS_GAUSS), block=block)

    mu_star = means.max(axis=1)
    gaps = mu_star[:, None] - means
    muf = means.reshape(-1)
    gapsf = gaps.reshape(-1)
    rowK = np.arange(R) * K
    rows = np.arange(R)
    n = np.zeros((R, K))
    s = np.zeros((R, K))
    mean = np.zeros((R, K))
    nf, sf, meanf = n.reshape(-1), s.reshape(-1), mean.reshape(-1)
    rsn = np.zeros((R, K)) if code in (UCB1, UCB_K24, UCB_C, UCB_ALPHA) else None
    idx = np.empty((R, K))
    regret = np.zeros(R)
    reward_sum = np.zeros(R)
    greedy_rounds = np.zeros(R, dtype=np.int64)
    last_best = np.zeros(R, dtype=np.int64)
    out_regret = np.zeros((R, C))
    ci = 0
    # The first K rounds of these policies pull arms 0..K-1 in order in every replicate; the others
    # track the untried arms per replicate until every replicate has tried every arm.
    ts_init = code == TS_BETA and pp[0] != 0.0 or code == TS_GAUSS and pp[3] != 0.0  # init_each_arm
    deterministic_start = code in (GREEDY, UCB1, UCB_K24, UCB_C, UCB_ALPHA, KL_UCB, ETC) or ts_init
    untried = None if deterministic_start else np.full(R, K, dtype=np.int64)
    if code == TS_BETA:  # Marsaglia-Tsang constants (d, c) of the Beta(1 + S, 1 + N - S) gammas
        d0 = 1.0 - 1.0 / 3.0
        c0 = 1.0 / math.sqrt(9.0 * d0)
        Dg = np.full((2 * K, R), d0)
        Cg = np.full((2 * K, R), c0)
        Dgf, Cgf = Dg.reshape(-1), Cg.reshape(-1)
    if code == TS_GAUSS:
        prior_mean, prior_var, noise_var = float(pp[0]), float(pp[1]), float(pp[2]) * float(pp[2])
    m_etc = int(pp[0]) if code == ETC else 0
    commit = None

    for t in range(1, horizon + 1):
        # 1. choose
        if code == UNIFORM:
            arm = (st.uniform() * K).astype(np.int64)
        elif code == UCB1 or code == UCB_K24 or code == UCB_C or code == UCB_ALPHA:
            if t <= K:
                arm = np.full(R, t - 1, dtype=np.int64)
            else:
                if code == UCB1:
                    sc = pp[0] * math.sqrt(2.0 * math.log(t - 1))
                elif code == UCB_C:
                    sc = pp[0] * math.sqrt(math.log(t))
                elif code == UCB_ALPHA:
                    sc = math.sqrt(pp[0] * math.log(t - 1))
                else:
                    sc = math.sqrt(pp[0])
                np.multiply(rsn, sc, out=idx)
                idx += mean
                arm = _argmax_random(st, idx)
        elif ts_init and t <= K:
            arm = np.full(R, t - 1, dtype=np.int64)
        elif code == TS_BETA:
            gv = _gammas_seq(st, Dg, Cg)  # (2K, R): X_0, Y_0, X_1, Y_1, ...
            x = gv[0::2]
            theta = x / (x + gv[1::2])
            arm = _argmax_random(st, theta.T)
        elif code == GREEDY:
            arm = np.full(R, t - 1, dtype=np.int64) if t <= K else _argmax_random(st, mean)
        elif code == EPS_GREEDY or code == EPS_DECAY:
            if code == EPS_GREEDY:
                eps = pp[0]
            else:
                eps = min(1.0, pp[0] * K / (pp[1] * pp[1] * t))
            coin = st.uniform() < eps
            arm = np.empty(R, dtype=np.int64)
            ex = np.flatnonzero(coin)
            if ex.size:
                arm[ex] = (st.uniform(ex) * K).astype(np.int64)
            gr = np.flatnonzero(~coin)
            if gr.size and untried is not None:
                fresh = untried[gr] > 0
                g1 = gr[fresh]
                arm[g1] = (n[g1] == 0.0).argmax(axis=1)
                gr = gr[~fresh]
            if gr.size == R:
                arm = _argmax_random(st, mean)
            elif gr.size:
                arm[gr] = _argmax_random(st, mean[gr], gr)
        elif code == ETC:
            if t <= m_etc * K:
                arm = np.full(R, (t - 1) % K, dtype=np.int64)
            else:
                if commit is None:
                    commit = _argmax_random(st, mean)
                arm = commit
        elif code == KL_UCB:
            if t <= K:
                arm = np.full(R, t - 1, dtype=np.int64)
            else:
                lt = math.log(t - 1)
                rhs = lt + pp[0] * math.log(lt) if pp[0] != 0.0 else lt
                if gaussian:
                    # rhs < 0 (c > 0, K = 2, t = 3) has no square root: the bonus is then 0, as the
                    # Bernoulli index is the mean when delta <= 0 (the rule of every backend)
                    idx = mean + sigma * np.sqrt(np.maximum(2.0 * rhs / n, 0.0))
                else:
                    idx = _klucb_index(mean, rhs / n).reshape(R, K)
                arm = _argmax_random(st, idx)
        elif code == TS_GAUSS:
            prec = 1.0 / prior_var + n / noise_var
            v = 1.0 / prec
            m = v * (prior_mean / prior_var + s / noise_var)
            idx = m + np.sqrt(v) * _normals_seq(st, K).T
            arm = _argmax_random(st, idx)
        else:
            raise ValueError(f"unknown policy code {code}")

        f = rowK + arm
        nb = nf.take(f)  # pulls of the chosen arm before this round

        # 2. exploration statistics (history before the pull; untried arms count as +inf)
        if untried is not None:
            fresh = untried > 0
            greedy_rounds += np.where(fresh, nb == 0.0, meanf.take(f) == mean.max(axis=1))
            untried -= nb == 0.0
            if not untried.any():
                untried = None
        elif t <= K and deterministic_start:
            greedy_rounds += 1
        else:
            greedy_rounds += meanf.take(f) == mean.max(axis=1)
        g = gapsf.take(f)
        np.copyto(last_best, t, where=g == 0.0)

        # 3. reward
        if gaussian:
            y = muf.take(f) + sigma * _normal(st)
        else:
            y = st.uniform() < muf.take(f)

        # 4. update and record
        nb += 1.0
        nf.put(f, nb)
        sb = sf.take(f) + y
        sf.put(f, sb)
        meanf.put(f, sb / nb)
        if rsn is not None:
            rsn.reshape(-1).put(f, np.sqrt(1.0 / nb))
        if code == TS_BETA:
            j = 2 * arm * R + rows
            a1 = 1.0 + sb
            d1 = a1 - 1.0 / 3.0
            Dgf.put(j, d1)
            Cgf.put(j, 1.0 / np.sqrt(9.0 * d1))
            a2 = 1.0 + nb - sb
            d2 = a2 - 1.0 / 3.0
            Dgf.put(j + R, d2)
            Cgf.put(j + R, 1.0 / np.sqrt(9.0 * d2))
        reward_sum += y
        regret += g
        while ci < C and ck[ci] == t:
            out_regret[:, ci] = regret
            ci += 1

    return {
        "regret": out_regret[:, :ci] if ci < C else out_regret,
        "counts": n.astype(np.int64),
        "reward_sum": reward_sum,
        "greedy_rounds": greedy_rounds,
        "last_best": last_best,
    }
