"""Registered LSD / recharging-bandit experiments (``regretlab list``) and the area's theorem plots
(specs/lsd-recharging-bandits.md §11).

``lsd.ratio`` (figures 1, 2 and 5): one cell = one planner on random small instances; each replicate is one
instance, drawn from ``SeedSequence(seed, spawn_key=(INSTANCE_KEY, r))`` and the instance parameters only, so
every planner of a sweep meets the same instances. Per instance: the planner's expected value E[ALG(T)]
(mean over ``draws`` rounding draws), the exact optimum OPT(T) (DP), the LP rate LP*, the ratio
E[ALG(T)] / OPT(T), the LP gap T LP* / OPT(T), the proven floor (1 - 1/e) T LP* / OPT(T), and whether the
planner's guarantee applies to this instance (``guaranteed``: the fair rule with idling on non-decreasing
recharging payoffs for the offset rounding, on ``monotone_full`` LSD payoffs for the mirroring rounding,
concave payoffs for independent rounding) and is met (``meets_floor``: mean >= (1 - 1/e) T LP* - 4 SE).

``lsd.learning`` (figure 3): one cell = one learner for T rounds on one instance (``instance``, shared by all
cells); replicates are independent runs. Regret against the full-information counterpart (R_FI) and the LP
proxy (R_LP), final and at log-spaced checkpoints (:mod:`regretlab.lsd.learning`).

``lsd.paper`` (figure 4, tables): the two [LCCG22] instances, cumulative reward of the exact optimum, the
planning baselines, the rounding and the learners.

Plot kinds: ``lsd.ratio`` (ratio vs ``x`` with 95% t-intervals over instances, the 1 - 1/e line, the LP gap;
``<stem>.ratios.csv``), ``lsd.regret_vs_T`` (log-log R_FI vs T with bootstrap slopes and 1/2, 2/3, 1
references; R_LP / T; ``<stem>.slopes.csv``).
"""
from __future__ import annotations

import csv
import functools
import math
from pathlib import Path

import numpy as np

from regretlab.core.registry import Bool, Choice, Int, experiment, plotter
from regretlab.core.seeding import INSTANCE_KEY, counter_keys
from regretlab.core.validate import ParamError

from .learning import ALGORITHMS, ALPHA, full_information, learn
from .models import (
    KINDS,
    LSD_FAMILIES,
    RECHARGING_FAMILIES,
    is_concave_recharging,
    is_monotone_full,
    lccg22_section4,
    lccg22_supplementary,
    random_lsd,
    random_recharging,
)
from .rounding import PLANNERS, c_m

REFERENCES = {
    "FGPZ23": "Foussoul, Goyal, Papadigenopoulos, Zeevi. Last Switch Dependent Bandits with Monotone Payoff "
              "Functions. ICML 2023, arXiv 2306.00338.",
    "LCCG22": "Laforgue, Clerici, Cesa-Bianchi, Gilad-Bachrach. A Last Switch Dependent Analysis of Satiation and "
              "Seasonality in Bandits. AISTATS 2022, arXiv 2110.11819.",
    "PCS22": "Papadigenopoulos, Caramanis, Shakkottai. Non-Stationary Bandits under Recharging Payoffs: Improved "
             "Planning with Sublinear Regret. NeurIPS 2022, arXiv 2205.14790.",
    "KI18": "Kleinberg, Immorlica. Recharging Bandits. FOCS 2018.",
}

BASELINES = ("greedy", "round_robin_best_j", "best_periodic_exact", "max_mean_cycle", "random")
RATIO_PLANNERS = tuple(PLANNERS) + BASELINES
FAMILIES = RECHARGING_FAMILIES + LSD_FAMILIES
E_FLOOR = 1.0 - 1.0 / math.e
CONTENTION_PLANNERS = ("pcs_offset_rounding_reconstructed", "lsd_mirroring_rounding_reconstructed")


def _instance_rng(seed: int, index: int) -> np.random.Generator:
    """Instance-level draws keyed by (seed, index) only (independent of every cell and replicate stream)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(INSTANCE_KEY, index)))


def make_instance(p: dict, rng):
    if p["model"] == "recharging":
        return random_recharging(p["k"], p["tau_max"], p["family"], rng=rng, idle_allowed=p["idle_allowed"],
                                 m=p.get("m", 1))
    return random_lsd(p["k"], p["tau_max"], p["family"], rng=rng, idle_allowed=p["idle_allowed"])


def _check_model(p: dict, where: str) -> None:
    fams = RECHARGING_FAMILIES if p["model"] == "recharging" else LSD_FAMILIES
    if p["family"] not in fams:
        raise ParamError(where, "family", f"one of {'|'.join(fams)} for model = {p['model']}", p["family"])


COMMON = {
    "model": Choice("recharging", "recharging (delay-dependent) or lsd (last-switch-dependent) bandits",
                    choices=KINDS),
    "family": Choice("monotone", "payoff family (spec §10): recharging monotone|concave|blocking, lsd "
                     "monotone_full|parametric|seasonal", choices=FAMILIES),
    "k": Int(3, "number of arms", low=1, high=12),
    "tau_max": Int(3, "state cap tau_max", low=1, high=50),
    "idle_allowed": Bool(True, "whether a round may play nothing (the rounding guarantees need it)"),
    "crs": Choice("fair", "contention rule of the rounding: fair (Feige-Vondrak) or uniform", choices=("fair",
                                                                                                          "uniform")),
}

RATIO_PARAMS = dict(COMMON, **{
    "planner": Choice("pcs_offset_rounding_reconstructed", "planner: the LP roundings (recharging: "
                      "pcs_offset_rounding_reconstructed, ki_independent_rounding, "
                      "ki_interleaved_rounding_reconstructed, pow2_periodic; lsd: "
                      "lsd_mirroring_rounding_reconstructed) or greedy, round_robin_best_j, best_periodic_exact, "
                      "max_mean_cycle (the rho*-cycle repeated), random",
                      choices=RATIO_PLANNERS),
    "T": Int(200, "horizon", low=1, high=100_000),
    "draws": Int(200, "rounding draws per instance (E[ALG(T)] is their mean)", low=2),
    "m": Int(1, "plays per round (m > 1: recharging, with pcs_offset_rounding_reconstructed (crs = uniform), "
             "greedy, max_mean_cycle or random)", low=1, high=12),
})
M_PLANNERS = ("pcs_offset_rounding_reconstructed", "greedy", "max_mean_cycle", "random")

RATIO_OUTPUTS = {
    "ratio": "(R,) E[ALG(T)] / OPT(T) per instance",
    "alg": "(R,) E[ALG(T)] (mean over the draws)",
    "alg_se": "(R,) standard error of that mean",
    "opt": "(R,) OPT(T) by dynamic programming",
    "lp_rate": "(R,) LP* (6.1 recharging, 6.2 lsd)",
    "lp_ratio": "(R,) T LP* / OPT(T) (the LP gap; > 1 up to start-up terms)",
    "floor_ratio": "(R,) c_m T LP* / OPT(T): the proven floor (1 - 1/e) T LP* / OPT(T) where it applies (m = 1); "
                   "for m > 1 the correlation-gap constant c_m = 1 - e^-m m^m / m!, a reference only",
    "guaranteed": "(R,) 1 where the planner's proven guarantee applies to the instance",
    "meets_floor": "(R,) 1 where E[ALG(T)] >= (1 - 1/e) T LP* - 4 SE",
}


def _check_ratio(p: dict) -> None:
    where = "lsd.ratio"
    _check_model(p, where)
    if p["planner"] in PLANNERS and PLANNERS[p["planner"]] != p["model"]:
        raise ParamError(where, "planner", f"a planner for model = {p['model']} (one of "
                         f"{'|'.join(n for n, m in PLANNERS.items() if m == p['model'])}|{'|'.join(BASELINES)})",
                         p["planner"])
    if p["m"] > 1:
        if p["model"] != "recharging" or p["m"] > p["k"]:
            raise ParamError(where, "m", "1, or 2..k for model = recharging", f"m = {p['m']}, model = "
                             f"{p['model']}, k = {p['k']}")
        if p["planner"] not in M_PLANNERS:
            raise ParamError(where, "planner", f"one of {'|'.join(M_PLANNERS)} for m > 1", p["planner"])
        if p["planner"] == "pcs_offset_rounding_reconstructed" and p["crs"] != "uniform":
            raise ParamError(where, "crs", "uniform for m > 1 (a uniformly random m-subset of the requesters)",
                             p["crs"])
    n = (p["tau_max"] * (1 if p["model"] == "recharging" else 2)) ** p["k"]
    from .simulate import DP_MAX_STATES

    if n > DP_MAX_STATES:
        raise ParamError(where, "k", f"k and tau_max with n_states^k <= {DP_MAX_STATES} (the exact DP)",
                         f"k = {p['k']}, tau_max = {p['tau_max']}: {n} joint states")
    from .periodic import GRID_MAX, n_pattern_sets
    from .simulate import KARP_MAX_STATES

    if p["planner"] == "max_mean_cycle" and n > KARP_MAX_STATES:
        raise ParamError(where, "k", f"k and tau_max with n_states^k <= {KARP_MAX_STATES} for max_mean_cycle "
                         "(Karp's tables)", f"k = {p['k']}, tau_max = {p['tau_max']}: {n} joint states")
    g = n_pattern_sets(p["model"], p["k"], 2 * p["tau_max"]) if p["planner"] == "best_periodic_exact" else 0
    if g > GRID_MAX:
        raise ParamError(where, "k", f"k and tau_max with at most {GRID_MAX} pattern sets for best_periodic_exact",
                         f"k = {p['k']}, tau_max = {p['tau_max']}: {g}")


def guarantee_applies(inst, planner: str, crs: str) -> bool:
    """Whether the proven (1 - 1/e) T LP* bound of the planner covers this instance (module docstring)."""
    if not inst.idle_allowed or inst.init.min() != inst.n_states - 1 or inst.m != 1:
        return False
    if planner == "pcs_offset_rounding_reconstructed":
        return crs == "fair" and is_monotone_full(inst)
    if planner == "lsd_mirroring_rounding_reconstructed":
        return crs == "fair" and is_monotone_full(inst)
    if planner == "ki_independent_rounding":
        return is_concave_recharging(inst)
    return False


def _planner_values(inst, p, key: int, backend: str, lp) -> np.ndarray:
    """(draws,) values of the planner's schedules (deterministic planners: one value repeated)."""
    from . import reference
    from .baselines import greedy_schedule, random_schedule, round_robin_candidates
    from .rounding import plan_rounding, run_plan
    from .simulate import score

    T, draws, name = p["T"], p["draws"], p["planner"]
    py = backend == "python"

    def value(sched):
        return reference.score_schedule(inst, sched)[0] if py else float(score(inst, sched).value[0])

    if name == "greedy":
        return np.full(draws, value(greedy_schedule(inst, T)))
    if name == "round_robin_best_j":
        if inst.m != 1:
            raise ParamError("lsd.ratio", "planner", "round_robin_best_j needs m = 1", inst.m)
        cands = round_robin_candidates(inst, T)
        vals = [reference.score_schedule(inst, c)[0] for c in cands] if py else score(inst, cands).value
        return np.full(draws, float(np.max(vals)))
    if name == "best_periodic_exact":      # chosen with the kernels; the python backend re-scores the choice
        from .periodic import best_periodic_exact

        res = best_periodic_exact(inst, T)
        if not py:
            return np.full(draws, res.value)
        plan = res.plan()
        sched = reference.run_requests(inst, plan.mode, plan.period[0], plan.width[0], plan.offset[0], plan.q[0],
                                       plan.phase[0], T, 0)
        return np.full(draws, value(sched))
    if name == "max_mean_cycle":
        from .periodic import cycle_schedule

        return np.full(draws, value(cycle_schedule(inst, T)))
    if name == "random":
        rows = [random_schedule(inst, T, np.random.SeedSequence(key, spawn_key=(j,))) for j in range(draws)]
        return np.array([value(r) for r in rows]) if py else score(inst, np.stack(rows)).value
    plan = plan_rounding(inst, name, draws, x=lp.x, crs=p["crs"], seed=key)
    keys = counter_keys(key, 0, draws)
    if not py:
        return run_plan(inst, plan, T, keys=keys).scores.value
    out = np.empty(draws)
    for j in range(draws):
        sched = reference.run_requests(inst, plan.mode, plan.period[j], plan.width[j], plan.offset[j], plan.q[j],
                                       plan.phase[j], T, int(keys[j]))
        out[j] = reference.score_schedule(inst, sched)[0]
    return out


@experiment(
    "lsd.ratio",
    summary="Approximation ratio E(planner value) / OPT (exact DP) on random small recharging / LSD instances",
    params=RATIO_PARAMS,
    small={"k": 2, "tau_max": 2, "T": 8, "draws": 4},
    outputs=RATIO_OUTPUTS,
    cite=("FGPZ23", "PCS22", "KI18"),
    check=_check_ratio,
    backends=("numba", "python"),
)
def run_ratio(params: dict, seeds, backend: str) -> dict:
    """Each replicate is one random instance (the same instances for every planner of a sweep): the planner's
    mean value over ``draws`` rounding draws, OPT(T) by exact DP, LP*, and whether the planner's proven
    (1 - 1/e) T LP* floor applies and is met (spec §11 figures 1-2)."""
    from . import reference
    from .relaxations import lp_value
    from .simulate import dp_opt

    p = params
    out = {k: np.zeros(seeds.replicates) for k in RATIO_OUTPUTS}
    keys = seeds.keys
    for i in range(seeds.replicates):
        inst = make_instance(p, _instance_rng(seeds.seed, seeds.start + i))
        lp = lp_value(inst)
        opt = reference.dp_value(inst, p["T"]) if backend == "python" else dp_opt(inst, p["T"], schedule=False).value
        v = _planner_values(inst, p, int(keys[i]), backend, lp)
        mean, se = float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))
        bound = c_m(inst.m) * p["T"] * lp.value          # 1 - 1/e for m = 1 (proved where guaranteed)
        row = {"ratio": mean / opt if opt > 0 else 1.0, "alg": mean, "alg_se": se, "opt": opt, "lp_rate": lp.value,
               "lp_ratio": p["T"] * lp.value / opt if opt > 0 else 1.0,
               "floor_ratio": bound / opt if opt > 0 else 0.0,
               "guaranteed": float(guarantee_applies(inst, p["planner"], p["crs"])),
               "meets_floor": float(mean >= bound - 4 * se - 1e-9)}
        for k, val in row.items():
            out[k][i] = val
        seeds.report(i + 1, seeds.replicates, "instances")
    return out


# ------------------------------------------------------------------------------------------------ learning
LEARN_PARAMS = dict(COMMON, **{
    "algorithm": Choice("etc_lp", "learner: etc_lp (explore-then-commit on the LP), ucb_lp_phased (optimistic "
                        "LP per doubling epoch), ucb1, thompson (state-agnostic)", choices=ALGORITHMS),
    "T": Int(1 << 14, "horizon", low=2, high=1 << 24),
    "instance": Int(0, "instance number (the payoff table; shared by every cell)", low=0),
    "noise": Choice("bernoulli", "reward noise", choices=("bernoulli", "gaussian", "none")),
    "draws": Int(16, "plan draws averaged in etc_lp's commit phase and in the FI counterpart", low=1),
    "monotone": Bool(True, "etc_lp: project the estimates on the monotone cone before the LP"),
    "block": Int(3, "isi_combucb1 / combucb1: the block parameter d (blocks of d + 1 / d rounds)", low=1),
    "n_checkpoints": Int(12, "log-spaced checkpoints of the regret curves", low=2),
})
LEARN_PARAMS["k"] = Int(5, "number of arms", low=1, high=50)
LEARN_PARAMS["tau_max"] = Int(4, "state cap tau_max", low=1, high=50)

LEARN_OUTPUTS = {
    "regret_fi": "(R,) R_FI(T) = FI(T) - ALG(T), against the rounding run with the true payoffs",
    "regret_lp": "(R,) R_LP(T) = (1 - 1/e) T LP* - ALG(T)",
    "reward": "(R,) ALG(T), the learner's sum of means",
    "fi_reward": "(R,) FI(T)",
    "regret_fi_curve": "(R, C) R_FI at the checkpoints",
    "regret_lp_curve": "(R, C) R_LP at the checkpoints",
    "checkpoints": "(C,) round counts of the curves",
    "explore_rounds": "() rounds of etc_lp's exploration (0 for the others)",
    "lp_rate": "() LP* of the instance",
}


def _check_learning(p: dict) -> None:
    _check_model(p, "lsd.learning")
    if p["algorithm"] == "thompson" and p["noise"] == "gaussian":  # learn() refuses it only after the instance
        raise ParamError("lsd.learning", "noise", "bernoulli or none for Bernoulli Thompson sampling", p["noise"])
    if p["algorithm"] in ("isi_combucb1", "combucb1") and p["model"] != "recharging":
        raise ParamError("lsd.learning", "algorithm", "etc_lp|ucb_lp_phased|ucb1|thompson for model = lsd (the "
                         "[LCCG22] block learners are written for recharging instances)", p["algorithm"])


def learning_instance(p: dict, seed: int):
    return make_instance(p, _instance_rng(seed, (1 << 20) + p["instance"]))


def _crs_inert(p: dict) -> str | None:
    """Why ``crs`` cannot change an ``lsd.learning`` cell, or None where it can.

    The rule only chooses among the arms that request the same round (m = 1 here), and the fair rule of Feige and
    Vondrak (FOCS 2006; the [PCS22] rounding) selects requester i with probability ((q(R) - q_i) / (|R| - 1) +
    q(not R) / |R|) / Q, which is 1 / |R| -- the uniform rule -- whenever the requesters share one request
    probability. Every plan of the cell, the learners' and the full-information counterpart's, is drawn from a
    vertex of the LP (:func:`.relaxations.lp_fast`). With one arm nobody contends; on recharging instances with
    k = 2 and tau_max <= 2 the vertices of LP 6.1 (three constraints) either activate one arm or give both arms
    q = 1/2 (both at delay 2, or one at delay 1 with x = 1/2 and the other at delay 2). Elsewhere the two rules
    differ as soon as requesters with different q meet, which depends on the instance's LP solutions (e.g. arms
    at delays 2 and 3), not on the parameters alone.
    """
    if p["k"] == 1:
        return "one arm: no round has two requesters"
    if p["model"] == "recharging" and p["k"] == 2 and p["tau_max"] <= 2:
        return ("recharging, k = 2, tau_max <= 2: every vertex of LP 6.1 gives the active arms equal request "
                "probabilities, where the fair rule is the uniform one")
    return None


@experiment(
    "lsd.learning",
    summary="Learning recharging / LSD bandits: regret against the full-information rounding and the LP proxy",
    params=LEARN_PARAMS,
    small={"k": 2, "tau_max": 2, "T": 40, "draws": 2, "n_checkpoints": 4},
    outputs=LEARN_OUTPUTS,
    curves={"regret_fi_curve": "checkpoints", "regret_lp_curve": "checkpoints"},
    cite=("FGPZ23", "PCS22"),
    check=lambda p: _check_learning(p),
    backends=("numba", "python"),
    inert={"block": lambda p: None if p["algorithm"] in ("isi_combucb1", "combucb1") else
           "the block learners' parameter (isi_combucb1, combucb1)",
           "monotone": lambda p: None if p["algorithm"] == "etc_lp" else "etc_lp's commit phase only",
           "crs": _crs_inert},
)
def run_learning(params: dict, seeds, backend: str) -> dict:
    """Each replicate is one run of the learner on the cell's instance (``instance``, shared by all cells):
    R_FI against the rounding run with the true payoffs (same plan draws) and R_LP = (1 - 1/e) t LP* - ALG(t),
    at log-spaced checkpoints (spec §8, §11 figure 3)."""
    from regretlab.core.stats import log_checkpoints

    from .relaxations import lp_value

    p = params
    inst = learning_instance(p, seeds.seed)
    ck = log_checkpoints(p["T"], p["n_checkpoints"])
    res = learn(inst, p["algorithm"], p["T"], seeds.keys, ck, states=seeds.states, noise=p["noise"], crs=p["crs"],
                monotone=p["monotone"], draws=p["draws"], block=p["block"], backend=backend)
    fi = full_information(inst, p["T"], seeds.keys, ck, crs=p["crs"], draws=p["draws"])
    lp = lp_value(inst).value
    r_fi = fi - res.reward
    r_lp = ALPHA * ck[None, :] * lp - res.reward
    return {"regret_fi": r_fi[:, -1], "regret_lp": r_lp[:, -1], "reward": res.reward[:, -1], "fi_reward": fi[:, -1],
            "regret_fi_curve": r_fi, "regret_lp_curve": r_lp, "checkpoints": ck,
            "explore_rounds": np.int64(res.explore_rounds), "lp_rate": np.float64(lp)}


# ------------------------------------------------------------------------------------------------- papers
PAPER_POLICIES = ("opt", "greedy", "round_robin_best_j", "pcs_offset_rounding_reconstructed",
                  "ki_interleaved_rounding_reconstructed") + ALGORITHMS
PAPER_INSTANCES = {"section4": lccg22_section4, "supplementary": lccg22_supplementary}

PAPER_PARAMS = {
    "instance": Choice("supplementary", "the [LCCG22] instance (spec §10): section4 (k = 5, delays 1..10) or "
                       "supplementary (k = 2, delays 1..11); all arms start at delay 1",
                       choices=tuple(PAPER_INSTANCES)),
    "policy": Choice("opt", "opt (exact DP schedule), greedy, round_robin_best_j, the roundings, or a learner",
                     choices=PAPER_POLICIES),
    "T": Int(3300, "horizon (the [LCCG22] code: 3600 for section4, 3300 for supplementary)", low=2),
    "idle_allowed": Bool(False, "whether a round may play nothing ([LCCG22]'s protocol: no)"),
    "noise": Choice("bernoulli", "reward noise of the learners", choices=("bernoulli", "none")),
    "draws": Int(16, "plan draws averaged for the roundings and etc_lp's commit phase", low=1),
    "block": Int(0, "isi_combucb1 / combucb1 block parameter d (0: the [LCCG22] code's, 3 for section4 and 10 "
                 "for supplementary)", low=0),
    "n_checkpoints": Int(30, "log-spaced checkpoints of the reward curve", low=2),
}
PAPER_BLOCK = {"section4": 3, "supplementary": 10}

PAPER_OUTPUTS = {
    "reward": "(R,) cumulative sum of means at T",
    "rate": "(R,) reward / T",
    "reward_curve": "(R, C) cumulative sum of means at the checkpoints",
    "checkpoints": "(C,) round counts",
    "lp_rate": "() LP* of the instance (LP 6.1)",
    "rho": "() rho*, the optimal long-run rate (exact by Karp's maximum mean cycle up to 4096 joint states, else "
           "the midpoint of value-iteration span bounds of width <= 1e-7)",
}


@functools.lru_cache(maxsize=8)
def _paper_rho(name: str, idle: bool) -> float:
    from .simulate import KARP_MAX_STATES, long_run_rate, max_mean_cycle

    inst = PAPER_INSTANCES[name](idle_allowed=idle)
    if inst.n_states ** inst.k <= KARP_MAX_STATES:
        return max_mean_cycle(inst).rate
    lo, hi = long_run_rate(inst, tol=1e-7)
    return 0.5 * (lo + hi)


#: lsd.paper policies that play an arm in every round whatever the play rule
NEVER_IDLE = {
    "opt": "the optimum never idles on the [LCCG22] instances (below)",
    "greedy": "greedy idles only when every current mean is 0, and the [LCCG22] instances have an arm paying a "
              "positive mean at every delay",
    "round_robin_best_j": "round robin plays an arm in every round",
    **{a: "the learner plays an arm in every round" for a in ("ucb1", "thompson", "isi_combucb1", "combucb1")},
}


def _idle_inert(p: dict) -> str | None:
    """Why ``idle_allowed`` cannot change an ``lsd.paper`` cell, or None where it can.

    Both [LCCG22] instances have an arm whose mean is the same positive number at every delay (0.15 for arms 0, 3
    and 4 of section4, 0.05 for arm 0 of supplementary). In the recharging model playing that arm instead of
    idling earns more and leaves every other arm's delay as idling would (its own delay does not matter), so no
    optimal schedule idles: OPT(T) (the DP) and rho* (the maximum mean cycle) are the same with or without idling,
    and so is LP 6.1 (an upper bound with sum x / d <= 1 either way). The policies of :data:`NEVER_IDLE` play an
    arm in every round, so they earn the same. The LP roundings and the LP learners (etc_lp, ucb_lp_phased) idle
    in a round that no arm requests (or while exploring), and play a filler arm there when idling is not allowed
    ([PCS22] allow idling; the [LCCG22] protocol does not).
    """
    why = NEVER_IDLE.get(p["policy"])
    return None if why is None else f"{why}; rho* is the same with or without idling on both instances"


def _check_paper(p: dict) -> None:
    if p["policy"] == "opt" and p["instance"] == "section4" and p["T"] > 20_000:
        raise ParamError("lsd.paper", "T", "<= 20000 for the exact DP on the section4 instance (10^5 joint "
                         "states)", p["T"])


@experiment(
    "lsd.paper",
    summary="The two [LCCG22] instances: exact optimum, greedy, round robin, LP rounding and learners",
    params=PAPER_PARAMS,
    small={"T": 30, "draws": 2, "n_checkpoints": 4},
    outputs=PAPER_OUTPUTS,
    curves={"reward_curve": "checkpoints"},
    cite=("LCCG22", "PCS22"),
    check=_check_paper,
    backends=("numba", "python"),
    inert={"noise": lambda p: None if p["policy"] in ALGORITHMS else "reward noise of the learners only (the "
           "planners are scored by their sums of means)",
           "draws": lambda p: None if p["policy"] in PLANNERS or p["policy"] == "etc_lp" else
           "plan draws of the roundings and etc_lp only",
           "block": lambda p: None if p["policy"] in ("isi_combucb1", "combucb1") else
           "the block learners' parameter (isi_combucb1, combucb1)",
           "idle_allowed": _idle_inert},
)
def run_paper(params: dict, seeds, backend: str) -> dict:
    """The [LCCG22] instances (all arms start at delay 1): cumulative sum of means of the exact optimum, the
    baselines, the rounding or a learner, with LP* and rho* of the instance (spec §10, §11 figure 4)."""
    from regretlab.core.stats import log_checkpoints

    from .baselines import greedy_schedule, round_robin_best_j
    from .relaxations import lp_value
    from .rounding import plan_rounding, run_plan
    from .simulate import dp_opt, score

    p = params
    inst = PAPER_INSTANCES[p["instance"]](idle_allowed=p["idle_allowed"])
    T, R = p["T"], seeds.replicates
    ck = log_checkpoints(T, p["n_checkpoints"])
    lp = lp_value(inst)
    pol = p["policy"]
    if pol in ("opt", "greedy", "round_robin_best_j"):
        sched = {"opt": lambda: dp_opt(inst, T).schedule, "greedy": lambda: greedy_schedule(inst, T),
                 "round_robin_best_j": lambda: round_robin_best_j(inst, T)[0]}[pol]()
        curve = np.repeat(score(inst, sched, checkpoints=ck).mean_cum, R, axis=0)
    elif pol in PLANNERS:
        rows = []
        for key in seeds.keys:
            plan = plan_rounding(inst, pol, p["draws"], x=lp.x, seed=int(key))
            rows.append(run_plan(inst, plan, T, checkpoints=ck, keys=counter_keys(int(key), 0, p["draws"]))
                        .scores.mean_cum.mean(axis=0))
            seeds.report(len(rows), R)
        curve = np.stack(rows)
    else:
        curve = learn(inst, pol, T, seeds.keys, ck, states=seeds.states, noise=p["noise"], draws=p["draws"],
                      block=p["block"] or PAPER_BLOCK[p["instance"]], backend=backend).reward
    return {"reward": curve[:, -1], "rate": curve[:, -1] / T, "reward_curve": curve, "checkpoints": ck,
            "lp_rate": np.float64(lp.value), "rho": np.float64(_paper_rho(p["instance"], p["idle_allowed"]))}


# -------------------------------------------------------------------------------------------------- plots
def _panels(res, spec):
    """Finished cells grouped by ``panel`` (default: model) then by the legend axes."""
    from regretlab.core.plots import select_cells

    x = spec.get("x", "k")
    panel_key = spec.get("panel", "model")
    axes = [a for a in res.manifest["axes"] if a not in (x, panel_key)]
    out: dict = {}
    for c in select_cells(res, spec):
        panel = c["params"].get(panel_key)
        label = ", ".join(f"{c['params'][a]}" for a in axes if a != "crs" or c["params"].get("planner") in
                          CONTENTION_PLANNERS) or c["params"].get("planner", "")
        out.setdefault(panel, {}).setdefault(label, []).append(c)
    return out


@plotter("lsd.ratio")
def plot_ratio(res, spec: dict, stem):
    """Spec §11 figures 1, 2, 5: mean E[ALG]/OPT over instances vs ``x`` (k, tau_max or m) with 95% t-intervals, one
    panel per model, the 1 - 1/e line (dashed) and the LP gap T LP*/OPT (dotted)."""
    from regretlab.core.plotting import make_figure, plot_reference, save_figure
    from regretlab.core.stats import mean_band

    x = spec.get("x", "k")
    panels = _panels(res, spec)
    fig, axes = make_figure(1, max(1, len(panels)), figsize=(7.0 * max(1, len(panels)), 6.4), squeeze=False)
    rows = []
    for ax, (panel, groups) in zip(axes[0], panels.items()):
        lp_gap: dict = {}
        for label, cells in groups.items():
            cells = sorted(cells, key=lambda c: c["params"][x])
            xs, m, lo, hi = [], [], [], []
            for c in cells:
                arr = res.cell(c["index"])
                a, b, d = (float(v) for v in mean_band(arr["ratio"]))
                xs.append(c["params"][x])
                m.append(a)
                lo.append(b)
                hi.append(d)
                lp_gap.setdefault(c["params"][x], arr["lp_ratio"])
                g = arr["guaranteed"] > 0
                rows.append([panel, label, c["params"][x], a, b, d, float(arr["ratio"].min()), int(g.sum()),
                             int((arr["meets_floor"][g] > 0).sum()), float(arr["floor_ratio"].min())])
            (ln,) = ax.plot(xs, m, marker="o", label=label)
            ax.fill_between(xs, lo, hi, color=ln.get_color(), alpha=0.15)
        if lp_gap:
            gx = sorted(lp_gap)
            ax.plot(gx, [float(np.mean(lp_gap[v])) for v in gx], ":", color="gray", label="T LP* / OPT (LP gap)")
            if x == "m":
                plot_reference(ax, np.array(gx, float), np.array([c_m(v) for v in gx]),
                               "c_m = 1 - e^-m m^m / m!", "--")
            else:
                plot_reference(ax, np.array([gx[0], gx[-1]], float), np.full(2, E_FLOOR), "1 - 1/e", "--")
        ax.set_xlabel(x)
        ax.set_ylabel("E[ALG(T)] / OPT(T) (mean over instances, 95% CI)")
        ax.set_title(f"{panel}: {spec.get('title', res.manifest['config'].get('title', ''))}", fontsize=9)
        ax.set_xticks(sorted({c["params"][x] for cs in groups.values() for c in cs}))
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.12), ncol=2)
    paths = list(save_figure(fig, stem))
    csv_path = Path(f"{stem}.ratios.csv")
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["panel", "planner", x, "mean_ratio", "ci_low", "ci_high", "min_ratio", "n_guaranteed",
                    "n_guaranteed_meeting_floor", "min_floor_ratio"])
        for r in rows:
            w.writerow([r[0], r[1], r[2]] + [f"{v:.4f}" if isinstance(v, float) else v for v in r[3:]])
    return paths + [csv_path]


@plotter("lsd.regret_vs_T")
def plot_regret_vs_T(res, spec: dict, stem):
    """Spec §11 figure 3: log-log R_FI(T) vs T per learner with the bootstrap slope over the top decade of T in
    the legend and slope-1/2, 2/3, 1 references; right panel R_LP(T) / T."""
    from regretlab.core.plots import group_cells, loglog_slope_table, write_slopes_csv
    from regretlab.core.plotting import make_figure, plot_points_with_fit, plot_reference, save_figure
    from regretlab.core.stats import mean_band

    y = spec.get("y", "regret_fi")
    rows = loglog_slope_table(res, spec, "T", y)
    fig, axes = make_figure(1, 2, figsize=(14.0, 5.6), squeeze=False)
    a, b = axes[0]
    anchor = None
    for row in rows:
        name = row["label"].replace("algorithm=", "") or y
        m, lo, hi = (np.asarray(v, float) for v in mean_band(row["Y"]))
        pos = m > 0
        lab = name if row["fit"] is not None else f"{name} (no fit: {row['why'][:60]})"
        if np.any(pos):
            plot_points_with_fit(a, row["x"][pos], m[pos], np.minimum(np.maximum(lo[pos], m[pos] * 1e-3), m[pos]),
                                 hi[pos], lab, fit=row["fit"], xlabel="horizon T", ylabel=f"{y} (mean, 95% band)")
            if anchor is None:
                anchor = (row["x"][pos][0], m[pos][0])
    if anchor is not None:
        Tg = np.geomspace(min(r["x"].min() for r in rows), max(r["x"].max() for r in rows), 50)
        for slope, style in ((0.5, ":"), (2 / 3, "-."), (1.0, "--")):
            plot_reference(a, Tg, anchor[1] * (Tg / anchor[0]) ** slope, f"slope {slope:.2g}", style)
    a.set_title(spec.get("title", res.manifest["config"].get("title", "regret vs T")), fontsize=9)
    a.legend(fontsize=7)
    for label, cells in group_cells(res, spec, "T").items():
        Ts = np.array([c["params"]["T"] for c in cells], float)
        v = [mean_band(res.cell(c["index"])["regret_lp"] / c["params"]["T"]) for c in cells]
        (ln,) = b.plot(Ts, [float(t[0]) for t in v], marker="o", label=label.replace("algorithm=", ""))
        b.fill_between(Ts, [float(t[1]) for t in v], [float(t[2]) for t in v], color=ln.get_color(), alpha=0.15)
    b.axhline(0.0, color="black", lw=0.8)
    b.set_xscale("log")
    b.set_xlabel("horizon T")
    b.set_ylabel("R_LP(T) / T = (1 - 1/e) LP* - ALG(T) / T")
    b.set_title("below 0: above the (1 - 1/e) LP benchmark", fontsize=9)
    b.legend(fontsize=7)
    paths = list(save_figure(fig, stem))
    return paths + [write_slopes_csv(f"{stem}.slopes.csv", rows, "T")]
