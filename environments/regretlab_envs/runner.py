"""Playing agents against the bandit environments, replicate by replicate (layer 3 of specs/llm-bandit-envs.md).

Agent protocols (§5):

* numeric agents: ``reset(n_arms, horizon, rng)``, ``act(obs) -> int``, ``update(action, reward, info)``;
* text agents: a callable ``agent(messages) -> str`` (OpenAI chat format), optionally with ``reset(task_info)``,
  ``begin(env, rng)`` (called at the start of an episode with the text environment and the agent-side
  generator) and ``feedback(action, reward, info)`` (called after each step). :class:`CallableAgent` wraps a
  plain function; :class:`NumericAsText` lets a numeric agent answer text prompts (its arm rendered as a tagged
  name), which tests the text pipeline end to end.

Seeds: replicate ``r`` of a run with root ``seed`` and ``cell`` uses ``SeedSequence(seed, spawn_key=(cell, r))``,
spawned into (environment, agent) streams; the environment's own reset spawns its reward and presentation
streams. Results therefore do not depend on the number of worker threads (tested).

Re-prompting (§4): when the first reply does not parse (status not ``ok*``), the runner resends the prompt with
the reply and a format reminder, up to ``max_reprompts`` times (default 2); the final text goes to ``step``,
whose fallback rule applies if it is still malformed. A text agent that raises (a transport error after its own
retries) counts as status ``error`` without a re-prompt (the agent has retried already) and the environment's
fallback applies; :class:`regretlab_envs.openai_agent.EndpointDown` (the endpoint failed several calls in a
row) and :class:`regretlab_envs.openai_agent.AgentConfigError` (a missing API key, a refused key: no call can
succeed) are not caught and end the run, so no replicate made of fallback arms is recorded as the agent's.
Per round the episode record keeps
the first status, the final status, the fallback used, the number of re-prompts and the final reply (the
transcript); ``malformed_rate`` and ``fallback_rate`` are their shares.

Online learning and games (§2.2-§2.4): :func:`run_online_episode` plays an agent on an experts, adversarial-bandit
or repeated-game environment, or on its text view (:class:`regretlab_envs.text_online.TextOnlineWrapper`). A
numeric online agent has ``reset(d, horizon, rng)``, ``act(obs) -> distribution`` and ``update(info)`` (the
environment's step ``info``); a text agent is as above and gets ``feedback(info)`` if it has that method.
:class:`OnlineNumericAsText` lets a numeric online agent answer the text prompts (its distribution rendered with
6 decimals). A bare environment is reset with the seed a text view would give its inner environment, so a
replicate's loss sequence (and the environment's own draws) are the same through either interface.

Resume: with ``out_dir``, each finished replicate is written atomically as ``replicate_<r>.json`` and a re-run
loads it instead of playing it again; a replicate cut short is replayed from its seed (an agent with an on-disk
response cache then answers the already-answered rounds from its cache, at no cost).

Standard library and NumPy only.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from regretlab_envs.openai_agent import AgentConfigError, EndpointDown
from regretlab_envs.parsing import OK_STATUSES, parse_answer, render_choice

__all__ = ["REMINDER", "CallableAgent", "NumericAsText", "OnlineNumericAsText", "ask", "replicate_seed",
           "run_numeric_episode", "run_online_episode", "run_replicates", "run_text_episode"]

REMINDER = ("Your previous reply could not be read. Reply again with exactly one answer inside "
            "<Answer></Answer> tags, in the format asked for.")


def replicate_seed(seed: int, cell: int, replicate: int) -> np.random.SeedSequence:
    """``SeedSequence(seed, spawn_key=(cell, replicate))``: the sweep engine's per-replicate seed."""
    return np.random.SeedSequence(seed, spawn_key=(cell, replicate))


def _streams(ss: np.random.SeedSequence) -> tuple[int, np.random.Generator]:
    env_ss, agent_ss = ss.spawn(2)
    return int(env_ss.generate_state(1, dtype=np.uint32)[0]), np.random.default_rng(agent_ss)


class CallableAgent:
    """A text agent from a plain function ``fn(messages) -> str``."""

    def __init__(self, fn: Callable[[list[dict[str, str]]], str], name: str | None = None):
        if not callable(fn):
            raise TypeError(f"CallableAgent: fn must be callable, got {fn!r}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "callable")

    def __call__(self, messages):
        return self.fn(messages)


class NumericAsText:
    """A numeric agent answering the prompts of a text environment with ``<Answer>name</Answer>``."""

    def __init__(self, agent):
        self.agent = agent
        self.name = f"{getattr(agent, 'name', type(agent).__name__)}_as_text"
        self._env = None

    def begin(self, env, rng) -> None:
        self._env = env
        self.agent.reset(env.K, env.T, rng)

    def __call__(self, messages) -> str:
        base = self._env.env.unwrapped
        obs = {"counts": base.counts.copy(), "reward_sums": base.reward_sums.copy(), "t": np.int64(base.t)}
        return render_choice(int(self.agent.act(obs)), self._env.names)

    def feedback(self, action, reward, info) -> None:
        self.agent.update(action, reward, info)


def run_numeric_episode(env, agent, ss: np.random.SeedSequence) -> dict[str, Any]:
    """Play one episode of a numeric agent on a numeric bandit; returns the history (lists)."""
    env_seed, rng = _streams(ss)
    obs, info = env.reset(seed=env_seed)
    base = env.unwrapped
    agent.reset(base.n_arms, base.horizon, rng)
    actions, rewards, regret = [], [], []
    done = False
    while not done:
        a = int(agent.act(obs))
        obs, y, done, trunc, info = env.step(a)
        done = done or trunc
        agent.update(a, y, info)
        actions.append(a)
        rewards.append(float(y))
        regret.append(float(info["inst_regret"]))
    return {"actions": actions, "rewards": rewards, "inst_regret": regret, "means": base.means.tolist(),
            "aborted": False}


def ask(agent, messages, names, answer: str, cot: bool, max_reprompts: int) -> tuple[str, str, str, int]:
    """One round's question to a text agent, with the re-prompting rule of the module docstring.

    Returns (final reply, status of the first reply, final status, re-prompts used); a raising agent gives
    status ``error:<ExceptionClass>`` and the reply "".
    """
    tries, chat = 0, messages
    while True:
        try:
            reply = agent(chat)
            status = parse_answer(reply, names, answer, cot=cot).status
        except (EndpointDown, AgentConfigError):  # every later call would fail too: end the run
            raise
        except Exception as exc:  # a transport failure after the agent's own retries
            reply, status = "", "error:" + type(exc).__name__
        if tries == 0:
            first = status
        if status in OK_STATUSES or status.startswith("error:") or tries >= max_reprompts:
            return reply, first, status, tries
        tries += 1
        chat = [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": REMINDER}]


def run_text_episode(env, agent, ss: np.random.SeedSequence, *, max_reprompts: int = 2) -> dict[str, Any]:
    """Play one episode of a text agent on a :class:`regretlab_envs.text.TextBanditWrapper` (module docstring)."""
    if not isinstance(max_reprompts, int) or max_reprompts < 0:
        raise ValueError(f"run_text_episode: max_reprompts must be an integer >= 0, got {max_reprompts!r}")
    env_seed, rng = _streams(ss)
    obs, info = env.reset(seed=env_seed)
    if hasattr(agent, "reset"):
        agent.reset({"K": env.K, "T": env.T, "names": env.names, "config": env.config_code()})
    if hasattr(agent, "begin"):
        agent.begin(env, rng)
    rec: dict[str, list] = {k: [] for k in ("actions", "rewards", "inst_regret", "expected_inst_regret",
                                            "first_status", "status", "fallback", "reprompts", "replies")}
    done = False
    aborted, reason = False, None
    while not done:
        reply, first, status, tries = ask(agent, info["messages"], env.names, env.answer, env.cot != "none",
                                          max_reprompts)
        obs, y, done, trunc, info = env.step(reply)
        done = done or trunc
        if info.get("aborted"):
            aborted, reason = True, info["abort_reason"]
            break
        if hasattr(agent, "feedback"):
            agent.feedback(info["action"], y, info)
        rec["actions"].append(int(info["action"]))
        rec["rewards"].append(float(y))
        rec["inst_regret"].append(float(info["inst_regret"]))
        rec["expected_inst_regret"].append(float(info["expected_inst_regret"]))
        rec["first_status"].append(first)
        rec["status"].append(status)
        rec["fallback"].append(info["parse"]["fallback"])
        rec["reprompts"].append(tries)
        rec["replies"].append(reply)
    n = max(len(rec["actions"]), 1)
    rec.update({
        "means": env.env.unwrapped.means.tolist(), "names": list(env.names), "aborted": aborted,
        "abort_reason": reason,
        "malformed_rate": sum(s not in OK_STATUSES for s in rec["first_status"]) / n,
        "fallback_rate": sum(f is not None for f in rec["fallback"]) / n,
    })
    return rec


class OnlineNumericAsText:
    """A numeric online agent answering the prompts of a text online view with its distribution (6 decimals)."""

    def __init__(self, agent, decimals: int = 6):
        self.agent = agent
        self.decimals = decimals
        self.name = f"{getattr(agent, 'name', type(agent).__name__)}_as_text"
        self._names = ()

    def begin(self, env, rng) -> None:
        self._names = env.names
        self.agent.reset(env.d, env.T, rng)

    def __call__(self, messages) -> str:
        from regretlab_envs.parsing import render_distribution

        return render_distribution(self.agent.act(None), self._names, self.decimals)

    def feedback(self, info) -> None:
        self.agent.update(info)


def run_online_episode(env, agent, ss: np.random.SeedSequence, *, max_reprompts: int = 2) -> dict[str, Any]:
    """Play one episode on an online-learning env or its text view (module docstring); returns the history.

    Record: per round ``regret`` (the env's external regret so far), ``pi`` (played distributions) and, by
    setting, ``loss`` (experts: l_t), ``action``/``observed_loss``/``realized_regret`` (bandit feedback),
    ``q``/``actions``/``payoff_vector`` (games); for a text view also the parse record (first and final status,
    fallback, re-prompts, replies), ``malformed_rate`` and ``fallback_rate``; ``aborted`` and its reason.
    """
    from regretlab_envs.text import TextEnvBase

    if not isinstance(max_reprompts, int) or max_reprompts < 0:
        raise ValueError(f"run_online_episode: max_reprompts must be an integer >= 0, got {max_reprompts!r}")
    from regretlab_envs.text_online import inner_seed

    text = isinstance(env, TextEnvBase)
    env_seed, rng = _streams(ss)
    # a bare env is seeded as a text view seeds its inner env: both interfaces face the same losses
    obs, info = env.reset(seed=env_seed if text else inner_seed(env_seed))
    base = env.env.unwrapped if text else env.unwrapped
    d = int(base.d if hasattr(base, "d") else base.n1)
    if text:
        if hasattr(agent, "reset"):
            agent.reset({"K": d, "T": env.T, "names": env.names})
        if hasattr(agent, "begin"):
            agent.begin(env, rng)
    else:
        agent.reset(d, int(base.horizon), rng)
    keys = ("regret", "pi", "loss", "action", "observed_loss", "realized_regret", "q", "actions", "payoff_vector")
    rec: dict[str, list] = {k: [] for k in keys}
    parse: dict[str, list] = {k: [] for k in ("first_status", "status", "fallback", "reprompts", "replies")}
    done, aborted, reason = False, False, None
    while not done:
        if text:
            reply, first, status, tries = ask(agent, info["messages"], env.names, env.answer, env.cot != "none",
                                              max_reprompts)
            obs, _, done, trunc, info = env.step(reply)
            if info.get("aborted"):
                aborted, reason = True, info["abort_reason"]
                break
            for k, x in (("first_status", first), ("status", status), ("fallback", info["parse"]["fallback"]),
                         ("reprompts", tries), ("replies", reply)):
                parse[k].append(x)
            if hasattr(agent, "feedback"):
                agent.feedback(info)
        else:
            obs, _, done, trunc, info = env.step(agent.act(obs))
            agent.update(info)
        done = done or trunc
        for k in keys:
            if k in info:
                v = info[k]
                rec[k].append(v.tolist() if isinstance(v, np.ndarray) else (list(v) if isinstance(v, tuple) else v))
    out = {k: v for k, v in rec.items() if v}
    n = max(len(out.get("regret", ())), 1)
    out.update({"aborted": aborted, "abort_reason": reason, "rounds": len(rec["regret"])})
    if text:
        out.update(parse)
        out["names"] = list(env.names)
        out["malformed_rate"] = sum(x not in OK_STATUSES for x in parse["first_status"]) / n
        out["fallback_rate"] = sum(x is not None for x in parse["fallback"]) / n
    return out


def run_replicates(play: Callable[[int], dict], replicates: int, *, workers: int = 8,
                   out_dir: str | os.PathLike | None = None, start: int = 0,
                   progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """``[play(r) for r in range(start, start + replicates)]`` in a thread pool of ``workers``, resumable via
    ``out_dir`` (``replicate_<r>.json``, r the replicate's own index, so any chunking finds its files).
    ``progress(done, replicates)`` is called as each replicate finishes (display only)."""
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"run_replicates: workers must be an integer >= 1, got {workers!r}")
    if not isinstance(start, int) or start < 0:
        raise ValueError(f"run_replicates: start must be an integer >= 0, got {start!r}")
    folder = Path(out_dir) if out_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)

    def one(r: int) -> dict:
        path = folder / f"replicate_{r}.json" if folder is not None else None
        if path is not None and path.exists():
            return json.loads(path.read_text())
        out = play(r)
        if path is not None:
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(out))
            os.replace(tmp, path)
        return out

    lock, count = threading.Lock(), [0]

    def counted(r: int) -> dict:
        out = one(r)
        if progress is not None:
            with lock:
                count[0] += 1
                progress(count[0], replicates)
        return out

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(counted, range(start, start + replicates)))
