"""Regret and the regret bounds of STARC metrics (spec §7): exact regrets on small MDPs, a computable
upper bound, equivalence of policy orderings, and empirical estimates of the soundness and completeness
constants.

Definitions (spec §7, paraphrasing [STARC]; exact wording UNCONFIRMED: the paper's text was not
reachable from here beyond its abstract, which states that "STARC metrics induce both an upper and a
lower bound on worst-case regret"). With range(J1) = max_pi J1(pi) - min_pi J1(pi):

* sound:    exists U > 0, for all R1, R2 and all pi1, pi2 with J2(pi2) >= J2(pi1):
            J1(pi1) - J1(pi2) <= U range(J1) d(R1, R2);
* complete: exists L > 0, for all R1, R2 some pi1, pi2 with J2(pi2) >= J2(pi1) have
            J1(pi1) - J1(pi2) >= L range(J1) d(R1, R2).

So both compare d with the *worst-case normalised regret*
WCR(R1, R2) = sup { J1(pi1) - J1(pi2) : J2(pi2) >= J2(pi1) } / range(J1)    (:func:`worst_case_regret`):
L d <= WCR <= U d. [STARC] proves that every STARC metric is sound and complete; U and L depend on the
environment and on (c, n, m) and are existence constants (spec: no closed form, UNCONFIRMED).
Hence this module offers:

* :func:`regret_upper_bound`: a *computable* per-instance inequality, derived in the spec (not the
  paper's statement) and proved below; it holds for every canonicalisation with R - c(R) in W;
* :func:`worst_case_regret` (exact, by LP over occupancy measures, or by enumerating deterministic
  policies) and :func:`normalised_regret` (the regret of optimising R2 when the truth is R1);
* :func:`empirical_bound_constants`: *estimates* of L and U from random instances (min and max of
  WCR / d): an estimate of L from above and of U from below, never a certified bound. No honest closed
  form lower bound is known to us, so none is offered;
* :func:`policy_ordering_equivalent`: the exact test of spec §7 / §11.8 on tiny MDPs.

Returns are J_R(pi) = mu0 . V^pi_R (:mod:`regretlab.core.mdp`); mu0 should have full support (spec §1:
otherwise rewards that differ only on unreachable states have the same J but d > 0).

References: [STARC] Skalse et al., ICLR 2024, arXiv 2309.15257. [Puterman94] for the occupancy-measure
LP (§6.9).
"""
from __future__ import annotations

import numpy as np

from regretlab.core.mdp import SolveResult, all_deterministic_policies, discounted_occupancy, policy_iteration
from regretlab.core.validate import ParamError, check_choice, check_float, check_int, check_rng

from .canon import (
    _as_rewards,
    _broadcast_batches,
    _canon_batch,
    _check_canon,
    _check_dist,
    _check_gamma,
    _check_tau,
    _to_numpy,
)
from .distances import _scale, _setup_pair, starc_distance
from .norms import METRICS, NORMS, TRIVIAL_EPS, TRIVIAL_EPS_CVXPY, _standardise

__all__ = [
    "deterministic_returns",
    "empirical_bound_constants",
    "normalised_regret",
    "policy_ordering_equivalent",
    "regret_upper_bound",
    "worst_case_regret",
]

RANGE_RTOL = 1e-10  # range(J1) <= RANGE_RTOL * max|Rbar1| / (1 - gamma): R1 is trivial, regret 0


def _setup_returns(R1, R2, tau, gamma, mu0, where):
    """Validate; returns tau, gamma, mu0, Rbar1 (B1, S, A), Rbar2 (B2, S, A) or None, batched flag."""
    tau = _check_tau(tau, where)
    S, A = tau.shape[0], tau.shape[1]
    gamma = _check_gamma(gamma, where)
    mu0 = _check_dist("mu0", mu0, S, where)
    R1, b1 = _as_rewards("R1", R1, S, A, where)
    Rb1 = (R1 * tau[None]).sum(axis=-1)
    if R2 is None:
        return tau, gamma, mu0, Rb1, None, b1
    R2, b2 = _as_rewards("R2", R2, S, A, where)
    _broadcast_batches(R1.shape[0], R2.shape[0], b1, b2, where)
    return tau, gamma, mu0, Rb1, (R2 * tau[None]).sum(axis=-1), b1 or b2


def _returns(tau, gamma, mu0, Rbar, max_policies, where):
    """J[b, k] over all deterministic policies k (order of all_deterministic_policies)."""
    S, A = tau.shape[0], tau.shape[1]
    if A**S > max_policies:
        raise ParamError(where, "max_policies", f">= A**S = {A}**{S} = {A**S} (every deterministic policy is "
                         "enumerated: use a smaller MDP, or method='lp' where offered)", max_policies)
    pols = all_deterministic_policies(S, A, max_count=max_policies)
    d = discounted_occupancy(tau, gamma, pols, mu0)  # (K, S, A), sums to 1
    return np.einsum("ksa,bsa->bk", d, Rbar) / (1.0 - gamma), pols


def _range_J(tau, gamma, mu0, Rbar):
    """range(J) = max_pi J - min_pi J (B,), by exact policy iteration on Rbar and -Rbar."""
    hi = policy_iteration(tau, Rbar, gamma).V.reshape(Rbar.shape[0], -1) @ mu0
    lo = -(policy_iteration(tau, -Rbar, gamma).V.reshape(Rbar.shape[0], -1) @ mu0)
    return hi - lo


def _span_tol(Rbar, gamma):
    return RANGE_RTOL * np.maximum(np.abs(Rbar).reshape(Rbar.shape[0], -1).max(axis=1), 1e-300) / (1.0 - gamma)


def deterministic_returns(R, tau, gamma, mu0, *, max_policies=2**16):
    """J_R(pi) = mu0 . V^pi_R for every deterministic stationary policy (A^S of them).

    Computed from the discounted occupancy measures of :func:`regretlab.core.mdp.discounted_occupancy`
    (one solve per policy, shared by all rewards).
    Parameters: R reward(s) (forms of :mod:`regretlab.starc.canon`); tau (S, A, S); gamma in [0, 1);
        mu0 (S,) distribution; max_policies: refuse MDPs with more than this many policies.
    Returns: (J, policies): J (K,) or (B, K) float64, policies (K, S) int64 in the order of
        :func:`regretlab.core.mdp.all_deterministic_policies`.
    """
    where = "deterministic_returns"
    tau, gamma, mu0, Rbar, _, batched = _setup_returns(R, None, tau, gamma, mu0, where)
    max_policies = check_int("max_policies", max_policies, low=1, where=where)
    J, pols = _returns(tau, gamma, mu0, Rbar, max_policies, where)
    return (J if batched else J[0]), pols


def _wcr_enumerate(J1, J2, tol2):
    """max_{i,j: J2[j] >= J2[i] - tol} J1[i] - J1[j] for each row, in O(K log K)."""
    out = np.empty(J1.shape[0])
    for b in range(J1.shape[0]):
        order = np.argsort(J2[b], kind="stable")
        j2s, j1s = J2[b][order], J1[b][order]
        sufmin = np.minimum.accumulate(j1s[::-1])[::-1]  # min J1 over positions >= p (J2 ascending)
        first = np.searchsorted(j2s, J2[b] - tol2[b], side="left")
        out[b] = np.max(J1[b] - sufmin[first])
    return out


def _wcr_lp(tau, gamma, mu0, r1, r2):
    """sup over stationary pi1, pi2 with J2(pi2) >= J2(pi1) of J1(pi1) - J1(pi2), by an LP over
    occupancy measures x (S*A,) >= 0 with sum_a x(s', a) - gamma sum_{s,a} tau[s, a, s'] x(s, a) = mu0(s')
    ([Puterman94, §6.9]; every such x is the occupancy of a stationary policy)."""
    from scipy.optimize import linprog

    S, A = tau.shape[0], tau.shape[1]
    F = np.repeat(np.eye(S), A, axis=1) - gamma * tau.reshape(S * A, S).T  # (S, S*A)
    Z = np.zeros_like(F)
    A_eq = np.block([[F, Z], [Z, F]])
    b_eq = np.concatenate([mu0, mu0])
    v1, v2 = r1.reshape(-1), r2.reshape(-1)
    res = linprog(-np.concatenate([v1, -v1]), A_ub=np.concatenate([v2, -v2])[None], b_ub=[0.0],
                  A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status != 0:  # pragma: no cover - feasible (pi1 = pi2) and bounded
        raise RuntimeError(f"worst_case_regret: linprog failed: {res.message}")
    return max(-res.fun, 0.0)


def worst_case_regret(R1, R2, tau, gamma, mu0, *, method="enumerate", max_policies=2**16):
    """Worst-case normalised regret WCR(R1, R2) = sup {J1(pi1) - J1(pi2) : J2(pi2) >= J2(pi1)} / range(J1).

    The quantity that soundness bounds from above and completeness from below (module docstring).
    ``method``:

    * "enumerate" (tiny MDPs): the sup over pairs of *deterministic* policies, all A^S of them (ties in
      J2 within 1e-12 max(1, max|J2|) count as >=). This can be smaller than the sup over stochastic
      policies: the constraint J2(pi2) >= J2(pi1) can cut the occupancy polytope between vertices;
    * "lp": the exact sup over all stationary (stochastic) policies, a linear program over the two
      occupancy measures (scipy HiGHS), one per pair.

    range(J1) is max - min over deterministic policies (attained there; by enumeration, or by policy
    iteration on R1 and -R1 for "lp", which needs no enumeration and suits larger MDPs). When R1 is trivial
    (range(J1) <= 1e-10 max|Rbar1| / (1 - gamma)) the result is 0.

    Parameters: R1, R2 reward(s) (one broadcasts against a batch); tau (S, A, S); gamma in [0, 1);
        mu0 (S,) distribution (full support: spec §1); method "enumerate" | "lp";
        max_policies: refuse MDPs with more deterministic policies ("enumerate" only).
    Returns: float in [0, 1], or (B,) float64.
    """
    where = "worst_case_regret"
    tau, gamma, mu0, Rb1, Rb2, batched = _setup_returns(R1, R2, tau, gamma, mu0, where)
    method = check_choice("method", method, ("enumerate", "lp"), where=where)
    max_policies = check_int("max_policies", max_policies, low=1, where=where)
    B = max(Rb1.shape[0], Rb2.shape[0])
    Rb1 = np.broadcast_to(Rb1, (B,) + Rb1.shape[1:])
    Rb2 = np.broadcast_to(Rb2, (B,) + Rb2.shape[1:])
    if method == "enumerate":
        J1, _ = _returns(tau, gamma, mu0, Rb1, max_policies, where)
        rng1 = J1.max(axis=1) - J1.min(axis=1)
    else:
        rng1 = _range_J(tau, gamma, mu0, Rb1)
    trivial = rng1 <= _span_tol(Rb1, gamma)
    if method == "enumerate":
        J2, _ = _returns(tau, gamma, mu0, Rb2, max_policies, where)
        tol2 = 1e-12 * np.maximum(1.0, np.abs(J2).max(axis=1))
        worst = _wcr_enumerate(J1, J2, tol2)
    else:
        worst = np.array([_wcr_lp(tau, gamma, mu0, Rb1[b], Rb2[b]) for b in range(B)])
    out = np.where(trivial, 0.0, worst / np.where(trivial, 1.0, rng1))
    out = np.clip(out, 0.0, None)
    return out if batched else float(out[0])


def normalised_regret(R1, R2, tau, gamma, mu0):
    """Normalised regret of optimising R2 when the truth is R1 (spec §7, instance of soundness):

        (J1(pi1*) - J1(pi2*)) / (J1(pi1*) - J1(w1)),

    pi1* optimal for R1, w1 optimal for -R1 (so the denominator is range(J1)), pi2* the deterministic
    optimal policy of R2 returned by :func:`regretlab.core.mdp.policy_iteration` (exact; among tied
    optimal actions it keeps the greedy start's, the lowest index). 0 when R1 is trivial (as
    :func:`worst_case_regret`). 0 when R2 is equivalent to R1, 1 for R2 = -R1.

    Parameters: R1, R2 reward(s); tau (S, A, S); gamma in [0, 1); mu0 (S,) distribution.
    Returns: float in [0, 1], or (B,) float64.
    """
    where = "normalised_regret"
    tau, gamma, mu0, Rb1, Rb2, batched = _setup_returns(R1, R2, tau, gamma, mu0, where)
    B = max(Rb1.shape[0], Rb2.shape[0])
    Rb1 = np.broadcast_to(Rb1, (B,) + Rb1.shape[1:])
    Rb2 = np.broadcast_to(Rb2, (B,) + Rb2.shape[1:])
    S = tau.shape[0]
    pols = np.stack([policy_iteration(tau, Rb1, gamma).policy.reshape(B, S),
                     policy_iteration(tau, -Rb1, gamma).policy.reshape(B, S),
                     policy_iteration(tau, Rb2, gamma).policy.reshape(B, S)], axis=1)  # (B, 3, S)
    d = discounted_occupancy(tau, gamma, pols, mu0)  # (B, 3, S, A)
    J = np.einsum("bksa,bsa->bk", d, Rb1) / (1.0 - gamma)
    rng1 = J[:, 0] - J[:, 1]
    trivial = rng1 <= _span_tol(Rb1, gamma)
    out = np.where(trivial, 0.0, (J[:, 0] - J[:, 2]) / np.where(trivial, 1.0, rng1))
    out = np.clip(out, 0.0, 1.0)  # rounding only: pi1* is optimal
    return out if batched else float(out[0])


def regret_upper_bound(R1, R2, tau, gamma, *, canon="val", norm="w_l2", pi0=None, backend="auto"):
    """A computable upper bound on the regret J1(pi1) - J1(pi2), valid for every pair of (stationary,
    possibly stochastic) policies with J2(pi2) >= J2(pi1) (spec §7; derived there, not [STARC]'s
    statement):

        J1(pi1) - J1(pi2) <= (2 / (1 - gamma)) n(c(R1)) max_{s,a} | sum_s' tau[s, a, s'] (s1 - s2)[s, a, s'] |,

    s_i = s(R_i) = c(R_i) / n(c(R_i)). In particular it bounds the regret of pi2 = an optimal policy of R2
    against pi1 = an optimal policy of R1 (both deterministic or not), in the units of R1's return; divide
    by range(J1) to compare with :func:`normalised_regret`.

    Proof. (1) R1 - c(R1) lies in W, so J_{R1} = n(c(R1)) J_{s1} + const (shaping shifts every J by
    -mu0.Phi, S'-redistribution changes no J). (2) J_{s2} is a positive multiple of J_{R2} plus a constant
    (or constant when R2 is trivial, s2 = 0), so J_{s2}(pi2) >= J_{s2}(pi1). (3) Hence
    J_{s1}(pi1) - J_{s1}(pi2) <= J_{s1 - s2}(pi1) - J_{s1 - s2}(pi2) <= 2 max_pi |J_{s1 - s2}(pi)| and
    |J_X(pi)| <= max_{s,a} |E_tau X| / (1 - gamma). Step (1) needs only R - c(R) in W, so the bound holds
    for every registered canonicalisation with ``shaping_only`` (all but "dard", which is refused), and
    for any norm n used consistently (its value depends on the choice of n).
    A trivial R1 (n(c(R1)) below the threshold of norms.py) gets the bound 0 (J1 is constant).

    Parameters: R1, R2 reward(s) (one broadcasts against a batch); tau (S, A, S); gamma in [0, 1);
        canon a key of CANONICALISATIONS with R - c(R) in W; norm one of NORMS ("none": n = 1);
        pi0 for "val"/"val_potential"; backend as :func:`regretlab.starc.starc_distance`.
    Returns: float >= 0, or (B,) float64.
    """
    where = "regret_upper_bound"
    spec = _check_canon(canon, where)
    if not spec.shaping_only:
        raise ParamError(where, "canon", "a canonicalisation with R - c(R) in W (every registered one but 'dard')",
                         canon)
    norm = check_choice("norm", norm, NORMS, where=where)
    env, R1, R2, _, batched = _setup_pair(R1, R2, tau, gamma, where, pi0=pi0, backend=backend,
                                          needs_cpu=spec.uses_cvxpy)
    xp = env.xp
    eps = TRIVIAL_EPS_CVXPY if spec.uses_cvxpy else TRIVIAL_EPS
    form, C1 = _canon_batch(spec, xp.asarray(R1), env, where)
    _, C2 = _canon_batch(spec, xp.asarray(R2), env, where)
    s1, n1, t1 = _standardise(xp, form, C1, env.tau, norm, xp.asarray(_scale(R1)), eps)
    s2, _, _ = _standardise(xp, form, C2, env.tau, norm, xp.asarray(_scale(R2)), eps)
    diff = s1 - s2
    if form == "compact":
        E = diff * env.tau.sum(axis=-1)
    else:
        E = (diff * env.tau).sum(axis=-1)
    n1 = xp.where(t1, 0.0, n1)
    bound = _to_numpy((2.0 / (1.0 - env.gamma)) * n1 * xp.abs(E).reshape(E.shape[0], -1).max(axis=1))
    B = max(R1.shape[0], R2.shape[0])
    bound = np.broadcast_to(bound, (B,)).copy()
    return bound if batched else float(bound[0])


def policy_ordering_equivalent(R1, R2, tau, gamma, mu0, *, rtol=1e-8, max_policies=2**16):
    """Whether R1 and R2 induce the same ordering of all policies, decided exactly on a small MDP (spec §7).

    J is linear in the occupancy measure and the occupancy polytope is the hull of the deterministic
    policies' occupancies, so the orderings agree iff the vector (J1(pi)) over all deterministic pi is a
    positive affine function of (J2(pi)), or both are constant. Tested by least squares on the centred
    vectors x, y (K,): constant when ||x|| <= rtol max(1, max|J|) sqrt(K); related when the fitted slope
    of y on x is > 0 and the residual is <= rtol ||y||.

    Parameters: R1, R2 reward(s); tau (S, A, S); gamma in [0, 1); mu0 (S,) with full support;
        rtol float > 0; max_policies as :func:`deterministic_returns`.
    Returns: bool, or (B,) bool array.
    """
    where = "policy_ordering_equivalent"
    tau, gamma, mu0, Rb1, Rb2, batched = _setup_returns(R1, R2, tau, gamma, mu0, where)
    rtol = check_float("rtol", rtol, low=0.0, low_open=True, where=where)
    max_policies = check_int("max_policies", max_policies, low=1, where=where)
    J1, _ = _returns(tau, gamma, mu0, Rb1, max_policies, where)
    J2, _ = _returns(tau, gamma, mu0, Rb2, max_policies, where)
    J1, J2 = np.broadcast_arrays(J1, J2)
    out = np.empty(J1.shape[0], dtype=bool)
    for b in range(J1.shape[0]):
        x, y = J1[b] - J1[b].mean(), J2[b] - J2[b].mean()
        nx, ny = np.linalg.norm(x), np.linalg.norm(y)
        cx = nx <= rtol * max(1.0, np.abs(J1[b]).max()) * np.sqrt(x.size)
        cy = ny <= rtol * max(1.0, np.abs(J2[b]).max()) * np.sqrt(y.size)
        if cx or cy:
            out[b] = cx and cy
            continue
        slope = (x @ y) / (nx * nx)
        out[b] = bool(slope > 0 and np.linalg.norm(y - slope * x) <= rtol * ny)
    return out if batched else bool(out[0])


def empirical_bound_constants(tau, gamma, mu0, *, canon="val", norm="w_l2", metric="w_l2", n_samples=64,
                              rng=0, method="lp", pi0=None):
    """ESTIMATES (not bounds) of the soundness and completeness constants U and L of one STARC metric on
    one environment (module docstring): the max and min of WCR(R1, R2) / d(R1, R2) over random pairs.

    Since U = sup WCR/d and L = inf WCR/d over all pairs, ``U_hat`` <= U and ``L_hat`` >= L: the sampled
    extremes approach them from inside, they certify nothing. Pairs: R1 ~ N(0, 1)^(S, A, S), R' likewise,
    R2 = (1 - lam) R1 + lam R' with lam ~ U(0, 1) (so small and large distances both occur). Pairs with
    d <= 1e-8 or a trivial R1 are skipped.

    Parameters: tau (S, A, S); gamma in [0, 1); mu0 (S,) full-support distribution; canon, norm, metric
        as :func:`regretlab.starc.starc_distance`; n_samples int >= 1; rng int seed >= 0, SeedSequence or
        numpy Generator (never the global state); method "lp" (exact WCR) | "enumerate" (tiny MDPs);
        pi0 for "val".
    Returns: :class:`regretlab.core.mdp.SolveResult` with L_hat, U_hat (floats, nan if no pair was usable),
        ratio (n,), d (n,), wcr (n,) for the n usable pairs, n_samples, method.
    """
    where = "empirical_bound_constants"
    tau = _check_tau(tau, where)
    gamma = _check_gamma(gamma, where)
    mu0 = _check_dist("mu0", mu0, tau.shape[0], where)
    canon = _check_canon(canon, where).name
    norm = check_choice("norm", norm, NORMS, where=where)
    metric = check_choice("metric", metric, METRICS, where=where)
    method = check_choice("method", method, ("enumerate", "lp"), where=where)
    n_samples = check_int("n_samples", n_samples, low=1, where=where)
    gen = check_rng(rng, where)
    shape = (n_samples,) + tau.shape
    R1 = gen.standard_normal(shape)
    lam = gen.random(n_samples)[:, None, None, None]
    R2 = (1.0 - lam) * R1 + lam * gen.standard_normal(shape)
    d = starc_distance(R1, R2, tau, gamma, canon=canon, norm=norm, metric=metric, pi0=pi0, backend="numpy")
    wcr = worst_case_regret(R1, R2, tau, gamma, mu0, method=method)
    ok = d > 1e-8
    ratio = wcr[ok] / d[ok]
    nan = float("nan")
    return SolveResult(L_hat=float(ratio.min()) if ratio.size else nan,
                       U_hat=float(ratio.max()) if ratio.size else nan,
                       ratio=ratio, d=d[ok], wcr=wcr[ok], n_samples=n_samples, method=method)
