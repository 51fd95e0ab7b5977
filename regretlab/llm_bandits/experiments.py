"""Registered exploration-benchmark experiment and its plots (specs/llm-bandit-envs.md §7, §8).

``llm_bandits.explore``: one agent (a vectorised baseline, a Python agent, or an LLM behind an
OpenAI-compatible endpoint) on one bandit preset of spec §2.1, R replicates. Outputs: those of
``bandits.run`` (regret curve at log-spaced checkpoints, final regret, pulls, reward, greedy fraction, last
round a best arm was played, best-arm share) plus the operational metrics of spec §6.8
(:data:`regretlab.llm_bandits.harness.EXTRA_OUTPUTS`). How agents are named, seeded, cached and resumed:
:mod:`regretlab.llm_bandits.harness`.

Plot kinds:

* ``llm_bandits.regret_curves``: one panel per instance, mean pseudo-regret against t with 95% t-bands, one
  line per agent (UCB and Thompson sampling are the references of every panel when the sweep holds them);
* ``llm_bandits.metric_table``: per cell, the [K24] statistics and the regret, with their intervals
  (:func:`metric_rows`), written as ``plots/<name>.csv`` and ``.md`` and drawn as a table figure;
* ``llm_bandits.failure_scatter``: [K24]'s failure classification, SuffFailFreq(T/2) against K MinFrac(T),
  with the epsilon-greedy cells of the sweep joined as the reference curve;
* ``llm_bandits.regret_form``: per cell, [N24]'s functional form of the regret curve (alpha, beta with
  replicate-bootstrap CIs; :func:`regretlab.llm_bandits.metrics.regret_form_fit`) and the [P25]-style
  sub-linearity tests (trend test, log-log regression; :func:`regretlab.core.stats.sublinear_tests`)
  (:func:`regret_form_rows`), as CSV, Markdown and a figure of beta and alpha per agent;
* ``llm_bandits.win_matrix``: [N24]'s pairwise win matrix over the instances of the sweep (score: cumulative
  reward per replicate; Welch t-test, p < 0.05) and each agent's overall win rate
  (:func:`regretlab.llm_bandits.metrics.win_matrix`).

Parameters a cell does not use are refused, not ignored: a text-rendering option with ``interface = "numeric"``,
an endpoint option without ``agent = "llm"``, a policy parameter the policy does not have.
"""
from __future__ import annotations

import math

import numpy as np

from regretlab.bandits.bandits import OUTPUTS as BANDIT_OUTPUTS
from regretlab.bandits.experiments import _POLICY_PARAMS
from regretlab.bandits.policies import POLICIES
from regretlab.core.registry import Bool, Choice, Float, Int, Str, experiment, plotter
from regretlab.core.validate import ParamError

from .harness import EXTRA_OUTPUTS, SERVERS, evaluate, load_factory, resolve_agent
from .online import ONLINE_OUTPUTS

REFERENCES = {
    "K24": "Krishnamurthy, Harris, Foster, Zhang, Slivkins. Can large language models explore in-context? "
           "NeurIPS 2024, arXiv 2403.15371.",
    "N24": "Nie, Su, Chang, Lee, Chi, Le, Chen. EVOLvE: Evaluating and optimizing LLMs for in-context "
           "exploration. ICML 2025, arXiv 2410.06238.",
    "C25": "Chen, Chen, Huang, Xie, Dhingra. When greedy wins: emergent exploitation bias in meta-bandit LLM "
           "training. ICLR 2026, arXiv 2509.24923.",
    "P25": "Park, Liu, Ozdaglar, Zhang. Do LLM agents have regret? A case study in online learning and games. "
           "ICLR 2025, arXiv 2403.16843.",
    "ACF02": "Auer, Cesa-Bianchi, Fischer. Finite-time analysis of the multiarmed bandit problem. Machine "
             "Learning 47, 2002.",
}


def _text_choices():
    from regretlab_envs.text import ANSWERS, COTS, FALLBACKS, FRAMINGS, HISTORIES, SCENARIOS

    return SCENARIOS, FRAMINGS, HISTORIES, ANSWERS, COTS, FALLBACKS


def _presets():
    from regretlab_envs.presets import PRESETS

    return PRESETS


_SCEN, _FRAM, _HIST, _ANS, _COT, _FALL = _text_choices()

TEXT_PARAMS = {
    "scenario": Choice("buttons", "text: arm names and story ([K24] buttons/ads, [N24] videos/clothes, [C25] arms)",
                       choices=tuple(_SCEN)),
    "framing": Choice("neutral", "text: neutral rules or a suggestive hint to balance exploration",
                      choices=tuple(_FRAM)),
    "history": Choice("summary", "text: how the history is shown (raw, raw_window, summary, summary_guided)",
                      choices=tuple(_HIST)),
    "answer": Choice("single", "text: one arm name, or a probability for every arm", choices=tuple(_ANS)),
    "cot": Choice("none", "text: chain-of-thought request (none, cot, reinforced)", choices=tuple(_COT)),
    "disclose_horizon": Bool(True, "text: state the number of rounds T in the prompt ([K24] does)"),
    "window": Int(20, "text: rounds shown by history = 'raw_window' ([N24] history_context_len)", low=1),
    "fallback": Choice("uniform", "text: arm used after a malformed final reply (uniform, previous, "
                       "abort_episode)", choices=tuple(_FALL)),
    "max_reprompts": Int(2, "text: re-prompts after a malformed reply before the fallback applies", low=0, high=10),
}

LLM_PARAMS = {
    "server": Choice("none", "llm: a local server preset giving the default base_url (vllm localhost:8000, "
                     "llama_cpp 127.0.0.1:8080, ollama localhost:11434)", choices=SERVERS),
    "base_url": Str("", "llm: the OpenAI-compatible endpoint, e.g. http://localhost:8000/v1"),
    "model": Str("", "llm: the model name sent in each request"),
    "api_key_env": Str("", "llm: the NAME of the environment variable holding the API key (the key is never "
                       "stored); empty: no key"),
    "temperature": Float(0.0, "llm: sampling temperature", low=0.0),
    "max_tokens": Int(256, "llm: max_tokens per reply", low=1),
    "timeout_s": Float(60.0, "llm: seconds before a request times out", low=0.0, low_open=True),
    "max_retries": Int(3, "llm: retries after 5xx, 429, timeouts or malformed replies", low=0, high=20),
    "send_seed": Bool(True, "llm: send a per-replicate seed drawn from the agent stream"),
}

PARAMS = {
    "agent": Str("ucb_k24", "a bandit policy (" + ", ".join(POLICIES) + "), 'ts' (ts_beta / ts_gauss by family), "
                 "'llm', or 'package.module:factory'"),
    "interface": Choice("numeric", "numeric: arm indices and statistics (baselines run vectorised); text: "
                        "prompts and free-text replies", choices=("numeric", "text")),
    "instance": Choice("k24_hard", "bandit preset of spec 2.1", choices=tuple(_presets())),
    "instance_seed": Int(0, "seed of the instance: the best arm's index on gap presets, the means of "
                         "Gaussian presets", low=0),
    "horizon": Int(None, "rounds T (default: the preset's)", low=1),
    "checkpoints": Int(32, "number of log-spaced rounds of the regret curve (fewer when T is small: distinct "
                       "rounds)", low=2),
    "sigma_scaled": Bool(True, "Gaussian presets: ucb1's c and ts_gauss's noise / prior default to the "
                         "reward sigma"),
    "concurrency": Int(8, "step-wise agents: replicates played at once (threads; also the HTTP limit)", low=1,
                       high=256),
    **_POLICY_PARAMS,
    **TEXT_PARAMS,
    **LLM_PARAMS,
}

OUTPUTS = {**BANDIT_OUTPUTS, **EXTRA_OUTPUTS, "means": "(K,) the instance's arm means"}


def _sigma_scaled_inert(p: dict) -> str | None:
    """``sigma_scaled`` sets ucb1's c and ts_gauss's noise / prior variance on Gaussian presets when unset
    (:mod:`.harness`); elsewhere it has nothing to scale."""
    preset = _presets()[p["instance"]]
    pol = {"ts": "ts_gauss"}.get(p["agent"], p["agent"])
    if preset.family != "gaussian":
        return "Bernoulli preset: nothing is scaled by sigma"
    if (pol == "ucb1" and p["c"] is None) or (pol == "ts_gauss" and (p["noise"] is None or p["prior_var"] is None)):
        return None
    return "the agent has no sigma-scaled default left unset"


def _text_inert(p: dict) -> str | None:
    """A baseline policy plays the text interface through NumericAsText (:mod:`.harness`), which keeps its own
    statistics and never replies malformed: the rendering and the malformed-reply rules cannot change its arms."""
    if p["agent"] == "llm" or ":" in p["agent"]:
        return None
    return "a baseline policy answers through NumericAsText (its own statistics, no malformed reply)"


EXPLORE_INERT = {
    "sigma_scaled": _sigma_scaled_inert,
    "concurrency": "execution only: replicates played at once; results do not depend on the thread count",
    **{k: _text_inert for k in TEXT_PARAMS if k != "answer"},  # a distribution answer changes expected_regret
}


def _check_llm(p: dict, where: str) -> None:
    """The endpoint parameters of an ``agent = "llm"`` cell."""
    if not p["model"]:
        raise ParamError(where, "model", "the model name served at the endpoint (agent = 'llm')", p["model"])
    if p["server"] == "none" and not p["base_url"]:
        raise ParamError(where, "base_url", "an http(s):// endpoint URL, or a server preset", p["base_url"])
    if p["base_url"] and not p["base_url"].startswith(("http://", "https://")):
        raise ParamError(where, "base_url", "a URL starting with http:// or https://", p["base_url"])
    if p["api_key_env"] and not (p["api_key_env"].replace("_", "a").isalnum()
                                 and not p["api_key_env"][0].isdigit()):
        raise ParamError(where, "api_key_env", "an environment variable name (the key itself is never given)",
                         "<hidden>")


def _refuse_unless(p: dict, params: dict, keys, where: str, why: str) -> None:
    """Refuse any of ``keys`` set away from its default (``why`` says when it applies)."""
    for k in keys:
        if p[k] != params[k].default:
            raise ParamError(where, k, f"unset (default {params[k].default!r}): {why}", p[k])


def _check(p: dict) -> None:
    where = "llm_bandits.explore"
    preset = _presets()[p["instance"]]
    spec = resolve_agent(p["agent"], preset.family, where)
    text = p["interface"] == "text"
    if spec.kind == "llm" and not text:
        raise ParamError(where, "interface", "'text' for agent = 'llm'", p["interface"])
    if spec.kind == "factory":
        load_factory(spec.factory, where)
    if not text:
        for k, s in TEXT_PARAMS.items():
            if p[k] != s.default:
                raise ParamError(where, k, f"unset (default {s.default!r}) when interface = 'numeric': text "
                                 "options apply to interface = 'text' only", p[k])
    if spec.kind != "llm":
        for k, s in LLM_PARAMS.items():
            if p[k] != s.default:
                raise ParamError(where, k, f"unset (default {s.default!r}) unless agent = 'llm'", p[k])
    else:
        _check_llm(p, where)
    pol_params = POLICIES[spec.policy].params if spec.kind == "baseline" else ()
    for k in _POLICY_PARAMS:
        if p[k] is not None and k not in pol_params:
            raise ParamError(where, k, f"unset for agent {p['agent']!r} (its policy parameters: "
                             f"{', '.join(pol_params) or 'none'})", p[k])
    T = p["horizon"] or preset.horizon
    if spec.kind == "baseline" and spec.policy == "etc" and p["m"] is not None and p["m"] * preset.n_arms > T:
        raise ParamError(where, "m", f"<= horizon // K = {T // preset.n_arms}", p["m"])
    if text:
        from regretlab_envs.text import NAMES

        if preset.n_arms > len(NAMES[p["scenario"]]):
            raise ParamError(where, "scenario", f"a scenario with >= {preset.n_arms} names (arms)", p["scenario"])


@experiment(
    "llm_bandits.explore",
    summary="one agent (baseline, Python or LLM endpoint) on a bandit preset: regret, [K24] exploration stats, "
            "malformed-reply rates",
    params=PARAMS,
    small={"horizon": 30, "checkpoints": 8},
    outputs=OUTPUTS,
    curves={"regret": "t"},
    cite=("K24", "N24", "C25", "P25", "ACF02"),
    check=_check,
    inert=EXPLORE_INERT,
)
def explore(params: dict, seeds, backend: str) -> dict:
    preset = _presets()[params["instance"]]
    spec = resolve_agent(params["agent"], preset.family)
    vectorised = spec.kind == "baseline" and params["interface"] == "numeric"
    return evaluate(params, seed=seeds.seed, cell=seeds.cell, replicates=seeds.replicates, start=seeds.start,
                    states=seeds.states if vectorised else None, backend=backend, workdir=seeds.workdir,
                    report=seeds.report)


# ---------------------------------------------------------------------------------------------------
# The metric table and plots


def agent_label(params: dict) -> str:
    """'ucb_k24', 'eps_greedy(eps=0.1)', 'llm:model [BSSeC0]' ... from a cell's parameters."""
    name = params["agent"]
    if name == "llm":
        name = f"llm:{params['model']}"
    set_params = [f"{k}={params[k]:g}" for k in _POLICY_PARAMS if params.get(k) is not None]
    if set_params:
        name += "(" + ", ".join(set_params) + ")"
    if params["interface"] == "text":
        name += f" [text: {params['scenario']}, {params['history']}, {params['answer']}, cot={params['cot']}]"
    return name


def metric_rows(res, cells=None, *, n_boot: int = 10_000, level: float = 0.95) -> list[dict]:
    """One row per finished cell: the statistics of spec §6 with the intervals of spec §8.

    Columns: instance, agent, T, K, R (valid replicates: not aborted), regret (mean pseudo-regret at T) with a
    t-interval, median_reward (median rescaled reward) with a percentile-bootstrap interval (``n_boot``
    resamples, seeded by the cell index), mean_reward, suffix_failure (SuffFailFreq(T/2), t = floor(T/2), the
    window t..T inclusive) with a Wilson interval, k_min_frac (K MinFrac(T)), greedy_frac (optimistic),
    best_arm_freq, best_never (share of replicates that never chose a best arm), malformed_rate,
    fallback_rate, aborted (count), calls (mean per replicate).
    """
    from scipy import stats as st

    from regretlab.core.stats import wilson_interval

    cells = cells if cells is not None else [c for c in res.cells if res.ok(c["index"])]
    rows = []
    for c in cells:
        p, d = c["params"], res.cell(c["index"])
        mu = d["means"]
        T = int(d["t"][-1])
        ok = d["aborted"] == 0
        R = int(ok.sum())
        row = {"instance": p["instance"], "agent": agent_label(p), "T": T, "K": int(mu.size), "R": R,
               "aborted": int((~ok).sum())}
        if R == 0:
            rows.append(row)
            continue
        reg = d["final_regret"][ok]
        se = reg.std(ddof=1) / math.sqrt(R) if R > 1 else 0.0
        q = float(st.t.ppf(0.5 + level / 2, R - 1)) if R > 1 else 0.0
        lo_mu, hi_mu = float(mu.min()), float(mu.max())
        resc = (d["reward_mean"][ok] - lo_mu) / (hi_mu - lo_mu) if hi_mu > lo_mu else np.full(R, np.nan)
        gen = np.random.default_rng(np.random.SeedSequence(20241, spawn_key=(c["index"],)))
        boot = np.median(resc[gen.integers(0, R, size=(n_boot, R))], axis=1)
        t_half = max(1, T // 2)
        fails = int((d["last_best"][ok] < t_half).sum())
        wl, wh = wilson_interval(fails, R, level)
        wl, wh = min(float(wl), fails / R), max(float(wh), fails / R)  # k = 0, R: the bound is the estimate
        wl = 0.0 if fails == 0 else wl  # (the closed form leaves a 1e-19 residue there)
        wh = 1.0 if fails == R else wh
        counts = d["counts"][ok]
        row.update({
            "regret": float(reg.mean()), "regret_lo": float(reg.mean() - q * se),
            "regret_hi": float(reg.mean() + q * se),
            "median_reward": float(np.median(resc)),
            "median_reward_lo": float(np.quantile(boot, (1 - level) / 2)),
            "median_reward_hi": float(np.quantile(boot, (1 + level) / 2)),
            "mean_reward": float(resc.mean()),
            "suffix_failure": fails / R, "suffix_failure_lo": float(wl), "suffix_failure_hi": float(wh),
            "k_min_frac": float(mu.size * (counts.min(axis=1) / T).mean()),
            "greedy_frac": float(d["greedy_frac"][ok].mean()),
            "best_arm_freq": float(d["best_frac"][ok].mean()),
            "best_never": float((d["last_best"][ok] == 0).mean()),
            "malformed_rate": float(d["malformed_rate"].mean()), "fallback_rate": float(d["fallback_rate"].mean()),
            "calls": float(d["calls"].mean()),
        })
        rows.append(row)
    return rows


TABLE_COLUMNS = ("instance", "agent", "T", "R", "regret", "median_reward", "suffix_failure", "k_min_frac",
                 "greedy_frac", "best_arm_freq", "malformed_rate", "fallback_rate")


def _fmt_cell(row: dict, col: str) -> str:
    v = row.get(col)
    if v is None:
        return "-"
    if f"{col}_lo" in row:
        return f"{v:.3g} [{row[col + '_lo']:.3g}, {row[col + '_hi']:.3g}]"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def markdown_table(rows: list[dict], columns=TABLE_COLUMNS) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt_cell(r, c) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _panels(n: int, w: float, h: float):
    """A figure with ``n`` panels, at most 4 per row; returns (fig, the n axes); unused axes are hidden."""
    from regretlab.core.plotting import make_figure

    ncols = min(4, n)
    nrows = -(-n // ncols)
    fig, axes = make_figure(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _selected(res, spec: dict) -> list[dict]:
    """Finished cells matching the plot's ``where`` table ({param = value}; "default" matches the default)."""
    from regretlab.core.sweep import DEFAULT

    where = {k: (PARAMS[k].default if v == DEFAULT and k in PARAMS else v) for k, v in spec.get("where", {}).items()}
    cells = [c for c in res.cells if res.ok(c["index"])
             and all(c["params"].get(k) == v for k, v in where.items())]
    if not cells:
        raise ValueError(f"no finished cell matches where = {spec.get('where', {})}")
    return cells


@plotter("llm_bandits.metric_table")
def plot_metric_table(res, spec: dict, stem):
    """The metric table (:func:`metric_rows`) as CSV, Markdown and a table figure."""
    from regretlab.core.plotting import make_figure, save_figure

    rows = metric_rows(res, _selected(res, spec), n_boot=int(spec.get("n_boot", 10_000)))
    _write_rows(rows, stem, TABLE_COLUMNS)
    shown = [c for c in TABLE_COLUMNS if c not in ("malformed_rate", "fallback_rate")
             or any(r.get(c) for r in rows)]
    fig, ax = make_figure(figsize=(min(2 + 1.25 * len(shown), 20), 0.8 + 0.24 * (len(rows) + 1)))
    ax.axis("off")
    tab = ax.table(cellText=[[_fmt_cell(r, c) for c in shown] for r in rows], colLabels=list(shown), loc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    tab.auto_set_column_width(list(range(len(shown))))
    ax.set_title(spec.get("title", "exploration metrics: mean [95% CI]; median reward [bootstrap CI]; "
                                   "suffix failure at T/2 [Wilson CI]"), fontsize=9)
    return list(save_figure(fig, stem, require_labels=False))


@plotter("llm_bandits.regret_curves")
def plot_regret_curves(res, spec: dict, stem):
    """Mean pseudo-regret against t, 95% t-bands, one panel per instance and one line per agent."""
    from regretlab.core.plotting import plot_curves, save_figure

    cells = _selected(res, spec)
    panels = list(dict.fromkeys(c["params"]["instance"] for c in cells))
    fig, axes = _panels(len(panels), 5.2, 4.3)
    for ax, inst in zip(axes, panels):
        curves, x = {}, None
        for c in cells:
            if c["params"]["instance"] != inst:
                continue
            d = res.cell(c["index"])
            ok = d["aborted"] == 0
            if ok.sum() == 0:
                continue
            x = d["t"]
            curves[agent_label(c["params"])] = d["regret"][ok]
        plot_curves(ax, x, curves, xlabel="round t", ylabel="pseudo-regret (mean, 95% band)",
                    title=inst, logx=bool(spec.get("logx", False)))
        ax.legend(fontsize=7)
    return list(save_figure(fig, stem))


@plotter("llm_bandits.failure_scatter")
def plot_failure_scatter(res, spec: dict, stem):
    """[K24]'s failure classification: SuffFailFreq(T/2) (x) against K MinFrac(T) (y), Wilson intervals on x.

    Suffix failures (x high) mark a greedy-like failure to explore; K MinFrac near 1 marks uniform-like
    failure to exploit. The epsilon-greedy cells (if any) are joined in order of eps as the reference curve;
    every other cell is a labelled point.
    """
    from regretlab.core.plotting import save_figure

    cells = _selected(res, spec)
    panels = list(dict.fromkeys(c["params"]["instance"] for c in cells))
    fig, axes = _panels(len(panels), 5.4, 4.6)
    for ax, inst in zip(axes, panels):
        sub = [c for c in cells if c["params"]["instance"] == inst]
        rows = metric_rows(res, sub, n_boot=1)
        eps = [(c["params"]["eps"], r) for c, r in zip(sub, rows)
               if c["params"]["agent"] == "eps_greedy" and c["params"]["eps"] is not None and "regret" in r]
        if eps:
            eps.sort(key=lambda e: e[0])
            ax.plot([r["suffix_failure"] for _, r in eps], [r["k_min_frac"] for _, r in eps], "-o", color="0.6",
                    ms=3, label="eps-greedy (eps " + f"{eps[0][0]:g}..{eps[-1][0]:g})")
        for c, r in zip(sub, rows):
            if "regret" not in r or (c["params"]["agent"] == "eps_greedy" and c["params"]["eps"] is not None):
                continue
            x = r["suffix_failure"]
            ax.errorbar([x], [r["k_min_frac"]], xerr=[[x - r["suffix_failure_lo"]], [r["suffix_failure_hi"] - x]],
                        fmt="o", capsize=3, label=r["agent"])
        ax.set_xlim(-0.02, max(0.6, ax.get_xlim()[1]))
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("SuffFailFreq(T/2)")
        ax.set_ylabel("K * MinFrac(T)")
        ax.set_title(inst)
        ax.legend(fontsize=7)
    return list(save_figure(fig, stem))


def _write_rows(rows: list[dict], stem, columns) -> None:
    """``stem``.csv (every key) and ``stem``.md (``columns``)."""
    import csv

    stem.parent.mkdir(parents=True, exist_ok=True)
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with open(stem.with_suffix(".csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    stem.with_suffix(".md").write_text(markdown_table(rows, columns))


def regret_form_rows(res, cells=None, *, n_boot: int = 200, level: float = 0.95, alpha: float = 0.05) -> list[dict]:
    """One row per finished cell: [N24]'s regret form and the sub-linearity tests of spec §6.5-§6.6.

    Columns: instance, agent, T, R; ``form_alpha`` and ``form_beta`` with replicate-bootstrap percentile
    intervals (``n_boot`` resamples seeded by the cell index), ``form_lambda1``, ``form_lambda2``,
    ``form_rmse`` (f(t) = lambda1 (ln t)^alpha / Delta_min + beta t + lambda2 on the mean regret at the
    recorded checkpoints t >= 2, Delta_min the smallest positive gap, beta bounded by max(1, largest gap) so that
    Gaussian instances with gaps above 1 are not clipped); ``p_trend`` (trend test on the average
    regret R(t)/t at the checkpoints), ``loglog_slope`` with its bootstrap interval and ``p_reg`` (one-sided test
    of slope >= 1, t >= 2, R(t) > 0), ``sublinear`` (both p-values below ``alpha``). Cells without a positive
    gap or with fewer than 4 checkpoints >= 2 get the form columns empty, with ``note`` saying why.
    """
    from regretlab.core.stats import sublinear_tests

    from .metrics import regret_form_fit

    cells = cells if cells is not None else [c for c in res.cells if res.ok(c["index"])]
    rows = []
    for c in cells:
        p, d = c["params"], res.cell(c["index"])
        ok = d["aborted"] == 0
        row = {"instance": p["instance"], "agent": agent_label(p), "T": int(d["t"][-1]), "R": int(ok.sum())}
        rows.append(row)
        if ok.sum() < 2:
            row["note"] = "fewer than 2 valid replicates"
            continue
        t, Y = d["t"].astype(float), d["regret"][ok]
        gaps = d["means"].max() - d["means"]
        gaps = gaps[gaps > 0]
        notes = []
        if gaps.size and int((t >= 2).sum()) >= 4:
            f = regret_form_fit(t, Y, float(gaps.min()), beta_max=max(1.0, float(gaps.max())), level=level,
                                n_boot=n_boot,
                                rng=np.random.SeedSequence(20242, spawn_key=(c["index"],)))
            row.update({"form_alpha": f.alpha, "form_alpha_lo": f.alpha_lo, "form_alpha_hi": f.alpha_hi,
                        "form_beta": f.beta, "form_beta_lo": f.beta_lo, "form_beta_hi": f.beta_hi,
                        "form_lambda1": f.lambda1, "form_lambda2": f.lambda2, "form_rmse": f.rmse})
        else:
            notes.append("no positive gap" if not gaps.size else "fewer than 4 checkpoints t >= 2")
        if int(((t >= 2) & (Y.mean(axis=0) > 0)).sum()) >= 3:
            sl = sublinear_tests(t, Y, t0=2, level=level, n_boot=n_boot,
                                 rng=np.random.SeedSequence(20243, spawn_key=(c["index"],)))
            row.update({"p_trend": sl.p_trend, "loglog_slope": sl.slope,
                        "loglog_slope_lo": sl.bootstrap.ci_low, "loglog_slope_hi": sl.bootstrap.ci_high,
                        "p_reg": sl.p_reg, "sublinear": sl.is_sublinear(alpha)})
        else:
            notes.append("regret is 0 at almost every checkpoint: no log-log regression")
        if notes:
            row["note"] = "; ".join(notes)
    return rows


FORM_COLUMNS = ("instance", "agent", "T", "R", "form_alpha", "form_beta", "p_trend", "loglog_slope", "p_reg",
                "sublinear")


@plotter("llm_bandits.regret_form")
def plot_regret_form(res, spec: dict, stem):
    """[N24]'s regret form and the sub-linearity tests per cell (:func:`regret_form_rows`): CSV, Markdown and a
    figure with beta (left) and alpha (right) per cell, with their bootstrap intervals."""
    from regretlab.core.plotting import make_figure, save_figure

    rows = regret_form_rows(res, _selected(res, spec), n_boot=int(spec.get("n_boot", 200)))
    _write_rows(rows, stem, FORM_COLUMNS)
    shown = [r for r in rows if "form_beta" in r]
    fig, axes = make_figure(1, 2, figsize=(11, 1.2 + 0.28 * max(len(shown), 1)), squeeze=False)
    y = np.arange(len(shown))[::-1]
    labels = [f"{r['instance']}: {r['agent']}" for r in shown]
    for ax, key, xlabel in ((axes[0, 0], "form_beta", "beta (linear-regret slope)"),
                            (axes[0, 1], "form_alpha", "alpha (exponent of ln t)")):
        for yi, r in zip(y, shown):
            v, lo, hi = r[key], r[key + "_lo"], r[key + "_hi"]
            if not np.isfinite(v):
                continue
            # a percentile interval need not contain the point estimate (a fit at a bound): clip the bars
            err = [[max(v - lo, 0.0)], [max(hi - v, 0.0)]] if np.isfinite(lo) and np.isfinite(hi) else None
            ax.errorbar([v], [yi], xerr=err, fmt="o", color="C0", capsize=3, ms=4)
        ax.set_yticks(y)
        ax.set_yticklabels(labels if key == "form_beta" else [""] * len(labels), fontsize=7)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("instance: agent" if key == "form_beta" else "(same rows)")
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_title(spec.get("title", "[N24] regret form f(t) = l1 (ln t)^alpha / D_min + beta t + l2 "
                                           "(95% bootstrap CI)"), fontsize=9, loc="left")
    return list(save_figure(fig, stem))


def win_rows(res, cells=None, *, alpha: float = 0.05):
    """[N24]'s win matrix over the cells: methods = agent labels, configurations = (instance, T); the score of a
    replicate is its cumulative reward T * mean reward (valid replicates only). Returns the
    :class:`regretlab.llm_bandits.metrics.WinMatrix` and one row per agent (win_rate, wins, compared)."""
    from .metrics import win_matrix

    cells = cells if cells is not None else [c for c in res.cells if res.ok(c["index"])]
    scores: dict[str, dict[str, np.ndarray]] = {}
    for c in cells:
        d = res.cell(c["index"])
        ok = d["aborted"] == 0
        T = int(d["t"][-1])
        scores.setdefault(agent_label(c["params"]), {})[f"{c['params']['instance']} (T={T})"] = \
            T * d["reward_mean"][ok]
    wm = win_matrix(scores, alpha=alpha)
    rows = [{"agent": m, "win_rate": float(wm.win_rate[i]), "wins": int(wm.wins[i].sum()),
             "compared": int(wm.compared[i].sum()),
             **{f"vs {o}": f"{wm.wins[i, j]}/{wm.compared[i, j]}" for j, o in enumerate(wm.methods) if j != i}}
            for i, m in enumerate(wm.methods)]
    return wm, rows


@plotter("llm_bandits.win_matrix")
def plot_win_matrix(res, spec: dict, stem):
    """[N24]'s pairwise win matrix (:func:`win_rows`): the share of configurations on which the row agent beats
    the column agent, with the counts, and each agent's overall win rate; also as CSV and Markdown."""
    from regretlab.core.plotting import make_figure, save_figure

    wm, rows = win_rows(res, _selected(res, spec), alpha=float(spec.get("alpha", 0.05)))
    _write_rows(rows, stem, ("agent", "win_rate", "wins", "compared"))
    M = len(wm.methods)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(wm.compared > 0, wm.wins / np.maximum(wm.compared, 1), np.nan)
    fig, ax = make_figure(figsize=(2.5 + 0.7 * M, 1.8 + 0.5 * M))
    im = ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
    for i in range(M):
        for j in range(M):
            if i != j and wm.compared[i, j]:
                ax.text(j, i, f"{wm.wins[i, j]}/{wm.compared[i, j]}", ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(M))
    ax.set_xticklabels(wm.methods, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(M))
    ax.set_yticklabels([f"{m} ({r:.0%})" if np.isfinite(r) else m for m, r in zip(wm.methods, wm.win_rate)],
                       fontsize=7)
    ax.set_xlabel("opponent")
    ax.set_ylabel("agent (overall win rate)")
    ax.set_title(spec.get("title", f"[N24] wins over {len(wm.configs)} configurations (Welch t-test, p < "
                                   f"{float(spec.get('alpha', 0.05)):g})"), fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of configurations won")
    return list(save_figure(fig, stem))


# ---------------------------------------------------------------------------------------------------
# Online learning and repeated games ([P25])


def _online_choices():
    from regretlab_envs.games import FEEDBACKS, GAMES, OPPONENTS
    from regretlab_envs.online import ADVERSARIES, GENERATORS
    from regretlab_envs.text_online import BANDIT_HISTORIES, NAMINGS, ONLINE_ANSWERS, ONLINE_HISTORIES

    histories = tuple(dict.fromkeys(("default", *ONLINE_HISTORIES, *BANDIT_HISTORIES)))
    return (GENERATORS + ADVERSARIES, (*GAMES, "random"), (*OPPONENTS, "self"), FEEDBACKS, histories,
            ONLINE_ANSWERS, NAMINGS)


_GENS, _GAMES, _OPPS, _FEEDS, _OHIST, _OANS, _NAMINGS = _online_choices()

ONLINE_TEXT_PARAMS = {
    "history": Choice("default", "text: loss_vectors / raw_window / summary (full information), raw / "
                      "importance_weighted / summary (bandit feedback); default: loss_vectors or importance_weighted",
                      choices=_OHIST),
    "answer": Choice("distribution", "text: a probability for every action ([P25]) or one action name",
                     choices=_OANS),
    "cot": Choice("none", "text: chain-of-thought request (none, cot, reinforced)", choices=tuple(_COT)),
    "disclose_horizon": Bool(True, "text: state the number of rounds T in the prompt"),
    "window": Int(20, "text: rounds shown by history = 'raw_window'", low=1),
    "decimals": Int(2, "text: decimals of the losses and payoffs shown", low=0, high=6),
    "fallback": Choice("uniform", "text: distribution played after a malformed final reply (uniform, previous, "
                       "abort_episode; not abort_episode in self-play)", choices=tuple(_FALL)),
    "names": Choice("neutral", "text, games: 'Action A'.. names, or the game's own (Cooperate/Defect, ...)",
                    choices=_NAMINGS),
    "max_reprompts": Int(2, "text: re-prompts after a malformed reply before the fallback applies", low=0, high=10),
}

GAME_PARAMS = {
    "game": Choice("rock_paper_scissors", "setting = game: the matrix game (spec 2.4; 'random': U[0, 1] entries)",
                   choices=_GAMES),
    "opponent": Choice("hedge", "setting = game: the column player: hedge, fictitious_play, fixed (uniform), or "
                       "self (a second copy of the agent: self-play)", choices=_OPPS),
    "feedback": Choice("realized", "setting = game: payoff vectors against the opponent's realised action or its "
                       "mixed strategy", choices=_FEEDS),
    "random_size": Int(3, "game = random: actions per player", low=2, high=26),
    "game_seed": Int(0, "game = random: seed of the payoff matrices", low=0),
}

ONLINE_PARAMS = {
    "setting": Choice("experts", "experts (full information), bandit (adversarial bandit feedback) or game",
                      choices=("experts", "bandit", "game")),
    "agent": Str("hedge", "hedge, hedge_anytime, ftpl, ftl, uniform (full information), exp3 (bandit feedback), "
                 "'llm', or 'package.module:factory'"),
    "interface": Choice("numeric", "numeric: distributions and loss vectors; text: prompts and free-text replies",
                        choices=("numeric", "text")),
    "generator": Choice("iid_uniform", "experts / bandit: the loss sequence (spec 2.2)", choices=_GENS),
    "d": Int(3, "experts / bandit: number of actions (2 for alternating)", low=2, high=26),
    "horizon": Int(50, "rounds T ([P25]: 25 with bandit feedback, up to 50 with full information)", low=1),
    "checkpoints": Int(0, "rounds of the regret curve: 0 = every round (the trend test uses every t), n > 0 = n "
                       "log-spaced rounds", low=0),
    "eta": Float(None, "hedge / ftpl / exp3: learning rate (default: the theorem's, sqrt(8 ln d / T) or "
                 "sqrt(2 ln d / (T d)))", low=0.0, low_open=True),
    "concurrency": Int(8, "replicates played at once (threads; also the HTTP limit)", low=1, high=256),
    **GAME_PARAMS,
    **ONLINE_TEXT_PARAMS,
    **LLM_PARAMS,
}


def _check_online(p: dict) -> None:
    from regretlab_envs.games import game_matrices

    from .online import ONLINE_BASELINES

    where = "llm_bandits.online"
    setting, agent, text = p["setting"], p["agent"], p["interface"] == "text"
    if p["checkpoints"] == 1:  # log_checkpoints needs n >= 2 (1 and T)
        raise ParamError(where, "checkpoints", "0 (every round) or >= 2 log-spaced rounds", p["checkpoints"])
    if setting == "game":
        _refuse_unless(p, ONLINE_PARAMS, ("generator", "d"), where, "setting = game (the game sets the actions)")
        if p["game"] != "random":
            _refuse_unless(p, ONLINE_PARAMS, ("random_size", "game_seed"), where, "game = 'random' only")
        game_matrices(p["game"], p["random_size"], p["game_seed"])
    else:
        _refuse_unless(p, ONLINE_PARAMS, tuple(GAME_PARAMS), where, "setting = game only")
        _refuse_unless(p, ONLINE_PARAMS, ("names",), where, "setting = game only")
        if p["generator"] == "alternating" and p["d"] != 2:
            raise ParamError(where, "d", "2 for generator = 'alternating'", p["d"])
    if agent in ONLINE_BASELINES:
        if setting == "bandit" and agent not in ("exp3", "uniform"):
            raise ParamError(where, "agent", "exp3 or uniform with bandit feedback (the full-information rules need "
                             "every loss)", agent)
        if setting != "bandit" and agent == "exp3":
            raise ParamError(where, "agent", "a full-information rule (hedge, hedge_anytime, ftpl, ftl, uniform) "
                             f"for setting = {setting!r}", agent)
        if p["eta"] is not None and agent not in ("hedge", "ftpl", "exp3"):
            raise ParamError(where, "eta", "unset unless agent is hedge, ftpl or exp3", p["eta"])
    elif agent == "llm":
        if not text:
            raise ParamError(where, "interface", "'text' for agent = 'llm'", p["interface"])
        _check_llm(p, where)
    elif ":" in agent:
        load_factory(agent, where)
    else:
        raise ParamError(where, "agent", "one of " + ", ".join(ONLINE_BASELINES) + ", 'llm' or "
                         "'package.module:factory'", agent)
    if agent not in ONLINE_BASELINES and p["eta"] is not None:
        raise ParamError(where, "eta", "unset unless agent is hedge, ftpl or exp3", p["eta"])
    if agent != "llm":
        _refuse_unless(p, ONLINE_PARAMS, tuple(LLM_PARAMS), where, "agent = 'llm' only")
    if not text:
        _refuse_unless(p, ONLINE_PARAMS, tuple(ONLINE_TEXT_PARAMS), where, "interface = 'text' only")
    else:
        from regretlab_envs.text_online import BANDIT_HISTORIES, ONLINE_HISTORIES

        allowed = BANDIT_HISTORIES if setting == "bandit" else ONLINE_HISTORIES
        if p["history"] != "default" and p["history"] not in allowed:
            raise ParamError(where, "history", f"default or one of {', '.join(allowed)} for setting = {setting!r}",
                             p["history"])
        if setting == "game" and p["opponent"] == "self" and p["fallback"] == "abort_episode":
            raise ParamError(where, "fallback", "uniform or previous in self-play (abort_episode would end the game "
                             "for both seats)", p["fallback"])


@experiment(
    "llm_bandits.online",
    summary="one agent (Hedge/FTPL/FTL/EXP3, Python or LLM endpoint) in online learning or a repeated game: "
            "regret curves, [P25] sub-linearity tests, equilibrium gaps",
    params=ONLINE_PARAMS,
    small={"horizon": 20, "setting": "game", "opponent": "self"},  # every output finite (the game measures)
    outputs=ONLINE_OUTPUTS,
    curves={"regret": "t"},
    cite=("P25",),
    check=_check_online,
    inert={"concurrency": "execution only: replicates played at once; results do not depend on the thread count"},
)
def online(params: dict, seeds, backend: str) -> dict:
    """Step-wise NumPy play whatever ``backend`` says (the agents are step-wise; :mod:`.online`)."""
    from .online import evaluate_online

    return evaluate_online(params, seed=seeds.seed, cell=seeds.cell, replicates=seeds.replicates,
                           start=seeds.start, workdir=seeds.workdir, report=seeds.report)


def online_label(params: dict) -> str:
    """'hedge', 'llm:model [text: summary]' ... of an ``llm_bandits.online`` cell."""
    name = f"llm:{params['model']}" if params["agent"] == "llm" else params["agent"]
    if params.get("eta") is not None:
        name += f"(eta={params['eta']:g})"
    if params["interface"] == "text":
        name += f" [text: {params['history']}, {params['answer']}, cot={params['cot']}]"
    return name


def setting_label(params: dict) -> str:
    """'experts: iid_uniform, d=3', 'game: rock_paper_scissors vs self' ... of an ``llm_bandits.online`` cell."""
    if params["setting"] == "game":
        g = params["game"] if params["game"] != "random" else f"random {params['random_size']}x{params['random_size']}"
        return f"game: {g} vs {params['opponent']} ({params['feedback']})"
    return f"{params['setting']}: {params['generator']}, d={params['d']}"


def online_rows(res, cells=None, *, n_boot: int = 2000, level: float = 0.95, alpha: float = 0.05) -> list[dict]:
    """One row per finished ``llm_bandits.online`` cell: the regret at T with a t-interval, the average regret
    R(T)/T, the [P25]-style sub-linearity tests on the mean curve (:func:`regretlab.core.stats.sublinear_tests`:
    ``p_trend``, ``loglog_slope`` with its replicate-bootstrap interval, ``p_reg``, ``sublinear`` at ``alpha``),
    and for games the mean realised regret, the opponent's regret (self-play), CCE and Nash gaps; malformed and
    fallback rates. A cell whose mean regret is positive at fewer than 3 rounds t >= 2 gets no regression test
    (``note``)."""
    from scipy import stats as st

    from regretlab.core.stats import sublinear_tests

    cells = cells if cells is not None else [c for c in res.cells if res.ok(c["index"])]
    rows = []
    for c in cells:
        p, d = c["params"], res.cell(c["index"])
        ok = d["aborted"] == 0
        R = int(ok.sum())
        row = {"setting": setting_label(p), "agent": online_label(p), "T": int(d["t"][-1]), "R": R,
               "aborted": int((~ok).sum())}
        rows.append(row)
        if R == 0:
            continue
        reg = d["final_regret"][ok]
        se = reg.std(ddof=1) / math.sqrt(R) if R > 1 else 0.0
        q = float(st.t.ppf(0.5 + level / 2, R - 1)) if R > 1 else 0.0
        row.update({"regret": float(reg.mean()), "regret_lo": float(reg.mean() - q * se),
                    "regret_hi": float(reg.mean() + q * se), "avg_regret": float(reg.mean() / row["T"]),
                    "realized_regret": float(np.mean(d["realized_regret"][ok]))})
        for k in ("opponent_regret", "cce_gap", "nash_gap"):
            v = d[k][ok]
            if np.isfinite(v).any():
                row[k] = float(np.nanmean(v))
        t, Y = d["t"].astype(float), d["regret"][ok]
        if int(((t >= 2) & (Y.mean(axis=0) > 0)).sum()) >= 3:
            sl = sublinear_tests(t, Y, t0=2, level=level, n_boot=n_boot,
                                 rng=np.random.SeedSequence(20251, spawn_key=(c["index"],)) if R > 1 else None)
            row.update({"p_trend": sl.p_trend, "loglog_slope": sl.slope, "p_reg": sl.p_reg,
                        "sublinear": sl.is_sublinear(alpha)})
            if sl.bootstrap is not None:
                row.update({"loglog_slope_lo": sl.bootstrap.ci_low, "loglog_slope_hi": sl.bootstrap.ci_high})
        else:
            row["note"] = "mean regret <= 0 at almost every round: no regression test"
        row.update({"malformed_rate": float(d["malformed_rate"].mean()),
                    "fallback_rate": float(d["fallback_rate"].mean()), "calls": float(d["calls"].mean())})
    return rows


ONLINE_COLUMNS = ("setting", "agent", "T", "R", "regret", "avg_regret", "p_trend", "loglog_slope", "p_reg",
                  "sublinear", "cce_gap", "nash_gap", "malformed_rate")


@plotter("llm_bandits.online_table")
def plot_online_table(res, spec: dict, stem):
    """:func:`online_rows` as CSV and Markdown, and a figure of the mean regret curves with 95% t-bands, one
    panel per setting, with each cell's log-log slope and trend p-value in the legend."""
    from regretlab.core.plotting import plot_curves, save_figure

    cells = _selected(res, spec)
    rows = online_rows(res, cells, n_boot=int(spec.get("n_boot", 2000)))
    _write_rows(rows, stem, ONLINE_COLUMNS)
    panels = list(dict.fromkeys(r["setting"] for r in rows))
    fig, axes = _panels(len(panels), 5.2, 4.3)
    for ax, panel in zip(axes, panels):
        curves, x = {}, None
        for c, r in zip(cells, rows):
            if r["setting"] != panel or "regret" not in r:
                continue
            d = res.cell(c["index"])
            x = d["t"]
            extra = f" (slope {r['loglog_slope']:.2f}, p_trend {r['p_trend']:.2g})" if "p_trend" in r else ""
            curves[r["agent"] + extra] = d["regret"][d["aborted"] == 0]
        if curves:
            plot_curves(ax, x, curves, xlabel="round t", ylabel="external regret (mean, 95% band)", title=panel,
                        logx=bool(spec.get("logx", False)))
            ax.legend(fontsize=6)
    return list(save_figure(fig, stem))
