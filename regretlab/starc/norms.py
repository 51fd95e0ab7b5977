"""Norms n and metrics m on rewards, and the standardisation s(R) = c(R) / n(c(R)) of [STARC].

Spec sections 4-5 (specs/starc-metrics.md). For X[s, a, s'] of shape (..., S, A, S), summing over
the last three axes (the options of the authors' code, ``src/distance/norm.py``, per the spec):

==========  ==========================================  ==========================================
name        n(X)                                        on C_VAL's compact (S, A) array ``adv``
==========  ==========================================  ==========================================
"l1"        sum |X|                                     S sum |adv|
"l2"        sqrt(sum X^2)                               sqrt(S sum adv^2)
"linf"      max |X|                                     max |adv|
"w_l1"      sum tau |X|                                 sum |adv| (rows of tau sum to 1)
"w_l2"      sqrt(sum tau X^2)                           sqrt(sum adv^2)
"w_linf"    max tau |X|                                 max_{s,a} |adv[s, a]| max_s' tau[s, a, s']
"none"      1 (no normalisation; a baseline)            1
==========  ==========================================  ==========================================

The tau-weighted norms weigh by tau itself (no state-action weighting), and are only seminorms on the
whole space, norms on the image of C_VAL and of the minimal canonicalisation (spec §4). The compact
column is exact (it uses the actual row sums of tau, not 1): C_VAL's broadcast array is constant in s'
over every s', so the unweighted norms are S^{1/p} times the weighted ones.

A metric m(x, y) = n'(x - y) for any of the six norms n' (not "none"), :data:`METRICS`.

Standardisation and trivial rewards (spec §4, §12). A reward is trivial when c(R) = 0. In floating
point the test is n(c(R)) <= eps * scale * n(1), with ``scale`` the magnitude of the reward c was
applied to (max |R| over its S*A*S entries in :mod:`regretlab.starc.distances`), n(1) the norm of the
all-ones reward (so the threshold does not depend on which norm is used), and eps = 1e-8
(:data:`TRIVIAL_EPS`; 1e-7 for the cvxpy-based canonicalisations, :data:`TRIVIAL_EPS_CVXPY`, whose
solutions carry the solver's tolerance). A trivial reward is standardised to 0, so d(trivial,
trivial) = 0 and, when m is the metric of n, d(trivial, non-trivial) = m(0, s) = 1.
Why 1e-8: dividing by n(c(R)) multiplies the rounding error of c(R) (about 1e-16 of max|R| per entry)
by max|R| / n(c(R)). At eps = 1e-10 the standardised rewards of "near-trivial" rewards (the paper's
sparse rewards that sit on transitions of probability ~2e-9, spec §9) differed between the NumPy and
the CuPy paths by 1e-4; at 1e-8 by 1.5e-8 (measured on an H100 with the paper's protocol). Rewards
below the threshold are trivial *to float64*, not necessarily in exact arithmetic. With n = "none",
s(R) = c(R) (no division, no test).

References: [STARC] Skalse et al., ICLR 2024, arXiv 2309.15257.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.validate import check_choice, check_float

__all__ = ["METRICS", "NORMS", "TRIVIAL_EPS", "TRIVIAL_EPS_CVXPY", "reward_metric", "reward_norm", "standardise"]

NORMS = ("l1", "l2", "linf", "w_l1", "w_l2", "w_linf", "none")
"""Normalisation names n; "none" means n = 1."""
METRICS = ("l1", "l2", "linf", "w_l1", "w_l2", "w_linf")
"""Metric names m: m(x, y) = n'(x - y) for the norm n' of that name."""
TRIVIAL_EPS = 1e-8
TRIVIAL_EPS_CVXPY = 1e-7

_AX = (-3, -2, -1)


def _norm_full(xp, X, tau, name):
    """n(X) over the last three axes of X (..., S, A, S)."""
    if name == "none":
        return xp.ones(X.shape[:-3])
    if name == "l1":
        return xp.abs(X).sum(axis=_AX)
    if name == "l2":
        return xp.sqrt((X * X).sum(axis=_AX))
    if name == "linf":
        return xp.abs(X).max(axis=_AX)
    if name == "w_l1":
        return (tau * xp.abs(X)).sum(axis=_AX)
    if name == "w_l2":
        return xp.sqrt((tau * X * X).sum(axis=_AX))
    return (tau * xp.abs(X)).max(axis=_AX)  # w_linf


def _norm_compact(xp, adv, tau, name):
    """n of adv (..., S, A) broadcast over s' to (..., S, A, S), without forming the broadcast."""
    S = tau.shape[0]
    ax = (-2, -1)
    if name == "none":
        return xp.ones(adv.shape[:-2])
    if name == "l1":
        return S * xp.abs(adv).sum(axis=ax)
    if name == "l2":
        return xp.sqrt(S * (adv * adv).sum(axis=ax))
    if name == "linf":
        return xp.abs(adv).max(axis=ax)
    if name == "w_l1":
        return (tau.sum(axis=-1) * xp.abs(adv)).sum(axis=ax)
    if name == "w_l2":
        return xp.sqrt((tau.sum(axis=-1) * adv * adv).sum(axis=ax))
    return (tau.max(axis=-1) * xp.abs(adv)).max(axis=ax)  # w_linf


def _norms_many(xp, form, X, tau, names):
    """{name: n(X)} for several norms, sharing |X| and X^2 (the grid's inner loop)."""
    if form == "compact" or len(names) == 1:
        return {n: _norm_any(xp, form, X, tau, n) for n in names}
    ad = xp.abs(X)
    sq = ad * ad if any(n.endswith("l2") for n in names) else None
    out = {}
    for n in names:
        if n == "l1":
            out[n] = ad.sum(axis=_AX)
        elif n == "l2":
            out[n] = xp.sqrt(sq.sum(axis=_AX))
        elif n == "linf":
            out[n] = ad.max(axis=_AX)
        elif n == "w_l1":
            out[n] = (tau * ad).sum(axis=_AX)
        elif n == "w_l2":
            out[n] = xp.sqrt((tau * sq).sum(axis=_AX))
        elif n == "w_linf":
            out[n] = (tau * ad).max(axis=_AX)
        else:
            out[n] = xp.ones(X.shape[:-3])
    return out


def _norm_any(xp, form, X, tau, name):
    return _norm_compact(xp, X, tau, name) if form == "compact" else _norm_full(xp, X, tau, name)


def _unit_norm(tau, name):
    """n(1): the norm of the all-ones reward (S, A, S), a Python float."""
    return float(_norm_full(np, np.ones(tau.shape), np.asarray(tau), name))


def _standardise(xp, form, C, tau, name, scale, eps):
    """s = C / n(C), 0 where n(C) <= eps * scale * n(1) (trivial); C (B, ...) and scale (B,) or float.

    Returns (s, n(C), trivial mask)."""
    nC = _norm_any(xp, form, C, tau, name)
    if name == "none":
        return C, nC, xp.zeros(nC.shape, dtype=bool)
    trivial = nC <= eps * scale * _unit_norm(_np(tau), name)
    safe = xp.where(trivial, 1.0, nC)
    shape = nC.shape + (1,) * (C.ndim - nC.ndim)
    s = xp.where(trivial.reshape(shape), 0.0, C / safe.reshape(shape))
    return s, nC, trivial


def _np(x):
    return x if isinstance(x, np.ndarray) else x.get()


def _rewards(name, X, tau, where):
    from .canon import _as_rewards, _check_tau

    tau = _check_tau(tau, where)
    X4, batched = _as_rewards(name, X, tau.shape[0], tau.shape[1], where)
    return X4, batched, tau


def reward_norm(X, tau, norm="w_l2"):
    """n(X) for one reward or a batch (table in the module docstring).

    Parameters: X (S, A, S) or (B, S, A, S) (or (S, A), (S,) broadcast as in :mod:`regretlab.starc.canon`);
        tau (S, A, S); norm one of :data:`NORMS`.
    Returns: float for one reward, (B,) float64 for a batch.
    """
    where = "reward_norm"
    norm = check_choice("norm", norm, NORMS, where=where)
    X4, batched, tau = _rewards("X", X, tau, where)
    out = _norm_full(np, X4, tau, norm)
    return out if batched else float(out[0])


def reward_metric(X, Y, tau, metric="w_l2"):
    """m(X, Y) = n'(X - Y) for the norm n' named ``metric`` (one of :data:`METRICS`).

    Parameters: X, Y rewards as :func:`reward_norm` (batches broadcast: (S, A, S) against (B, S, A, S)
        is allowed); tau (S, A, S).
    Returns: float, or (B,) float64 when either is a batch.
    """
    where = "reward_metric"
    metric = check_choice("metric", metric, METRICS, where=where)
    X4, bx, tau = _rewards("X", X, tau, where)
    Y4, by, _ = _rewards("Y", Y, tau, where)
    from .canon import _broadcast_batches

    _broadcast_batches(X4.shape[0], Y4.shape[0], bx, by, where, names=("X", "Y"))
    out = _norm_full(np, X4 - Y4, tau, metric)
    return out if (bx or by) else float(out[0])


def standardise(C, tau, norm="w_l2", *, scale=1.0, eps=TRIVIAL_EPS):
    """The standardised reward s = C / n(C) of [STARC] (spec §4), with trivial C mapped to 0.

    C is trivial when n(C) <= eps * scale * n(1) (see the module docstring): pass as ``scale`` the
    magnitude of the reward C was canonicalised from (e.g. max |R|), so that rounding noise in c(R) of
    a trivial R is recognised. With norm "none", C is returned unchanged (n = 1).

    Parameters: C canonicalised reward(s) (S, A, S) or (B, S, A, S); tau (S, A, S); norm one of
        :data:`NORMS`; scale float >= 0 or (B,) array; eps float >= 0.
    Returns: an array of C's shape.
    """
    where = "standardise"
    norm = check_choice("norm", norm, NORMS, where=where)
    C4, batched, tau = _rewards("C", C, tau, where)
    eps = check_float("eps", eps, low=0.0, where=where)
    if np.ndim(scale) == 0:
        scale = check_float("scale", scale, low=0.0, where=where)
    else:
        from regretlab.core.validate import check_array

        scale = check_array("scale", scale, where=where, low=0.0, shape=(C4.shape[0],))
    s, _, _ = _standardise(np, "full", C4, tau, norm, scale, eps)
    return s if batched else s[0]
