"""STARC distances, EPIC and DARD (Pearson) distances, and the batch function for whole metric grids.

STARC metric [STARC] (spec §6):

    d(R1, R2) = m( s(R1), s(R2) ),    s(R) = c(R) / n(c(R))   (s(R) = 0 for trivial R, see norms.py)

with c a canonicalisation (:data:`regretlab.starc.canon.CANONICALISATIONS`), n a norm or "none",
and m a metric (:mod:`regretlab.starc.norms`). When c is a canonicalisation function (is_canonicalisation
in the registry) d is a pseudometric with d(R1, R2) = 0 iff R1 and R2 induce the same policy ordering
(full-support mu0, gamma < 1; spec §2, §6). When m is the metric of n, d lies in [0, 2], d(R, -R) = 2 for
non-trivial R, and d(trivial, non-trivial) = 1.

Range convention (UNCONFIRMED in the spec whether [STARC] divides by 2): d is returned as defined,
in [0, 2] when m is the metric of n; ``normalise_to_unit=True`` returns d / 2, in [0, 1] in that case.
(The paper's text was not reachable from here beyond its abstract; an ICLR 2024 review confirms the
metric is m(x, y) = n(x - y), the printed n(x - v) being a typo.)

Pearson distances (spec §8): D_rho(X, Y) = sqrt((1 - rho(X, Y)) / 2) with rho the Pearson correlation
under a coverage distribution D(s, a, s') (uniform over all S*A*S triples by default), applied to
C_EPIC (EPIC [EPIC]) or C_DARD (DARD [DARD]). rho is clipped to [-1, 1] before the square root (EPIC's
code clips at 1; rounding can push |rho| past 1). Zero-variance canonical rewards (trivial for EPIC/DARD:
D-std <= 1e-10 max|R|) use the identity D_rho = 0.5 ||X~ - Y~||_{2,D} with X~ = 0 for them, as for STARC:
0 for two trivial rewards, 0.5 between a trivial and a non-trivial one (rho itself is undefined there).
sqrt(1 - rho) turns rounding of 1e-16 into about 1e-8: compare EPIC/DARD zeros with atol ~1e-6.

Batches. R1 and R2 may each be one reward or a batch (B, S, A, S); one reward is broadcast against a
batch. Backends: "numpy" (the CPU default; "numba" is the same path, see canon.py), "cupy" (the same
code on a GPU; the cvxpy-based canonicalisations are refused there) and "auto" (CuPy when present).

References: [STARC] Skalse et al., ICLR 2024, arXiv 2309.15257; [EPIC] Gleave et al., ICLR 2021,
arXiv 2006.13900; [DARD] Wulfe et al., ICLR 2022, arXiv 2201.10081.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from regretlab.core.validate import ParamError, ParamTypeError, check_array, check_bool, check_choice

from .canon import (
    CANONICALISATIONS,
    PROB_ATOL,
    _as_rewards,
    _backend,
    _broadcast_batches,
    _canon_batch,
    _check_canon,
    _check_dist,
    _check_gamma,
    _check_pi0,
    _check_tau,
    _Env,
    _to_numpy,
)
from .norms import METRICS, NORMS, TRIVIAL_EPS, TRIVIAL_EPS_CVXPY, _norms_many, _standardise

__all__ = ["dard_distance", "epic_distance", "pairwise_distances", "starc_distance"]

PEARSON_EPS = 1e-10
_CHUNK_ENTRIES = 2**22  # rewards per chunk * S*A*S entries: about 32 MB per float64 array (GPU)
# On the CPU the work per chunk is a few passes over (B, S, A, S) arrays (memory bound) plus GEMMs:
# chunks of about 2 MB per array keep the arrays of one chunk in the L2/L3 caches (32 MB chunks ran
# from RAM and were slower than a per-pair loop for EPIC / DARD at |S| >= 64).
# C_VAL alone (compact (B, S, A) canonical rewards, one pass over R) prefers larger chunks, which
# amortise the reads of tau and of the (S, S) factor over more rewards.
_CHUNK_ENTRIES_CPU = 2**18
_CHUNK_ENTRIES_CPU_COMPACT = 2**20


# ---------------------------------------------------------------------------------------------------
# Internals shared by the public functions


def _setup_pair(R1, R2, tau, gamma, where, *, pi0=None, D_S=None, D_A=None, backend="auto", needs_cpu=False):
    tau = _check_tau(tau, where)
    S, A = tau.shape[0], tau.shape[1]
    gamma = _check_gamma(gamma, where)
    R1, b1 = _as_rewards("R1", R1, S, A, where)
    R2, b2 = _as_rewards("R2", R2, S, A, where)
    B = _broadcast_batches(R1.shape[0], R2.shape[0], b1, b2, where)
    pi0 = _check_pi0(pi0, S, A, where) if pi0 is not None else None
    D_S = _check_dist("D_S", D_S, S, where) if D_S is not None else None
    D_A = _check_dist("D_A", D_A, A, where) if D_A is not None else None
    _, xp = _backend(backend, where, needs_cpu=needs_cpu)
    env = _Env(xp, tau, gamma, pi0=pi0, D_S=D_S, D_A=D_A)
    return env, R1, R2, B, (b1 or b2)


def _scale(R4):
    """max |R| per reward, (B,): the magnitude the trivial-reward test is relative to."""
    flat = R4.reshape(R4.shape[0], -1)
    return np.maximum(flat.max(axis=1), -flat.min(axis=1))  # = max |R| exactly, without an |R| copy


def _chunks(B1, B2, S, A, xp=np, compact=False):
    """Slices of the broadcast batch: arrays of one chunk ~2 MB on the CPU (cache; ~8 MB when
    ``compact``: only C_VAL), ~32 MB on a GPU."""
    B = max(B1, B2)
    if xp is not np:
        entries = _CHUNK_ENTRIES
    else:
        entries = _CHUNK_ENTRIES_CPU_COMPACT if compact else _CHUNK_ENTRIES_CPU
    size = max(1, entries // (S * A * S))
    return [slice(i, min(i + size, B)) for i in range(0, B, size)]


def _take(R4, sl):
    return R4 if R4.shape[0] == 1 else R4[sl]


def _pearson(xp, X, Y, cov, scale_x, scale_y, overwrite=False):
    """Pearson distance between rows of X (B1, N) and Y (B2, N) under the weights cov (N,).

    With ``overwrite`` X and Y (scratch arrays of the caller) are centred, scaled and multiplied in
    place; otherwise copies are. Few large temporaries: at |S| = 256 each is 2 MB per reward, and fresh
    ones cost page faults."""
    mx = X @ cov
    my = Y @ cov
    if overwrite:
        Xc, Yc = X, Y
        Xc -= mx[:, None]
        Yc -= my[:, None]
    else:
        Xc = X - mx[:, None]
        Yc = Y - my[:, None]
    sq = Xc * Xc
    sx = xp.sqrt(sq @ cov)
    sq = xp.multiply(Yc, Yc, out=sq) if sq.shape == Yc.shape else Yc * Yc
    sy = xp.sqrt(sq @ cov)
    del sq
    tx = sx <= PEARSON_EPS * scale_x
    ty = sy <= PEARSON_EPS * scale_y
    Xc /= xp.where(tx, 1.0, sx)[:, None]  # X~
    Yc /= xp.where(ty, 1.0, sy)[:, None]  # Y~
    if Xc.shape == Yc.shape:
        Xc *= Yc  # X~ Y~
    else:  # one side a single reward, broadcast against the batch
        Xc = Xc * Yc
    rho = xp.clip(Xc @ cov, -1.0, 1.0)
    d = xp.sqrt((1.0 - rho) / 2.0)
    return xp.where(tx & ty, 0.0, xp.where(tx | ty, 0.5, d))


def _grid(env, R1, R2, specs, norms, metrics, pearson_cov, where):
    """Every (canon, norm, metric) distance for one chunk; R1 (B1, S, A, S), R2 (B2, ...) NumPy arrays.

    Each canonicalisation is computed once per reward and reused for all norms and metrics; each
    standardisation once per norm. Returns {key: (B,) NumPy array}.
    """
    xp = env.xp
    tau = env.tau
    sc1, sc2 = xp.asarray(_scale(R1)), xp.asarray(_scale(R2))
    X1, X2 = xp.asarray(R1), xp.asarray(R2)
    out = {}
    for spec in specs:
        form, C1 = _canon_batch(spec, X1, env, where)
        _, C2 = _canon_batch(spec, X2, env, where)
        eps = TRIVIAL_EPS_CVXPY if spec.uses_cvxpy else TRIVIAL_EPS
        for n in norms:
            s1, _, _ = _standardise(xp, form, C1, tau, n, sc1, eps)
            s2, _, _ = _standardise(xp, form, C2, tau, n, sc2, eps)
            for m, v in _norms_many(xp, form, s1 - s2, tau, metrics).items():
                out[(spec.name, n, m)] = _to_numpy(v)
        if spec.name in ("epic", "dard") and pearson_cov is not None:
            B1, B2 = C1.shape[0], C2.shape[0]
            d = _pearson(xp, C1.reshape(B1, -1), C2.reshape(B2, -1), pearson_cov, sc1, sc2, overwrite=True)
            out[(f"{spec.name}_pearson", None, None)] = _to_numpy(d)
    return out


def _run_grid(env, R1, R2, specs, norms, metrics, where, pearson_cov=None):
    S, A = env.S, env.A
    compact = all(s.kind == "val" for s in specs)
    parts = [_grid(env, _take(R1, sl), _take(R2, sl), specs, norms, metrics, pearson_cov, where)
             for sl in _chunks(R1.shape[0], R2.shape[0], S, A, env.xp, compact=compact)]
    B = max(R1.shape[0], R2.shape[0])
    return {k: np.broadcast_to(np.concatenate([p[k] for p in parts]), (B,)).copy() for k in parts[0]}


def _names(name, value, choices, where):
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence) or len(value) == 0:
        raise ParamTypeError(where, name, "a non-empty sequence of names", value)
    out = []
    for i, v in enumerate(value):
        c = check_choice(f"{name}[{i}]", v, choices, where=where)
        if c not in out:
            out.append(c)
    return out


def _check_coverage(coverage, S, A, where):
    if coverage is None:
        return np.full(S * A * S, 1.0 / (S * A * S))
    cov = check_array("coverage", coverage, where=where, low=0.0)
    if cov.shape != (S, A, S):
        raise ParamError(where, "coverage", f"an array of shape ({S}, {A}, {S})", f"an array of shape {cov.shape}")
    if abs(cov.sum() - 1.0) > PROB_ATOL:
        raise ParamError(where, "coverage", f"a distribution over (s, a, s') (summing to 1 within {PROB_ATOL:g})"
                         ", but sums to", float(cov.sum()))
    return cov.reshape(-1)


# ---------------------------------------------------------------------------------------------------
# Public API


def starc_distance(R1, R2, tau, gamma, *, canon="val", norm="w_l2", metric="w_l2", pi0=None,
                   normalise_to_unit=False, backend="auto"):
    """A STARC(-style) distance d(R1, R2) = m(s(R1), s(R2)), s(R) = c(R) / n(c(R)) [STARC] (spec §6).

    The default is the spec's first choice: c = C_VAL with uniform pi0, n = m = tau-weighted L2 (on the
    compact advantage array this is the plain L2 norm). For the minimal canonicalisation use n = m = the
    norm it minimises ("minimal" is minimal for "w_l2", "minimal_l2" for "l2", ...) unless you mean to
    mix them. Canonicalisations that are not canonicalisation functions ("none", "epic", "dard",
    "val_potential", "minimal_potential*") and the cvxpy variants give STARC-*like* distances only.

    Parameters: R1, R2 reward(s) (S, A, S), (B, S, A, S), (S, A) or (S,) (forms of
        :mod:`regretlab.starc.canon`); a single reward broadcasts against a batch; tau (S, A, S);
        gamma in [0, 1); canon a key of :data:`CANONICALISATIONS`; norm one of :data:`NORMS`
        ("none": n = 1); metric one of :data:`METRICS`; pi0 for "val"/"val_potential" (None: uniform);
        normalise_to_unit: return d / 2 (in [0, 1] when m is the metric of n; see the module docstring);
        backend "auto" | "numpy" | "numba" | "cupy".
    Returns: float for two single rewards, else (B,) float64.
    """
    where = "starc_distance"
    spec = _check_canon(canon, where)
    norm = check_choice("norm", norm, NORMS, where=where)
    metric = check_choice("metric", metric, METRICS, where=where)
    normalise_to_unit = check_bool("normalise_to_unit", normalise_to_unit, where=where)
    env, R1, R2, _, batched = _setup_pair(R1, R2, tau, gamma, where, pi0=pi0, backend=backend,
                                          needs_cpu=spec.uses_cvxpy)
    d = _run_grid(env, R1, R2, [spec], [norm], [metric], where)[(spec.name, norm, metric)]
    if normalise_to_unit:
        d = d / 2.0
    return d if batched else float(d[0])


def _pearson_distance(kind, R1, R2, tau, gamma, D_S, D_A, coverage, backend, where):
    env, R1, R2, _, batched = _setup_pair(R1, R2, tau, gamma, where, D_S=D_S, D_A=D_A, backend=backend)
    cov = env.arr(_check_coverage(coverage, env.S, env.A, where))
    xp = env.xp
    out = []
    for sl in _chunks(R1.shape[0], R2.shape[0], env.S, env.A, xp):
        X1, X2 = _take(R1, sl), _take(R2, sl)
        canon = env.epic if kind == "epic" else env.dard
        C1, C2 = canon(xp.asarray(X1)), canon(xp.asarray(X2))
        d = _pearson(xp, C1.reshape(C1.shape[0], -1), C2.reshape(C2.shape[0], -1), cov,
                     xp.asarray(_scale(X1)), xp.asarray(_scale(X2)), overwrite=True)
        out.append(_to_numpy(d))
    B = max(R1.shape[0], R2.shape[0])
    d = np.broadcast_to(np.concatenate(out), (B,)).copy()
    return d if batched else float(d[0])


def epic_distance(R1, R2, gamma, D_S=None, D_A=None, coverage=None, *, backend="auto"):
    """EPIC distance [EPIC] (spec §8): D_rho(C_EPIC(R1), C_EPIC(R2)) under the coverage distribution.

        D_rho(X, Y) = sqrt((1 - rho(X, Y)) / 2),   rho the D-weighted Pearson correlation (clipped to [-1, 1]).

    Parameters: R1, R2 (S, A, S), (B, S, A, S) or (S, A) (EPIC needs no tau; a single reward broadcasts
        against a batch); gamma in [0, 1); D_S (S,), D_A (A,) the canonicalisation's distributions
        (uniform by default); coverage (S, A, S) distribution of the Pearson correlation (uniform over
        all triples by default); backend "auto" | "numpy" | "numba" | "cupy".
    Returns: float in [0, 1], or (B,) float64.
    """
    where = "epic_distance"
    arr = check_array("R1", R1, where=where)
    if arr.ndim in (3, 4) and arr.shape[-1] == arr.shape[-3] and arr.shape[-1] > 0:
        S, A = arr.shape[-1], arr.shape[-2]
    elif arr.ndim == 2 and min(arr.shape) > 0:
        S, A = arr.shape
    else:
        raise ParamError(where, "R1", "an array of shape (S, A, S), (B, S, A, S) or (S, A)",
                         f"an array of shape {arr.shape}")
    tau = np.full((S, A, S), 1.0 / S)  # shapes only: C_EPIC ignores tau
    return _pearson_distance("epic", arr, R2, tau, gamma, D_S, D_A, coverage, backend, where)


def dard_distance(R1, R2, tau, gamma, D_A=None, coverage=None, *, backend="auto"):
    """DARD distance [DARD] (spec §8): D_rho(C_DARD(R1), C_DARD(R2)) under the coverage distribution.

    Parameters: R1, R2 reward(s) (a single reward broadcasts against a batch); tau (S, A, S) (DARD's
        transition model); gamma in [0, 1); D_A (A,) (uniform by default); coverage (S, A, S)
        distribution (uniform over all triples by default); backend as :func:`epic_distance`.
    Returns: float in [0, 1], or (B,) float64.
    """
    return _pearson_distance("dard", R1, R2, tau, gamma, None, D_A, coverage, backend, "dard_distance")


def pairwise_distances(R1, R2, tau, gamma, *, canons, norms, metrics, pi0=None, backend="auto"):
    """Every requested (canon, norm, metric) distance for B reward pairs on one environment, at once.

    For each canonicalisation, c(R1) and c(R2) are computed once for the whole batch (one factorisation
    per environment, spec §10), standardised once per norm and compared under every metric. When
    "epic" or "dard" is among ``canons``, the original Pearson distances are added under the keys
    ("epic_pearson", None, None) and ("dard_pearson", None, None) (uniform D_S, D_A and coverage).
    The batch is processed in chunks of about 2 MB per array on the CPU (8 MB for C_VAL alone), 32 MB on a GPU.

    Parameters: R1, R2 (B, S, A, S) batches of the same B, or one of them a single reward (S, A, S)
        (or (S, A), (S,)); tau (S, A, S); gamma in [0, 1); canons sequence of keys of
        :data:`CANONICALISATIONS`; norms sequence of :data:`NORMS`; metrics sequence of :data:`METRICS`
        (a single string is accepted for each); pi0 for "val"/"val_potential" (None: uniform);
        backend "auto" | "numpy" | "numba" | "cupy" ("cupy" refuses the cvxpy-based canonicalisations;
        "auto" on a GPU solves those on the CPU and the rest on the GPU).
    Returns: dict {(canon, norm, metric): (B,) float64 array} (B = 1 when both inputs are single rewards),
        plus the Pearson keys above. Values equal :func:`starc_distance` with the same arguments.
    """
    where = "pairwise_distances"
    canons = _names("canons", canons, tuple(CANONICALISATIONS), where)
    norms = _names("norms", norms, NORMS, where)
    metrics = _names("metrics", metrics, METRICS, where)
    specs = [CANONICALISATIONS[c] for c in canons]
    if backend == "cupy" and any(s.uses_cvxpy for s in specs):
        bad = [s.name for s in specs if s.uses_cvxpy]
        raise ParamError(where, "canons", "free of cvxpy-based canonicalisations with backend 'cupy' "
                         "(use backend 'auto' or 'numpy' for them)", bad)
    env, R1, R2, _, _ = _setup_pair(R1, R2, tau, gamma, where, pi0=pi0, backend=backend)
    cov = None
    if any(s.name in ("epic", "dard") for s in specs):
        cov = env.arr(np.full(env.S * env.A * env.S, 1.0 / (env.S * env.A * env.S)))
    return _run_grid(env, R1, R2, specs, norms, metrics, where, pearson_cov=cov)
