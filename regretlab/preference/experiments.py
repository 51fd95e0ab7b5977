"""Registered preference-learning experiments (``regretlab list``) and their theorem plots [KNOX-TMLR].

``preference.learning`` (spec §4-6, the synthetic experiments of [KNOX-TMLR]): label N segment pairs with
one preference model (``label_model``, ``noise``) from the true reward, learn a reward from the same
labels with **both** models (paired), and evaluate each learned reward (scaled return, near-optimal,
STARC distance to the truth). One replicate is one MDP:

* ``family = "random"``: replicate r is random delivery MDP r (spec §3.3) and its successor-feature
  policy set; both depend on (seed, r) only, not on the cell, so every cell of a sweep (every N) sees the
  same MDPs and the curves against N compare like with like. A drawn MDP on which every policy is as good
  as the uniform one (scaled return undefined) is replaced by the next draw; ``redraws`` counts them.
* ``family = "delivery"``: the 10x10 human-study board (spec §3.2) and one Pi_SF for every replicate;
  replicates differ in their dataset and initialisation.

Segment pairs, labels and w_0 come from the replicate's own stream of the cell. ``board_height`` /
``board_width`` fix the random boards' size (0: drawn from the authors' lists), for small test runs.
``transitions = "stochastic"`` uses the authors' stochastic variant of each random board (spec §3.3 item
4; a variant whose extra outcomes would change the optimal policy counts as a redraw), segments sampled by
random rollouts (:func:`regretlab.preference.segments.sample_segments`) and the expected-form regret.

Plot kind ``preference.performance``: % of MDPs with a near-optimal learned reward (Wilson 95% band) and
the mean scaled return (t band) against the number of preferences, per learned model, one row per
(label model, noise) condition.
"""
from __future__ import annotations

import functools

import numpy as np

from regretlab.core.registry import Bool, Choice, Float, Int, experiment, plotter

from .domain import OptimalPolicyChanged, delivery_mdp, random_delivery_board, stochastic_variant
from .evaluation import evaluate, policy_gap
from .learning import (
    SF_VALUES_DELIVERY,
    SF_VALUES_RANDOM,
    fit,
    init_weights,
    policy_set,
    preference_rows,
    successor_features,
)
from .models import LABEL_NOISE, MODELS, label_pairs, preference_logit
from .segments import enumerate_segments, sample_pairs, sample_segments

REFERENCES = {
    "KNOX-TMLR": "Knox, Hatgis-Kessell, Booth, Niekum, Stone, Allievi. Models of human preference for learning "
                 "reward functions. TMLR 2024, arXiv 2206.02231 (regret model, identifiability, synthetic "
                 "random-MDP experiments).",
    "KNOX-AAAI": "Knox, Hatgis-Kessell, Adalgeirsson, Booth, Dragan, Stone, Niekum. Learning optimal advantage "
                 "from preferences and mistaking it for reward. AAAI 2024, arXiv 2310.02456.",
}
SHORT = {"regret": "regret", "partial_return": "pr"}
MDP_KEY = 2**32 - 2  # spawn_key slot of the per-replicate MDP streams (independent of the cell)
MAX_REDRAWS = 100

LEARNING_PARAMS = {
    "family": Choice("random", "MDPs: random delivery boards (spec §3.3; one per replicate) or the 10x10 "
                     "human-study board (spec §3.2)", choices=("random", "delivery")),
    "label_model": Choice("regret", "preference model that labels the pairs from the true reward",
                          choices=MODELS),
    "noise": Choice("stochastic", "labels: stochastic (logistic draw) or noiseless (larger statistic; ties "
                    "0.5)", choices=LABEL_NOISE),
    "label_temperature": Float(1.0, "stochastic labels: P = logistic(z / label_temperature) (1: the model's own)",
                               low=0.0, low_open=True),
    "n_prefs": Int(1000, "number of labelled segment pairs N", low=1),
    "seg_length": Int(3, "segment length k (number of actions)", low=1, high=4),
    "iterations": Int(5000, "Adam iterations (full batch)", low=0),
    "lr": Float(0.5, "Adam learning rate", low=0.0, low_open=True),
    "temperature": Float(1e-3, "soft-max temperature of V_w over the successor-feature policies (0: hard max)",
                         low=0.0),
    "n_policies": Int(100, "size of the successor-feature policy set Pi_SF", low=1),
    "exclude_true": Bool(True, "remove the true reward's optimal policy from Pi_SF (authors' `_no_gt`)"),
    "transitions": Choice("deterministic", "random boards: deterministic moves, or the authors' stochastic "
                          "variant (teleports, coin and goal outcomes; spec §3.3 item 4) with sampled segments and "
                          "the expected-form regret", choices=("deterministic", "stochastic")),
    "board_height": Int(0, "random boards: height (0: drawn from {3, 6, 10, 15})", low=0, high=30),
    "board_width": Int(0, "random boards: width (0: drawn from {5, 6, 10})", low=0, high=30),
}
LEARNING_OUTPUTS = {}
for _m, _s in SHORT.items():
    LEARNING_OUTPUTS.update({
        f"scaled_return_{_s}": f"(R,) scaled return of the reward learned with the {_m} model",
        f"near_optimal_{_s}": f"(R,) 1.0 if that scaled return >= 0.9 ({_m} model)",
        f"starc_{_s}": f"(R,) STARC distance (C_VAL, weighted L2) between that reward and the truth ({_m})",
        f"loss_{_s}": f"(R,) training loss of the returned weights ({_m} model)",
        f"w_{_s}": f"(R, 6) learned weights ({_m} model)",
    })
LEARNING_OUTPUTS.update({
    "n_segments": "(R,) distinct segments of the MDP",
    "n_states": "(R,) states of the MDP",
    "n_sf_policies": "(R,) size of the successor-feature policy set",
    "policy_gap": "(R,) Vbar(pi*) - Vbar(uniform) under the true reward",
    "redraws": "(R,) degenerate random MDPs replaced before this one",
})


def _check_learning(p: dict) -> None:
    if p["transitions"] == "stochastic" and p["family"] != "random":
        from regretlab.core.validate import ParamError

        raise ParamError("preference.learning", "transitions", "'deterministic' with family = 'delivery' (the "
                         "stochastic variant is built for random boards, as in the authors' code)", "stochastic")


_INSTANCE_KEYS = ("family", "transitions", "seg_length", "n_policies", "exclude_true", "board_height", "board_width")


@functools.lru_cache(maxsize=256)
def _replicate_instance(key: tuple, seed: int, replicate: int):
    p = dict(zip(_INSTANCE_KEYS, key))
    # the delivery family has one MDP, so one Pi_SF for all replicates (the stream of replicate 0)
    ss = np.random.SeedSequence(seed, spawn_key=(MDP_KEY, 0 if p["family"] == "delivery" else replicate))
    board_ss, pol_ss, seg_ss = ss.spawn(3)
    gen = np.random.default_rng(board_ss)
    redraws = 0
    if p["family"] == "delivery":
        mdp = delivery_mdp()
        values = SF_VALUES_DELIVERY
    else:
        values = SF_VALUES_RANDOM
        while True:
            board, w = random_delivery_board(gen, height=p["board_height"] or None, width=p["board_width"] or None)
            mdp = delivery_mdp(board, w, name=f"random{board.shape[0]}x{board.shape[1]}")
            ok = policy_gap(mdp) > 1e-9 * max(1.0, float(np.abs(mdp.r_true).max()))
            if ok and p["transitions"] == "stochastic":
                try:
                    mdp = stochastic_variant(mdp, gen)
                except OptimalPolicyChanged:
                    ok = False
            if ok:
                break
            redraws += 1
            if redraws > MAX_REDRAWS:  # pragma: no cover - every draw degenerate
                raise RuntimeError(f"preference.learning: {MAX_REDRAWS} degenerate random MDPs in a row")
    if mdp.deterministic:
        segs = enumerate_segments(mdp, p["seg_length"])
    else:
        segs = sample_segments(mdp, p["seg_length"], np.random.default_rng(seg_ss))
    pis = policy_set(mdp, np.random.default_rng(pol_ss), n_policies=p["n_policies"], values=values,
                     exclude_true=p["exclude_true"])
    return mdp, segs, successor_features(mdp, pis), redraws


def replicate_instance(p: dict, seed: int, replicate: int):
    """(mdp, segments, successor features, redraws) of one replicate: a function of (seed, replicate) and
    the instance parameters only, cached per process (every cell of a sweep reuses it)."""
    return _replicate_instance(tuple(p[k] for k in _INSTANCE_KEYS), seed, replicate)


def learn_both(mdp, segs, psi, p: dict, gen, backend: str) -> dict:
    """Label one dataset with ``p["label_model"]`` and learn a reward from it with each model (one replicate)."""
    pairs = sample_pairs(segs.n, p["n_prefs"], gen)
    z = preference_logit(p["label_model"], segs, pairs, mdp.w_true, mdp)
    y = label_pairs(z, p["noise"], gen, temperature=p["label_temperature"])
    w0 = init_weights(gen, 1, mdp.n_features)
    out = {"n_segments": segs.n, "n_states": mdp.n_states, "n_sf_policies": psi.shape[0],
           "policy_gap": policy_gap(mdp)}
    for model, short in SHORT.items():
        rows = preference_rows(model, segs, pairs, y, mdp=mdp)
        res = fit([rows], psi if model == "regret" else None, w0=w0, iterations=p["iterations"], lr=p["lr"],
                  temperature=p["temperature"], backend=backend)
        ev = evaluate(mdp, res.w)
        out.update({f"scaled_return_{short}": ev.scaled_return[0], f"near_optimal_{short}": float(ev.near_optimal[0]),
                    f"starc_{short}": ev.starc[0], f"loss_{short}": res.loss[0], f"w_{short}": res.w[0]})
    return out


@experiment(
    "preference.learning",
    summary="Reward learning from N synthetic preferences: both models on the same labels; % near-optimal",
    params=LEARNING_PARAMS,
    small={"n_prefs": 40, "iterations": 25, "n_policies": 8, "board_height": 3, "board_width": 5, "seg_length": 2},
    outputs=LEARNING_OUTPUTS,
    cite=("KNOX-TMLR", "KNOX-AAAI"),
    check=_check_learning,
)
def run_learning(params: dict, seeds, backend: str) -> dict:
    p = params
    reps = []
    for i in range(seeds.replicates):
        r = seeds.start + i
        mdp, segs, psi, redraws = replicate_instance(p, seeds.seed, r)
        gen = np.random.default_rng(np.random.SeedSequence(seeds.seed, spawn_key=(seeds.cell, r)))
        out = learn_both(mdp, segs, psi, p, gen, backend)
        out["redraws"] = redraws
        reps.append(out)
        seeds.report(len(reps), seeds.replicates)
    return {k: np.array([o[k] for o in reps], dtype=float) for k in reps[0]}


# ---------------------------------------------------------------------------------------------------
# Plots


@plotter("preference.performance")
def plot_performance(res, spec: dict, stem):
    """% near-optimal (Wilson 95%) and mean scaled return (95% t band) against N, both learned models."""
    from regretlab.core.plots import group_cells
    from regretlab.core.plotting import make_figure, save_figure
    from regretlab.core.stats import mean_band, wilson_interval

    groups = group_cells(res, spec, "n_prefs")
    rows = max(1, len(groups))
    fig, axes = make_figure(rows, 2, figsize=(12.0, 4.2 * rows), squeeze=False)
    for row, (label, cells) in zip(axes, groups.items()):
        Ns = np.array([c["params"]["n_prefs"] for c in cells], dtype=float)
        arrs = [res.cell(c["index"]) for c in cells]
        for model, short in SHORT.items():
            k = np.array([a[f"near_optimal_{short}"].sum() for a in arrs])
            n = np.array([a[f"near_optimal_{short}"].size for a in arrs], dtype=float)
            lo, hi = wilson_interval(k, n)
            name = f"learned with the {model.replace('_', '-')} model"
            (ln,) = row[0].plot(Ns, 100 * k / n, marker="o", label=name)
            row[0].fill_between(Ns, 100 * lo, 100 * hi, color=ln.get_color(), alpha=0.2)
            bands = [mean_band(a[f"scaled_return_{short}"]) for a in arrs]
            (ln,) = row[1].plot(Ns, [float(b[0]) for b in bands], marker="o", label=name)
            row[1].fill_between(Ns, [float(b[1]) for b in bands], [float(b[2]) for b in bands],
                                color=ln.get_color(), alpha=0.2)
        for ax, ylab in ((row[0], "% of replicates near-optimal (scaled return >= 0.9)"),
                         (row[1], "mean scaled return (1 optimal, 0 uniform; symlog)")):
            ax.set_xscale("log")
            ax.set_xlabel("number of preferences N")
            ax.set_ylabel(ylab)
            ax.set_title(label or "preference learning", fontsize=9)
            ax.legend(fontsize=8)
        row[0].set_ylim(-2, 102)
        row[1].set_yscale("symlog", linthresh=1.0)
        row[1].axhline(1.0, color="0.5", lw=0.8, ls=":")
    return list(save_figure(fig, stem))
