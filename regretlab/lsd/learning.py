"""Learning recharging / LSD bandits with unknown payoffs, and the regret accounting of spec §8.

The learner observes only the reward of what it plays; the states are functions of its own actions, so it
knows them. Statistics are kept per (arm, actual state) and every play counts, filler plays included.

Algorithms (``ALGORITHMS``), all with m = 1:

- ``etc_lp``: explore-then-commit, the spec's rendering of the papers' "online adaptation" (derived bound, not
  a paper's algorithm). Exploration passes (:func:`exploration_pass`) are repeated until every (arm, state)
  has n0 = ceil((alpha T / C)^(2/3) (log(2 k |S| T) / 2)^(1/3)) samples (C the pass length); then the estimates
  are clipped to [0, 1], projected on the monotone cone along the state order when ``monotone`` (isotonic
  regression weighted by the counts, scipy), the model's LP is solved with them and the rounding planner
  (``pcs_offset_rounding_reconstructed`` for recharging, ``lsd_mirroring_rounding_reconstructed`` for LSD)
  runs for the remaining rounds. Bound (spec §8, derived): R_LP(T) <= C n0 + 2 alpha T eps + O(1) with
  eps = sqrt(log(2 k |S| T) / (2 n0)), about 3 C^(1/3) (alpha T)^(2/3) (log(2k|S|T)/2)^(1/3): slope 2/3.
- ``ucb_lp_phased`` (UCB flavour, no bound proved here): epochs [2^e - 1, 2^(e+1) - 1); at each epoch start the
  LP is solved with the optimistic table U = min(1, hat_mu + sqrt(2 log t / max(n, 1))) (unseen pairs 1) and
  the planner is redrawn for the epoch.
- ``ucb1`` and ``thompson`` (Bernoulli-Beta): state-agnostic comparators over arms (the project's standard
  baselines); they settle on one arm and have linear regret on recharging instances.
- ``isi_combucb1`` and ``combucb1``: the block learners of [LCCG22] (recharging only; :mod:`.combucb`), with
  the block parameter ``block`` = d.

Regret (pseudo-regret: sums of means even with noisy rewards), per replicate and checkpoint t:

- ``R_FI(t) = FI(t) - ALG(t)``: against the full-information counterpart, the same rounding planner run with
  the true payoffs from round 0 (one draw per replicate; [FGPZ23]'s benchmark, spec §8);
- ``R_LP(t) = alpha t LP* - ALG(t)``, alpha = 1 - 1/e, the LP proxy for instances too big for the DP.

Each replicate is keyed by one integer (its counter key): the learner's plan draws, its reward noise and its
Thompson draws depend on that key only, so replicates can be chunked freely.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_bool, check_choice, check_int

from .models import Instance
from .relaxations import lp_fast
from .rounding import plan_rounding, run_plan
from .simulate import NOISES

__all__ = ["ALGORITHMS", "ALPHA", "LearnResult", "default_planner", "etc_n0", "exploration_pass", "learn",
           "monotone_projection", "full_information"]

ALGORITHMS = ("etc_lp", "ucb_lp_phased", "ucb1", "thompson", "isi_combucb1", "combucb1")
ALPHA = 1.0 - 1.0 / math.e


def default_planner(inst: Instance) -> str:
    return "pcs_offset_rounding_reconstructed" if inst.kind == "recharging" else \
        "lsd_mirroring_rounding_reconstructed"


@dataclass(frozen=True)
class LearnResult:
    """reward: (R, C) the learner's cumulative sum of means at the checkpoints; observed: (R, C) realised;
    explore_rounds: rounds spent exploring (etc_lp; 0 otherwise); lp_solves: LP solves per replicate."""

    reward: np.ndarray
    observed: np.ndarray
    checkpoints: np.ndarray
    explore_rounds: int
    lp_solves: int


def exploration_pass(inst: Instance) -> np.ndarray:
    """(C, k) play masks of one exploration pass (spec §8), from any state.

    Recharging: for each arm i, play i once, then for d = 1..tau_max let d - 1 rounds pass without i and play
    i once (a sample at delay d). LSD: for each arm i, play i once, then for b = 1..tau_max rest i for b rounds
    and play it tau_max + 1 rounds in a row (samples at +b, -1, ..., -tau_max). Resting rounds idle when the
    instance allows it and otherwise play the next arm (i + 1) mod k, which needs k >= 2.
    """
    k, tau = inst.k, inst.tau_max
    if not inst.idle_allowed and k < 2:
        raise ParamError("exploration_pass", "inst", "k >= 2 arms when idling is not allowed", k)
    rows: list[int] = []
    for i in range(k):
        rest = -1 if inst.idle_allowed else (i + 1) % k
        rows.append(i)
        for d in range(1, tau + 1):
            if inst.kind == "recharging":
                rows += [rest] * (d - 1) + [i]
            else:
                rows += [rest] * d + [i] * (tau + 1)
    out = np.zeros((len(rows), k), np.uint8)
    for t, a in enumerate(rows):
        if a >= 0:
            out[t, a] = 1
    return out


def etc_n0(inst: Instance, T: int, C: int, alpha: float = ALPHA) -> int:
    """n0 = ceil((alpha T / C)^(2/3) (log(2 k |S| T) / 2)^(1/3)) samples per (arm, state) (spec §8)."""
    return max(1, math.ceil((alpha * T / C) ** (2 / 3) * (math.log(2 * inst.k * inst.n_states * T) / 2) ** (1 / 3)))


def monotone_projection(mean: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Each row projected on the non-decreasing cone along the state order (weighted isotonic regression,
    ``scipy.optimize.isotonic_regression``); rows with no samples are left as they are."""
    from scipy.optimize import isotonic_regression

    out = mean.copy()
    for i in range(mean.shape[0]):
        w = np.maximum(weight[i], 1e-12)
        out[i] = isotonic_regression(mean[i], weights=w, increasing=True).x
    return out


class _Curve:
    """Cumulative rewards at global checkpoints from consecutive segments of rounds."""

    def __init__(self, R: int, ck: np.ndarray):
        self.ck = ck
        self.mean = np.zeros((R, ck.size))
        self.obs = np.zeros((R, ck.size))
        self.base_m = np.zeros(R)
        self.base_o = np.zeros(R)

    def segment_checkpoints(self, t0: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(local checkpoints in 1..n including n, the global checkpoint indices they fill)."""
        sel = np.flatnonzero((self.ck > t0) & (self.ck <= t0 + n))
        local = np.unique(np.concatenate([self.ck[sel] - t0, [n]]))
        return local, sel

    def add(self, t0: int, n: int, mean_cum: np.ndarray, obs_cum: np.ndarray, local: np.ndarray, sel) -> None:
        pos = np.searchsorted(local, self.ck[sel] - t0)
        self.mean[:, sel] = self.base_m[:, None] + mean_cum[:, pos]
        self.obs[:, sel] = self.base_o[:, None] + obs_cum[:, pos]
        self.base_m = self.base_m + mean_cum[:, -1]
        self.base_o = self.base_o + obs_cum[:, -1]


def _plans(inst, planner, tables, keys, crs, draws=1):
    """``draws`` plan rows per replicate from its own payoff table (LP solved by :func:`lp_fast`), with their
    counter keys. Row j of replicate r draws from ``SeedSequence(key_r, spawn_key=(0, j, 1))`` and runs on the
    key of ``SeedSequence(key_r, spawn_key=(0, j))``, whatever the table: a learner whose LP solution equals the
    true one draws exactly the full-information counterpart's plan (common random numbers), and an epoch whose
    solution equals the previous one's goes on with the same plan."""
    from regretlab.core.seeding import counter_keys

    from .rounding import Plan

    rows = [plan_rounding(inst, planner, draws, x=lp_fast(inst, tab).x, crs=crs, seed=int(key))
            for tab, key in zip(tables, keys)]
    cat = {f: np.concatenate([getattr(r, f) for r in rows]) for f in ("period", "width", "offset", "q", "phase")}
    row_keys = np.concatenate([counter_keys(int(key), 0, draws) for key in keys])
    return Plan(planner, rows[0].mode, **cat), row_keys


def _draw_mean(x: np.ndarray, draws: int) -> np.ndarray:
    """(R * draws, C) -> (R, C): the mean over each replicate's plan draws."""
    return x.reshape(-1, draws, x.shape[1]).mean(axis=1)


def full_information(inst: Instance, T: int, keys, checkpoints, *, planner: str | None = None,
                     crs: str = "fair", draws: int = 1) -> np.ndarray:
    """(R, C) cumulative sum of means of the rounding planner run with the true payoffs (the FI benchmark),
    averaged over ``draws`` plan draws per replicate (the same draws as :func:`learn`'s commit phase)."""
    planner = planner or default_planner(inst)
    keys = np.asarray(keys, np.uint64)
    draws = check_int("draws", draws, low=1, where="full_information")
    plan, row_keys = _plans(inst, planner, [inst.payoff] * keys.size, keys, crs, draws)
    return _draw_mean(run_plan(inst, plan, T, checkpoints=checkpoints, keys=row_keys).scores.mean_cum, draws)


def learn(inst: Instance, algorithm: str, T: int, keys, checkpoints, *, states=None, noise: str = "bernoulli",
          sigma: float = 0.1, planner: str | None = None, crs: str = "fair", monotone: bool = True,
          draws: int = 1, block: int = 3, backend: str = "numba") -> LearnResult:
    """Run ``algorithm`` for T rounds on each replicate (one counter key each; ``states``: the xoshiro states
    for Thompson sampling, (R, 4) uint64). backend ``python`` runs ucb1 / thompson through the plain-Python
    twin (the LP-based learners share the Numba rounding kernel in both).

    draws (etc_lp only): the commit phase, which learns nothing, is run with ``draws`` independent plan draws
    per replicate and their rewards averaged: an unbiased estimate of the replicate's expected reward given its
    estimates, with less of the rounding's own variance (which is O(T) per draw: the types are drawn once).
    """
    where = "learn"
    algorithm = check_choice("algorithm", algorithm, ALGORITHMS, where=where)
    T = check_int("T", T, low=1, where=where)
    noise = check_choice("noise", noise, NOISES, where=where)
    monotone = check_bool("monotone", monotone, where=where)
    draws = check_int("draws", draws, low=1, where=where)
    keys = check_array("keys", keys, ndim=1, dtype=np.uint64, where=where)
    ck = check_array("checkpoints", checkpoints, ndim=1, dtype=np.int64, low=1, high=T, where=where)
    if inst.m != 1:
        raise ParamError(where, "inst.m", "1 (one play per round)", inst.m)
    if algorithm == "thompson" and noise == "gaussian":
        raise ParamError(where, "noise", "bernoulli or none for Bernoulli Thompson sampling", noise)
    planner = planner or default_planner(inst)
    R = keys.size
    curve = _Curve(R, ck)
    if algorithm in ("isi_combucb1", "combucb1"):
        from .combucb import run_block_learner

        mc, oc = run_block_learner(inst, algorithm, T, keys, ck, d=block, noise=noise)
        return LearnResult(mc, oc, ck, 0, 0)
    if algorithm in ("ucb1", "thompson"):
        return _agnostic(inst, algorithm, T, keys, states, ck, noise, sigma, curve, backend)
    cnt = np.zeros((R, inst.k, inst.n_states))
    sums = np.zeros_like(cnt)
    start = np.tile(inst.init, (R, 1))
    t = 0
    solves = 0
    explore = 0
    if algorithm == "etc_lp":
        pas = exploration_pass(inst)
        C = pas.shape[0]
        n_pass = etc_n0(inst, T, C)
        explore = min(T, n_pass * C)
        sched = np.ascontiguousarray(np.broadcast_to(np.tile(pas, (n_pass, 1))[:explore], (R, explore, inst.k)))
        from .simulate import score_rows

        local, sel = curve.segment_checkpoints(0, explore)
        sc, fin, (c_n, c_s) = score_rows(inst, sched, keys, local, noise=noise, sigma=sigma, collect=True)
        curve.add(0, explore, sc.mean_cum, sc.obs_cum, local, sel)
        cnt += c_n
        sums += c_s
        start, t = fin, explore
        epochs = [(t, T - t)] if t < T else []
    else:
        epochs = []
        e = 0
        while (1 << e) - 1 < T:
            a, b = (1 << e) - 1, min((1 << (e + 1)) - 1, T)
            epochs.append((a, b - a))
            e += 1
    for t0, n in epochs:
        seen = cnt > 0
        mean = np.where(seen, sums / np.maximum(cnt, 1), 0.0)
        if algorithm == "etc_lp":
            tab = np.clip(mean, 0.0, 1.0)
            if monotone:
                tab = np.stack([np.clip(monotone_projection(m, w), 0.0, 1.0) for m, w in zip(tab, cnt)])
        else:
            bonus = np.sqrt(2.0 * math.log(max(t0, 1)) / np.maximum(cnt, 1))
            tab = np.where(seen, np.minimum(1.0, mean + bonus), 1.0)
        nd = draws if algorithm == "etc_lp" else 1
        plan, row_keys = _plans(inst, planner, tab, keys, crs, nd)
        solves += 1
        local, sel = curve.segment_checkpoints(t0, n)
        res = run_plan(inst, plan, n, noise=noise, sigma=sigma, checkpoints=local, t0=t0,
                       start=np.repeat(start, nd, axis=0), keys=row_keys, collect=algorithm == "ucb_lp_phased")
        curve.add(t0, n, _draw_mean(res.scores.mean_cum, nd), _draw_mean(res.scores.obs_cum, nd), local, sel)
        if res.stats is not None:
            cnt += res.stats[0]
            sums += res.stats[1]
        start = res.final_cols
    return LearnResult(curve.mean, curve.obs, ck, explore, solves)


def _agnostic(inst, algorithm, T, keys, states, ck, noise, sigma, curve, backend):
    if states is None:
        raise ParamError("learn", "states", "the (R, 4) xoshiro states of the replicates for ucb1 / thompson",
                         None)
    states = check_array("states", states, shape=(keys.size, 4), dtype=np.uint64, where="learn")
    pol = ("ucb1", "thompson").index(algorithm)
    if backend == "python":
        from .reference import agnostic_index as ref

        runs = [ref(inst, algorithm, T, [int(v) for v in states[r]], int(keys[r]), noise, sigma)
                for r in range(keys.size)]
        mean = np.array([[run[0][c - 1] for c in ck] for run in runs])
        obs = np.array([[run[1][c - 1] for c in ck] for run in runs])
        return LearnResult(mean, obs, ck, 0, 0)
    from regretlab.core.rng import ZIG_F, ZIG_X

    from ._kernels import agnostic_index

    mc, oc, _ = agnostic_index(inst.payoff, np.tile(inst.init, (keys.size, 1)), inst.next_play, inst.next_idle,
                               pol, T, states.copy(), keys, NOISES.index(noise), sigma, ck, ZIG_X, ZIG_F)
    return LearnResult(mc, oc, ck, 0, 0)
