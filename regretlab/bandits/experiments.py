"""Registered bandit experiments (``regretlab list``) and the bandit theorem plot.

``bandits.run``: one policy on one K-armed instance, R replicates; outputs the regret curve at
log-spaced checkpoints, final regret, pulls, and the exploration summaries (greedy fraction, last round
a best arm was played, share of best-arm pulls).

Instances (``instance``):
- ``linspace``: means ``linspace(low, high, K)`` (the benchmark instance with low=0.1, high=0.9);
- ``gap``: one best arm at ``0.5 + gap/2``, the others at ``0.5 - gap/2`` (the form of Krishnamurthy et
  al. 2024's hard/easy instances; its position drawn from the instance stream when ``shuffle``);
- ``uniform``: ``K`` means i.i.d. U(low, high), drawn once per cell from the cell's instance stream;
- ``explicit``: the list ``means``.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.registry import Bool, Choice, Float, FloatList, Int, experiment, plotter
from regretlab.core.validate import ParamError

from .bandits import OUTPUTS, simulate
from .policies import POLICIES

REFERENCES = {
    "ACF02": "Auer, Cesa-Bianchi, Fischer. Finite-time analysis of the multiarmed bandit problem. Machine "
             "Learning 47, 2002.",
    "GC11": "Garivier, Cappe. The KL-UCB algorithm for bounded stochastic bandits and beyond. COLT 2011.",
    "AG12": "Agrawal, Goyal. Analysis of Thompson sampling for the multi-armed bandit problem. COLT 2012.",
    "AG13": "Agrawal, Goyal. Further optimal regret bounds for Thompson sampling. AISTATS 2013.",
    "LR85": "Lai, Robbins. Asymptotically efficient adaptive allocation rules. Adv. Appl. Math. 6, 1985.",
    "LS20": "Lattimore, Szepesvari. Bandit Algorithms. Cambridge University Press, 2020.",
}

# policy parameters exposed as sweep parameters (None = the policy's default); which policy takes which
# is checked per cell, so a parameter a policy does not have is an error, never ignored.
_POLICY_PARAMS = {
    "eps": Float(None, "eps_greedy: exploration probability", low=0.0, high=1.0),
    "c": Float(None, "ucb1: confidence scale c; ucb_k24: the C of sqrt(C / N_a); ucb_c: the c of c sqrt(ln t / N_a); "
                         "kl_ucb: the c of ln n + c ln ln n; eps_decay: c", low=0.0),
    "d": Float(None, "eps_decay: d in eps_t = min(1, cK/(d^2 t))", low=0.0, low_open=True),
    "m": Int(None, "etc: pulls of each arm before committing", low=1),
    "prior_mean": Float(None, "ts_gauss: prior mean"),
    "prior_var": Float(None, "ts_gauss: prior variance", low=0.0, low_open=True),
    "noise": Float(None, "ts_gauss: assumed reward noise std", low=0.0, low_open=True),
    "alpha": Float(None, "ucb_alpha: the alpha of sqrt(alpha ln n / N_a)", low=0.0, low_open=True),
    "init_each_arm": Int(None, "ts_beta, ts_gauss: 1 = play each untried arm once first, 0 = not", low=0, high=1),
}

PARAMS = {
    "policy": Choice("ucb1", "bandit policy", choices=tuple(POLICIES)),
    "family": Choice("bernoulli", "reward family", choices=("bernoulli", "gaussian")),
    "instance": Choice("linspace", "how arm means are made", choices=("linspace", "gap", "uniform", "explicit")),
    "K": Int(10, "number of arms (ignored for instance='explicit')", low=2),
    "low": Float(0.1, "lowest mean (linspace, uniform)"),
    "high": Float(0.9, "highest mean (linspace, uniform)"),
    "gap": Float(0.2, "gap between the best arm and the others (instance='gap')", low=0.0, low_open=True),
    "shuffle": Bool(False, "gap instance: place the best arm at a random index (instance stream)"),
    "means": FloatList(None, "explicit arm means (instance='explicit')", min_len=2),
    "sigma": Float(1.0, "Gaussian reward std", low=0.0, low_open=True),
    "horizon": Int(1000, "number of rounds T", low=1),
    "checkpoints": Int(64, "number of log-spaced rounds at which the regret curve is recorded", low=2),
    **_POLICY_PARAMS,
}


def instance_means(p: dict, rng: np.random.Generator | None = None) -> np.ndarray:
    """The cell's arm means from its parameters (``rng``: the cell's instance stream, for 'uniform')."""
    kind = p["instance"]
    if kind == "explicit":
        return np.asarray(p["means"], dtype=float)
    K = p["K"]
    if kind == "linspace":
        return np.linspace(p["low"], p["high"], K)
    if kind == "gap":
        mu = np.full(K, 0.5 - p["gap"] / 2)
        best = int(rng.integers(K)) if (p["shuffle"] and rng is not None) else 0
        mu[best] = 0.5 + p["gap"] / 2
        return mu
    return rng.uniform(p["low"], p["high"], K)


def _check(p: dict) -> None:
    where = "bandits.run"
    if p["instance"] == "explicit" and p["means"] is None:
        raise ParamError(where, "means", "a list of >= 2 arm means when instance = 'explicit'", None)
    if p["instance"] != "explicit" and p["means"] is not None:
        raise ParamError(where, "instance", "'explicit' when means is given", p["instance"])
    if p["family"] == "bernoulli":
        if p["instance"] == "explicit":
            for i, m in enumerate(p["means"]):
                if not 0.0 <= m <= 1.0:
                    raise ParamError(where, f"means[{i}]", ">= 0 and <= 1 for Bernoulli rewards", m)
        elif p["instance"] in ("linspace", "uniform"):
            for k in ("low", "high"):
                if not 0.0 <= p[k] <= 1.0:
                    raise ParamError(where, k, ">= 0 and <= 1 for Bernoulli rewards", p[k])
        elif p["gap"] > 1.0:
            raise ParamError(where, "gap", "<= 1 for Bernoulli rewards (means 0.5 +- gap/2)", p["gap"])
    if p["instance"] in ("linspace", "uniform") and p["low"] > p["high"]:
        raise ParamError(where, "low", f"<= high ({p['high']})", p["low"])
    spec = POLICIES[p["policy"]]
    if p["family"] not in spec.families:
        raise ParamError(where, "policy", f"a policy for {p['family']} rewards ({p['policy']} supports "
                         f"{', '.join(spec.families)} only)", p["policy"])
    for k in _POLICY_PARAMS:
        if p[k] is not None and k not in spec.params:
            raise ParamError(where, k, f"unset for policy {p['policy']!r} (its parameters: "
                             f"{', '.join(spec.params) or 'none'})", p[k])
    if p["policy"] == "etc" and p["m"] is not None:
        k_eff = len(p["means"]) if p["instance"] == "explicit" else p["K"]
        if p["m"] * k_eff > p["horizon"]:
            raise ParamError(where, "m", f"<= horizon // K = {p['horizon'] // k_eff} (etc explores m K rounds)",
                             p["m"])


@experiment(
    "bandits.run",
    summary="one policy on a K-armed Bernoulli/Gaussian bandit: regret curve, pulls, exploration stats",
    params=PARAMS,
    small={"horizon": 200, "K": 3},
    outputs={**OUTPUTS, "means": "(K,) the cell's arm means"},
    curves={"regret": "t"},
    cite=("ACF02", "GC11", "AG12", "AG13", "LS20"),
    check=_check,
    inert={"gap": lambda p: None if p["instance"] == "gap" else "instance = 'gap' only",
           "shuffle": lambda p: None if p["instance"] == "gap" else "instance = 'gap' only",
           "sigma": lambda p: None if p["family"] == "gaussian" else "Gaussian rewards only",
           "K": lambda p: None if p["instance"] != "explicit" else "instance = 'explicit': means sets K",
           **{k: (lambda p: None if p["instance"] in ("linspace", "uniform") else "instance linspace / uniform only")
              for k in ("low", "high")}},
)
def run(params: dict, seeds, backend: str) -> dict:
    from regretlab.core.stats import log_checkpoints

    mu = instance_means(params, seeds.instance_rng())
    kw = {k: params[k] for k in POLICIES[params["policy"]].params if params.get(k) is not None}
    ck = log_checkpoints(params["horizon"], params["checkpoints"])

    def block(s):
        return simulate(mu, params["policy"], params["horizon"], family=params["family"], sigma=params["sigma"],
                        states=s.states, checkpoints=ck, backend=backend, **kw)

    # blocks of about BLOCK_PULLS pulls (a few seconds), so that a long cell reports its progress
    out = seeds.in_blocks(block, OUTPUTS, size=max(1, BLOCK_PULLS // params["horizon"]))
    out["means"] = mu
    return out


#: pulls per block of replicates in ``bandits.run`` (:meth:`regretlab.core.registry.Seeds.in_blocks`)
BLOCK_PULLS = 100_000_000


@plotter("bandits.rate")
def plot_rate(res, spec: dict, stem):
    """Final regret against the horizon (log x), one panel per gap, with the Lai-Robbins lower bound.

    Lai and Robbins (1985): for any consistent policy, liminf R(T) / ln T >= sum_{a: gap_a > 0}
    gap_a / kl(mu_a, mu*); the dashed line draws c ln T. Logarithmic-regret policies run parallel to it
    on the log-x axis; greedy's regret on the gap instance grows linearly.
    """
    from regretlab.core.plotting import make_figure, plot_reference, save_figure
    from regretlab.core.stats import lai_robbins_constant, mean_band

    panel_key = spec.get("panel", "gap")
    hue = spec.get("hue", "policy")
    cells = [c for c in res.cells if res.ok(c["index"])]
    panels = sorted({c["params"][panel_key] for c in cells})
    fig, axes = make_figure(1, len(panels), figsize=(5.0 * len(panels), 4.2), squeeze=False)
    for ax, pv in zip(axes[0], panels):
        sub = [c for c in cells if c["params"][panel_key] == pv]
        series: dict = {}
        for c in sub:
            series.setdefault(c["params"][hue], []).append(c)
        for name, cs in sorted(series.items()):
            cs.sort(key=lambda c: c["params"]["horizon"])
            T = np.array([c["params"]["horizon"] for c in cs], dtype=float)
            stats = [mean_band(res.cell(c["index"])["final_regret"]) for c in cs]
            m = np.array([float(s[0]) for s in stats])
            lo = np.array([float(s[1]) for s in stats])
            hi = np.array([float(s[2]) for s in stats])
            (line,) = ax.plot(T, m, marker="o", label=str(name))
            ax.fill_between(T, lo, hi, alpha=0.2, color=line.get_color())
        means = res.cell(sub[0]["index"])["means"]
        Tgrid = np.geomspace(min(c["params"]["horizon"] for c in sub), max(c["params"]["horizon"] for c in sub), 50)
        c_lr = lai_robbins_constant(means, family=sub[0]["params"]["family"], sigma=sub[0]["params"]["sigma"])
        plot_reference(ax, Tgrid, c_lr * np.log(Tgrid), label=f"Lai-Robbins {c_lr:.1f} ln T")
        ax.set_xscale("log")
        ax.set_yscale(spec.get("yscale", "linear"))
        ax.set_xlabel("horizon T")
        ax.set_ylabel("final pseudo-regret (mean, 95% band)")
        ax.set_title(f"{panel_key} = {pv}")
        ax.legend(fontsize=8)
    return list(save_figure(fig, stem))
