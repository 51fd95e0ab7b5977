"""Registered adversarial-linear-MDP experiments (``regretlab list``) and the theorem plot [DLWZ23, LWL21].

``adversarial_mdp.regret``: one cell = one algorithm run for K episodes on one linear MDP against one
oblivious adversary; each replicate is an independent learner (its own randomness, keyed by (seed, cell,
replicate)) facing its own loss draws (keyed by (seed, replicate) only, so every algorithm and every K of a
sweep sees the same loss sequence, a prefix of it; spec §7.2). The MDP and the adversary's means come from
``instance`` (keyed by (seed, instance) only): every cell of a sweep plays the same instance unless the
sweep varies ``instance`` (spec §9: "use the same instance for all K").

Outputs per replicate: the pseudo-regret R_K = sum_k V^{pi_k}_k(s_0) - min_pi sum_k V^pi_k(s_0) (exact:
occupancy forward pass for the learner, backward induction for the benchmark), the regret curve at
log-spaced checkpoints, and the algorithm's diagnostics; per cell: the checkpoints and the resolved
eta, beta, gamma (so the manifest and the results show the constants actually used).

Plot kind ``adversarial_mdp.regret_vs_K`` (spec §9): (A) log-log mean final regret against K with 95%
t-bands, the fitted slope of each algorithm over the top decade of K with a replicate-bootstrap CI in the
legend, and dashed slope-1/2 and slope-2/3 references; (B) R_K / sqrt(K) against K; (C) the mean regret
curve of each algorithm at the largest K. The slopes are also written next to the figure as
``<stem>.slopes.csv``.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.registry import Choice, Float, Int, experiment, plotter
from regretlab.core.validate import ParamError

from .algorithms import ALGORITHMS, algorithm_spec
from .instances import ADVERSARIES, FEATURES, adversary, instance_rng, linear_mdp, loss_key
from .simulate import DIAGNOSTICS, pseudo_regret, simulate

REFERENCES = {
    "DLWZ23": "Dai, Luo, Wei, Zimmert. Refined Regret for Adversarial MDPs with Linear Function "
              "Approximation. ICML 2023, PMLR 202:6726-6759, arXiv 2301.12942 (Algorithms 1 and 2; Algorithm 3 "
              "as the spec's reconstruction).",
    "LWL21": "Luo, Wei, Lee. Policy Optimization in Adversarial MDPs: Improved Exploration via Dilated "
             "Bonuses. NeurIPS 2021, arXiv 2107.08346 (linear-Q with a simulator, dilated bonus).",
}

REGRET_PARAMS = {
    "algorithm": Choice("alg1", "alg1 (log-barrier FTRL, [DLWZ23] Alg. 1), alg2_reconstructed (magnitude-"
                        "reduced estimator, spec §4 reconstruction), lwl21 (the K^(2/3) baseline), hedge_po "
                        "(no bonus), full_info (exact Q), uniform, alg3_reconstructed (simulator-free, spec §5 "
                        "reconstruction)", choices=ALGORITHMS),
    "K": Int(10_000, "number of episodes", low=1),
    "H": Int(3, "horizon (layers)", low=1),
    "width": Int(3, "states per layer after the first (layer 0 has one state)", low=1),
    "A": Int(3, "number of actions", low=2),
    "d": Int(6, "feature dimension (tabular features: must equal width * A)", low=1),
    "features": Choice("simplex", "simplex (Dirichlet features, low-rank transitions) or tabular (one-hot)",
                       choices=FEATURES),
    "alpha_phi": Float(0.3, "Dirichlet concentration of the features", low=0.0, low_open=True),
    "alpha_nu": Float(0.5, "Dirichlet concentration of the latent next-state laws", low=0.0, low_open=True),
    "adversary": Choice("stochastic_gap", "oblivious loss sequence (spec §7.2; drifting needs d >= 2)",
                        choices=ADVERSARIES),
    "gap": Float(0.15, "how much the cheapest coordinate's Bernoulli mean is lowered", low=0.0, high=0.3),
    "instance": Int(0, "instance number: the MDP and the adversary's means (shared by all cells)", low=0),
    "c_eta": Float(1.0, "multiplier of the theorem's learning rate eta", low=0.0, low_open=True),
    "c_beta": Float(1.0, "multiplier of the bonus coefficient beta", low=0.0, low_open=True),
    "c_gamma": Float(1.0, "multiplier of the covariance regulariser gamma", low=0.0, low_open=True),
    "eta": Float(0.0, "learning rate override (0: the theorem's value times c_eta)", low=0.0),
    "beta": Float(0.0, "bonus coefficient override (0: the default times c_beta)", low=0.0),
    "gamma": Float(0.0, "covariance regulariser override (0: the default times c_gamma)", low=0.0),
    "epoch": Int(0, "alg3_reconstructed: episodes per epoch W (0: max(2, ceil(K^(2/3))))", low=0),
    "mix": Float(0.0, "alg3_reconstructed: probability of playing the cover (0: min(1/2, c_mix K^(-1/9)))",
                 low=0.0, high=1.0),
    "c_mix": Float(1.0, "alg3_reconstructed: multiplier of the cover probability K^(-1/9)", low=0.0, low_open=True),
    "n_checkpoints": Int(20, "log-spaced checkpoints of the regret curve (1 and K included)", low=2),
}

REGRET_OUTPUTS = {
    "regret": "(R,) pseudo-regret after K episodes against the best fixed policy in hindsight",
    "regret_curve": "(R, C) pseudo-regret of each prefix k at the checkpoints",
    "regret_over_sqrtK": "(R,) regret / sqrt(K)",
    "expected_loss": "(R,) sum over episodes of the learner's exact expected loss",
    "benchmark": "(R,) total loss of the best fixed policy in hindsight (exact backward induction)",
    "checkpoints": "(C,) episode counts of the curve",
    "min_qhat": "(R,) smallest estimated loss Qhat (0 for full_info and uniform, which estimate nothing)",
    "max_qhat": "(R,) largest estimated loss Qhat (0 for full_info and uniform)",
    "max_eta_C": "(R,) largest |eta C| of the cumulative estimates (0 for full_info and uniform: not tracked)",
    "max_eta_B": "(R,) largest eta B of the dilated bonus (0 without a bonus; eta W B for alg3_reconstructed)",
    "ftrl_nonconverged": "(R,) log-barrier steps whose Newton solve did not reach the tolerance",
    "eta": "() learning rate used", "beta": "() bonus coefficient used", "gamma": "() covariance regulariser used",
    "epoch": "() episodes per epoch W (alg3_reconstructed; 1 for the others, which update every episode)",
    "mix": "() probability of playing the cover (alg3_reconstructed; 0 for the others)",
}


def _check_regret(p: dict) -> None:
    where = "adversarial_mdp.regret"
    if p["features"] == "tabular" and p["d"] != p["width"] * p["A"]:
        raise ParamError(where, "d", f"width * A = {p['width'] * p['A']} with tabular features", p["d"])
    if p["adversary"] == "drifting" and p["d"] < 2:
        raise ParamError(where, "d", ">= 2 for the drifting adversary", p["d"])
    if p["epoch"] == 1:
        raise ParamError(where, "epoch", "0 (automatic) or >= 2 (alg3_reconstructed splits each epoch in two)",
                         p["epoch"])


def regret_instance(p: dict, seed: int):
    """(mdp, adversary) of a resolved cell: functions of (seed, instance) and the instance parameters."""
    mdp = linear_mdp(p["H"], p["width"], p["A"], None if p["features"] == "tabular" else p["d"],
                     instance_rng(seed, p["instance"], 0), features=p["features"], alpha_phi=p["alpha_phi"],
                     alpha_nu=p["alpha_nu"])
    adv = adversary(p["adversary"], p["H"], mdp.dim, p["K"], instance_rng(seed, p["instance"], 1), gap=p["gap"])
    return mdp, adv


#: episodes per block of replicates in ``adversarial_mdp.regret`` (:meth:`regretlab.core.registry.Seeds.in_blocks`)
BLOCK_EPISODES = 200_000


@experiment(
    "adversarial_mdp.regret",
    summary="Regret of policy optimisation in an adversarial linear MDP with a simulator (DLWZ23 vs LWL21)",
    params=REGRET_PARAMS,
    small={"K": 60, "n_checkpoints": 5},
    outputs=REGRET_OUTPUTS,
    curves={"regret_curve": "checkpoints"},
    cite=("DLWZ23", "LWL21"),
    check=_check_regret,
    inert={k: (lambda p: None if p["algorithm"] == "alg3_reconstructed" else "read by alg3_reconstructed only")
           for k in ("epoch", "mix", "c_mix")},
)
def run_regret(params: dict, seeds, backend: str) -> dict:
    from regretlab.core.stats import log_checkpoints

    p = params
    mdp, adv = regret_instance(p, seeds.seed)
    K = p["K"]
    spec = algorithm_spec(p["algorithm"], K, p["A"], mdp.dim, p["H"], c_eta=p["c_eta"], c_beta=p["c_beta"],
                          c_gamma=p["c_gamma"], eta=p["eta"], beta=p["beta"], gamma=p["gamma"], epoch=p["epoch"],
                          mix=p["mix"], c_mix=p["c_mix"], where="adversarial_mdp.regret")
    ck = log_checkpoints(K, p["n_checkpoints"])

    def block(s):
        lkeys = np.array([loss_key(s.seed, s.start + i) for i in range(s.replicates)], dtype=np.uint64)
        out = simulate(mdp, adv, spec, K, ck, s.keys, lkeys, backend=backend)
        return {"cum": out["cum"], "G": out["G"], "diagnostics": out["diagnostics"]}

    # blocks of about BLOCK_EPISODES episodes, so that a long cell reports its progress
    out = seeds.in_blocks(block, {"cum": "(R, C)", "G": "(R, ...)", "diagnostics": "(R, D)"},
                          size=max(1, BLOCK_EPISODES // K))
    reg = pseudo_regret(mdp, out["cum"], out["G"])
    res = {"regret": reg[:, -1], "regret_curve": reg, "regret_over_sqrtK": reg[:, -1] / np.sqrt(K),
           "expected_loss": out["cum"][:, -1], "benchmark": out["cum"][:, -1] - reg[:, -1], "checkpoints": ck}
    diag = out["diagnostics"]
    for j, name in enumerate(DIAGNOSTICS):
        col = diag[:, j].copy()
        col[~np.isfinite(col)] = 0.0  # +-inf: no estimate was formed (full_info, uniform)
        res[name] = col
    res.update(eta=np.float64(spec.eta), beta=np.float64(spec.beta), gamma=np.float64(spec.gamma),
               epoch=np.float64(spec.epoch), mix=np.float64(spec.mix))
    return res


# ---------------------------------------------------------------------------------------------------
# The theorem plot

def slope_table(res, spec: dict) -> list[dict]:
    """:func:`regretlab.core.plots.loglog_slope_table` of the final regret against K."""
    from regretlab.core.plots import loglog_slope_table

    return loglog_slope_table(res, spec, "K", "regret")


@plotter("adversarial_mdp.regret_vs_K")
def plot_regret_vs_K(res, spec: dict, stem):
    """Spec §9: log-log regret vs K with slopes, R/sqrt(K) vs K, and the regret curves at the largest K."""
    from regretlab.core.plotting import make_figure, plot_curves, plot_points_with_fit, plot_reference, save_figure
    from regretlab.core.stats import mean_band

    rows = slope_table(res, spec)
    fig, axes = make_figure(1, 3, figsize=(18.0, 6.8), squeeze=False)
    a, b, c = axes[0]
    curves, x_curve, anchor = {}, None, None
    for row in rows:
        name = row["label"].replace("algorithm=", "") or "regret"
        m, lo, hi = (np.asarray(v, dtype=float) for v in mean_band(row["Y"]))
        pos = m > 0
        lab = name if row["fit"] is not None else f"{name} (no fit: mean <= 0 or < 3 K)"
        if np.any(pos):
            plot_points_with_fit(a, row["K"][pos], m[pos], np.minimum(np.maximum(lo[pos], m[pos] * 1e-3), m[pos]),
                                 hi[pos], lab, xlabel="episodes K", ylabel="pseudo-regret R_K (mean, 95% band)")
            if row["fit"] is not None:  # drawn over the fitted K only
                grid = np.geomspace(row["fit_K"].min(), row["fit_K"].max(), 50)
                a.plot(grid, row["fit"].predict(grid), "--", color=a.containers[-1].lines[0].get_color(),
                       label=f"{name} fit: {row['fit'].label()}")
            if anchor is None:
                anchor = (row["K"][pos][0], m[pos][0])
        s = np.sqrt(row["K"])
        (ln,) = b.plot(row["K"], m / s, marker="o", label=name)
        b.fill_between(row["K"], lo / s, hi / s, color=ln.get_color(), alpha=0.2)
        last = row["arrays"][-1]
        curves[name] = last["regret_curve"]
        x_curve = last["checkpoints"]
    if anchor is not None:
        Kg = np.geomspace(min(r["K"].min() for r in rows), max(r["K"].max() for r in rows), 50)
        for slope, style in ((0.5, ":"), (2.0 / 3.0, "-.")):
            plot_reference(a, Kg, anchor[1] * (Kg / anchor[0]) ** slope, f"slope {slope:.2g} reference", style)
    a.set_title(spec.get("title", res.manifest["config"].get("title") or "regret vs K"), fontsize=9)
    a.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.12), ncol=2)  # below: keeps the points clear
    b.set_xscale("log")
    b.set_xlabel("episodes K")
    b.set_ylabel("R_K / sqrt(K)")
    b.set_title("flat for sqrt(K) rates, rising like K^(1/6) for K^(2/3)", fontsize=9)
    b.legend(fontsize=7)
    if curves:
        Kmax = int(max(r["K"].max() for r in rows))
        plot_curves(c, x_curve, curves, logx=True, xlabel="episode k", ylabel="pseudo-regret of the prefix",
                    title=f"regret curves at K = {Kmax}")
        c.legend(fontsize=7)
    paths = list(save_figure(fig, stem))
    from regretlab.core.plots import write_slopes_csv

    csv_path = write_slopes_csv(f"{stem}.slopes.csv", rows, "K")
    return paths + [csv_path]
