"""Tests of the stochastic bandit environments of ``regretlab_envs`` (specs/llm-bandit-envs.md §1, §2.1, §9, §10)."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import regretlab_envs
from regretlab_envs import presets
from regretlab_envs.bandits import BernoulliBanditEnv, GaussianBanditEnv

REGRETLAB_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("regretlab/"))


def _checked(env_id: str, **kwargs) -> None:
    """check_env on the raw env (as Gymnasium's own test does), every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped
        check_env(env)
        env.close()


def _play(env, actions, seed):
    env.reset(seed=seed)
    out = []
    for a in actions:
        _, reward, terminated, truncated, info = env.step(a)
        out.append((reward, terminated, truncated, info))
    return out


# ----------------------------------------------------------------------------------- registration, check_env
def test_expected_ids_are_registered():
    for env_id in (
        "regretlab/BernoulliBandit-v0",
        "regretlab/GaussianBandit-v0",
        "regretlab/K24Hard-v0",
        "regretlab/K24Easy-v0",
        "regretlab/BanditBenchBernoulliHardK20-v0",
        "regretlab/BanditBenchGaussianEasyK5-v0",
    ):
        assert env_id in regretlab_envs.ENV_IDS
        assert env_id in gym.registry
        assert isinstance(gym.registry[env_id].entry_point, str)  # string entry points (STYLE §3.6)
        assert gym.registry[env_id].entry_point.startswith("regretlab_envs.")


@pytest.mark.parametrize("env_id", REGRETLAB_IDS)
def test_check_env_every_registered_id(env_id):
    _checked(env_id)


@pytest.mark.parametrize("draw", range(6))
def test_check_env_random_parameters(draw):
    rng = np.random.default_rng(1000 + draw)
    k = int(rng.integers(2, 9))
    horizon = int(rng.integers(1, 40))
    tape = bool(draw % 2)
    _checked("regretlab/BernoulliBandit-v0", means=rng.random(k).tolist(), horizon=horizon, reward_tape=tape)
    _checked(
        "regretlab/GaussianBandit-v0",
        means=(5 * rng.standard_normal(k)).tolist(),
        sigma=float(rng.uniform(0.1, 4.0)),
        horizon=horizon,
        reward_tape=tape,
    )
    _checked("regretlab/K24Hard-v0", instance_seed=int(rng.integers(10**6)), horizon=horizon)
    _checked("regretlab/BanditBenchGaussianHardK20-v0", instance_seed=int(rng.integers(10**6)), reward_tape=tape)


def test_registration_is_idempotent_on_reimport():
    before = {env_id: gym.registry[env_id] for env_id in regretlab_envs.ENV_IDS}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # gymnasium warns "Overriding environment ..." on a second register
        importlib.reload(regretlab_envs)
    assert all(gym.registry[env_id] is spec for env_id, spec in before.items())


def test_make_with_custom_means_after_import():
    env = gym.make("regretlab/BernoulliBandit-v0", means=[0.1, 0.9, 0.3, 0.9], horizon=7)
    obs, info = env.reset(seed=0)
    assert env.action_space == gym.spaces.Discrete(4)
    np.testing.assert_array_equal(env.unwrapped.means, [0.1, 0.9, 0.3, 0.9])
    assert env.unwrapped.horizon == 7
    assert info["best_arm"] == 1 and info["best_arms"] == (1, 3)
    assert obs["t"] == 0 and obs["counts"].tolist() == [0, 0, 0, 0]
    for _ in range(7):
        obs, _, terminated, truncated, info = env.step(2)
    assert terminated and not truncated and obs["counts"].tolist() == [0, 0, 7, 0]
    assert info["cum_regret"] == pytest.approx(7 * 0.6)


def test_make_through_module_prefix():
    env = gym.make("regretlab_envs:regretlab/K24Easy-v0")
    assert env.unwrapped.means.tolist() == [0.75, 0.25, 0.25, 0.25]


def test_package_imports_neither_regretlab_nor_numba_nor_torch():
    code = (
        "import sys, gymnasium as gym, regretlab_envs\n"
        "from regretlab_envs import presets, text, parsing, runner, openai_agent, online, games, text_online\n"
        "for i in regretlab_envs.ENV_IDS:\n"
        "    e = gym.make(i); e.reset(seed=0); e.step(0)\n"
        "bad = sorted(m for m in ('regretlab', 'numba', 'torch') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ----------------------------------------------------------------------------------- determinism and tapes
@pytest.mark.parametrize("tape", [False, True])
@pytest.mark.parametrize("family", ["bernoulli", "gaussian"])
def test_same_seed_same_episode_other_seed_differs(family, tape):
    def make():
        if family == "bernoulli":
            return BernoulliBanditEnv([0.3, 0.5, 0.8], 60, reward_tape=tape)
        return GaussianBanditEnv([0.0, 1.0, -1.0], 2.0, 60, reward_tape=tape)

    actions = np.random.default_rng(5).integers(0, 3, 60).tolist()
    first = [r for r, *_ in _play(make(), actions, seed=42)]
    again = [r for r, *_ in _play(make(), actions, seed=42)]
    other = [r for r, *_ in _play(make(), actions, seed=43)]
    assert first == again
    assert first != other
    # reset(seed=s) on a used env replays the episode exactly
    env = make()
    _play(env, actions, seed=7)
    assert [r for r, *_ in _play(env, actions, seed=42)] == first


@pytest.mark.parametrize("cls_args", [(BernoulliBanditEnv, ([0.2, 0.6, 0.9], 50)),
                                      (GaussianBanditEnv, ([0.0, 1.0, 2.0], 1.5, 50))])
def test_reward_tape_gives_common_random_numbers(cls_args):
    cls, args = cls_args
    env_a, env_b = cls(*args, reward_tape=True), cls(*args, reward_tape=True)
    acts_a = np.random.default_rng(1).integers(0, 3, 50)
    acts_b = np.random.default_rng(2).integers(0, 3, 50)
    assert not np.array_equal(acts_a, acts_b)
    got = []
    for env, acts in ((env_a, acts_a), (env_b, acts_b)):
        env.reset(seed=11)
        tape = env.reward_tape.copy()
        assert tape.shape == (3, 50)
        pulls = {a: [] for a in range(3)}
        for a in acts.tolist():
            _, reward, *_ = env.step(a)
            pulls[a].append(reward)
        for a, rs in pulls.items():  # the n-th pull of arm a returns tape[a, n]
            np.testing.assert_array_equal(rs, tape[a, : len(rs)])
        got.append(tape)
    np.testing.assert_array_equal(got[0], got[1])  # same seed -> same tape, whatever the actions
    assert BernoulliBanditEnv([0.5, 0.5], 3).reward_tape is None


# ----------------------------------------------------------------------------------- reward distributions
@pytest.mark.parametrize("tape", [False, True])
def test_bernoulli_frequencies_match_means(tape):
    means = [0.0, 0.05, 0.3, 0.5, 0.92, 1.0]
    n = 4000
    env = BernoulliBanditEnv(means, n * len(means), reward_tape=tape)
    env.reset(seed=2024)
    sums = np.zeros(len(means))
    for a in range(len(means)):
        for _ in range(n):
            _, reward, *_ = env.step(a)
            assert reward in (0.0, 1.0)
            sums[a] += reward
    freq = sums / n
    for p, f in zip(means, freq):
        tol = 5 * math.sqrt(p * (1 - p) / n)  # 5 binomial standard deviations (seeded, so deterministic)
        assert abs(f - p) <= tol, (p, f, tol)
    assert freq[0] == 0.0 and freq[-1] == 1.0


@pytest.mark.parametrize("tape", [False, True])
def test_gaussian_rewards_match_means_and_sigma(tape):
    means, sigma, n = [-3.0, 0.0, 2.5], 2.0, 4000
    env = GaussianBanditEnv(means, sigma, n * 3, reward_tape=tape)
    env.reset(seed=99)
    for a, mu in enumerate(means):
        rs = np.array([env.step(a)[1] for _ in range(n)])
        assert abs(rs.mean() - mu) <= 5 * sigma / math.sqrt(n)
        assert abs(rs.std(ddof=1) - sigma) <= 5 * sigma / math.sqrt(2 * (n - 1))


# ----------------------------------------------------------------------------------- regret, info, termination
@settings(max_examples=40, deadline=None)
@given(
    means=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=6),
    data=st.data(),
)
def test_cum_regret_is_sum_of_gaps(means, data):
    k = len(means)
    actions = data.draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=30))
    env = BernoulliBanditEnv(means, len(actions))
    steps = _play(env, actions, seed=0)
    mu = np.array(means)
    gaps = mu.max() - mu
    for s, (a, (reward, _, _, info)) in enumerate(zip(actions, steps), start=1):
        assert info["t"] == s and info["action"] == a and info["reward"] == reward
        assert info["inst_regret"] == gaps[a]
        assert info["cum_regret"] == pytest.approx(sum(gaps[b] for b in actions[:s]), abs=1e-12)
        assert info["best_arms"] == tuple(np.flatnonzero(mu == mu.max()).tolist())
        assert info["best_arm"] == int(np.argmax(mu))
        np.testing.assert_array_equal(info["means"], mu)
    counts = np.bincount(actions, minlength=k)
    # spec §10 identity: pseudo-regret = sum_a N_a(T) (mu* - mu_a)
    assert env.cum_regret == pytest.approx(float(counts @ gaps), abs=1e-12)
    np.testing.assert_array_equal(env.counts, counts)


def test_info_keys_and_unwrapped_ground_truth():
    env = gym.make("regretlab/GaussianBandit-v0", means=[0.5, 2.0, -1.0], sigma=0.5, horizon=5)
    _, info = env.reset(seed=3)
    assert set(info) == {"t", "means", "best_arm", "best_arms", "cum_regret"}
    assert info["t"] == 0 and info["cum_regret"] == 0.0 and info["best_arm"] == 1
    _, reward, _, _, info = env.step(0)
    assert set(info) == {"t", "action", "means", "best_arm", "best_arms", "inst_regret", "cum_regret", "reward"}
    assert info["inst_regret"] == pytest.approx(1.5) and info["reward"] == reward
    raw = env.unwrapped
    assert raw.best_arm == 1 and raw.best_arms == (1,) and raw.cum_regret == pytest.approx(1.5)
    np.testing.assert_array_equal(raw.gaps, [1.5, 0.0, 3.0])
    with pytest.raises(ValueError):
        raw.means[0] = 9.0  # ground truth is read-only


@pytest.mark.parametrize("horizon", [1, 2, 17])
@pytest.mark.parametrize("family", ["bernoulli", "gaussian"])
def test_episode_terminates_exactly_at_horizon(family, horizon):
    env = (BernoulliBanditEnv([0.2, 0.7], horizon) if family == "bernoulli"
           else GaussianBanditEnv([0.2, 0.7], 3.0, horizon))
    obs, _ = env.reset(seed=1)
    assert obs in env.observation_space
    sums = np.zeros(2)
    for t in range(1, horizon + 1):
        a = t % 2
        obs, reward, terminated, truncated, info = env.step(a)
        sums[a] += reward
        assert obs in env.observation_space
        assert int(obs["t"]) == t == info["t"]
        assert terminated is (t == horizon) and truncated is False
    np.testing.assert_allclose(obs["reward_sums"], sums)
    # a = t % 2 for t = 1..horizon: arm 1 on the odd rounds, arm 0 on the even ones
    np.testing.assert_array_equal(obs["counts"], [horizon // 2, horizon - horizon // 2])
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=1)
    env.step(0)  # a new episode starts after reset


def test_step_before_reset_and_bad_actions():
    env = BernoulliBanditEnv([0.2, 0.7, 0.5], 10)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    env.step(np.int64(2))
    env.step(np.array(1))
    with pytest.raises(ValueError, match=r"action .*\[0, 3\).*got 3"):
        env.step(3)
    with pytest.raises(ValueError, match="got -1"):
        env.step(-1)
    for bad in (1.0, True, "1", None, [1]):
        with pytest.raises(TypeError, match="action"):
            env.step(bad)
    with pytest.raises(ValueError, match="options"):
        env.reset(seed=0, options={"means": [0.1, 0.2]})


# ----------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "build, exc, pattern",
    [
        (lambda: BernoulliBanditEnv([0.2, 1.5], 10), ValueError, r"means must lie in \[0.0, 1.0\], got means\[1\] = 1.5"),
        (lambda: BernoulliBanditEnv([-0.1, 0.5], 10), ValueError, r"means.*got means\[0\] = -0.1"),
        (lambda: BernoulliBanditEnv([0.5], 10), ValueError, r"means must have at least 2 entries, got 1"),
        (lambda: BernoulliBanditEnv([0.5, float("nan")], 10), ValueError, r"means must be finite.*nan"),
        (lambda: BernoulliBanditEnv([[0.5, 0.5]], 10), ValueError, r"means must be 1-D"),
        (lambda: BernoulliBanditEnv("ab", 10), TypeError, r"means"),
        (lambda: BernoulliBanditEnv([0.5, 0.5], 0), ValueError, r"horizon must be an integer >= 1, got 0"),
        (lambda: BernoulliBanditEnv([0.5, 0.5], 2.5), TypeError, r"horizon must be an integer, got 2.5"),
        (lambda: BernoulliBanditEnv([0.5, 0.5], True), TypeError, r"horizon must be an integer, got True"),
        (lambda: BernoulliBanditEnv([0.5, 0.5], 3, render_mode="human"), ValueError, r"render_mode.*'human'"),
        (lambda: BernoulliBanditEnv([0.5, 0.5], 3, reward_tape="yes"), TypeError, r"reward_tape.*'yes'"),
        (lambda: GaussianBanditEnv([0.0, 1.0], 0.0, 10), ValueError, r"sigma must be > 0.0, got 0.0"),
        (lambda: GaussianBanditEnv([0.0, 1.0], -2, 10), ValueError, r"sigma must be > 0.0, got -2"),
        (lambda: GaussianBanditEnv([0.0, 1.0], float("inf"), 10), ValueError, r"sigma must be finite, got inf"),
        (lambda: GaussianBanditEnv([0.0, 1.0], "1", 10), TypeError, r"sigma must be a real number"),
        (lambda: GaussianBanditEnv([0.0], 1.0, 10), ValueError, r"means must have at least 2 entries"),
        (lambda: GaussianBanditEnv([0.0, 1.0], 1.0, -3), ValueError, r"horizon must be an integer >= 1, got -3"),
        (lambda: gym.make("regretlab/BernoulliBandit-v0", means=[0.5, 2.0]), ValueError, r"BernoulliBanditEnv: means"),
        (lambda: gym.make("regretlab/K24Hard-v0", means=[0.5, 0.6]), ValueError, r"means is fixed by preset"),
        (lambda: gym.make("regretlab/K24Hard-v0", horizon=0), ValueError, r"horizon must be an integer >= 1"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(build, exc, pattern):
    with pytest.raises(exc, match=pattern):
        build()


# ----------------------------------------------------------------------------------- presets, rendering
def test_presets_match_spec_table():
    assert presets.k24_hard() == (0.6, 0.4, 0.4, 0.4, 0.4)
    assert presets.k24_easy() == (0.75, 0.25, 0.25, 0.25)
    assert presets.bb_bernoulli(20, "hard").count(0.4) == 19
    assert presets.bb_bernoulli(5, "easy") == (0.75, 0.25, 0.25, 0.25, 0.25)
    positions = {presets.k24_hard(seed).index(0.6) for seed in range(200)}
    assert positions == set(range(5))  # a seed places the best arm anywhere
    best = int(np.random.default_rng(3).integers(5))  # the docstring's draw of the best arm's index
    assert presets.k24_hard(3) == tuple(0.6 if i == best else 0.4 for i in range(5))
    g_easy, g_hard = presets.bb_gaussian(20, "easy", 7), presets.bb_gaussian(20, "hard", 7)
    np.testing.assert_allclose(np.array(g_hard), 3 * np.array(g_easy))  # same draw, sigma 3 vs 1
    assert presets.bb_gaussian(5, "easy", 1) != presets.bb_gaussian(5, "easy", 2)
    assert all(0 <= m < 1 for m in presets.c25_bernoulli(4, k=8)) and len(presets.c25_bernoulli(4, k=8)) == 8
    assert len(presets.c25_gaussian(4)) == 5
    for name, horizon, k in (("K24Hard", 100, 5), ("BanditBenchBernoulliEasyK20", 300, 20),
                             ("BanditBenchGaussianHardK5", 1000, 5)):
        env = gym.make(f"regretlab/{name}-v0").unwrapped
        assert env.horizon == horizon and env.n_arms == k
    gauss = gym.make("regretlab/BanditBenchGaussianHardK5-v0", instance_seed=7).unwrapped
    assert gauss.sigma == 3.0 and tuple(gauss.means) == presets.bb_gaussian(5, "hard", 7)
    with pytest.raises(ValueError, match="difficulty"):
        presets.bb_bernoulli(5, "medium")
    with pytest.raises(ValueError, match=r"k must be one of \[5, 20\], got 7"):
        presets.bb_gaussian(7, "easy", 0)
    with pytest.raises(ValueError, match="delta must be in"):
        presets.gap_means(3, 1.5)


def test_ansi_render():
    env = gym.make("regretlab/BernoulliBandit-v0", means=[0.25, 0.75], horizon=4, render_mode="ansi")
    env.reset(seed=0)
    env.step(1)
    text = env.render()
    assert isinstance(text, str) and "t = 1/4" in text and "last: arm 1" in text
    assert "0.75" not in text  # the true means are not rendered
    quiet = BernoulliBanditEnv([0.25, 0.75], 4)
    quiet.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert quiet.render() is None
