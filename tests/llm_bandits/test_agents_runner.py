"""Baseline agents and the episode runner (specs/llm-bandit-envs.md §5, §7, §10)."""
from __future__ import annotations

import numpy as np
import pytest

from regretlab.bandits.policies import FAMILIES, POLICIES
from regretlab.bandits.reference import simulate_one
from regretlab.core.validate import ParamError
from regretlab.llm_bandits.agents import BaselineAgent
from regretlab.llm_bandits.metrics import k24_summary
from regretlab_envs.bandits import BernoulliBanditEnv, GaussianBanditEnv
from regretlab_envs.presets import make_preset
from regretlab_envs.runner import (
    CallableAgent,
    NumericAsText,
    replicate_seed,
    run_numeric_episode,
    run_replicates,
    run_text_episode,
)
from regretlab_envs.text import TextBanditWrapper


@pytest.mark.parametrize("policy", ["ucb1", "ucb_k24", "kl_ucb", "ts_beta", "eps_greedy", "greedy", "etc", "uniform"])
def test_index_order_agent_reproduces_the_reference_bit_for_bit(policy):
    means = [0.3, 0.55, 0.5, 0.45]
    T = 80
    for seed in range(3):
        agent = BaselineAgent(policy, init_order="index", **({"m": 3} if policy == "etc" else {}))
        agent.reset(4, T, np.random.default_rng(seed))
        state = np.random.default_rng(seed).integers(0, 2**64, size=4, dtype=np.uint64)
        rng = agent._pol.rng
        regret = 0.0
        for _ in range(T):
            a = agent.act()
            y = 1.0 if rng.uniform() < means[a] else 0.0  # the reference's reward draw, same generator
            agent.update(a, y)
            regret += max(means) - means[a]
        ref = simulate_one(POLICIES[policy].code, agent.pparams, FAMILIES["bernoulli"], 1.0, means, T, state, [T])
        assert agent._pol.n == ref["counts"].tolist()
        assert regret == ref["regret"][-1]


def test_random_init_order_is_uniform():
    first = [0] * 5
    for seed in range(500):
        agent = BaselineAgent("ucb_k24")
        agent.reset(5, 10, np.random.default_rng(seed))
        first[agent.act()] += 1
    assert min(first) > 60  # each arm first about 100 times in 500


def _numeric(policy, R, T=100, workers=2):
    def play(r):
        return run_numeric_episode(make_preset("k24_hard", horizon=T), BaselineAgent(policy), replicate_seed(1, 0, r))
    out = run_replicates(play, R, workers=workers)
    return np.array([o["actions"] for o in out]), np.array([o["rewards"] for o in out]), np.array(out[0]["means"])


def test_greedy_suffix_failure_and_ucb_not():
    a, y, mu = _numeric("greedy", 400)
    greedy = k24_summary(a, y, mu)
    a, y, mu = _numeric("ucb_k24", 400)
    ucb = k24_summary(a, y, mu)
    assert greedy["suffix_failure_half"] > 0.35 and ucb["suffix_failure_half"] < 0.08
    assert greedy["greedy_frac"] == 1.0 and ucb["greedy_frac"] < 0.85


def test_results_do_not_depend_on_worker_count():
    one = _numeric("ts_beta", 16, T=30, workers=1)
    eight = _numeric("ts_beta", 16, T=30, workers=8)
    assert all(np.array_equal(x, z) for x, z in zip(one, eight))


def test_numeric_agent_through_the_text_pipeline_has_no_malformed_answers():
    for base, kw in ((BernoulliBanditEnv([0.2, 0.7, 0.5], 25), {}), (GaussianBanditEnv([0.0, 1.0], 1.0, 25),
                                                                     {"family": "gaussian"})):
        for scenario in ("buttons", "arms", "clothes"):
            env = TextBanditWrapper(base, scenario=scenario, history="raw")
            rec = run_text_episode(env, NumericAsText(BaselineAgent("ucb1", **kw)), replicate_seed(0, 0, 3))
            assert rec["malformed_rate"] == 0.0 and rec["fallback_rate"] == 0.0 and len(rec["actions"]) == 25
            assert set(rec["first_status"]) == {"ok"}


def test_reprompt_then_fallback_and_transport_errors():
    env = TextBanditWrapper(BernoulliBanditEnv([0.2, 0.7], 6), history="summary")
    calls = []

    def flaky(messages):
        calls.append(messages)
        return "hmm" if len(calls) % 2 == 1 else f"<Answer>{env.names[0]}</Answer>"

    rec = run_text_episode(env, CallableAgent(flaky), replicate_seed(0, 0, 0))
    assert rec["first_status"] == ["invalid"] * 6 and rec["status"] == ["ok"] * 6 and rec["reprompts"] == [1] * 6
    assert rec["malformed_rate"] == 1.0 and rec["fallback_rate"] == 0.0
    assert calls[1][-1]["role"] == "user" and calls[1][-2] == {"role": "assistant", "content": "hmm"}

    def broken(messages):
        raise TimeoutError("slow server")

    rec = run_text_episode(env, CallableAgent(broken), replicate_seed(0, 0, 0), max_reprompts=0)
    assert rec["status"] == ["error:TimeoutError"] * 6 and rec["fallback"] == ["uniform"] * 6
    abort = TextBanditWrapper(BernoulliBanditEnv([0.2, 0.7], 6), fallback="abort_episode")
    rec = run_text_episode(abort, CallableAgent(lambda m: "no idea"), replicate_seed(0, 0, 0))
    assert rec["aborted"] and rec["actions"] == [] and "malformed" in rec["abort_reason"]


def test_resume_skips_finished_replicates(tmp_path):
    played = []

    def play(r):
        played.append(r)
        return {"r": r}

    assert run_replicates(play, 4, workers=2, out_dir=tmp_path) == [{"r": i} for i in range(4)]
    (tmp_path / "replicate_2.json").unlink()
    played.clear()
    assert run_replicates(play, 4, workers=2, out_dir=tmp_path) == [{"r": i} for i in range(4)]
    assert played == [2]


def test_bad_arguments():
    with pytest.raises(ParamError, match="policy"):
        BaselineAgent("ucb2")
    with pytest.raises(ParamError, match="init_order"):
        BaselineAgent("ucb1", init_order="sorted")
    with pytest.raises(ParamError, match="eps"):
        BaselineAgent("eps_greedy", eps=2.0)
    with pytest.raises(ValueError, match="workers"):
        run_replicates(lambda r: {}, 2, workers=0)
