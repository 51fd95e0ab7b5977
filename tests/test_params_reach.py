"""Every parameter of every registered experiment reaches the outputs, or is declared inert with a reason.

For each experiment (one test each) and each of its parameters, a non-default valid value -- derived from the
parameter's spec (Int / Float ranges, every other Choice, the flipped Bool) or taken from :data:`CASES` -- is run
on a tiny cell with a fixed seed, and every output array is compared (shape, dtype, values) with the cell's
default run:

* a parameter the experiment does not declare inert for that cell must change the outputs (an accepted parameter
  that reaches nothing is the defect this file exists for: e.g. ``alpha`` of ``ucb_alpha`` in
  ``llm_bandits.explore`` once never reached the simulator);
* a parameter declared inert there (``experiment(..., inert={name: reason or callable})``, see
  :meth:`regretlab.core.registry.Experiment.inert_reason`) must leave the outputs bit-identical -- which is also
  the check of the execution knobs (thread counts, concurrency) whose contract is "does not change numbers".

Each parameter is tested in its cell (the experiment's ``small`` dict, shrunk by ``base``, plus the partner
parameters of ``cells``, e.g. ``policy = eps_greedy`` for ``eps``); and, when that differs, also in the base cell,
where it must be refused by the experiment's ``check``, change the outputs, or be declared inert.

The parameters of an LLM agent (``agent = "llm"``: the endpoint options; and the text options, which a baseline
answering the prompts ignores: ``llm_bandits.online`` is tested here only, ``llm_bandits.explore`` declares them
inert for baselines) are tested in an LLM cell (:data:`LLM_CASES`) against a
fake OpenAI-compatible server (``tests/_fake_chat.py``) whose reply -- an action, or now and then a malformed
reply -- is a hash of the whole request body: whatever changes a request (model, temperature, max_tokens, the
seed, the prompt) changes the replies and so the outputs, by the same comparison as above. The transport
parameters (:data:`TRANSPORT`: server, base_url, api_key_env, timeout_s, max_retries) change no request body; their
tests assert what the server saw: where the requests went, the key header, the attempts after scripted failures,
a reply slower than the timeout counted as a failure -- and that the key is in no output and no file.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from regretlab.core.registry import Bool, Choice, Float, Int, Seeds, get, list_experiments
from regretlab.core.validate import ParamError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fake_chat import FakeChatServer  # noqa: E402

SEED = 11
CELL = 1  # not 0: "shared" instance draws come from cell 0 of the sweep
REPLICATES = 2

#: per experiment: ``base`` shrinks ``small``; ``cells[p]`` the partner parameters under which ``p`` is tested;
#: ``values[p]`` the non-default values of ``p`` (else derived from its spec; a dict: ``p`` changed together with
#: the partner parameters it needs, e.g. ``model`` with a ``family`` of that model); ``equal[(p, v)]`` a value
#: known to give the default's numbers in the base cell, with why (where ``p`` has a ``cells`` entry, only the base
#: cell is excused: the value must still change the outputs of ``p``'s own cell); ``backend`` (default numpy, else
#: python);
#: ``untested[p]`` a parameter this file cannot exercise, with where it is tested instead; ``llm`` the parameters
#: only an LLM agent accepts, tested in the experiment's LLM cell (:data:`LLM_CASES`) or by the transport tests.
CASES: dict[str, dict] = {
    "bandits.run": {
        "base": {"horizon": 60, "K": 3, "checkpoints": 4},
        "cells": {
            "gap": {"instance": "gap"}, "shuffle": {"instance": "gap", "K": 10},
            "sigma": {"family": "gaussian"},
            "eps": {"policy": "eps_greedy"}, "c": {"policy": "ucb1"}, "d": {"policy": "eps_decay"},
            "m": {"policy": "etc"}, "prior_mean": {"policy": "ts_gauss"}, "prior_var": {"policy": "ts_gauss"},
            "noise": {"policy": "ts_gauss"}, "alpha": {"policy": "ucb_alpha"},
            "init_each_arm": {"policy": "ts_beta", "K": 10},
        },
        "values": {"instance": ["gap", "uniform", {"instance": "explicit", "means": [0.2, 0.7, 0.4]}],
                   "means": [{"instance": "explicit", "means": [0.2, 0.7, 0.4]}], "low": [0.3], "high": [0.6],
                   "d": [5.0], "alpha": [4.0]},
    },
    "llm_bandits.explore": {
        "base": {"horizon": 30, "checkpoints": 4},
        "cells": {
            "eps": {"agent": "eps_greedy"}, "c": {"agent": "ucb1"}, "d": {"agent": "eps_decay"},
            "m": {"agent": "etc"}, "prior_mean": {"agent": "ts_gauss", "instance": "bb_gauss_easy_5"},
            "prior_var": {"agent": "ts_gauss", "instance": "bb_gauss_easy_5"},
            "noise": {"agent": "ts_gauss", "instance": "bb_gauss_easy_5"},
            "alpha": {"agent": "ucb_alpha"}, "init_each_arm": {"agent": "ts_beta", "instance": "bb_bern_hard_20"},
            "sigma_scaled": {"agent": "ucb1", "instance": "bb_gauss_hard_5"},
            **{k: {"interface": "text"} for k in ("scenario", "framing", "history", "answer", "cot",
                                                 "disclose_horizon", "window", "fallback", "max_reprompts")},
            "window": {"interface": "text", "history": "raw_window"},
        },
        "values": {"agent": ["ucb1", "ts", "greedy", "uniform"], "interface": ["text"], "alpha": [4.0],
                   "init_each_arm": [1], "window": [2], "concurrency": [1], "d": [5.0]},
        "equal": {("instance", "'bb_bern_hard_5'"): "the means of k24_hard; only the default horizon differs, and "
                                                  "the cell sets the horizon"},
        "llm": ("server", "base_url", "model", "api_key_env", "temperature", "max_tokens", "timeout_s",
                "max_retries", "send_seed"),
    },
    "llm_bandits.online": {
        "base": {"horizon": 12},
        "cells": {k: {"setting": "experts", "opponent": "hedge"} for k in ("generator", "d", "setting")}
        | {"eta": {"agent": "hedge", "setting": "experts", "opponent": "hedge"},
           "random_size": {"game": "random"}, "game_seed": {"game": "random"}},
        "values": {"checkpoints": [3], "concurrency": [1], "agent": ["ftpl", "uniform"],
                   "setting": [{"setting": "game"}, {"setting": "bandit", "agent": "exp3"}],
                   "generator": ["iid_gaussian", "linear_trend", "sine_trend", "adaptive_adversary",
                                 {"generator": "alternating", "d": 2}]},
        "llm": ("history", "answer", "cot", "disclose_horizon", "window", "decimals", "fallback", "names",
                "max_reprompts", "server", "base_url", "model", "api_key_env", "temperature", "max_tokens",
                "timeout_s", "max_retries", "send_seed"),
    },
    "adversarial_mdp.regret": {
        "base": {"K": 12, "n_checkpoints": 3, "H": 2, "width": 2, "A": 2, "d": 3},
        "cells": {k: {"algorithm": "alg3_reconstructed"} for k in ("epoch", "mix", "c_mix")}
        | {"d": {"features": "simplex"}, "features": {"d": 4}},
        "values": {"epoch": [4], "mix": [0.25], "c_mix": [0.5], "features": ["tabular"]},
    },
    "mass_balance.one_step": {
        "base": {"V": 60, "m": 6, "N": 4},
        "cells": {"sigma": {"logits": "gaussian"}, "alpha": {"logits": "zipf"},
                  "shared_instance": {"logits": "gaussian"}},
        "values": {"m": [3]},
    },
    "mass_balance.simulator": {
        "base": {"V": 60, "m": 6, "N": 4, "steps": 4, "record_every": 2},
        "values": {"m": [3], "record_every": [1]},
    },
    "preference.learning": {
        # n_policies = 8: replicate 0 draws the true reward's optimal policy, which exclude_true removes (at 4
        # neither replicate 0 nor 1 draws it, and exclude_true has nothing to remove)
        "base": {"n_prefs": 12, "iterations": 6, "n_policies": 8, "board_height": 3, "board_width": 4,
                 "seg_length": 2},
        "values": {"iterations": [3], "label_temperature": [100.0]},
    },
    "starc.correlation": {
        "base": {"n_states": 4, "n_actions": 2, "n_mdps": 2, "draws": 2, "steps": 2, "canons": "epic,val",
                 "norms": "l2", "metrics": "l2"},
        "values": {"preset": ["paper"], "canons": ["none,dard"], "norms": ["l1"], "metrics": ["l1"],
                   "threads": [1, 3]},
        "cells": {"preset": {"canons": "", "norms": "", "metrics": "", "n_states": 3}},
    },
    "lsd.ratio": {
        "backend": "python", "base": {"k": 2, "tau_max": 2, "T": 8, "draws": 3},
        "cells": {"m": {"crs": "uniform"}},
        "values": {"model": [{"model": "lsd", "family": "monotone_full",
                              "planner": "lsd_mirroring_rounding_reconstructed"}],
                   "family": ["concave", "blocking", {"model": "lsd", "family": "parametric",
                                                      "planner": "lsd_mirroring_rounding_reconstructed"}],
                   "planner": [p for p in get("lsd.ratio").params["planner"].choices if p not in (
                       "pcs_offset_rounding_reconstructed", "lsd_mirroring_rounding_reconstructed")]
                   + [{"planner": "lsd_mirroring_rounding_reconstructed", "model": "lsd", "family": "seasonal"}]},
    },
    "lsd.learning": {
        "backend": "python", "base": {"k": 2, "tau_max": 2, "T": 40, "draws": 2, "n_checkpoints": 3},
        "cells": {"block": {"algorithm": "combucb1"}, "noise": {"algorithm": "ucb1"},
                  "monotone": {"T": 400},
                  # requesters with different request probabilities meet (LP periods 2 and 3): see _crs_inert
                  "crs": {"k": 3, "tau_max": 3, "T": 200, "family": "concave", "instance": 1}},
        "equal": {("monotone", "False"): "T = 40 is all exploration for etc_lp in the base cell (tested at T = 400)"},
        "values": {"model": [{"model": "lsd", "family": "monotone_full"}],
                   "family": ["concave", "blocking", {"model": "lsd", "family": "seasonal"}]},
    },
    "lsd.paper": {
        "backend": "python", "base": {"T": 30, "draws": 2, "n_checkpoints": 3},
        "cells": {"noise": {"policy": "thompson"}, "draws": {"policy": "pcs_offset_rounding_reconstructed"},
                  "block": {"policy": "combucb1"},
                  # the rounding idles in a round nobody requests (a filler arm plays otherwise); the optimum of
                  # the base cell never idles on the [LCCG22] instances (declared inert)
                  "idle_allowed": {"policy": "pcs_offset_rounding_reconstructed"}},
    },
}


def _derived(spec, cur) -> list:
    """Non-default valid values of a parameter from its spec (one for numbers, every other choice)."""
    if isinstance(spec, Bool):
        return [not cur]
    if isinstance(spec, Choice):
        return [c for c in spec.choices if c != cur]
    if isinstance(spec, Int):
        lo = spec.low if spec.low is not None else 0
        base = cur if cur is not None else lo
        for v in (base + 1, base - 1, 2 * base + 1):
            if v != cur and v >= lo and (spec.high is None or v <= spec.high):
                return [v]
        return []
    if isinstance(spec, Float):
        base = cur if cur is not None else (spec.low if spec.low is not None else 0.0)
        for v in (2 * base if base else 0.5, base / 2, base + 0.5, base - 0.5):
            if v == cur or not math.isfinite(v):
                continue
            if spec.low is not None and (v < spec.low or (v == spec.low and spec.low_open)):
                continue
            if spec.high is not None and (v > spec.high or (v == spec.high and spec.high_open)):
                continue
            return [v]
    return []


def _same(a: dict, b: dict) -> bool:
    if set(a) != set(b):
        return False
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
            return False
    return True


def _run(exp, cell: dict, backend: str, **seeds) -> dict:
    return exp(cell, Seeds(SEED, CELL, seeds.pop("replicates", REPLICATES), **seeds), backend)


def _backend_of(case: dict, cell: dict) -> str:
    be = case.get("backend", "numpy")
    if cell.get("algorithm") == "alg3_reconstructed":  # no NumPy version (adversarial_mdp.simulate)
        be = "python"
    return be


def _problems(name: str, case: dict, keys) -> list[str]:
    """Each parameter of ``keys`` compared in its cell of ``case`` (module docstring); the problems found."""
    exp = get(name)
    base = {**exp.small, **case.get("base", {})}
    cache: dict[str, dict] = {}
    problems: list[str] = []

    def outputs(cell):
        key = repr(sorted(cell.items()))
        if key not in cache:
            cache[key] = _run(exp, cell, _backend_of(case, cell))
        return cache[key]

    def check(k, cell, values, must_accept: bool, excused: bool) -> bool:
        """Compare ``k`` at each of ``values`` in ``cell``; True when some value was accepted. ``excused``: the
        ``equal`` entries apply in this cell."""
        ref_cell = dict(cell)
        accepted = False
        for v in values:
            alt = {**ref_cell, **v} if isinstance(v, dict) else {**ref_cell, k: v}  # a dict: with partners
            try:
                resolved = exp.resolve(alt)
            except ParamError as e:
                if must_accept:
                    problems.append(f"{k} = {v!r} is refused in its test cell {ref_cell}: {e}")
                continue
            accepted = True
            ref, out = outputs(ref_cell), outputs(alt)
            same = _same(ref, out)
            why = exp.inert_reason(k, resolved)
            if why is not None and not same:
                problems.append(f"{k} = {v!r} is declared inert ({why}) but changed the outputs of {ref_cell}")
            elif why is None and same and not (excused and (k, repr(v)) in case.get("equal", {})):
                problems.append(f"{k} = {v!r} is accepted but does not change any output of {ref_cell}: make it "
                                "reach the computation, refuse it in check, or declare it inert with a reason")
        return accepted

    for k in keys:
        spec = exp.params[k]
        cell = {**base, **case.get("cells", {}).get(k, {})}
        cur = exp.resolve(cell)[k]
        values = case.get("values", {}).get(k) or _derived(spec, cur)
        assert values, f"{name}: no non-default value for {k}: add one to the case's 'values'"
        check(k, cell, values, must_accept=True, excused=cell == base)
        if cell != base:  # also where the partner parameters are at their defaults
            check(k, base, [v for v in values if not isinstance(v, dict) and v != exp.resolve(base)[k]][:1],
                  must_accept=False, excused=True)
    return problems


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_parameter_reaches_the_outputs_or_is_declared_inert(name):
    case = CASES[name]
    skip = set(case.get("untested", {})) | set(case.get("llm", ()))
    problems = _problems(name, case, [k for k in get(name).params if k not in skip])
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------------------------------------------
# The parameters of an LLM agent, against a fake endpoint

KEY_VAR = "REGRETLAB_PARAMS_REACH_KEY"
SECRET = "sk-params-reach-7c41e0"

#: The parameters whose job is transport: they change no request body, so no reply; each has its test below.
TRANSPORT = ("server", "base_url", "api_key_env", "timeout_s", "max_retries")

#: per experiment: the LLM cell ``base`` (``base_url``: the fake server's, added by the tests; max_retries = 0:
#: a failed call is one fallback round, with no back-off), ``reach`` the parameters compared in it as in CASES
#: (``cells``, ``values``, ``equal`` likewise), with the server answering :func:`_hashed_reply`.
LLM_CASES: dict[str, dict] = {
    "llm_bandits.explore": {
        "base": {"agent": "llm", "interface": "text", "horizon": 8, "checkpoints": 3, "model": "fake-model",
                 "max_retries": 0},
        # the text options too: the baseline cells of CASES show them inert for a baseline agent, this one that
        # they reach an LLM's prompts
        "reach": ("model", "temperature", "max_tokens", "send_seed", "scenario", "framing", "history", "answer",
                  "cot", "disclose_horizon", "window", "fallback", "max_reprompts"),
        "cells": {"window": {"history": "raw_window"}, "fallback": {"max_reprompts": 0}},
        "values": {"model": ["other-model"], "window": [2], "max_reprompts": [0]},
        "equal": {("window", "2"): "history = 'summary' shows no window (tested with raw_window)",
                  ("fallback", "'previous'"): "with re-prompts no final reply need be malformed (tested with "
                                              "max_reprompts = 0)"},
    },
    "llm_bandits.online": {  # small: self-play in a game, the two seats both LLM agents
        "base": {"agent": "llm", "interface": "text", "horizon": 8, "model": "fake-model", "max_retries": 0},
        "reach": ("model", "temperature", "max_tokens", "send_seed", "history", "answer", "cot",
                  "disclose_horizon", "window", "decimals", "fallback", "names", "max_reprompts"),
        "cells": {"window": {"history": "raw_window"}, "fallback": {"max_reprompts": 0}},
        # history: loss_vectors is the games' default, and raw_window with window >= T shows the same lines
        "values": {"model": ["other-model"], "history": ["summary"], "window": [2], "max_reprompts": [0],
                   "fallback": ["previous"]},  # abort_episode is refused in self-play
        "equal": {("window", "2"): "history = 'default' (loss_vectors) shows no window (tested with raw_window)",
                  ("fallback", "'previous'"): "with re-prompts no final reply need be malformed (tested with "
                                              "max_reprompts = 0)"},
    },
}


def _hashed_reply(malformed_every: int = 0):
    """A reply rule: the action named is a hash of the whole request body (its messages, model, sampling
    parameters, seed); with ``malformed_every`` = m, one body in about m gets a reply without an answer."""
    def reply(request) -> str:
        body = request["body"]
        h = int(hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest(), 16)
        if malformed_every and h % malformed_every == 0:
            return "I cannot decide."
        system = body["messages"][0]["content"]  # "... with 5 buttons: blue, green, ..." / "3 actions: ..."
        names = re.search(r"\d+ [a-z]+: ([^.]*)\.", system).group(1).split(", ")
        name = names[(h >> 16) % len(names)]
        return f"<Answer>{name}: 1</Answer>" if "a probability for every" in system else f"<Answer>{name}</Answer>"
    return reply


@pytest.fixture(scope="module")
def _servers():
    """Two fake endpoints for the module (stopping one takes half a second: the server's poll interval)."""
    with FakeChatServer() as one, FakeChatServer() as two:
        yield one, two


def _fresh(server: FakeChatServer) -> FakeChatServer:
    server.requests.clear()
    server.script.clear()
    server.reply = _hashed_reply()
    return server


@pytest.fixture
def chat(_servers):
    return _fresh(_servers[0])


@pytest.fixture
def other(_servers):
    return _fresh(_servers[1])


def _llm_cell(name: str, url: str, **kw) -> dict:
    return {**get(name).small, **LLM_CASES[name]["base"], "base_url": url, **kw}


def _play(name: str, cell: dict, **seeds) -> dict:
    return _run(get(name), cell, "numpy", **seeds)


def _fallbacks(name: str, out: dict) -> float:
    """Rounds played by the fallback rule (both seats in self-play)."""
    seats = 2 if name == "llm_bandits.online" else 1  # LLM_CASES' online cell is self-play
    return float(np.sum(out["fallback_rate"] * out["rounds"]) * seats)


@pytest.mark.parametrize("name", sorted(LLM_CASES))
def test_llm_parameters_reach_the_outputs(name, chat):
    """Model, sampling parameters, seed and text options of an LLM cell change the replies, hence the outputs."""
    chat.reply = _hashed_reply(4)
    case = LLM_CASES[name]
    problems = _problems(name, {**case, "base": _llm_cell(name, chat.url)}, case["reach"])
    assert not problems, f"{name} (agent = 'llm'):\n  " + "\n  ".join(problems)
    statuses = {"malformed": 0, "ok": 0}
    for r in chat.requests:  # the server answered both ways (else fallback / max_reprompts could not matter)
        h = int(hashlib.sha256(json.dumps(r["body"], sort_keys=True).encode()).hexdigest(), 16)
        statuses["malformed" if h % 4 == 0 else "ok"] += 1
    assert min(statuses.values()) > 0, statuses


@pytest.mark.parametrize("name", sorted(LLM_CASES))
def test_llm_request_carries_the_model_and_sampling_parameters(name, chat):
    _play(name, _llm_cell(name, chat.url, model="other-model", temperature=0.5, max_tokens=7))
    bodies = [r["body"] for r in chat.requests]
    assert bodies and {(b["model"], b["temperature"], b["max_tokens"]) for b in bodies} == {("other-model", 0.5, 7)}
    seeds = {b["seed"] for b in bodies}  # one per replicate (and seat): drawn from the agent streams
    assert all(isinstance(s, int) for s in seeds) and len(seeds) >= REPLICATES
    n = len(bodies)
    _play(name, _llm_cell(name, chat.url, send_seed=False))
    assert len(chat.requests) > n and not any("seed" in r["body"] for r in chat.requests[n:])


@pytest.mark.parametrize("name", sorted(LLM_CASES))
def test_api_key_env_sends_the_key_and_writes_it_nowhere(name, chat, monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_VAR, SECRET)
    plain = _play(name, _llm_cell(name, chat.url))
    n = len(chat.requests)
    assert n and not any("Authorization" in r["headers"] for r in chat.requests)  # default: no key sent
    work = tmp_path / "c00001"
    keyed = _play(name, _llm_cell(name, chat.url, api_key_env=KEY_VAR), workdir=str(work))
    assert len(chat.requests) == 2 * n
    assert all(r["headers"].get("Authorization") == f"Bearer {SECRET}" for r in chat.requests[n:])
    assert _same(plain, keyed)  # only the header differs: the fake server ignores it
    # the key is in no output and in no file of the cell's work folder (replicate records, response cache)
    assert SECRET not in repr(keyed) and SECRET.encode() not in b"".join(np.asarray(v).tobytes() for v in
                                                                         keyed.values())
    files = [f for f in work.rglob("*") if f.is_file()]
    assert any(f.name == "responses.jsonl" for f in files)
    assert not [f for f in files if SECRET.encode() in f.read_bytes()]


@pytest.mark.parametrize("name", sorted(LLM_CASES))
def test_base_url_is_where_the_requests_go(name, chat, other):
    out = _play(name, _llm_cell(name, chat.url))
    n = len(chat.requests)
    assert n == int(out["calls"].sum()) > 0 and other.requests == []
    out = _play(name, _llm_cell(name, other.url + "/tenant"))  # the whole URL, path included
    assert len(chat.requests) == n and len(other.requests) == int(out["calls"].sum())
    assert {r["path"] for r in chat.requests} == {"/v1/chat/completions"}
    assert {r["path"] for r in other.requests} == {"/v1/tenant/chat/completions"}


#: The documented default URL of each server preset (the ``server`` parameter's help).
PRESET_URLS = {"vllm": "http://localhost:8000/v1", "llama_cpp": "http://127.0.0.1:8080/v1",
               "ollama": "http://localhost:11434/v1"}


@pytest.mark.parametrize("name", sorted(LLM_CASES))
def test_server_preset_gives_the_url_unless_base_url_is_set(name, chat, monkeypatch):
    from regretlab.llm_bandits.harness import SERVERS, _build_llm
    from regretlab_envs import openai_agent

    exp = get(name)
    assert set(SERVERS) == {"none", *PRESET_URLS}
    for server, url in PRESET_URLS.items():
        # the agent the harness builds: the preset's documented URL, or base_url when given (no request sent)
        assert _build_llm(exp.resolve(_llm_cell(name, "", server=server)), None).base_url == url
        assert _build_llm(exp.resolve(_llm_cell(name, chat.url, server=server)), None).base_url == chat.url
        # and the requests go there: the preset pointed at the fake server, under a path naming it
        monkeypatch.setitem(openai_agent.PRESETS, server, f"{chat.url}/{server}")
        n = len(chat.requests)
        out = _play(name, _llm_cell(name, "", server=server), replicates=1)
        got = chat.requests[n:]
        assert len(got) == int(out["calls"].sum()) > 0
        assert {r["path"] for r in got} == {f"/v1/{server}/chat/completions"}
        # Ollama's preset sends its placeholder key when api_key_env is unset; the others send none
        assert {r["headers"].get("Authorization") for r in got} == {"Bearer ollama" if server == "ollama" else None}


@pytest.mark.parametrize("name", sorted(LLM_CASES))
def test_timeout_s_a_slower_reply_is_a_failed_round(name, chat):
    """The first request is answered after 0.6 s: within the default timeout (60 s) a round like any other,
    beyond timeout_s = 0.2 a transport failure (no retry: max_retries = 0), whose round the fallback plays."""
    for timeout_s, failed in ((None, False), (0.2, True)):
        slow = [True]

        def reply(request, slow=slow):
            step = _hashed_reply()(request)
            if slow:  # the first request only
                slow.pop()
                return ("sleep", 0.6, step)
            return step

        chat.reply = reply
        n = len(chat.requests)
        kw = {} if timeout_s is None else {"timeout_s": timeout_s}
        out = _play(name, _llm_cell(name, chat.url, concurrency=1, **kw), replicates=1)
        assert not slow  # the slow reply was asked for
        assert len(chat.requests) - n == int(out["calls"].sum())  # no retry
        assert (_fallbacks(name, out) >= 1) == failed, (timeout_s, out["fallback_rate"])


@pytest.mark.parametrize("name", sorted(LLM_CASES))
def test_max_retries_is_the_number_of_extra_attempts(name, chat):
    """The first call meets scripted 429s (Retry-After: 0, so no back-off): it is sent max_retries + 1 times,
    answered when the failures are max_retries, a failed round (the fallback plays it) when they are one more."""
    busy = (429, {"error": {"message": "busy"}}, {"Retry-After": "0"})
    for retries in (0, 2, get(name).params["max_retries"].default):
        for fails in (retries, retries + 1):
            n = len(chat.requests)
            chat.script = [busy] * fails
            out = _play(name, _llm_cell(name, chat.url, concurrency=1, max_retries=retries), replicates=1)
            got = chat.requests[n:]
            assert chat.script == []
            repeats = next(i for i, r in enumerate(got) if r["body"] != got[0]["body"])
            assert repeats == retries + 1, (retries, fails, repeats)  # the first call's attempts
            assert len(got) == int(out["calls"].sum()) + retries
            assert (_fallbacks(name, out) == 1) == (fails > retries), (retries, fails, out["fallback_rate"])


def test_every_experiment_and_parameter_is_covered():
    """A new experiment gets a CASES entry; untested parameters are named explicitly; every LLM-only parameter
    is compared in the LLM cell or has a transport test."""
    names = {e.name for e in list_experiments() if not e.name.startswith("tests.")}  # not the suite's own fixtures
    assert names <= set(CASES), f"add {sorted(names - set(CASES))} to CASES"
    for name, case in CASES.items():
        params = set(get(name).params)
        for table in ("cells", "values", "untested", "llm"):
            assert set(case.get(table, {})) <= params, (name, table, set(case.get(table, {})) - params)
        llm = LLM_CASES.get(name, {})
        assert set(case.get("llm", ())) <= set(llm.get("reach", ())) | set(TRANSPORT), name
        for table in ("cells", "values", "reach"):
            assert set(llm.get(table, {})) <= params, (name, table, set(llm.get(table, {})) - params)
    assert set(TRANSPORT) <= set(get("llm_bandits.explore").params) & set(get("llm_bandits.online").params)
