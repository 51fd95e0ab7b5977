"""Full-information baselines for the experts setting (specs/llm-bandit-envs.md §2.2, §7) and their regret.

Losses are rescaled to [0, 1] by the sequence's known range before any learner sees them; regrets are reported
in the rescaled units (multiply by high - low for the raw units). Policies, with L_{t-1} the cumulative rescaled
losses before round t and d actions:

- ``hedge``: pi_t proportional to exp(-eta L_{t-1}), eta = sqrt(8 ln d / T) (fixed horizon). Guarantee for
  losses in [0, 1] on every sequence: Regret(T) <= sqrt(T ln d / 2) (Cesa-Bianchi and Lugosi, "Prediction,
  Learning, and Games", 2006, Theorem 2.2). The step is :func:`regretlab.core.ftrl.hedge_rows_xp`.
- ``hedge_anytime``: eta_t = sqrt(8 ln d / t).
- ``ftpl``: a_t = argmin_i (L_{t-1}(i) - xi_i), xi_i i.i.d. Gumbel(0, 1/eta) with the fixed-horizon eta: the
  same law as Hedge's pi_t (Gumbel-max trick), played as a point mass; its expected loss equals Hedge's.
  (Kalai and Vempala, "Efficient algorithms for online decision problems", JCSS 2005.)
- ``ftl``: follow the leader, the uniform distribution on argmin_i L_{t-1}(i) (ties split evenly).
- ``uniform``: pi_t = 1/d.

:func:`run_full_info` returns the played distributions and the regret curves:
external Regret(t) = sum_{s <= t} <l_s, pi_s> - min_i sum_{s <= t} l_s(i), and dynamic regret
sum_{s <= t} (<l_s, pi_s> - min_i l_s(i)).

Bandit feedback (spec §2.3, §7): :func:`run_exp3` plays EXP3 (Auer, Cesa-Bianchi, Freund, Schapire, "The
nonstochastic multiarmed bandit problem", SIAM J. Comput. 2002; the loss form without explicit mixing of
Bubeck and Cesa-Bianchi, "Regret analysis of stochastic and nonstochastic multi-armed bandit problems", 2012,
Sec. 3.1): pi_t proportional to exp(-eta L^_{t-1}) with the importance-weighted estimates
l^_t(i) = l_t(i) 1[a_t = i] / pi_t(i), eta = sqrt(2 ln K / (T K)). Guarantee against an oblivious sequence in
[0, 1]: E[sum_t <l_t, pi_t>] - min_i sum_t l_t(i) <= sqrt(2 T K ln K) (ibid., Theorem 3.1).
"""
from __future__ import annotations

import math

import numpy as np

from regretlab.core.ftrl import hedge_rows_xp
from regretlab.core.validate import ParamError, check_array, check_choice

__all__ = ["FULL_INFO_POLICIES", "exp3_eta", "exp3_regret_bound", "hedge_regret_bound", "run_exp3", "run_full_info"]

FULL_INFO_POLICIES = ("hedge", "hedge_anytime", "ftpl", "ftl", "uniform")


def hedge_regret_bound(T: int, d: int) -> float:
    """sqrt(T ln d / 2): Hedge's regret bound with eta = sqrt(8 ln d / T), losses in [0, 1]."""
    return math.sqrt(T * math.log(d) / 2.0)


def _loss_array(losses, where: str, n: str) -> np.ndarray:
    """Losses in [0, 1] as (R, T, n) (a (T, n) array is one replicate), n >= 2 actions."""
    L = check_array("losses", losses, where=where, low=0.0, high=1.0)
    if L.ndim == 2:
        L = L[None]
    if L.ndim != 3 or L.shape[2] < 2:
        raise ParamError(where, "losses", f"an array (R, T, {n}) or (T, {n}) with {n} >= 2 actions", L.shape)
    return L


def run_full_info(losses, policy: str, rng=None) -> dict:
    """Play ``policy`` on rescaled losses (R, T, d) in [0, 1] (or (T, d): one replicate).

    ``rng`` (Generator or seed) is used by ``ftpl`` only. Returns {"pi": (R, T, d), "loss": (R, T) per-round
    <l_t, pi_t>, "regret": (R, T) external regret of each prefix, "dynamic_regret": (R, T)}.
    """
    where = "run_full_info"
    policy = check_choice("policy", policy, FULL_INFO_POLICIES, where=where)
    L = _loss_array(losses, where, "d")
    R, T, d = L.shape
    cum = np.zeros((R, d))
    pi = np.zeros((R, T, d))
    eta = math.sqrt(8.0 * math.log(d) / T)
    gen = np.random.default_rng(rng) if policy == "ftpl" else None
    for t in range(T):
        if policy == "hedge":
            p = hedge_rows_xp(cum, eta, np)
        elif policy == "hedge_anytime":
            p = hedge_rows_xp(cum, math.sqrt(8.0 * math.log(d) / (t + 1)), np)
        elif policy == "ftpl":
            xi = gen.gumbel(0.0, 1.0 / eta, size=(R, d))
            p = np.zeros((R, d))
            p[np.arange(R), np.argmin(cum - xi, axis=1)] = 1.0
        elif policy == "ftl":
            lead = cum == cum.min(axis=1, keepdims=True)
            p = lead / lead.sum(axis=1, keepdims=True)
        else:
            p = np.full((R, d), 1.0 / d)
        pi[:, t] = p
        cum = cum + L[:, t]
    loss = np.einsum("rtd,rtd->rt", pi, L)
    prefix = np.cumsum(L, axis=1).min(axis=2)
    return {"pi": pi, "loss": loss, "regret": np.cumsum(loss, axis=1) - prefix,
            "dynamic_regret": np.cumsum(loss - L.min(axis=2), axis=1)}


def exp3_eta(T: int, K: int) -> float:
    """sqrt(2 ln K / (T K)): EXP3's fixed-horizon learning rate (spec §7)."""
    return math.sqrt(2.0 * math.log(K) / (T * K))


def exp3_regret_bound(T: int, K: int) -> float:
    """sqrt(2 T K ln K): EXP3's expected-regret bound with :func:`exp3_eta`, losses in [0, 1]."""
    return math.sqrt(2.0 * T * K * math.log(K))


def run_exp3(losses, rng=None, eta: float | None = None) -> dict:
    """EXP3 (module docstring) on rescaled losses (R, T, K) in [0, 1] (or (T, K): one replicate), bandit feedback.

    ``rng`` (Generator or seed) draws a_t ~ pi_t by inversion of one uniform per replicate and round; ``eta``
    defaults to :func:`exp3_eta`. Returns {"pi": (R, T, K), "actions": (R, T), "loss": (R, T) <l_t, pi_t>,
    "regret": (R, T) expected-play external regret of each prefix, "realized_regret": (R, T) with l_t(a_t)}.
    """
    where = "run_exp3"
    L = _loss_array(losses, where, "K")
    R, T, K = L.shape
    if eta is None:
        eta = exp3_eta(T, K)
    elif not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise ParamError(where, "eta", "a finite number > 0", eta)
    gen = np.random.default_rng(rng)
    est = np.zeros((R, K))
    pi = np.zeros((R, T, K))
    actions = np.zeros((R, T), dtype=np.int64)
    rows = np.arange(R)
    for t in range(T):
        p = hedge_rows_xp(est, float(eta), np)
        c = np.cumsum(p, axis=1)
        c[:, -1] = np.inf  # the last action takes whatever rounding leaves above the cumulative sum
        a = np.argmax(c > gen.random(R)[:, None], axis=1)
        pi[:, t], actions[:, t] = p, a
        est[rows, a] += L[rows, t, a] / p[rows, a]
    loss = np.einsum("rtk,rtk->rt", pi, L)
    best = np.cumsum(L, axis=1).min(axis=2)
    seen = np.take_along_axis(L, actions[:, :, None], axis=2)[:, :, 0]
    return {"pi": pi, "actions": actions, "loss": loss, "regret": np.cumsum(loss, axis=1) - best,
            "realized_regret": np.cumsum(seen, axis=1) - best}
