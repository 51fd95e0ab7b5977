"""Exploration metrics of the LLM-bandit literature, computed from recorded histories (specs/llm-bandit-envs.md §6).

Inputs are histories of R replicates over T rounds (rounds are 1-indexed in the definitions, 0-indexed in the
arrays): ``actions`` (R, T) int in [0, K), ``rewards`` (R, T) float, and the true ``means`` (K,). "A best arm"
is any arm whose mean equals max(means) (the set of best arms).

- :func:`pseudo_regret`: R^r(t) = sum_{s <= t} (mu* - mu_{a_s}) (§6.1).
- :func:`suffix_failure`: SuffFail(t, r) = 1 if no best arm is chosen in rounds t..T inclusive; the curve of
  SuffFailFreq(t) over t = 1..T ([K24], §6.2).
- :func:`min_frac`: MinFrac(t) = mean_r min_a N_a^r(t) / t, t = 1..T ([K24]); report K MinFrac(T).
- :func:`greedy_frac`: the share of rounds whose action is in the greedy set (arms with the largest empirical
  mean over the rounds before t), with the three conventions of §6.2 for unplayed arms (``optimistic``, the
  default; ``played_only``; ``all_played_rounds_only``). Empirical means are one division of the sum by the
  count, compared exactly.
- :func:`reward_summary`: per-replicate average reward Phi^r, its rescaling (Phi - mu_min) / (mu* - mu_min),
  their median (``numpy.median``) and mean ([K24] MedianReward).
- :func:`best_arm_freq`, :func:`early_failure` (§6.3: SuffFailFreq at t0 = max(2K, ceil(T/10)) -- [C25]'s
  exact t0 UNCONFIRMED --, the share of replicates with best-arm frequency < 0.1, and "best arm never tried").
- :func:`bandit_outputs`: the outputs of the vectorised bandit simulator computed from histories (the harness).
- :func:`k24_summary`: the [K24] table row (median reward, SuffFailFreq(T/2) with t = floor(T/2), K MinFrac(T),
  GreedyFrac).

Repeated games (§6.7): :func:`external_regret`, :func:`cce_gap`, :func:`nash_gap` for two players with payoff
matrices U1, U2 (n1, n2) (row player plays i, column player j).

References: [K24] Krishnamurthy, Harris, Foster, Zhang, Slivkins, "Can large language models explore
in-context?", NeurIPS 2024, arXiv 2403.15371 (Sec. 3, surrogate statistics). [C25] Chen et al., "When Greedy
Wins", ICLR 2026, arXiv 2509.24923. [P25] Park, Liu, Ozdaglar, Zhang, "Do LLM Agents Have Regret?", ICLR 2025,
arXiv 2403.16843 (regret in games; the sub-linearity tests are :func:`regretlab.core.stats.sublinear_tests`).
"""
from __future__ import annotations

import math

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_choice, check_int

__all__ = ["GREEDY_CONVENTIONS", "bandit_outputs", "best_arm_freq", "cce_gap", "early_failure", "external_regret",
           "greedy_frac", "k24_summary", "min_frac", "nash_gap", "pseudo_regret", "reward_summary", "suffix_failure"]

GREEDY_CONVENTIONS = ("optimistic", "played_only", "all_played_rounds_only")


def _check_history(actions, means, where, rewards=None):
    mu = check_array("means", means, ndim=1, where=where)
    K = mu.size
    if K < 1:
        raise ParamError(where, "means", "at least one arm", mu)
    a = np.asarray(actions)
    if a.ndim != 2 or a.shape[1] < 1 or a.shape[0] < 1:
        raise ParamError(where, "actions", "an (R, T) integer array with R, T >= 1", a.shape)
    if not np.issubdtype(a.dtype, np.integer):
        raise ParamError(where, "actions", "integers (arm indices)", a.dtype)
    if a.min() < 0 or a.max() >= K:
        raise ParamError(where, "actions", f"arm indices in [0, {K - 1}]", (int(a.min()), int(a.max())))
    if rewards is not None:
        y = check_array("rewards", rewards, shape=a.shape, where=where)
        return a.astype(np.int64), mu, y
    return a.astype(np.int64), mu


def _best_mask(mu):
    return mu == mu.max()


def pseudo_regret(actions, means) -> np.ndarray:
    """(R, T) cumulative pseudo-regret sum_{s <= t} (mu* - mu_{a_s})."""
    a, mu = _check_history(actions, means, "pseudo_regret")
    return np.cumsum(mu.max() - mu[a], axis=1)


def suffix_failure(actions, means) -> np.ndarray:
    """(T,) SuffFailFreq(t) for t = 1..T (index t - 1): the share of replicates choosing no best arm in t..T."""
    a, mu = _check_history(actions, means, "suffix_failure")
    R, T = a.shape
    hit = _best_mask(mu)[a]  # (R, T)
    # last (1-indexed) round with a best arm, 0 if never
    last = np.where(hit.any(axis=1), T - np.argmax(hit[:, ::-1], axis=1), 0)
    t = np.arange(1, T + 1)
    return (last[:, None] < t[None, :]).mean(axis=0)


def _counts(a, K):
    """(R, T, K) N_a(t) after rounds 1..t (inclusive)."""
    return np.cumsum(a[:, :, None] == np.arange(K)[None, None, :], axis=1)


def min_frac(actions, means) -> np.ndarray:
    """(T,) MinFrac(t) = mean_r min_a N_a^r(t) / t for t = 1..T; multiply by K for [K24]'s K MinFrac."""
    a, mu = _check_history(actions, means, "min_frac")
    T = a.shape[1]
    return (_counts(a, mu.size).min(axis=2) / np.arange(1, T + 1)[None, :]).mean(axis=0)


def greedy_frac(actions, rewards, means, convention: str = "optimistic", per_replicate: bool = False):
    """Mean over replicates of the share of greedy rounds (module docstring; spec §6.2 conventions).

    ``optimistic``: unplayed arms have empirical mean +inf (all untried arms form the greedy set while one
    exists; round 1 is always greedy). ``played_only``: a_t is greedy iff it was played before t and its
    empirical mean equals the maximum over played arms; denominator T. ``all_played_rounds_only``: the share
    among rounds where every arm was played before t; replicates without such a round are dropped (NaN if
    all are). ``per_replicate``: the (R,) shares instead of their mean (NaN for a dropped replicate).
    """
    where = "greedy_frac"
    a, mu, y = _check_history(actions, means, where, rewards)
    convention = check_choice("convention", convention, GREEDY_CONVENTIONS, where=where)
    R, T = a.shape
    K = mu.size
    onehot = a[:, :, None] == np.arange(K)[None, None, :]
    n_before = np.cumsum(onehot, axis=1) - onehot  # counts over rounds < t
    # sums over rounds < t, from the earlier rounds only (no subtraction, so no rounding residue)
    s_before = np.concatenate([np.zeros((R, 1, K)), np.cumsum(onehot * y[:, :, None], axis=1)[:, :-1]], axis=1)
    played = n_before > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        emp = np.where(played, s_before / np.where(played, n_before, 1), -np.inf)
    best_played = emp.max(axis=2)  # -inf when nothing was played
    chosen_played = np.take_along_axis(played, a[:, :, None], axis=2)[:, :, 0]
    chosen_emp = np.take_along_axis(emp, a[:, :, None], axis=2)[:, :, 0]
    greedy_played = chosen_played & (chosen_emp == best_played)
    all_played = played.all(axis=2)
    if convention == "optimistic":
        share = np.where(all_played, greedy_played, ~chosen_played).mean(axis=1)
    elif convention == "played_only":
        share = greedy_played.mean(axis=1)
    else:
        n_rounds = all_played.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n_rounds > 0, (greedy_played & all_played).sum(axis=1) / np.maximum(n_rounds, 1),
                             np.nan)
    if per_replicate:
        return share
    keep = ~np.isnan(share)
    return float(share[keep].mean()) if keep.any() else float("nan")


def reward_summary(rewards, means) -> dict:
    """Phi^r = mean reward of replicate r; rescaled (Phi - mu_min) / (mu* - mu_min) (needs mu* > mu_min).

    Returns {"phi": (R,), "rescaled": (R,), "median": float, "mean": float} (median/mean of the rescaled).
    """
    where = "reward_summary"
    mu = check_array("means", means, ndim=1, where=where)
    y = check_array("rewards", rewards, ndim=2, where=where)
    lo, hi = float(mu.min()), float(mu.max())
    if not hi > lo:
        raise ParamError(where, "means", "at least two distinct arm means (the rescaling divides by mu* - mu_min)",
                         mu)
    phi = y.mean(axis=1)
    resc = (phi - lo) / (hi - lo)
    return {"phi": phi, "rescaled": resc, "median": float(np.median(resc)), "mean": float(resc.mean())}


def best_arm_freq(actions, means) -> np.ndarray:
    """(R,) share of rounds choosing a best arm ([N24] OptFrac)."""
    a, mu = _check_history(actions, means, "best_arm_freq")
    return _best_mask(mu)[a].mean(axis=1)


def early_failure(actions, means, t0: int | None = None) -> dict:
    """Early catastrophic failure (§6.3): SuffFailFreq(t0), t0 = max(2K, ceil(T/10)) by default (UNCONFIRMED
    for [C25]); the share of replicates with best-arm frequency < 0.1; the share that never tried a best arm."""
    where = "early_failure"
    a, mu = _check_history(actions, means, where)
    T = a.shape[1]
    t0 = max(2 * mu.size, math.ceil(T / 10)) if t0 is None else check_int("t0", t0, low=1, high=T, where=where)
    t0 = min(t0, T)
    freq = best_arm_freq(a, mu)
    return {"t0": int(t0), "suffix_failure_t0": float(suffix_failure(a, mu)[t0 - 1]),
            "low_best_arm_freq": float((freq < 0.1).mean()),
            "best_never_tried": float((~_best_mask(mu)[a].any(axis=1)).mean())}


def k24_summary(actions, rewards, means, convention: str = "optimistic") -> dict:
    """The [K24] statistics: median (and mean) rescaled reward, SuffFailFreq(T/2) with t = floor(T/2) (window
    t..T inclusive), K MinFrac(T), GreedyFrac, and mean pseudo-regret at T."""
    a, mu, y = _check_history(actions, means, "k24_summary", rewards)
    T = a.shape[1]
    rs = reward_summary(y, mu)
    t_half = max(1, T // 2)
    return {"median_reward": rs["median"], "mean_reward": rs["mean"],
            "suffix_failure_half": float(suffix_failure(a, mu)[t_half - 1]),
            "k_min_frac": float(mu.size * min_frac(a, mu)[-1]),
            "greedy_frac": greedy_frac(a, y, mu, convention),
            "regret": float(pseudo_regret(a, mu)[:, -1].mean())}


def bandit_outputs(actions, rewards, means, checkpoints) -> dict:
    """The per-replicate outputs of :func:`regretlab.bandits.simulate` (``regretlab.bandits.OUTPUTS``: ``t``,
    ``regret`` at ``checkpoints``, ``final_regret``, ``counts``, ``reward_mean``, ``greedy_frac`` (optimistic),
    ``last_best``, ``best_frac``) computed from recorded histories, so that a step-wise agent's results have the
    same meaning, and go through the same summaries and plots, as the vectorised baselines'."""
    a, mu, y = _check_history(actions, means, "bandit_outputs", rewards)
    R, T = a.shape
    ck = np.asarray(checkpoints, dtype=np.int64)
    if ck.ndim != 1 or ck.size < 1 or ck.min() < 1 or ck.max() > T or np.any(np.diff(ck) <= 0):
        raise ParamError("bandit_outputs", "checkpoints", f"a strictly increasing sequence in [1, {T}]", ck)
    reg = pseudo_regret(a, mu)
    hit = _best_mask(mu)[a]
    return {"t": ck, "regret": reg[:, ck - 1], "final_regret": reg[:, -1].copy(),
            "counts": _counts(a, mu.size)[:, -1, :].astype(np.int64), "reward_mean": y.mean(axis=1),
            "greedy_frac": greedy_frac(a, y, mu, "optimistic", per_replicate=True),
            "last_best": np.where(hit.any(axis=1), T - np.argmax(hit[:, ::-1], axis=1), 0).astype(np.int64),
            "best_frac": hit.mean(axis=1)}


# ---------------------------------------------------------------------------------------------------
# Repeated two-player games (§6.7)

def _check_game(U1, U2, i, j, where):
    U1 = check_array("U1", U1, ndim=2, where=where)
    U2 = check_array("U2", U2, shape=U1.shape, where=where)
    i, j = np.asarray(i), np.asarray(j)
    if i.shape != j.shape or i.ndim != 1 or i.size < 1:
        raise ParamError(where, "actions", "two (T,) integer sequences of equal length >= 1", (i.shape, j.shape))
    for name, x, n in (("row actions", i, U1.shape[0]), ("column actions", j, U1.shape[1])):
        if not np.issubdtype(x.dtype, np.integer) or x.min() < 0 or x.max() >= n:
            raise ParamError(where, name, f"integers in [0, {n - 1}]", x)
    return U1, U2, i.astype(np.int64), j.astype(np.int64)


def external_regret(U1, U2, row_actions, col_actions) -> tuple[float, float]:
    """Each player's external regret on its realised payoff vectors: max_a' sum_t u(a', opponent_t) - sum_t
    u(a_t, opponent_t) (payoffs, higher is better)."""
    U1, U2, i, j = _check_game(U1, U2, row_actions, col_actions, "external_regret")
    r1 = U1[:, j].sum(axis=1).max() - U1[i, j].sum()
    r2 = U2[i, :].sum(axis=0).max() - U2[i, j].sum()
    return float(r1), float(r2)


def cce_gap(U1, U2, row_actions, col_actions) -> float:
    """CCE gap of the empirical joint play: max_player max_a' E_{sigma_hat}[u(a', a_-i) - u(a)], equal to the
    larger time-averaged external regret."""
    r1, r2 = external_regret(U1, U2, row_actions, col_actions)
    return max(r1, r2) / len(np.asarray(row_actions))


def nash_gap(U1, U2, p, q) -> float:
    """Exploitability of mixed strategies p (n1,), q (n2,): [max_i (U1 q)_i - p U1 q] + [max_j (p U2)_j - p U2 q]."""
    where = "nash_gap"
    U1 = check_array("U1", U1, ndim=2, where=where)
    U2 = check_array("U2", U2, shape=U1.shape, where=where)
    p = check_array("p", p, shape=(U1.shape[0],), low=0.0, where=where)
    q = check_array("q", q, shape=(U1.shape[1],), low=0.0, where=where)
    for name, v in (("p", p), ("q", q)):
        if abs(v.sum() - 1.0) > 1e-9:
            raise ParamError(where, name, "a probability vector (sums to 1)", float(v.sum()))
    return float((U1 @ q).max() - p @ U1 @ q + (p @ U2).max() - p @ U2 @ q)
