"""Registered mass-balance experiments (``regretlab list``) and their theorem plots [BroRL].

``mass_balance.one_step`` (spec §5.1): Theorem 1 by Monte Carlo over sample sets. One cell = one logit
instance and one N; each replicate is one independent set of N rollouts from the same logits. Random
logit families (gaussian, zipf, random correct sets) are drawn from the instance stream of cell 0 of the
sweep (``shared_instance``, default), so every N of a sweep sees the same logit vector and the curves
against N answer the theorem's question; ``shared_instance = false`` draws one vector per cell.
Outputs per replicate: the first-order change,
its three terms scaled by N/eta, the second moments, whether correct mass and every correct token
increased, and the exact (non-linearised) change; per cell: the exact expectations.

``mass_balance.simulator`` (spec §5.2, [BroRL] Sec. 4.1 and Figure 3): ``steps`` AdamW updates on the
multiset surrogate with N rollouts per step; curves of Q_pos, % improved and worst drop against steps.

Plot kinds: ``mass_balance.one_step`` (P(dQ_c > 0), the scaled terms with their N -> infinity limit,
Lemma 2, Monte Carlo vs exact mean; against N), ``mass_balance.terms`` (the distribution of each term
against N) and ``mass_balance.figure3`` (the three panels of [BroRL] Figure 3).
"""
from __future__ import annotations

import numpy as np

from regretlab.core.registry import Bool, Choice, Float, Int, experiment, plotter

from .instances import FAMILIES, check_correct_count, logits_instance
from .simulate import ONE_STEP_COLUMNS, TRAIN_OUTPUTS, check_decay, one_step, simulate_training
from .theory import expected_change, expected_terms, expected_unsampled_moments, limit_scaled_change

REFERENCES = {
    "BroRL": "Hu, Liu, Lu, Wu, Harchaoui, Diao, Choi, Molchanov, Yang, Kautz, Dong. BroRL: Scaling "
             "Reinforcement Learning via Broadened Exploration. arXiv 2510.01180, 2025 (Thm. 1, Lemma 2, "
             "Cor. 3, Sec. 4.1, Fig. 3).",
    "AdamW": "Loshchilov, Hutter. Decoupled Weight Decay Regularization. ICLR 2019 (PyTorch's AdamW form).",
}

#: exact E[T1..T3] and Var[dQ_c] cost O(V^2): computed up to this vocabulary, NaN above
EXACT_PAIR_VOCAB = 4096

_INSTANCE = {
    "V": Int(128000, "vocabulary size", low=2),
    "m": Int(10000, "number of correct tokens (0 <= m <= V; <= V - 1 for seeded with an incorrect anchor)",
             low=0),
    "seed_value": Float(3.0, "seeded logits: initial logit of the correct tokens [BroRL Sec. 4.1: 3]"),
    "anchor_value": Float(5.0, "seeded logits: initial logit of anchor token 0 [BroRL Sec. 4.1: 5]"),
    "anchor_in_correct": Bool(False, "seeded logits: the anchor token 0 is correct (UNCONFIRMED; default "
                                     "incorrect, P = {1..m})"),
    "correct_index": Choice("first", "seeded logits: correct set P = the first indices, or drawn at random "
                            "from the instance stream", choices=("first", "random")),
    "r_c": Float(1.0, "reward of a correct token (>= 0)", low=0.0),
    "r_w": Float(-1.0, "reward of an incorrect token (<= 0)", high=0.0),
}


def _instance(p: dict, seeds, family: str):
    rng = seeds.instance_rng()
    return logits_instance(family, p["V"], p["m"], rng, seed_value=p["seed_value"],
                           anchor_value=p["anchor_value"], anchor_in_correct=p["anchor_in_correct"],
                           correct_index=p["correct_index"], sigma=p.get("sigma", 1.0), alpha=p.get("alpha", 1.1))


# ---------------------------------------------------------------------------------------------------
# One step (Theorem 1)

ONE_STEP_PARAMS = {
    "logits": Choice("seeded", "logit family: seeded (Sec. 4.1), uniform (z = 0), gaussian (N(0, sigma^2)), "
                     "zipf (p ~ rank^-alpha, random ranks)", choices=FAMILIES),
    **_INSTANCE,
    "sigma": Float(1.0, "gaussian logits: standard deviation", low=0.0, low_open=True),
    "alpha": Float(1.1, "zipf logits: exponent", low=0.0, low_open=True),
    "shared_instance": Bool(True, "draw random logits from the sweep's cell-0 instance stream, so every N of "
                            "a sweep sees the same logit vector (False: each cell its own draw)"),
    "eta": Float(1e-3, "step size of the logit update (U)", low=0.0, low_open=True),
    "N": Int(8, "rollouts per step", low=1),
}

ONE_STEP_OUTPUTS = {
    "dq": "(R,) first-order change of correct mass dQ_c, eqs. (U)-(P)",
    "dq_scaled": "(R,) N dQ_c / eta = t1 + t2 + t3",
    "t1": "(R,) sampled-correct term (r_c - s) Q_w a2, scaled by N/eta (>= 0)",
    "t2": "(R,) sampled-incorrect term (s - r_w) Q_c b2, scaled by N/eta (>= 0)",
    "t3": "(R,) unsampled coupling s (Q_c uw2 - Q_w uc2), scaled by N/eta",
    "s": "(R,) batch mood s = r_c P_A + r_w P_B",
    "uc2": "(R,) unsampled correct second moment",
    "uw2": "(R,) unsampled incorrect second moment",
    "increase": "(R,) 1 if dQ_c > 0",
    "nonnegative": "(R,) 1 if dQ_c >= 0",
    "all_gain": "(R,) 1 if every correct token's first-order change is > 0",
    "min_dp": "(R,) smallest first-order change of a correct token",
    "exact_change": "(R,) softmax(z + dz)[C].sum() - Q_c (not linearised)",
    "linearisation_gap": "(R,) exact_change - dq (O(eta^2))",
    "distinct": "(R,) number of distinct sampled tokens",
    "Q_c": "() correct mass of the logits",
    "expected_scaled": "() exact N E[dQ_c] / eta (spec §3.1)",
    "expected_t1": f"() exact E[t1] (NaN for V > {EXACT_PAIR_VOCAB}: O(V^2))",
    "expected_t2": f"() exact E[t2] (NaN for V > {EXACT_PAIR_VOCAB})",
    "expected_t3": f"() exact E[t3] (NaN for V > {EXACT_PAIR_VOCAB})",
    "sd_scaled": f"() exact standard deviation of N dQ_c / eta (NaN for V > {EXACT_PAIR_VOCAB})",
    "expected_uc2": "() E[uc2] = sum_C p^2 (1 - p)^N [Lemma 2]",
    "expected_uw2": "() E[uw2] = sum_W p^2 (1 - p)^N [Lemma 2]",
    "limit_scaled": "() lim_{N -> inf} N E[dQ_c] / eta (spec §3 item 4)",
}


def _check_one_step(p: dict) -> None:
    check_correct_count(p["logits"], p["V"], p["m"], p["anchor_in_correct"], "mass_balance.one_step")


#: token updates per block of trials in ``mass_balance.one_step`` (:meth:`regretlab.core.registry.Seeds.in_blocks`)
BLOCK_TOKENS = 200_000_000


@experiment(
    "mass_balance.one_step",
    summary="Theorem 1 by Monte Carlo: one RL step with N rollouts; dQ_c, its three terms, P(dQ_c > 0)",
    params=ONE_STEP_PARAMS,
    small={"V": 500, "m": 50, "N": 8},
    outputs=ONE_STEP_OUTPUTS,
    cite=("BroRL",),
    check=_check_one_step,
    inert={
        **{k: (lambda p: None if p["logits"] == "seeded" else "seeded logits only")
           for k in ("seed_value", "anchor_value", "anchor_in_correct", "correct_index")},
        "sigma": lambda p: None if p["logits"] == "gaussian" else "gaussian logits only",
        "alpha": lambda p: None if p["logits"] == "zipf" else "zipf logits only",
        "shared_instance": lambda p: None if p["logits"] in ("gaussian", "zipf") or (
            p["logits"] == "seeded" and p["correct_index"] == "random") else "the logits are not random",
    },
)
def run_one_step(params: dict, seeds, backend: str) -> dict:
    from regretlab.core.registry import Seeds

    p = params
    inst = Seeds(seeds.seed, 0, 1) if p["shared_instance"] else seeds
    z, c = _instance(p, inst, p["logits"])
    N = p["N"]
    cols = ONE_STEP_COLUMNS

    def block(s):
        return one_step(z, c, N, eta=p["eta"], r_c=p["r_c"], r_w=p["r_w"], keys=s.keys, backend=backend)

    # blocks of about BLOCK_TOKENS token updates, so that a long cell reports its progress
    out = seeds.in_blocks(block, {k: "(R,)" for k in cols}, size=max(1, BLOCK_TOKENS // (p["V"] + N)))
    res = {k: out[k] for k in ("dq", "dq_scaled", "t1", "t2", "t3", "s", "uc2", "uw2", "all_gain", "min_dp",
                               "exact_change", "distinct")}
    res["increase"] = (out["dq"] > 0.0).astype(np.float64)
    res["nonnegative"] = (out["dq"] >= 0.0).astype(np.float64)
    res["linearisation_gap"] = out["exact_change"] - out["dq"]
    e = np.exp(z - z.max())
    prob = e / e.sum()
    kw = dict(r_c=p["r_c"], r_w=p["r_w"])
    res["Q_c"] = np.float64(prob[c].sum())
    res["expected_scaled"] = np.float64(N * expected_change(prob, c, N, 1.0, **kw))
    if z.size <= EXACT_PAIR_VOCAB:
        from .theory import change_variance

        t = expected_terms(prob, c, N, **kw)
        sd = np.sqrt(change_variance(prob, c, N, 1.0, **kw)) * N
    else:
        t, sd = (np.nan, np.nan, np.nan), np.nan
    res.update(expected_t1=np.float64(t[0]), expected_t2=np.float64(t[1]), expected_t3=np.float64(t[2]),
               sd_scaled=np.float64(sd))
    uc, uw = expected_unsampled_moments(prob, c, N)
    res["expected_uc2"], res["expected_uw2"] = np.float64(uc), np.float64(uw)
    res["limit_scaled"] = np.float64(limit_scaled_change(prob, c, **kw))
    return res


# ---------------------------------------------------------------------------------------------------
# The token-level simulator (Figure 3)

SIMULATOR_PARAMS = {
    "seeded": Bool(True, "seeded initial logits (correct 3, anchor 5, others 0) [BroRL Sec. 4.1]; false: z = 0"),
    **_INSTANCE,
    "freeze_anchor": Bool(False, "keep the anchor token's logit fixed (UNCONFIRMED reading of 'fixing')"),
    "N": Int(512, "rollouts per step [Figure 3: 4, 8, 16, 512, 51200]", low=1),
    "steps": Int(1000, "optimizer updates [Figure 3: 1000]", low=1),
    "lr": Float(1e-3, "AdamW learning rate [BroRL: 1e-3]", low=0.0, low_open=True),
    "beta1": Float(0.9, "AdamW beta1 (UNCONFIRMED; PyTorch default)", low=0.0, high=1.0, high_open=True),
    "beta2": Float(0.999, "AdamW beta2 (UNCONFIRMED; PyTorch default)", low=0.0, high=1.0, high_open=True),
    "eps": Float(1e-8, "AdamW eps, added after bias correction (UNCONFIRMED; PyTorch default)", low=0.0,
                 low_open=True),
    "weight_decay": Float(0.01, "AdamW decoupled weight decay (UNCONFIRMED; PyTorch default)", low=0.0),
    "center_rewards": Bool(True, "subtract the batch mean of the N rewards (the paper's baseline)"),
    "record_every": Int(1, "record every this many steps (and the last)", low=1),
}

SIMULATOR_OUTPUTS = {
    **TRAIN_OUTPUTS,
    "final_q_pos": "(R,) Q_pos after the last step",
    "final_pct_improved": "(R,) % of correct tokens above their step-0 probability after the last step",
    "final_worst_drop": "(R,) worst change of a correct token's probability after the last step",
    "initial_q_pos": "() Q_pos of the initial logits",
}


def _check_simulator(p: dict) -> None:
    where = "mass_balance.simulator"
    check_correct_count("seeded" if p["seeded"] else "uniform", p["V"], p["m"], p["anchor_in_correct"], where)
    check_decay(p["lr"], p["weight_decay"], where)


@experiment(
    "mass_balance.simulator",
    summary="Figure 3 token-level simulator: AdamW on the N-rollout surrogate; Q_pos, % improved, worst drop",
    params=SIMULATOR_PARAMS,
    small={"V": 2000, "m": 150, "N": 16, "steps": 30, "record_every": 10},
    outputs=SIMULATOR_OUTPUTS,
    curves={"q_pos": "t", "pct_improved": "t", "worst_drop": "t"},
    cite=("BroRL", "AdamW"),
    check=_check_simulator,
    inert={k: (lambda p: None if p["seeded"] else "seeded logits only (seeded = false: uniform logits)")
           for k in ("seed_value", "anchor_value", "anchor_in_correct", "correct_index")},
)
def run_simulator(params: dict, seeds, backend: str) -> dict:
    p = params
    z, c = _instance(p, seeds, "seeded" if p["seeded"] else "uniform")
    out = simulate_training(z, c, p["N"], p["steps"], lr=p["lr"], betas=(p["beta1"], p["beta2"]), eps=p["eps"],
                            weight_decay=p["weight_decay"], center_rewards=p["center_rewards"], r_c=p["r_c"],
                            r_w=p["r_w"], freeze_anchor=p["freeze_anchor"], record_every=p["record_every"],
                            keys=seeds.keys, backend=backend)
    out["final_q_pos"] = out["q_pos"][:, -1].copy()
    out["final_pct_improved"] = out["pct_improved"][:, -1].copy()
    out["final_worst_drop"] = out["worst_drop"][:, -1].copy()
    out["initial_q_pos"] = np.float64(out["q_pos"][0, 0])
    return out


# ---------------------------------------------------------------------------------------------------
# Plots


def _groups(res, spec: dict, by: str = "N") -> dict:
    from regretlab.core.plots import group_cells

    return group_cells(res, spec, by)


def _mean_se(x):
    x = np.asarray(x, dtype=float)
    return x.mean(), (x.std(ddof=1) / np.sqrt(x.size) if x.size > 1 else 0.0)


def _series(res, cells, key):
    """(mean, s.e.) arrays over the cells of a per-replicate output."""
    st = np.array([_mean_se(res.cell(c["index"])[key]) for c in cells])
    return st[:, 0], st[:, 1]


@plotter("mass_balance.one_step")
def plot_one_step(res, spec: dict, stem):
    """Theorem 1 against N: one row per instance (the sweep axes other than N), four panels.

    (a) P(dQ_c > 0) and P(every correct token gains) with 95% Wilson bands -- rises to 1 [BroRL Thm. 1];
    (b) the mean terms T1, T2, T3 and their sum, scaled by N/eta (95% bands), with the exact means
        (crosses; up to V = EXACT_PAIR_VOCAB), the exact E[N dQ_c / eta] (dotted) and the N -> infinity
        limit (dashed) of spec §3 item 4;
    (c) E[u_c2], E[u_w2]: Monte Carlo (points, 2 s.e. bars) and Lemma 2 (lines), log-log;
    (d) Monte Carlo mean of N dQ_c / eta (2 s.e. bars) against its exact value (spec §3.1).
    """
    from regretlab.core.plotting import make_figure, plot_reference, save_figure
    from regretlab.core.stats import mean_band

    groups = _groups(res, spec)
    rows = max(1, len(groups))
    fig, axes = make_figure(rows, 4, figsize=(19.0, 4.0 * rows), squeeze=False)
    for row, (label, cells) in zip(axes, groups.items()):
        Ns = np.array([c["params"]["N"] for c in cells], dtype=float)
        arrs = [res.cell(c["index"]) for c in cells]
        ax = row[0]
        for key, name in (("increase", "P(dQ_c > 0)"), ("all_gain", "P(every correct token gains)")):
            k = np.array([a[key].sum() for a in arrs])
            n = np.array([a[key].size for a in arrs], dtype=float)
            lo, hi = _wilson(k, n)
            (ln,) = ax.plot(Ns, k / n, marker="o", label=name)
            ax.fill_between(Ns, lo, hi, color=ln.get_color(), alpha=0.2)
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("rollouts N")
        ax.set_ylabel("probability (95% Wilson band)")
        ax.set_title(label or "one step")
        ax.legend(fontsize=8)

        ax = row[1]
        for key, name in (("t1", "T1 sampled correct"), ("t2", "T2 sampled incorrect"),
                          ("t3", "T3 unsampled coupling"), ("dq_scaled", "T1 + T2 + T3")):
            st = [mean_band(a[key]) for a in arrs]
            m = np.array([float(s[0]) for s in st])
            (ln,) = ax.plot(Ns, m, marker="o", label=name)
            ax.fill_between(Ns, [float(s[1]) for s in st], [float(s[2]) for s in st], color=ln.get_color(),
                            alpha=0.2)
            exact = np.array([float(a.get("expected_" + key, np.nan)) for a in arrs])
            if np.all(np.isfinite(exact)):  # exact E[T_i] (small vocabularies)
                ax.plot(Ns, exact, "x", color=ln.get_color(), ms=7)
        ax.plot(Ns, [float(a["expected_scaled"]) for a in arrs], "k:", label="exact E[N dQ_c / eta]")
        plot_reference(ax, Ns, np.full(Ns.size, float(arrs[0]["limit_scaled"])), label="N -> inf limit")
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=_linthresh(arrs))
        ax.set_xlabel("rollouts N")
        ax.set_ylabel("term x N / eta (mean, 95% band)")
        ax.set_title("mass-balance terms")
        ax.legend(fontsize=7)

        ax = row[2]
        for key in ("uc2", "uw2"):
            m, se = _series(res, cells, key)
            exact = np.array([float(a["expected_" + key]) for a in arrs])
            (ln,) = ax.plot(Ns, exact, label=f"Lemma 2 E[{key}]")
            ax.errorbar(Ns, m, yerr=2 * se, fmt="o", color=ln.get_color(), ms=4, label=f"Monte Carlo {key}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rollouts N")
        ax.set_ylabel("unsampled second moment")
        ax.set_title("Lemma 2 / Corollary 3")
        ax.legend(fontsize=7)

        ax = row[3]
        m, se = _series(res, cells, "dq_scaled")
        ax.plot(Ns, [float(a["expected_scaled"]) for a in arrs], "k-", label="exact (spec §3.1)")
        ax.errorbar(Ns, m, yerr=2 * se, fmt="o", ms=4, label="Monte Carlo mean +- 2 s.e.")
        ax.set_xscale("log")
        ax.set_xlabel("rollouts N")
        ax.set_ylabel("E[N dQ_c / eta]")
        ax.set_title("Monte Carlo vs exact mean")
        ax.legend(fontsize=7)
    return list(save_figure(fig, stem))


def _wilson(k, n):
    from regretlab.core.stats import wilson_interval

    return wilson_interval(k, n)


def _linthresh(arrs) -> float:
    vals = np.concatenate([np.abs(a[k]) for a in arrs for k in ("t1", "t2", "t3")])
    vals = vals[vals > 0]
    return float(np.quantile(vals, 0.05)) if vals.size else 1e-12


@plotter("mass_balance.terms")
def plot_terms(res, spec: dict, stem):
    """Distribution of each scaled term (and their sum) against N: box = quartiles, whiskers 5%-95%.

    One figure per instance group; the sampled terms are never negative, the unsampled coupling takes
    both signs, and its spread shrinks as N grows (Lemma 2).
    """
    from regretlab.core.plotting import make_figure, save_figure

    groups = _groups(res, spec)
    rows = max(1, len(groups))
    fig, axes = make_figure(rows, 4, figsize=(19.0, 4.0 * rows), squeeze=False)
    for row, (label, cells) in zip(axes, groups.items()):
        Ns = [c["params"]["N"] for c in cells]
        arrs = [res.cell(c["index"]) for c in cells]
        for ax, (key, name) in zip(row, (("t1", "T1 sampled correct"), ("t2", "T2 sampled incorrect"),
                                         ("t3", "T3 unsampled coupling"), ("dq_scaled", "N dQ_c / eta"))):
            ax.boxplot([a[key] for a in arrs], whis=(5, 95), showfliers=False, tick_labels=[str(n) for n in Ns])
            ax.axhline(0.0, color="0.5", lw=0.8)
            ax.set_yscale("symlog", linthresh=_linthresh(arrs))
            ax.set_xlabel("rollouts N")
            ax.set_ylabel(f"{key} (x N / eta)")
            ax.set_title(f"{name}" + (f"; {label}" if label else ""), fontsize=9)
    return list(save_figure(fig, stem))


@plotter("mass_balance.figure3")
def plot_figure3(res, spec: dict, stem):
    """[BroRL] Figure 3: Q_pos, % of correct tokens improved, and the worst drop against steps, per N.

    Mean over trials with a 95% t-band; one line per N (the figure's legend order, increasing N).
    """
    from regretlab.core.plotting import make_figure, plot_curves, save_figure

    groups = _groups(res, spec)
    fig, axes = make_figure(1, 3, figsize=(16.0, 4.4), squeeze=False)
    panels = (("q_pos", "Q_pos (correct mass)"), ("pct_improved", "% correct tokens improved"),
              ("worst_drop", "worst change of a correct token"))
    for ax, (key, ylabel) in zip(axes[0], panels):
        curves, x = {}, None
        for label, cells in groups.items():
            for c in cells:
                a = res.cell(c["index"])
                x = a["t"].astype(float)
                name = f"N={c['params']['N']}" + (f", {label}" if label else "")
                curves[name] = a[key]
        if curves:
            plot_curves(ax, x, curves, xlabel="step", ylabel=ylabel, title=ylabel)
            ax.legend(fontsize=7)
    return list(save_figure(fig, stem))
