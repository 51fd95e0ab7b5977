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

[N24] aggregate statistics (§6.5): :func:`regret_form_fit` (the functional form of the mean regret curve,
f(t) = lambda1 (ln t)^alpha / Delta_min + beta t + lambda2, with replicate-bootstrap CIs) and :func:`win_matrix`
(pairwise wins by a t-test over replicates, and the overall win rate).

References: [K24] Krishnamurthy, Harris, Foster, Zhang, Slivkins, "Can large language models explore
in-context?", NeurIPS 2024, arXiv 2403.15371 (Sec. 3, surrogate statistics). [C25] Chen et al., "When Greedy
Wins", ICLR 2026, arXiv 2509.24923. [P25] Park, Liu, Ozdaglar, Zhang, "Do LLM Agents Have Regret?", ICLR 2025,
arXiv 2403.16843 (regret in games; the sub-linearity tests are :func:`regretlab.core.stats.sublinear_tests`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_choice, check_float, check_int, check_rng

__all__ = ["GREEDY_CONVENTIONS", "RegretForm", "WinMatrix", "bandit_outputs", "best_arm_freq", "cce_gap",
           "early_failure", "external_regret", "greedy_frac", "k24_summary", "min_frac", "nash_gap", "pseudo_regret",
           "regret_form_fit", "reward_summary", "suffix_failure", "win_matrix"]

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


# ---------------------------------------------------------------------------------------------------
# [N24] aggregate statistics (§6.5)

ALPHA_BOUNDS = (0.0, 3.0)


@dataclass(frozen=True)
class RegretForm:
    """Outcome of :func:`regret_form_fit`: f(t) = lambda1 (ln t)^alpha / delta_min + beta t + lambda2.

    ``alpha`` is nan when lambda1 = 0 (the log term is absent, so its exponent is not identified);
    ``*_lo``/``*_hi`` are the replicate-bootstrap percentile bounds (nan without a bootstrap); ``rmse`` is the
    root-mean-square residual of the mean-curve fit over its ``n_points`` times; ``n_boot`` resamples were fitted.
    """

    alpha: float
    beta: float
    lambda1: float
    lambda2: float
    delta_min: float
    rmse: float
    n_points: int
    alpha_lo: float = math.nan
    alpha_hi: float = math.nan
    beta_lo: float = math.nan
    beta_hi: float = math.nan
    n_boot: int = 0

    def __call__(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        a = 0.0 if math.isnan(self.alpha) else self.alpha
        return self.lambda1 * np.log(t) ** a / self.delta_min + self.beta * t + self.lambda2


def _form(t, lam1, alpha, beta, lam2, delta):
    return lam1 * np.log(t) ** alpha / delta + beta * t + lam2


_ALPHA_GRID = np.linspace(0.02, ALPHA_BOUNDS[1], 150)  # alpha = 0 makes the log term a constant: not identified


def _box_lstsq(A: np.ndarray, Y: np.ndarray, beta_max: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """min ||A_b x - y_b|| over x = (lambda1 >= 0, 0 <= beta <= beta_max, lambda2 free) for every row y_b of Y (B, C),
    with one design A (C, 3) for all rows or one per row (B, C, 3).

    The problem is convex, so its optimum is the best feasible least-squares solution among the 6 choices of
    active bounds (lambda1 free or 0; beta free, 0 or beta_max); each by ``numpy.linalg.lstsq`` with B right-hand sides
    (a shared design) or by :func:`_batched_lstsq` (one design per row). Returns x (B, 3) and the residual sums of
    squares (B,).
    """
    B = Y.shape[0]
    shared = A.ndim == 2
    best_x, best_sse = np.zeros((B, 3)), np.full(B, np.inf)
    for l1_fix in (None, 0.0):
        for b_fix in (None, 0.0, beta_max):
            x = np.zeros((B, 3))
            fixed = [(k, f) for k, f in ((0, l1_fix), (1, b_fix)) if f is not None]
            free = [k for k in range(3) if k not in dict(fixed)]
            for k, f in fixed:
                x[:, k] = f
            if shared:  # one design for every row: one least-squares solve with B right-hand sides
                resid = Y - x @ A.T
                x[:, free] = np.linalg.lstsq(A[:, free], resid.T, rcond=None)[0].T
                fit = x @ A.T
            else:
                x[:, free] = _batched_lstsq(A[:, :, free], Y - np.einsum("bck,bk->bc", A, x))
                fit = np.einsum("bck,bk->bc", A, x)
            ok = (x[:, 0] >= 0) & (x[:, 1] >= 0) & (x[:, 1] <= beta_max)
            sse = np.sum((fit - Y) ** 2, axis=1)
            better = ok & (sse < best_sse)
            best_x[better], best_sse[better] = x[better], sse[better]
    return best_x, best_sse


def _batched_lstsq(F: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Least squares of every R[b] (C,) on the columns of F[b] (C, k): the normal equations of the
    column-scaled design, solved in one batched ``numpy.linalg.solve``."""
    norm = np.sqrt(np.einsum("bck,bck->bk", F, F))
    norm[norm == 0] = 1.0
    Fs = F / norm[:, None, :]
    G = np.einsum("bci,bcj->bij", Fs, Fs)
    rhs = np.einsum("bci,bc->bi", Fs, R)
    try:
        z = np.linalg.solve(G, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:  # a singular design: row by row
        z = np.stack([np.linalg.lstsq(Fs[b], R[b], rcond=None)[0] for b in range(F.shape[0])])
    return z / norm


def _design(t, lt, a, delta):
    """[(ln t)^a / delta, t, 1] (C, 3), or (B, C, 3) for a (B,) array of exponents a."""
    a = np.asarray(a, dtype=float)
    first = lt ** a[..., None] / delta
    return np.stack([first, np.broadcast_to(t, first.shape), np.ones_like(first)], axis=-1)


def _profile_fit(t: np.ndarray, Y: np.ndarray, delta: float, beta_max: float = 1.0) -> np.ndarray:
    """Least squares of the [N24] form for every curve of Y (B, C): the linear parameters are solved exactly
    (:func:`_box_lstsq`) on an alpha grid of step 0.02, then alpha is refined by the parabola through the
    three grid values around the minimum. Returns (B, 4): lambda1, alpha, beta, lambda2."""
    lt = np.log(t)
    B = Y.shape[0]
    prof = np.empty((B, _ALPHA_GRID.size))
    for k, a in enumerate(_ALPHA_GRID):
        prof[:, k] = _box_lstsq(_design(t, lt, a, delta), Y, beta_max)[1]
    k = np.argmin(prof, axis=1)
    a = _ALPHA_GRID[k].copy()
    inner = (k > 0) & (k < _ALPHA_GRID.size - 1)
    ki = np.clip(k, 1, _ALPHA_GRID.size - 2)
    rows = np.arange(B)
    s0, s1, s2 = prof[rows, ki - 1], prof[rows, ki], prof[rows, ki + 1]
    den = s0 - 2 * s1 + s2
    h = _ALPHA_GRID[1] - _ALPHA_GRID[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        step = np.where(inner & (den > 0), 0.5 * h * (s0 - s2) / np.where(den > 0, den, 1.0), 0.0)
    a_ref = np.clip(a + step, _ALPHA_GRID[ki - 1], _ALPHA_GRID[ki + 1])
    x_ref, sse_ref = _box_lstsq(_design(t, lt, a_ref, delta), Y, beta_max)
    x_grid = _box_lstsq(_design(t, lt, a, delta), Y, beta_max)[0]
    keep = sse_ref <= prof[rows, k]  # else the parabola misled: the grid point
    x = np.where(keep[:, None], x_ref, x_grid)
    a = np.where(keep, a_ref, a)
    return np.column_stack([x[:, 0], a, x[:, 1], x[:, 2]])


def _fit_form(t: np.ndarray, y: np.ndarray, delta: float, start=None,
              beta_max: float = 1.0) -> tuple[float, float, float, float]:
    """The mean-curve fit: :func:`_profile_fit` (or ``start``, its result) starts ``scipy.optimize.curve_fit``
    on all four parameters; the better of the two is kept."""
    import warnings

    from scipy.optimize import OptimizeWarning, curve_fit

    l1, a0, b, l2 = _profile_fit(t, y[None, :], delta, beta_max)[0] if start is None else start
    sse0 = float(np.sum((_form(t, l1, a0, b, l2, delta) - y) ** 2))
    p0 = [max(l1, 1e-12), a0, min(max(b, 1e-12), beta_max * (1 - 1e-12)), l2]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            p, _ = curve_fit(lambda tt, l1_, a_, b_, l2_: _form(tt, l1_, a_, b_, l2_, delta), t, y, p0=p0,
                             bounds=([0.0, ALPHA_BOUNDS[0], 0.0, -np.inf],
                                     [np.inf, ALPHA_BOUNDS[1], beta_max, np.inf]), method="trf")
        if float(np.sum((_form(t, *p, delta) - y) ** 2)) < sse0:
            l1, a0, b, l2 = p
    except (RuntimeError, ValueError):  # no convergence: keep the profile solution
        pass
    if b < 1e-12:  # curve_fit stops a rounding error inside the bound beta >= 0
        b = 0.0
    return float(l1), float(a0), float(b), float(l2)


def _identified(l1: float, a: float, t_max: float, delta: float, scale: float) -> bool:
    """Whether the log term matters: its size at t_max is above rounding relative to the curve's scale."""
    return a > 1e-6 and l1 * float(np.log(t_max) ** a) / delta > 1e-9 * scale


def regret_form_fit(t, R_t, delta_min, *, beta_max: float = 1.0, t0: float = 2, level: float = 0.95,
                    n_boot: int = 200, rng=None) -> RegretForm:
    """[N24]'s regret functional form (spec §6.5), fitted to the mean cumulative regret curve.

    f(t) = lambda1 (ln t)^alpha / Delta_min + beta t + lambda2, by nonlinear least squares
    (``scipy.optimize.curve_fit``, trust region) with alpha in [0, 3] and beta in [0, beta_max] (the spec's
    bounds with beta_max = 1, right for rewards in [0, 1]; for a wider reward range pass the largest gap, which
    bounds the regret per round), lambda1 >= 0 and lambda2 free (our choice: the spec gives no bounds for
    them). alpha measures sub-linear growth; beta is the linear-regret slope (about 0 for a good learner; a
    uniform player has beta = the mean gap).

    The fit starts from the best alpha of a grid of step 0.02 with the linear parameters solved exactly under
    their bounds (a profile least squares), so it does not depend on a starting guess; alpha = 0 is left out of
    the grid because (ln t)^0 = 1 merges the log term with lambda2. The bootstrap refits use that profile fit
    (alpha refined by a parabola, about 1e-3; the linear parameters exact) without the curve_fit polish.
    Natural logarithm; times t < t0 (default 2, where ln t = 0) are left out. The paper's exact fitting
    procedure (starting point, weights) is UNCONFIRMED.

    Parameters: t (C,) increasing times >= 1; R_t (C,) mean regret or (R, C) per-replicate regret;
        delta_min > 0 the smallest positive gap; with (R, C) input and ``rng``, ``n_boot`` replicate-bootstrap
        refits give the percentile CIs of alpha and beta at ``level``.
    Returns: :class:`RegretForm`.
    Reference: [N24] Nie et al., "EVOLvE: Evaluating and Optimizing LLMs For In-Context Exploration",
        ICML 2025, arXiv 2410.06238 (Sec. 5, regret functional-form analysis).
    """
    where = "regret_form_fit"
    delta = check_float("delta_min", delta_min, low=0.0, low_open=True, where=where)
    beta_max = check_float("beta_max", beta_max, low=0.0, low_open=True, where=where)
    t0 = check_float("t0", t0, low=1.0, where=where)
    level = check_float("level", level, low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    n_boot = check_int("n_boot", n_boot, low=0, where=where)
    t = check_array("t", t, ndim=1, where=where)
    Y = check_array("R_t", R_t, where=where)
    if Y.ndim not in (1, 2) or Y.shape[-1] != t.size:
        raise ParamError(where, "R_t", f"a (C,) or (R, C) array with C = len(t) = {t.size}", Y.shape)
    if t.size and (t[0] < 1 or np.any(np.diff(t) <= 0)):
        raise ParamError(where, "t", "strictly increasing times >= 1", t)
    use = t >= t0
    if int(use.sum()) < 4:
        raise ParamError(where, "t", f"at least 4 times >= t0 = {t0:g} (4 parameters are fitted)", int(use.sum()))
    tt = t[use]
    Y = Y[..., use]
    ybar = Y if Y.ndim == 1 else Y.mean(axis=0)
    boot = Y.ndim == 2 and rng is not None and n_boot > 0
    if boot:  # the mean curve and the resampled means in one profile pass
        gen = check_rng(rng, where)
        R = Y.shape[0]
        prof = _profile_fit(tt, np.vstack([ybar[None], Y[gen.integers(0, R, size=(n_boot, R))].mean(axis=1)]),
                            delta, beta_max)
    else:
        prof = _profile_fit(tt, ybar[None], delta, beta_max)
    l1, a, b, l2 = _fit_form(tt, ybar, delta, start=prof[0], beta_max=beta_max)
    rmse = float(np.sqrt(np.mean((_form(tt, l1, a, b, l2, delta) - ybar) ** 2)))
    scale = max(1.0, float(np.abs(ybar).max()))
    ident = _identified(l1, a, tt[-1], delta, scale)
    out = dict(alpha=a if ident else math.nan, beta=b, lambda1=l1, lambda2=l2, delta_min=delta, rmse=rmse,
               n_points=int(tt.size))
    if boot:
        al = np.array([p[1] if _identified(p[0], p[1], tt[-1], delta, scale) else math.nan for p in prof[1:]])
        be = prof[1:, 2]
        q = ((1 - level) / 2, (1 + level) / 2)
        if np.isfinite(al).any():
            out["alpha_lo"], out["alpha_hi"] = (float(x) for x in np.nanquantile(al, q))
        out["beta_lo"], out["beta_hi"] = (float(x) for x in np.quantile(be, q))
        out["n_boot"] = n_boot
    return RegretForm(**out)


@dataclass(frozen=True)
class WinMatrix:
    """Outcome of :func:`win_matrix`: ``wins[a, b]`` = configurations on which method a beats method b,
    ``compared[a, b]`` = configurations on which both were run (>= 2 replicates each), ``win_rate[a]`` =
    wins[a].sum() / compared[a].sum() (wins over configurations x opponents; nan if never compared),
    ``p_values[a, b, c]`` the t-test p-value on configuration c (nan where not compared)."""

    methods: tuple[str, ...]
    configs: tuple[str, ...]
    wins: np.ndarray
    compared: np.ndarray
    win_rate: np.ndarray
    p_values: np.ndarray


def win_matrix(scores: Mapping[str, Mapping[str, object]], *, alpha: float = 0.05) -> WinMatrix:
    """[N24]'s pairwise win matrix (spec §6.5): method A beats B on a configuration when A's mean score
    (cumulative reward; higher is better) is higher and a two-sample t-test over replicates gives p < alpha.

    The test is Welch's (unequal variances, two-sided; ``scipy.stats.ttest_ind``); two samples with no
    variance at all give p = 0 if their means differ, else no win. [N24]'s exact test form and direction
    convention are UNCONFIRMED; this is what we compute.

    Parameters: scores[method][config] = (R,) per-replicate scores (R may differ between cells; a cell with
        fewer than 2 replicates is not compared); alpha in (0, 1).
    Returns: :class:`WinMatrix` with methods and configurations in first-seen order.
    """
    from scipy import stats as st

    where = "win_matrix"
    alpha = check_float("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    if not isinstance(scores, Mapping) or len(scores) < 2:
        raise ParamError(where, "scores", "a mapping of at least 2 methods to {config: (R,) scores}", scores)
    methods = tuple(scores)
    configs = tuple(dict.fromkeys(c for m in methods for c in scores[m]))
    data = {}
    for m in methods:
        for c, v in scores[m].items():
            x = check_array(f"scores[{m!r}][{c!r}]", v, ndim=1, where=where)
            if x.size >= 2:
                data[m, c] = x
    M, C = len(methods), len(configs)
    wins = np.zeros((M, M), dtype=np.int64)
    compared = np.zeros((M, M), dtype=np.int64)
    pv = np.full((M, M, C), np.nan)
    for ia, a in enumerate(methods):
        for ib, b in enumerate(methods):
            if ia == ib:
                continue
            for ic, c in enumerate(configs):
                if (a, c) not in data or (b, c) not in data:
                    continue
                x, y = data[a, c], data[b, c]
                compared[ia, ib] += 1
                if x.var() == 0 and y.var() == 0:
                    p = 0.0 if x.mean() != y.mean() else 1.0
                else:
                    p = float(st.ttest_ind(x, y, equal_var=False).pvalue)
                pv[ia, ib, ic] = p
                wins[ia, ib] += int(x.mean() > y.mean() and p < alpha)
    tot = compared.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(tot > 0, wins.sum(axis=1) / np.maximum(tot, 1), np.nan)
    return WinMatrix(methods, configs, wins, compared, rate, pv)
