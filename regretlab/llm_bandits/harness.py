"""The exploration benchmark: any agent on the bandit instances of the spec, R replicates (spec §5, §8).

:func:`evaluate` plays one agent on one instance and returns the outputs of the bandit simulator
(:data:`regretlab.bandits.OUTPUTS`: regret at log-spaced checkpoints, pulls, exploration statistics) plus the
operational metrics of spec §6.8, so that every agent -- a vectorised baseline, a Python agent, an LLM behind an
HTTP endpoint -- goes through the same summaries, metric table and plots. The registered experiment
``llm_bandits.explore`` (:mod:`.experiments`) is a thin layer over it.

Agents (``agent``)
------------------
* a policy of :mod:`regretlab.bandits.policies` (``ucb1``, ``ucb_k24``, ``ucb_c``, ``kl_ucb``, ``ts_beta``,
  ``ts_gauss``, ``greedy``, ``eps_greedy``, ``uniform``, ...) or ``ts`` (``ts_beta`` on Bernoulli instances,
  ``ts_gauss`` on Gaussian ones). With ``interface="numeric"`` it runs in the vectorised simulator (Numba,
  NumPy, CuPy or the plain-Python reference, bit-identical); with ``interface="text"`` it answers the text
  prompts through :class:`regretlab_envs.runner.NumericAsText` (:class:`.agents.BaselineAgent`, untried arms in
  a random order), the end-to-end check of the text pipeline (0 % malformed replies).
  On Gaussian instances with ``sigma_scaled`` (default) the sigma-free defaults are scaled to the reward noise:
  ``ucb1``'s c defaults to sigma, ``ts_gauss`` assumes noise sigma and prior variance sigma^2 (instead of 1).
* ``llm``: :class:`regretlab_envs.openai_agent.OpenAIChatAgent` at ``base_url`` (or the ``server`` preset:
  vllm, llama_cpp, ollama) with ``model``; the key, if any, is read from the environment variable named by
  ``api_key_env`` at each call and is never written anywhere. Each replicate uses a fork of one agent (shared
  response cache and concurrency limit) whose request ``seed`` is drawn from the replicate's agent stream (off
  with ``send_seed=False``).
* ``"package.module:factory"``: ``factory()`` is called once per replicate and returns either a numeric agent
  (``reset(n_arms, horizon, rng)``, ``act(obs)``, ``update(action, reward, info)``; played with
  ``interface="numeric"``) or a text agent (a callable ``messages -> str``; ``interface="text"``). It must be
  importable in worker processes (not defined in a notebook cell).

Step-wise agents (text, and Python agents) run replicate by replicate in a thread pool of ``concurrency``
threads (:func:`regretlab_envs.runner.run_replicates`; results do not depend on the thread count). With a
``workdir`` (the sweep's per-cell scratch directory) each finished replicate is kept as
``replicates/replicate_<r>.json`` and the LLM's replies in ``responses.jsonl`` (keyed by the full request), so a
killed sweep resumes inside the cell without re-querying an answered step.

Randomness: replicate r of cell c with root seed s uses ``SeedSequence(s, spawn_key=(c, r))``, as every
regretlab experiment: the generator state of the vectorised simulator, or the (environment, agent) streams of
the step-wise runner. The instance (the best arm's position on gap presets, the Gaussian means) comes from
``instance_seed`` alone, so every agent of a sweep faces the same instance.

Malformed answers (spec §4) are re-prompted up to ``max_reprompts`` times and then handled by the environment's
``fallback`` rule (uniform arm by default). With ``fallback="abort_episode"`` a replicate can end early: it is
kept (``aborted`` = 1, ``rounds`` = the rounds played) and its regret, reward and greedy statistics are NaN, so a
cell mean over it is NaN rather than silently computed over fewer rounds; the metric table reports the valid
replicates and their number.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from regretlab.bandits.policies import POLICIES
from regretlab.core.validate import ParamError

from .metrics import bandit_outputs

__all__ = ["EXTRA_OUTPUTS", "SERVERS", "AgentSpec", "calls_estimate", "evaluate", "load_factory", "resolve_agent"]

#: The outputs the harness adds to :data:`regretlab.bandits.OUTPUTS` (zero for the vectorised baselines).
EXTRA_OUTPUTS = {
    "expected_regret": "(R,) pseudo-regret at T with a distribution answer counted in expectation: "
                       "sum_t (mu* - <pi_t, mu>) (= final_regret for single-arm answers)",
    "malformed_rate": "(R,) share of rounds whose first reply did not parse (status not ok*)",
    "fallback_rate": "(R,) share of rounds whose arm came from the fallback rule",
    "reprompts": "(R,) re-prompts per round",
    "aborted": "(R,) 1 if the episode was aborted (fallback = abort_episode), else 0",
    "rounds": "(R,) rounds played (T unless aborted)",
    "calls": "(R,) agent calls (HTTP requests for llm, cached ones included)",
    "cached_calls": "(R,) calls answered from the response cache",
    "prompt_tokens": "(R,) prompt tokens reported by the server (cached calls included)",
    "completion_tokens": "(R,) completion tokens reported by the server",
}

SERVERS = ("none", "vllm", "llama_cpp", "ollama")


@dataclass(frozen=True)
class AgentSpec:
    """What ``agent`` names: ``kind`` in {"baseline", "llm", "factory"}, the policy or factory path."""

    kind: str
    policy: str | None = None
    factory: str | None = None


def _family_policy(name: str, family: str) -> str:
    if name == "ts":
        return "ts_beta" if family == "bernoulli" else "ts_gauss"
    return name


def resolve_agent(name: str, family: str, where: str = "llm_bandits") -> AgentSpec:
    """Check ``agent`` (a policy name, ``ts``, ``llm`` or ``module:factory``) for a reward family."""
    if name == "llm":
        return AgentSpec("llm")
    if ":" in name:
        mod, _, attr = name.partition(":")
        if not mod or not attr:
            raise ParamError(where, "agent", "'package.module:factory' for a Python agent", name)
        return AgentSpec("factory", factory=name)
    pol = _family_policy(name, family)
    if pol not in POLICIES:
        raise ParamError(where, "agent", "a bandit policy (" + ", ".join(POLICIES) + "), 'ts', 'llm' or "
                         "'package.module:factory'", name)
    if family not in POLICIES[pol].families:
        raise ParamError(where, "agent", f"a policy for {family} rewards ({pol} supports "
                         f"{', '.join(POLICIES[pol].families)} only)", name)
    return AgentSpec("baseline", policy=pol)


def load_factory(path: str, where: str = "llm_bandits"):
    """Import ``package.module:factory``; errors name the parameter."""
    mod, _, attr = path.partition(":")
    try:
        obj = importlib.import_module(mod)
    except ImportError as e:
        raise ParamError(where, "agent", f"an importable 'module:factory' ({e})", path) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ParamError(where, "agent", f"a callable factory: {mod} has no attribute {attr!r}", path)
        obj = getattr(obj, part)
    if not callable(obj):
        raise ParamError(where, "agent", "a callable factory returning an agent", path)
    return obj


def _is_numeric_agent(obj) -> bool:
    return all(callable(getattr(obj, m, None)) for m in ("reset", "act", "update"))


def _scaled_params(policy: str, family: str, sigma: float, params: dict, sigma_scaled: bool) -> dict:
    """The keyword arguments of ``policy``: every parameter it declares (``POLICIES[policy].params``) that the
    cell sets, then on Gaussian instances with ``sigma_scaled`` the sigma-scaled defaults of the module docstring
    (ucb1's c, ts_gauss's noise and prior variance) where the cell leaves them unset."""
    kw = {k: params[k] for k in POLICIES[policy].params if params.get(k) is not None}
    if family == "gaussian" and sigma_scaled:
        if policy == "ucb1":
            kw.setdefault("c", sigma)
        elif policy == "ts_gauss":
            kw.setdefault("noise", sigma)
            kw.setdefault("prior_var", sigma**2)
    return kw


def _empty_extra(R: int, T: int, final_regret) -> dict:
    z = np.zeros(R)
    return {"expected_regret": np.asarray(final_regret, dtype=float).copy(), "malformed_rate": z.copy(),
            "fallback_rate": z.copy(), "reprompts": z.copy(), "aborted": np.zeros(R, dtype=np.int64),
            "rounds": np.full(R, T, dtype=np.int64), "calls": np.zeros(R, dtype=np.int64),
            "cached_calls": np.zeros(R, dtype=np.int64), "prompt_tokens": np.zeros(R, dtype=np.int64),
            "completion_tokens": np.zeros(R, dtype=np.int64)}


def _collect(episodes: list[dict], means: np.ndarray, T: int, checkpoints) -> dict:
    """Stack step-wise episodes into the simulator's outputs plus :data:`EXTRA_OUTPUTS`."""
    R, K = len(episodes), means.size
    full = [e for e in episodes if not e.get("aborted")]
    out = {"t": np.asarray(checkpoints, dtype=np.int64),
           "regret": np.full((R, len(checkpoints)), np.nan), "final_regret": np.full(R, np.nan),
           "counts": np.zeros((R, K), dtype=np.int64), "reward_mean": np.full(R, np.nan),
           "greedy_frac": np.full(R, np.nan), "last_best": np.zeros(R, dtype=np.int64),
           "best_frac": np.full(R, np.nan)}
    ok = np.array([not e.get("aborted") for e in episodes])
    if full:
        a = np.array([e["actions"] for e in full], dtype=np.int64)
        y = np.array([e["rewards"] for e in full], dtype=float)
        done = bandit_outputs(a, y, means, checkpoints)
        for k in ("regret", "final_regret", "reward_mean", "greedy_frac", "last_best", "best_frac", "counts"):
            out[k][ok] = done[k]
    best = means == means.max()
    for r, e in enumerate(episodes):
        if e.get("aborted") and e["actions"]:
            a = np.asarray(e["actions"], dtype=np.int64)
            out["counts"][r] = np.bincount(a, minlength=K)
            hit = np.flatnonzero(best[a])
            out["last_best"][r] = hit[-1] + 1 if hit.size else 0
    extra = _empty_extra(R, T, out["final_regret"])
    for r, e in enumerate(episodes):
        n = len(e["actions"])
        extra["rounds"][r] = n
        extra["aborted"][r] = int(bool(e.get("aborted")))
        if "expected_inst_regret" in e:
            extra["expected_regret"][r] = float(np.sum(e["expected_inst_regret"])) if ok[r] else np.nan
            extra["malformed_rate"][r] = e["malformed_rate"]
            extra["fallback_rate"][r] = e["fallback_rate"]
            extra["reprompts"][r] = float(np.mean(e["reprompts"])) if n else 0.0
        use = e.get("usage", {})
        for k in ("calls", "cached_calls", "prompt_tokens", "completion_tokens"):
            extra[k][r] = int(use.get(k, 0))
    out.update(extra)
    return out


class _PerReplicateLLM:
    """One replicate's view of the shared HTTP agent: a fork seeded from the replicate's agent stream."""

    def __init__(self, agent, send_seed: bool):
        self._base = agent
        self._send_seed = send_seed
        self.agent = None
        self.name = agent.name

    def begin(self, env, rng) -> None:
        seed = int(rng.integers(0, 2**31 - 1)) if self._send_seed else None
        self.agent = self._base.fork(seed=seed)

    def __call__(self, messages) -> str:
        return self.agent(messages)

    def usage(self) -> dict:
        u = self.agent.usage if self.agent is not None else {}
        return {"calls": u.get("calls", 0), "cached_calls": u.get("cached", 0),
                "prompt_tokens": u.get("prompt_tokens", 0), "completion_tokens": u.get("completion_tokens", 0)}


class _CountingText:
    """Counts the calls of a text agent that reports no usage of its own (reprompts included)."""

    def __init__(self, agent):
        self.agent = agent
        self.name = getattr(agent, "name", type(agent).__name__)
        self.n = 0
        for m in ("reset", "begin", "feedback"):
            if hasattr(agent, m):
                setattr(self, m, getattr(agent, m))

    def __call__(self, messages) -> str:
        self.n += 1
        return self.agent(messages)

    def usage(self) -> dict:
        return {"calls": self.n}


def evaluate(params: dict, *, seed: int, cell: int, replicates: int, start: int = 0, states=None,
             backend: str = "numpy", workdir: str | Path | None = None, checkpoints=None, llm_agent=None,
             report=None) -> dict:
    """Play the agent of ``params`` (the resolved parameters of ``llm_bandits.explore``) for replicates
    ``start .. start + replicates - 1``; see the module docstring. ``states`` (R, 4) uint64 feed the
    vectorised baselines; ``llm_agent`` replaces the HTTP agent built from ``params`` (tests)."""
    from regretlab.core.stats import log_checkpoints
    from regretlab_envs.presets import PRESETS, make_preset

    p = params
    preset = PRESETS[p["instance"]]
    T = p["horizon"] or preset.horizon
    ck = np.asarray(checkpoints if checkpoints is not None else log_checkpoints(T, p["checkpoints"]), dtype=np.int64)
    sigma = float(preset.sigma or 1.0)
    means = np.asarray(preset.means(p["instance_seed"]), dtype=float)
    spec = resolve_agent(p["agent"], preset.family)
    # the policy's own declared parameters (POLICIES[policy].params), so that every one of them reaches it
    pparams = {k: p.get(k) for k in POLICIES[spec.policy].params} if spec.kind == "baseline" else {}

    if spec.kind == "baseline" and p["interface"] == "numeric":
        from regretlab.bandits import simulate

        kw = _scaled_params(spec.policy, preset.family, sigma, pparams, p["sigma_scaled"])
        out = simulate(means, spec.policy, T, family=preset.family, sigma=sigma, states=states, checkpoints=ck,
                       backend=backend, **kw)
        out.update(_empty_extra(len(out["final_regret"]), T, out["final_regret"]))
        out["means"] = means
        return out

    from regretlab_envs.runner import (
        NumericAsText,
        replicate_seed,
        run_numeric_episode,
        run_replicates,
        run_text_episode,
    )
    from regretlab_envs.text import TextBanditWrapper

    work = Path(workdir) if workdir is not None else None
    shared_llm = None
    if spec.kind == "llm":
        shared_llm = llm_agent if llm_agent is not None else _build_llm(p, work)
    factory = load_factory(spec.factory) if spec.kind == "factory" else None

    def new_env():
        base = make_preset(p["instance"], p["instance_seed"], horizon=T)
        if p["interface"] == "numeric":
            return base
        return TextBanditWrapper(base, scenario=p["scenario"], framing=p["framing"], history=p["history"],
                                 answer=p["answer"], cot=p["cot"], disclose_horizon=p["disclose_horizon"],
                                 window=p["window"], fallback=p["fallback"])

    def new_agent():
        if spec.kind == "baseline":
            from .agents import BaselineAgent

            kw = _scaled_params(spec.policy, preset.family, sigma, pparams, p["sigma_scaled"])
            return _CountingText(NumericAsText(BaselineAgent(spec.policy, preset.family, sigma, init_order="random",
                                                             **kw)))
        if spec.kind == "llm":
            return _PerReplicateLLM(shared_llm, p["send_seed"])
        obj = factory()
        numeric = _is_numeric_agent(obj)
        if numeric != (p["interface"] == "numeric"):
            want = "a numeric agent (reset, act, update)" if p["interface"] == "numeric" else \
                "a text agent (a callable messages -> str)"
            raise ParamError("llm_bandits.explore", "agent", f"{want} for interface = {p['interface']!r}",
                             f"{p['agent']} returned {type(obj).__name__}")
        return obj if numeric else _CountingText(obj)

    def play(r: int) -> dict:
        ss = replicate_seed(seed, cell, r)
        env, agent = new_env(), new_agent()
        if p["interface"] == "numeric":
            ep = run_numeric_episode(env, agent, ss)
        else:
            ep = run_text_episode(env, agent, ss, max_reprompts=p["max_reprompts"])
            if hasattr(agent, "usage"):
                ep["usage"] = agent.usage()
            ep["config_code"] = env.config_code(p["temperature"] if spec.kind == "llm" else None)
        return ep

    episodes = run_replicates(play, replicates, workers=p["concurrency"], start=start,
                              out_dir=None if work is None else work / "replicates", progress=report)
    out = _collect(episodes, means, T, ck)
    out["means"] = means
    return out


def _build_llm(p: dict, work: Path | None, where: str = "llm_bandits.explore"):
    """The cell's HTTP agent, built before any replicate is played: a configuration the agent refuses (an
    ``api_key_env`` whose variable is unset or empty, a non-HTTP URL) raises
    :class:`regretlab_envs.openai_agent.AgentConfigError` here, so the cell fails naming the variable (never its
    value) with nothing written to its work folder, and a resume once it is fixed plays every replicate."""
    from regretlab_envs.openai_agent import AgentConfigError, OpenAIChatAgent

    if not p["model"]:
        raise ParamError(where, "model", "the model name served at the endpoint (agent = 'llm')", p["model"])
    if p["server"] == "none" and not p["base_url"]:
        raise ParamError(where, "base_url", "the endpoint's URL, e.g. http://localhost:8000/v1 (or set server)",
                         p["base_url"])
    kw = {"api_key_env": p["api_key_env"] or None, "temperature": p["temperature"], "max_tokens": p["max_tokens"],
          "timeout_s": p["timeout_s"], "max_retries": p["max_retries"], "max_concurrency": p["concurrency"],
          "cache": None if work is None else work / "responses.jsonl"}
    try:
        if p["server"] != "none":  # the server's documented default URL unless base_url is given
            return OpenAIChatAgent.preset(p["server"], p["model"], base_url=p["base_url"] or None, **kw)
        return OpenAIChatAgent(p["base_url"], p["model"], **kw)
    except AgentConfigError as exc:
        raise AgentConfigError(f"{where}: {exc}") from None


def calls_estimate(params: dict, replicates: int) -> int:
    """Spec §6.8: R T (1 + max_reprompts) calls at most for an LLM cell (R T without malformed replies)."""
    from regretlab_envs.presets import PRESETS

    T = params["horizon"] or PRESETS[params["instance"]].horizon
    return int(replicates * T * (1 + params["max_reprompts"]))
