"""TextBanditWrapper (specs/llm-bandit-envs.md §3, §4, §9): spaces, rendering, fallbacks, determinism."""
from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from regretlab_envs.bandits import BernoulliBanditEnv, GaussianBanditEnv
from regretlab_envs.parsing import render_choice, render_distribution
from regretlab_envs.text import ANSWERS, COTS, FRAMINGS, HISTORIES, NAMES, SCENARIOS, TextBanditWrapper


def _env(**kw):
    return TextBanditWrapper(BernoulliBanditEnv([0.2, 0.8, 0.5], 12), **kw)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("history", HISTORIES)
def test_check_env_and_prompts_in_space(scenario, history):
    for base in (BernoulliBanditEnv([0.2, 0.8, 0.5], 12), GaussianBanditEnv([0.0, 1.0], 1.0, 12)):
        env = TextBanditWrapper(base, scenario=scenario, history=history, window=4)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env, skip_render_check=True)
        obs, info = env.reset(seed=1)
        done = False
        while not done:
            assert env.observation_space.contains(obs)
            assert all(ch in env.observation_space.character_set for ch in info["messages"][0]["content"])
            obs, _, done, _, info = env.step(render_choice(int(np.argmax(base.means)), env.names))
            assert info["parse"]["status"] == "ok" and info["parse"]["fallback"] is None
        assert info["cum_regret"] == 0.0


def test_name_pools_ascii_unique_and_no_substrings():
    for scenario, pool in NAMES.items():
        assert len(set(pool)) == len(pool) and all(n.isascii() for n in pool)
        if scenario in ("buttons", "clothes"):
            assert not [(a, b) for a in pool for b in pool if a != b and a in b]


def test_golden_prompt_summary_and_raw():
    env = _env(history="summary", framing="suggestive", cot="reinforced")
    env.reset(seed=3)
    names = env.names
    env.step(f"<Answer>{names[0]}</Answer>")
    env.step(f"<Answer>{names[0]}</Answer>")
    user = env.user_prompt()
    lines = user.split("\n")
    assert lines[0] == "Summary of the 2 rounds played so far:"
    assert lines[2] == f"{names[1]}: not pressed yet"
    n0 = env.env.unwrapped.reward_sums[env._hist[0][0]]
    assert lines[1] == f"{names[0]}: pressed 2 times, average reward {n0 / 2:.2f}"
    assert user.endswith("Which button do you press now (round 3 of 12)?\n\nThink step by step before you answer, "
                         "then give your final answer inside the answer tags.")
    system = env.system_prompt()
    assert system.startswith(f"You are in a room with 3 buttons: {', '.join(names)}.")
    assert "balances trying buttons" in system and "12 choices" in system
    assert env.config_code(0) == "BSSeC0"
    raw = _env(history="raw", scenario="ads", answer="distribution")
    raw.reset(seed=3)
    _, y, *_ = raw.step(render_distribution([1, 0, 0], raw.names))
    assert raw.user_prompt().split("\n")[:2] == ["History of past rounds:", f"Round 1: {raw.names[0]} shown, "
                                                  f"reward {int(y)}"]
    assert raw.config_code() == "ANRND"


def _streams(seed):
    """The streams of the module docstring, rebuilt by hand: SeedSequence(seed).spawn(3) -> the inner env's seed,
    the presentation (name permutation), the agent side (fallback arms)."""
    env_ss, pres_ss, agent_ss = np.random.SeedSequence(seed).spawn(3)
    return (int(env_ss.generate_state(1, dtype=np.uint32)[0]), np.random.default_rng(pres_ss),
            np.random.default_rng(agent_ss))


def test_same_seed_same_episode_names_permuted_by_seed():
    def play(seed):
        env = _env(history="raw")
        _, info = env.reset(seed=seed)
        names, actions, rewards = info["names"], [], []
        for t in range(12):
            _, r, _, _, info = env.step("nonsense" if t % 3 == 0 else env.names[t % 3])
            actions.append(info["action"])
            rewards.append(r)
        return names, actions, rewards

    def expected(seed):
        # names permuted by the presentation stream, a uniform fallback arm from the agent stream for every
        # "nonsense", the rewards of a bare BernoulliBanditEnv reset with the env stream's seed
        env_seed, pres, agent = _streams(seed)
        names = tuple(NAMES["buttons"][i] for i in pres.permutation(3))
        actions = [int(agent.integers(3)) if t % 3 == 0 else t % 3 for t in range(12)]
        base = BernoulliBanditEnv([0.2, 0.8, 0.5], 12)
        base.reset(seed=env_seed)
        return names, actions, [float(base.step(a)[1]) for a in actions]

    assert play(5) == expected(5)
    assert play(6) == expected(6) and play(6) != play(5)
    perms = {_env().reset(seed=s)[1]["names"] for s in range(30)}
    assert len(perms) == 6  # every permutation of 3 names appears


def test_fallback_rules():
    env = _env(fallback="uniform")
    env.reset(seed=0)
    counts = np.zeros(3)
    for _ in range(12):
        _, _, _, _, info = env.step("I do not know")
        assert info["parse"]["status"] == "invalid" and info["parse"]["fallback"] == "uniform"
        counts[info["action"]] += 1
    # the uniform fallback arm is the agent stream's integers(K), one draw per malformed round
    agent = _streams(0)[2]
    np.testing.assert_array_equal(counts, np.bincount([agent.integers(3) for _ in range(12)], minlength=3))
    env = _env(fallback="previous")
    env.reset(seed=0)
    first = env.step("???")[4]
    assert first["parse"]["fallback"] == "uniform"
    good = env.step(env.names[2])[4]
    again = env.step("")[4]
    assert again["parse"]["fallback"] == "previous" and again["action"] == good["action"]
    env = _env(fallback="abort_episode")
    env.reset(seed=0)
    _, r, term, _, info = env.step("red and blue")
    assert term and r == 0.0 and info["aborted"] and env.env.unwrapped.t == 0
    with pytest.raises(RuntimeError, match="reset"):
        env.step("x")


def test_distribution_answers_sampled_and_expected_regret():
    env = _env(answer="distribution")
    env.reset(seed=2)
    means = env.env.unwrapped.means
    best = int(np.argmax(means))
    p = np.zeros(3)
    p[best] = 0.5
    p[(best + 1) % 3] = 0.5
    _, _, _, _, info = env.step(render_distribution(p, env.names))
    assert info["expected_inst_regret"] == pytest.approx(means.max() - p @ means)
    assert info["action"] in (best, (best + 1) % 3)


def test_registered_factory_and_bad_options():
    env = gym.make("regretlab/TextBandit-v0", base_id="regretlab/BanditBenchBernoulliHardK20-v0",
                   scenario="clothes", history="summary_guided")
    obs, info = env.reset(seed=0)
    assert "exploration bonus inf" in obs and len(info["names"]) == 20
    env.step(info["names"][0])
    env.step(info["names"][0])
    lines = env.unwrapped.user_prompt().split("\n")
    # chosen twice in 2 rounds: bonus sqrt(alpha ln(n) / n_a) = sqrt(0.5 ln(2) / 2) = 0.416; 19 arms never chosen
    assert lines[1].startswith(f"{info['names'][0]}: ") and lines[1].endswith("exploration bonus 0.42")
    assert sum(line.endswith("exploration bonus inf") for line in lines) == 19
    for key, bad in (("scenario", "casino"), ("framing", "loud"), ("history", "all"), ("answer", "free"),
                     ("cot", "yes"), ("fallback", "best")):
        with pytest.raises(ValueError, match=key):
            _env(**{key: bad})
    with pytest.raises(ValueError, match="K must be"):
        TextBanditWrapper(BernoulliBanditEnv([0.5] * 27, 5), scenario="ads")
    # the option values of the module docstring, each accepted
    assert ANSWERS == ("single", "distribution") and COTS == ("none", "cot", "reinforced")
    assert FRAMINGS == ("neutral", "suggestive")
    for key, values in (("answer", ANSWERS), ("cot", COTS), ("framing", FRAMINGS)):
        assert [getattr(_env(**{key: v}), key) for v in values] == list(values)
