"""Online learning and repeated games for any agent: the [P25] protocol (specs/llm-bandit-envs.md §2.2-§2.4, §6.6-§6.7).

:func:`evaluate_online` plays one agent in one setting for R replicates and returns per-replicate regret curves
and the game measures; the registered experiment ``llm_bandits.online`` (:mod:`.experiments`) is a thin layer
over it, and its plot kind ``llm_bandits.online_table`` runs the sub-linearity tests of
:func:`regretlab.core.stats.sublinear_tests` on the curves ([P25]'s question: does the agent have regret?).

Settings (``setting``)
----------------------
* ``experts``: :class:`regretlab_envs.online.ExpertsEnv` (full information; ``generator``, ``d``);
* ``bandit``: :class:`regretlab_envs.online.AdversarialBanditEnv` (the same sequences, bandit feedback);
* ``game``: :class:`regretlab_envs.games.RepeatedGameEnv` (the learner is the row player against ``opponent``:
  hedge, fictitious_play or fixed) or, with ``opponent = "self"``, two copies of the agent against each other
  (:func:`regretlab_envs.games.play_repeated_game`, or :func:`regretlab_envs.text_online.play_text_game` through
  the text view: LLM-vs-LLM self-play).

Agents (``agent``)
------------------
* baselines (:class:`OnlineBaseline`, the rules of :mod:`.full_info`): ``hedge``, ``hedge_anytime``, ``ftpl``,
  ``ftl``, ``uniform`` (full information: experts and games; in games the loss is 1 - payoff) and ``exp3``
  (bandit feedback, on the environment's importance-weighted estimates). ``eta`` overrides the theorem's rate.
  With ``interface = "text"`` they answer the prompts through
  :class:`regretlab_envs.runner.OnlineNumericAsText` (their distribution with 6 decimals): the end-to-end check
  of the text views;
* ``llm``: an OpenAI-compatible endpoint, built and cached exactly as in :mod:`.harness` (built before any
  replicate, so an unset ``api_key_env`` variable fails the cell with nothing recorded);
* ``"package.module:factory"``: a numeric online agent (``reset(d, T, rng)``, ``act(obs) -> distribution``,
  ``update(info)``) for ``interface = "numeric"`` or a text agent for ``"text"``.

Every agent is played step-wise through the environments (one code path for baselines, Python agents and LLMs;
a replicate of T = 100 rounds takes about 3 ms), replicate by replicate in a thread pool, resumable through
the cell's work folder as in :mod:`.harness`. Replicate r of cell c uses ``SeedSequence(seed, spawn_key=(c, r))``
split into (environment, agent) streams; self-play splits it into (play, row agent, column agent).

Outputs (:data:`ONLINE_OUTPUTS`): the external regret curve at the checkpoints (every round by default), its
final value, the realised-play regret, and for games the opponent's regret (self-play), the CCE gap of the
realised joint play and the Nash gap of the time-averaged strategies (spec §6.7), plus the operational
metrics of spec §6.8.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from regretlab.core.ftrl import hedge_rows_xp
from regretlab.core.validate import ParamError

from .full_info import FULL_INFO_POLICIES, exp3_eta

__all__ = ["ONLINE_BASELINES", "ONLINE_OUTPUTS", "SETTINGS", "OnlineBaseline", "evaluate_online"]

ONLINE_BASELINES = (*FULL_INFO_POLICIES, "exp3")
SETTINGS = ("experts", "bandit", "game")

ONLINE_OUTPUTS = {
    "t": "(C,) checkpoint rounds of the regret curve",
    "regret": "(R, C) the learner's external regret at the checkpoints, expected play: sum_s <l_s, pi_s> - "
              "min_i sum_s l_s(i) (games: with losses 1 - payoff)",
    "final_regret": "(R,) regret at T",
    "realized_regret": "(R,) regret of the realised actions at T (bandit feedback and games; = final_regret for "
                       "experts, where nothing is sampled)",
    "opponent_regret": "(R,) games with opponent = self: the column player's external regret at T (else NaN)",
    "cce_gap": "(R,) games: CCE gap of the realised joint play (the larger time-averaged external regret)",
    "nash_gap": "(R,) games: exploitability of the two time-averaged mixed strategies",
    "malformed_rate": "(R,) share of rounds whose first reply did not parse (text; both seats in self-play)",
    "fallback_rate": "(R,) share of rounds played by the fallback rule",
    "reprompts": "(R,) re-prompts per round",
    "aborted": "(R,) 1 if the episode was aborted (fallback = abort_episode), else 0",
    "rounds": "(R,) rounds played",
    "calls": "(R,) agent calls (HTTP requests for llm, cached ones included; both seats in self-play)",
    "cached_calls": "(R,) calls answered from the response cache",
    "prompt_tokens": "(R,) prompt tokens reported by the server",
    "completion_tokens": "(R,) completion tokens reported by the server",
}


class OnlineBaseline:
    """A step-wise online learner with the rules of :mod:`regretlab.llm_bandits.full_info` (module docstring).

    ``policy`` in :data:`ONLINE_BASELINES`; ``eta`` > 0 overrides the default rate (hedge, ftpl:
    sqrt(8 ln d / T); exp3: sqrt(2 ln d / (T d))). ``update`` takes an environment's step ``info`` and adds
    ``loss`` (experts), 1 - ``payoff_vector`` (games) or ``iw_estimate`` (bandit feedback) to the cumulative
    losses; hedge_anytime uses eta_t = sqrt(8 ln d / t). Played on the same losses, hedge, hedge_anytime,
    ftl and uniform give the distributions of :func:`regretlab.llm_bandits.full_info.run_full_info`, exp3 those of
    :func:`~regretlab.llm_bandits.full_info.run_exp3` (tested).
    """

    def __init__(self, policy: str, eta: float | None = None):
        if policy not in ONLINE_BASELINES:
            raise ParamError("OnlineBaseline", "policy", "one of " + ", ".join(ONLINE_BASELINES), policy)
        if eta is not None and not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
            raise ParamError("OnlineBaseline", "eta", "a finite number > 0 (or None: the theorem's rate)", eta)
        self.policy, self.eta, self.name = policy, eta, policy

    def reset(self, d: int, horizon: int, rng) -> None:
        self.d, self.T, self.rng = int(d), int(horizon), rng
        self.cum = np.zeros((1, self.d))
        self.t = 0
        default = exp3_eta(self.T, self.d) if self.policy == "exp3" else math.sqrt(8.0 * math.log(self.d) / self.T)
        self._eta = float(self.eta) if self.eta is not None else default

    def act(self, obs=None) -> np.ndarray:
        pol, d = self.policy, self.d
        if pol in ("hedge", "exp3"):
            return hedge_rows_xp(self.cum, self._eta, np)[0]
        if pol == "hedge_anytime":
            return hedge_rows_xp(self.cum, math.sqrt(8.0 * math.log(d) / (self.t + 1)), np)[0]
        if pol == "ftpl":
            p = np.zeros(d)
            p[int(np.argmin(self.cum[0] - self.rng.gumbel(0.0, 1.0 / self._eta, size=d)))] = 1.0
            return p
        if pol == "ftl":
            lead = self.cum[0] == self.cum[0].min()
            return lead / lead.sum()
        return np.full(d, 1.0 / d)

    def update(self, info: dict) -> None:
        if "iw_estimate" in info:
            step = np.asarray(info["iw_estimate"], dtype=float)
        elif "loss" in info:
            step = np.asarray(info["loss"], dtype=float)
        else:
            step = 1.0 - np.asarray(info["payoff_vector"], dtype=float)
        self.cum = self.cum + step[None, :]
        self.t += 1


class _NumericSeat:
    """A numeric online agent as a player of ``play_repeated_game``."""

    def __init__(self, agent, d: int, T: int, rng):
        self.agent = agent
        agent.reset(d, T, rng)

    def __call__(self, state):
        return self.agent.act(state)

    def update(self, outcome):
        self.agent.update({"payoff_vector": outcome["payoff_vector"], "pi": outcome["pi"]})


def _regret_curve(pi: np.ndarray, v: np.ndarray) -> np.ndarray:
    """External regret of each prefix for payoff vectors v (T, n) and played distributions pi (T, n)."""
    return np.cumsum(v, axis=0).max(axis=1) - np.cumsum(np.sum(pi * v, axis=1))


def _self_play_record(out: dict, feedback: str) -> dict:
    """The online-episode record of the row player, plus the column player's regret and the game measures."""
    from .metrics import cce_gap, nash_gap

    U1, U2 = out["U1"], out["U2"]
    i, j = out["row_actions"], out["col_actions"]
    P, Q = out["row_pi"], out["col_pi"]
    if feedback == "realized":
        v_row, v_col = U1[:, j].T, U2[i, :]
    else:
        v_row, v_col = Q @ U1.T, P @ U2
    reg = _regret_curve(P, v_row)
    T = len(i)
    rec = {"regret": reg.tolist(), "rounds": T, "aborted": False,
           "realized_regret": float(np.cumsum(v_row, axis=0)[-1].max() - v_row[np.arange(T), i].sum()),
           "opponent_regret": float(_regret_curve(Q, v_col)[-1]),
           "cce_gap": cce_gap(U1, U2, i, j), "nash_gap": nash_gap(U1, U2, P.mean(axis=0), Q.mean(axis=0))}
    if "seats" in out:
        seats = out["seats"]
        rec["malformed_rate"] = float(np.mean([s["malformed_rate"] for s in seats]))
        rec["fallback_rate"] = float(np.mean([s["fallback_rate"] for s in seats]))
        rec["reprompts"] = [a + b for a, b in zip(seats[0]["reprompts"], seats[1]["reprompts"])]
        rec["replies"] = [seats[0]["replies"], seats[1]["replies"]]
    return rec


def _episode_measures(ep: dict, base) -> dict:
    """realized_regret / cce_gap / nash_gap of a single-learner episode record (NaN where they do not apply)."""
    from .metrics import cce_gap, nash_gap

    out = {"realized_regret": math.nan, "opponent_regret": math.nan, "cce_gap": math.nan, "nash_gap": math.nan}
    if not ep["regret"]:
        return out
    if "realized_regret" in ep:  # bandit feedback
        out["realized_regret"] = float(ep["realized_regret"][-1])
    elif "payoff_vector" in ep:  # a game against an opponent rule
        v = np.asarray(ep["payoff_vector"])
        a = np.asarray(ep["actions"], dtype=np.int64)
        out["realized_regret"] = float(v.sum(axis=0).max() - v[np.arange(len(a)), a[:, 0]].sum())
        if not ep.get("aborted"):
            out["cce_gap"] = cce_gap(base.U1, base.U2, a[:, 0], a[:, 1])
            out["nash_gap"] = nash_gap(base.U1, base.U2, np.mean(ep["pi"], axis=0), np.mean(ep["q"], axis=0))
    else:
        out["realized_regret"] = float(ep["regret"][-1])
    return out


def checkpoints_for(T: int, n: int) -> np.ndarray:
    """Every round 1..T when n = 0, else n log-spaced rounds with T (:func:`regretlab.core.stats.log_checkpoints`)."""
    from regretlab.core.stats import log_checkpoints

    return np.arange(1, T + 1, dtype=np.int64) if n == 0 else np.asarray(log_checkpoints(T, n), dtype=np.int64)


def _collect(episodes: list[dict], ck: np.ndarray) -> dict:
    R = len(episodes)
    nan = np.full(R, np.nan)
    out = {"t": ck, "regret": np.full((R, ck.size), np.nan), "final_regret": nan.copy(),
           **{k: nan.copy() for k in ("realized_regret", "opponent_regret", "cce_gap", "nash_gap")},
           "malformed_rate": np.zeros(R), "fallback_rate": np.zeros(R), "reprompts": np.zeros(R),
           "aborted": np.zeros(R, dtype=np.int64), "rounds": np.zeros(R, dtype=np.int64),
           **{k: np.zeros(R, dtype=np.int64) for k in ("calls", "cached_calls", "prompt_tokens",
                                                        "completion_tokens")}}
    for r, e in enumerate(episodes):
        out["rounds"][r] = e["rounds"]
        out["aborted"][r] = int(bool(e["aborted"]))
        if not e["aborted"]:
            reg = np.asarray(e["regret"], dtype=float)
            out["regret"][r] = reg[ck - 1]
            out["final_regret"][r] = reg[-1]
            for k in ("realized_regret", "opponent_regret", "cce_gap", "nash_gap"):
                out[k][r] = e["measures"][k]
        for k in ("malformed_rate", "fallback_rate"):
            out[k][r] = e.get(k, 0.0)
        out["reprompts"][r] = float(np.mean(e["reprompts"])) if e.get("reprompts") else 0.0
        for k in ("calls", "cached_calls", "prompt_tokens", "completion_tokens"):
            out[k][r] = int(e.get("usage", {}).get(k, 0))
    return out


def evaluate_online(params: dict, *, seed: int, cell: int, replicates: int, start: int = 0,
                    workdir: str | Path | None = None, llm_agent=None, report=None) -> dict:
    """Play the agent of ``params`` (the resolved parameters of ``llm_bandits.online``) for replicates
    ``start .. start + replicates - 1`` (module docstring); ``llm_agent`` replaces the HTTP agent (tests)."""
    from regretlab_envs.games import RepeatedGameEnv, play_repeated_game
    from regretlab_envs.online import AdversarialBanditEnv, ExpertsEnv
    from regretlab_envs.runner import OnlineNumericAsText, replicate_seed, run_online_episode, run_replicates
    from regretlab_envs.text_online import TextOnlineWrapper, play_text_game

    from .harness import _build_llm, _CountingText, _PerReplicateLLM, load_factory

    p = params
    T = int(p["horizon"])
    ck = checkpoints_for(T, p["checkpoints"])
    text = p["interface"] == "text"
    setting = p["setting"]
    self_play = setting == "game" and p["opponent"] == "self"
    work = Path(workdir) if workdir is not None else None
    kind = "llm" if p["agent"] == "llm" else ("factory" if ":" in p["agent"] else "baseline")
    # built (and its key checked) before any replicate: a missing key fails the cell with nothing recorded
    shared_llm = (llm_agent if llm_agent is not None else _build_llm(p, work, "llm_bandits.online")) \
        if kind == "llm" else None
    factory = load_factory(p["agent"], "llm_bandits.online") if kind == "factory" else None
    game_kw = {"feedback": p["feedback"], "random_size": p["random_size"], "game_seed": p["game_seed"]}
    text_kw = {"history": None if p["history"] == "default" else p["history"], "answer": p["answer"],
               "cot": p["cot"], "disclose_horizon": p["disclose_horizon"], "window": p["window"],
               "decimals": p["decimals"], "fallback": p["fallback"]}
    if setting == "game":
        text_kw["names"] = p["names"]

    def new_base():
        if setting == "experts":
            return ExpertsEnv(p["generator"], p["d"], T)
        if setting == "bandit":
            return AdversarialBanditEnv(p["generator"], p["d"], T)
        return RepeatedGameEnv(p["game"], T, opponent=p["opponent"], **game_kw)

    def new_agent():
        if kind == "baseline":
            a = OnlineBaseline(p["agent"], p["eta"])
            return _CountingText(OnlineNumericAsText(a)) if text else a
        if kind == "llm":
            return _PerReplicateLLM(shared_llm, p["send_seed"])
        obj = factory()
        numeric = all(callable(getattr(obj, m, None)) for m in ("reset", "act", "update"))
        if numeric == text:
            want = "a text agent (a callable messages -> str)" if text else \
                "a numeric online agent (reset(d, T, rng), act(obs), update(info))"
            raise ParamError("llm_bandits.online", "agent", f"{want} for interface = {p['interface']!r}",
                             f"{p['agent']} returned {type(obj).__name__}")
        return _CountingText(obj) if text else obj

    def usage(agents) -> dict:
        tot: dict[str, int] = {}
        for a in agents:
            for k, v in (a.usage() if hasattr(a, "usage") else {}).items():
                tot[k] = tot.get(k, 0) + int(v)
        return tot

    def play(r: int) -> dict:
        ss = replicate_seed(seed, cell, r)
        if self_play:
            play_ss, *agent_ss = ss.spawn(3)
            play_seed = int(play_ss.generate_state(1, dtype=np.uint32)[0])
            agents = [new_agent(), new_agent()]
            if text:
                out = play_text_game(agents, p["game"], T, play_seed, max_reprompts=p["max_reprompts"], **game_kw,
                                     **text_kw)
            else:
                n = RepeatedGameEnv(p["game"], T, **game_kw).U1.shape
                seats = [_NumericSeat(agents[k], n[k], T, np.random.default_rng(agent_ss[k])) for k in (0, 1)]
                out = play_repeated_game(seats, p["game"], T, play_seed, **game_kw)
            ep = _self_play_record(out, p["feedback"])
            ep["measures"] = {k: ep[k] for k in ("realized_regret", "opponent_regret", "cce_gap", "nash_gap")}
            ep["usage"] = usage(agents)
            return ep
        base = new_base()
        env = TextOnlineWrapper(base, **text_kw) if text else base
        agent = new_agent()
        ep = run_online_episode(env, agent, ss, max_reprompts=p["max_reprompts"])
        ep["measures"] = _episode_measures(ep, base)
        ep["usage"] = usage([agent])
        for k in ("loss", "payoff_vector", "q", "iw_estimate"):  # keep the replicate files small
            ep.pop(k, None)
        return ep

    episodes = run_replicates(play, replicates, workers=p["concurrency"], start=start,
                              out_dir=None if work is None else work / "replicates", progress=report)
    return _collect(episodes, ck)
