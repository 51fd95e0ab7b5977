"""Tests of the recharging and LSD bandit environments of ``regretlab_envs.lsd_bandits``
(specs/lsd-recharging-bandits.md §2, §3, §10)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import regretlab_envs
from regretlab_envs import lsd_bandits
from regretlab_envs.lsd_bandits import LSDBanditEnv, RechargingBanditEnv, make_lccg22

NEW_IDS = (
    "regretlab/RechargingBandit-v0",
    "regretlab/LSDBandit-v0",
    "regretlab/LCCG22Section4-v0",
    "regretlab/LCCG22Supplementary-v0",
)


def _checked(env_id: str, **kwargs) -> None:
    """check_env on the raw env (as Gymnasium's own test does), every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped
        check_env(env)
        env.close()


def _run(env, actions, seed=0):
    """(states after each step, infos, rewards, flags) of one episode prefix."""
    obs, info0 = env.reset(seed=seed)
    states, infos, rewards, flags = [], [], [], []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        states.append(tuple(int(v) for v in obs))
        infos.append(info)
        rewards.append(reward)
        flags.append((terminated, truncated))
    return info0, states, infos, rewards, flags


def _next_state(kind: str, s: int, played: bool, tau: int) -> int:
    """The transition rules of spec §2 / §3, written out one arm at a time."""
    if kind == "recharging":
        return 1 if played else min(s + 1, tau)
    if played:
        return -1 if s > 0 else max(s - 1, -tau)
    return 1 if s < 0 else min(s + 1, tau)


# ----------------------------------------------------------------------------------- registration, check_env
def test_ids_are_registered_with_string_entry_points():
    for env_id in NEW_IDS:
        assert env_id in regretlab_envs.ENV_IDS and env_id in gym.registry
        entry = gym.registry[env_id].entry_point
        assert isinstance(entry, str) and entry.startswith("regretlab_envs.lsd_bandits:")


def test_registered_defaults_equal_the_module_constants():
    rech = gym.registry["regretlab/RechargingBandit-v0"].kwargs
    lsd = gym.registry["regretlab/LSDBandit-v0"].kwargs
    np.testing.assert_array_equal(rech["p"], lsd_bandits.DEFAULT_RECHARGING_P)
    np.testing.assert_array_equal(lsd["mu"], lsd_bandits.DEFAULT_LSD_MU)
    env = gym.make("regretlab/RechargingBandit-v0").unwrapped
    assert env.payoff.shape == (3, 4) and env.idle_allowed and env.noise == "bernoulli" and env.horizon == 100
    assert env.states.tolist() == [4, 4, 4] and env.action_space == gym.spaces.Discrete(4)
    env = gym.make("regretlab/LSDBandit-v0").unwrapped
    assert env.payoff.shape == (3, 6) and env.tau_max == 3 and not env.idle_allowed and env.horizon == 100
    assert env.states.tolist() == [3, 3, 3] and env.action_space == gym.spaces.Discrete(3)
    assert env.idle_action is None


def test_lazy_class_attributes_of_the_package():
    assert regretlab_envs.RechargingBanditEnv is RechargingBanditEnv
    assert regretlab_envs.LSDBanditEnv is LSDBanditEnv


@pytest.mark.parametrize("env_id", NEW_IDS)
def test_check_env_new_ids(env_id):
    _checked(env_id)


@pytest.mark.parametrize("env_id", NEW_IDS)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"noise": "gaussian", "sigma": 0.3},
        {"noise": "none"},
        {"reward_tape": True},
        {"reward_tape": True, "noise": "gaussian"},
        {"render_mode": "ansi", "horizon": 3},
    ],
)
def test_check_env_new_ids_with_options(env_id, kwargs):
    _checked(env_id, **kwargs)


@pytest.mark.parametrize("idle", [True, False])
def test_check_env_idle_toggled(idle):
    _checked("regretlab/RechargingBandit-v0", idle_allowed=idle)
    _checked("regretlab/LSDBandit-v0", idle_allowed=idle)
    _checked("regretlab/LCCG22Supplementary-v0", idle_allowed=idle)


@pytest.mark.parametrize("draw", range(4))
def test_check_env_random_parameters(draw):
    rng = np.random.default_rng(2000 + draw)
    k, tau = int(rng.integers(1, 5)), int(rng.integers(1, 6))
    horizon = int(rng.integers(1, 30))
    idle = bool(draw % 2)
    d0 = rng.integers(1, tau + 1, k).tolist()
    _checked("regretlab/RechargingBandit-v0", p=rng.random((k, tau)).tolist(), d0=d0, horizon=horizon,
             idle_allowed=idle, reward_tape=not idle)
    s0 = (rng.integers(1, tau + 1, k) * rng.choice([-1, 1], k)).tolist()
    _checked("regretlab/LSDBandit-v0", mu=rng.random((k, 2 * tau)).tolist(), s0=s0, horizon=horizon,
             idle_allowed=idle, noise="gaussian")


# ----------------------------------------------------------------------------------- hand-computed trajectories
P2 = ((0.1, 0.2, 0.3), (0.4, 0.5, 0.6))  # recharging, k = 2, tau_max = 3; column d - 1 = delay d
MU2 = ((0.1, 0.2, 0.3, 0.4), (0.5, 0.6, 0.7, 0.8))  # LSD, k = 2, tau_max = 2; columns s = -2, -1, 1, 2


def test_recharging_trajectory_with_idle():
    env = RechargingBanditEnv(P2, 6, noise="none")
    assert env.action_space == gym.spaces.Discrete(3) and env.idle_action == 2
    info0, states, infos, rewards, flags = _run(env, [0, 0, 2, 1, 0, 1])
    assert info0["states"].tolist() == [3, 3] and info0["means"].tolist() == [0.3, 0.6]
    assert info0["best_mean"] == 0.6 and info0["t"] == 0 and info0["cum_mean_reward"] == 0.0
    # (3,3) -0-> (1,3) -0-> (1,3) -idle-> (2,3) -1-> (3,1) -0-> (1,2) -1-> (2,1)
    assert states == [(1, 3), (1, 3), (2, 3), (3, 1), (1, 2), (2, 1)]
    assert [i["mean_reward"] for i in infos] == [0.3, 0.1, 0.0, 0.6, 0.3, 0.5]
    assert rewards == [0.3, 0.1, 0.0, 0.6, 0.3, 0.5]  # noise "none": reward = mean
    assert [i["round_best_mean"] for i in infos] == [0.6, 0.6, 0.6, 0.6, 0.4, 0.5]
    assert [i["best_mean"] for i in infos] == [0.6, 0.6, 0.6, 0.4, 0.5, 0.4]
    assert [i["arm"] for i in infos] == [0, 0, -1, 1, 0, 1]
    assert [i["action"] for i in infos] == [0, 0, 2, 1, 0, 1]
    assert [i["t"] for i in infos] == [1, 2, 3, 4, 5, 6]
    assert infos[-1]["cum_mean_reward"] == pytest.approx(1.8)
    assert infos[-1]["means"].tolist() == [0.2, 0.4]
    assert flags == [(False, False)] * 5 + [(False, True)]
    assert env.counts.tolist() == [3, 2] and env.cum_mean_reward == pytest.approx(1.8)


def test_recharging_trajectory_without_idle():
    env = RechargingBanditEnv(P2, 4, d0=(1, 2), idle_allowed=False, noise="none")
    assert env.action_space == gym.spaces.Discrete(2) and env.idle_action is None
    _, states, infos, _, _ = _run(env, [1, 1, 0, 1])
    # (1,2) -1-> (2,1) -1-> (3,1) -0-> (1,2) -1-> (2,1)
    assert states == [(2, 1), (3, 1), (1, 2), (2, 1)]
    assert [i["mean_reward"] for i in infos] == [0.5, 0.4, 0.3, 0.5]
    env.reset()
    with pytest.raises(ValueError, match="idling is not allowed"):
        env.step(2)


def test_lsd_trajectory_without_idle():
    env = LSDBanditEnv(MU2, 7, noise="none")
    assert env.action_space == gym.spaces.Discrete(2)
    assert env.observation_space == gym.spaces.Box(-2, 2, (2,), np.int64)
    info0, states, infos, _, flags = _run(env, [0, 0, 0, 1, 0, 1, 1])
    assert info0["states"].tolist() == [2, 2] and info0["means"].tolist() == [0.4, 0.8]
    # (2,2) -0-> (-1,2) -0-> (-2,2) -0-> (-2,2) -1-> (1,-1) -0-> (-1,1) -1-> (1,-1) -1-> (2,-2)
    assert states == [(-1, 2), (-2, 2), (-2, 2), (1, -1), (-1, 1), (1, -1), (2, -2)]
    assert [i["mean_reward"] for i in infos] == [0.4, 0.2, 0.1, 0.8, 0.3, 0.7, 0.6]
    assert [i["round_best_mean"] for i in infos] == [0.8, 0.8, 0.8, 0.8, 0.6, 0.7, 0.6]
    assert flags[-1] == (False, True)


def test_lsd_trajectory_with_idle():
    env = LSDBanditEnv(MU2, 5, s0=(-1, 1), idle_allowed=True, noise="bernoulli")
    assert env.action_space == gym.spaces.Discrete(3) and env.idle_action == 2
    info0, states, infos, rewards, _ = _run(env, [2, 0, 2, 2, 1])
    assert info0["states"].tolist() == [-1, 1] and info0["means"].tolist() == [0.2, 0.7]
    # (-1,1) -idle-> (1,2) -0-> (-1,2) -idle-> (1,2) -idle-> (2,2) -1-> (2,-1)
    assert states == [(1, 2), (-1, 2), (1, 2), (2, 2), (2, -1)]
    assert [i["mean_reward"] for i in infos] == [0.0, 0.3, 0.0, 0.0, 0.8]
    assert rewards[0] == rewards[2] == rewards[3] == 0.0  # idle: reward 0, no draw
    assert all(r in (0.0, 1.0) for r in rewards)
    assert env.counts.tolist() == [1, 1]


@pytest.mark.parametrize("a", range(1, 6))
@pytest.mark.parametrize("b", range(1, 5))
def test_lsd_streak_after_idle_run_earns_the_spec_sequence(a, b):
    """Spec §3: a plays after an idle run of b earn mu(b), mu(-1), ..., mu(-(a-1)) (capped); then -min(a, tau),
    and +1 one idle round later."""
    tau = 3
    mu = np.linspace(0.05, 0.95, 2 * tau)[None, :].repeat(2, axis=0)
    mu[1] = 0.5
    env = LSDBanditEnv(mu, b + a + 1, s0=(-1, 1), noise="none")
    col = {s: (s + tau if s < 0 else s + tau - 1) for s in (*range(-tau, 0), *range(1, tau + 1))}
    _, states, infos, _, _ = _run(env, [1] * b + [0] * a + [1])
    assert states[b - 1][0] == min(b, tau)
    want = [mu[0, col[min(b, tau)]]] + [mu[0, col[-min(j, tau)]] for j in range(1, a)]
    np.testing.assert_allclose([i["mean_reward"] for i in infos[b:b + a]], want)
    assert states[b + a - 1][0] == -min(a, tau) and states[-1][0] == 1


def test_deterministic_bernoulli_tables_pay_their_means():
    p = ((0.0, 1.0), (1.0, 0.0))
    env = RechargingBanditEnv(p, 20, idle_allowed=False)
    rng = np.random.default_rng(5)
    _, _, infos, rewards, _ = _run(env, rng.integers(0, 2, 20).tolist(), seed=11)
    assert rewards == [i["mean_reward"] for i in infos]


# ----------------------------------------------------------------------------------- bad parameters
@pytest.mark.parametrize(
    ("cls", "kwargs", "exc", "match"),
    [
        (RechargingBanditEnv, {"p": (0.1, 0.2)}, ValueError, r"p must be a \(k, tau_max\) table"),
        (RechargingBanditEnv, {"p": ((0.1, 1.2),)}, ValueError, r"p must lie in \[0.0, 1.0\], got p\[0, 1\] = 1.2"),
        (RechargingBanditEnv, {"p": ((0.1, np.nan),)}, ValueError, r"p must lie in \[0.0, 1.0\]"),
        (RechargingBanditEnv, {"p": "abc"}, TypeError, "p must be a"),
        (RechargingBanditEnv, {"p": np.zeros((0, 3))}, ValueError, "got an array of shape"),
        (RechargingBanditEnv, {"horizon": 0}, ValueError, "horizon must be an integer >= 1"),
        (RechargingBanditEnv, {"horizon": 2.5}, TypeError, "horizon must be an integer"),
        (RechargingBanditEnv, {"d0": (0, 1)}, ValueError, r"d0 must be a delay in \[1, 3\].*d0\[0\] = 0"),
        (RechargingBanditEnv, {"d0": (1, 4)}, ValueError, r"d0 must be a delay in \[1, 3\].*d0\[1\] = 4"),
        (RechargingBanditEnv, {"d0": (1, 2, 3)}, ValueError, r"d0 must have shape \(2,\)"),
        (RechargingBanditEnv, {"d0": (1.0, 2.0)}, TypeError, "d0 must be a sequence of 2 integers"),
        (RechargingBanditEnv, {"d0": (True, 2)}, TypeError, "d0 must be a sequence of 2 integers"),
        (RechargingBanditEnv, {"noise": "poisson"}, ValueError, r"noise must be one of \['bernoulli'"),
        (RechargingBanditEnv, {"sigma": 0.0}, ValueError, "sigma must be > 0.0"),
        (RechargingBanditEnv, {"sigma": "1"}, TypeError, "sigma must be a real number"),
        (RechargingBanditEnv, {"idle_allowed": "yes"}, TypeError, "idle_allowed must be True or False"),
        (RechargingBanditEnv, {"reward_tape": 1}, TypeError, "reward_tape must be True or False"),
        (RechargingBanditEnv, {"render_mode": "human"}, ValueError, r"render_mode must be one of \[None, 'ansi'\]"),
        (LSDBanditEnv, {"mu": ((0.1, 0.2, 0.3),)}, ValueError, "an even number of state columns"),
        (LSDBanditEnv, {"mu": ((0.1, -0.2),)}, ValueError, r"mu must lie in \[0.0, 1.0\], got mu\[0, 1\] = -0.2"),
        (LSDBanditEnv, {"s0": (0, 1)}, ValueError, r"s0 must be a non-zero signed state in \[-2, 2\].*s0\[0\] = 0"),
        (LSDBanditEnv, {"s0": (1, -3)}, ValueError, r"s0 must be a non-zero signed state.*s0\[1\] = -3"),
        (LSDBanditEnv, {"s0": (1,)}, ValueError, r"s0 must have shape \(2,\)"),
        (LSDBanditEnv, {"horizon": -1}, ValueError, "horizon must be an integer >= 1"),
        (LSDBanditEnv, {"noise": None}, ValueError, "noise must be one of"),
    ],
)
def test_bad_parameters_name_the_parameter_and_range(cls, kwargs, exc, match):
    base = {"p": P2} if cls is RechargingBanditEnv else {"mu": MU2}
    args = {**base, "horizon": 5, **kwargs}
    with pytest.raises(exc, match=match) as info:
        cls(**args)
    assert str(info.value).startswith(f"{cls.__name__}: ")


@pytest.mark.parametrize(
    ("action", "exc", "match"),
    [
        (1.0, TypeError, r"action must be an integer in \[0, 3\) \(action 2 = idle\)"),
        (True, TypeError, "action must be an integer"),
        (None, TypeError, "action must be an integer"),
        (3, ValueError, r"action must be an integer in \[0, 3\).*got 3"),
        (-1, ValueError, "got -1"),
    ],
)
def test_bad_actions(action, exc, match):
    env = RechargingBanditEnv(P2, 5)
    env.reset(seed=0)
    with pytest.raises(exc, match=match):
        env.step(action)


def test_numpy_integer_actions_are_accepted():
    env = LSDBanditEnv(MU2, 5, noise="none")
    env.reset()
    assert env.step(np.int64(1))[4]["arm"] == 1
    assert env.step(np.array(0))[4]["arm"] == 0


def test_step_before_reset_after_horizon_and_reset_options():
    env = RechargingBanditEnv(P2, 2)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.reset(seed=0)
    env.step(0)
    assert env.step(1)[3] is True
    with pytest.raises(RuntimeError, match="truncated at t = horizon = 2"):
        env.step(0)
    with pytest.raises(ValueError, match="options are not used"):
        env.reset(options={"x": 1})
    env.reset()
    assert env.t == 0 and env.counts.tolist() == [0, 0] and env.states.tolist() == [3, 3]


def test_make_lccg22_rejects_bad_names_and_tables():
    with pytest.raises(ValueError, match=r"make_lccg22: name must be one of \['section4', 'supplementary'\]"):
        make_lccg22("section5")
    with pytest.raises(ValueError, match="p is fixed by preset 'section4'"):
        make_lccg22("section4", p=P2)


# ----------------------------------------------------------------------------------- seeding, tapes
@pytest.mark.parametrize("noise", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("tape", [False, True])
def test_seeded_reset_is_reproducible(noise, tape):
    env = gym.make("regretlab/RechargingBandit-v0", noise=noise, reward_tape=tape, horizon=60)
    actions = np.random.default_rng(3).integers(0, 4, 60).tolist()
    a = _run(env, actions, seed=42)
    b = _run(env, actions, seed=42)
    c = _run(env, actions, seed=43)
    assert a[3] == b[3] and a[1] == b[1]
    assert a[3] != c[3]
    assert a[1] == c[1]  # the states never depend on the noise
    fresh = gym.make("regretlab/RechargingBandit-v0", noise=noise, reward_tape=tape, horizon=60)
    assert _run(fresh, actions, seed=42)[3] == a[3]


def test_noise_tape_gives_common_random_numbers_per_arm_and_play():
    env = LSDBanditEnv(MU2, 30, noise="gaussian", sigma=0.5, reward_tape=True, idle_allowed=True)
    rng = np.random.default_rng(8)
    draws = []
    for acts in (rng.integers(0, 3, 30).tolist(), rng.integers(0, 3, 30).tolist()):
        _, _, infos, rewards, _ = _run(env, acts, seed=4)
        tape = env.reward_tape
        assert tape.shape == (2, 30) and not tape.flags.writeable
        seen = {0: [], 1: []}
        for info, r in zip(infos, rewards):
            if info["arm"] >= 0:
                seen[info["arm"]].append((r - info["mean_reward"]) / 0.5)
        for arm, z in seen.items():
            np.testing.assert_allclose(z, tape[arm, : len(z)], atol=1e-12)
        draws.append(tape.copy())
    np.testing.assert_array_equal(draws[0], draws[1])  # same seed, same tape, whatever the actions
    env = RechargingBanditEnv(P2, 5, noise="none", reward_tape=True)
    env.reset(seed=0)
    assert env.reward_tape is None


def test_bernoulli_tape_rewards_are_thresholded_uniforms():
    env = RechargingBanditEnv(P2, 40, reward_tape=True)
    _, _, infos, rewards, _ = _run(env, [0, 1, 2, 1] * 10, seed=9)
    tape = env.reward_tape
    n = [0, 0]
    for info, r in zip(infos, rewards):
        arm = info["arm"]
        if arm >= 0:
            assert r == (1.0 if tape[arm, n[arm]] < info["mean_reward"] else 0.0)
            n[arm] += 1


# ----------------------------------------------------------------------------------- cross-check with regretlab.lsd
def _cross_check(env, inst, rng, T):
    """Sum of info['mean_reward'] over random actions == regretlab.lsd.score (round by round), and the
    final states agree."""
    from regretlab import lsd

    n = env.action_space.n
    actions = rng.integers(0, n, T)
    _, states, infos, _, _ = _run(env, actions.tolist(), seed=int(rng.integers(10**6)))
    acts = np.where(actions == env.n_arms, -1, actions)
    schedule = lsd.as_masks(inst, acts)
    res = lsd.score(inst, schedule, checkpoints=np.arange(1, T + 1))
    means = np.array([i["mean_reward"] for i in infos])
    assert means.sum() == pytest.approx(float(res.value[0]), abs=1e-9)
    np.testing.assert_allclose(np.cumsum(means), res.mean_cum[0], atol=1e-9)
    assert infos[-1]["cum_mean_reward"] == pytest.approx(float(res.value[0]), abs=1e-9)
    assert list(states[-1]) == [int(v) for v in res.final[0]]
    # every round's states replay the transition rule on the play record
    cur = [int(v) for v in inst.labels(inst.init)]
    for t, a in enumerate(acts):
        cur = [_next_state(inst.kind, s, i == a, inst.tau_max) for i, s in enumerate(cur)]
        assert tuple(cur) == states[t]


@pytest.mark.parametrize("draw", range(8))
def test_recharging_mean_rewards_match_regretlab_score(draw):
    from regretlab import lsd

    rng = np.random.default_rng(300 + draw)
    k, tau, T = int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(1, 80))
    idle = bool(draw % 2)
    p = rng.random((k, tau))
    d0 = rng.integers(1, tau + 1, k)
    env = RechargingBanditEnv(p, T, d0=d0, idle_allowed=idle, noise=("bernoulli", "gaussian", "none")[draw % 3])
    _cross_check(env, lsd.recharging(p, d0=d0, idle_allowed=idle), rng, T)


@pytest.mark.parametrize("draw", range(8))
def test_lsd_mean_rewards_match_regretlab_score(draw):
    from regretlab import lsd

    rng = np.random.default_rng(400 + draw)
    k, tau, T = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 80))
    idle = bool(draw % 2)
    mu = rng.random((k, 2 * tau))
    s0 = rng.integers(1, tau + 1, k) * rng.choice([-1, 1], k)
    env = LSDBanditEnv(mu, T, s0=s0, idle_allowed=idle, noise=("bernoulli", "gaussian", "none")[draw % 3])
    _cross_check(env, lsd.lsd(mu, s0=s0, idle_allowed=idle), rng, T)


def test_default_starts_match_regretlab_defaults():
    from regretlab import lsd

    rng = np.random.default_rng(7)
    p = rng.random((3, 4))
    _cross_check(RechargingBanditEnv(p, 50), lsd.recharging(p), rng, 50)
    mu = rng.random((3, 6))
    _cross_check(LSDBanditEnv(mu, 50), lsd.lsd(mu), rng, 50)


@pytest.mark.parametrize(
    ("env_id", "fn", "k", "tau", "horizon"),
    [
        ("regretlab/LCCG22Section4-v0", "lccg22_section4", 5, 10, 3600),
        ("regretlab/LCCG22Supplementary-v0", "lccg22_supplementary", 2, 11, 3300),
    ],
)
def test_lccg22_presets_equal_regretlab_instances(env_id, fn, k, tau, horizon):
    from regretlab import lsd

    inst = getattr(lsd, fn)()
    env = gym.make(env_id).unwrapped
    assert env.payoff.shape == (k, tau) and env.tau_max == tau and env.horizon == horizon
    np.testing.assert_array_equal(env.payoff, inst.payoff)
    np.testing.assert_array_equal(env.states, inst.init + 1)  # every arm at delay 1
    assert env.states.tolist() == [1] * k
    assert not env.idle_allowed and not inst.idle_allowed and env.noise == "bernoulli"
    assert env.action_space == gym.spaces.Discrete(k)
    table = getattr(lsd_bandits, f"{fn}_payoffs")()
    np.testing.assert_array_equal(table, inst.payoff)
    _cross_check(gym.make(env_id, horizon=200).unwrapped, inst, np.random.default_rng(1), 200)
    idle_env = gym.make(env_id, idle_allowed=True, horizon=100).unwrapped
    _cross_check(idle_env, getattr(lsd, fn)(idle_allowed=True), np.random.default_rng(2), 100)


def test_lccg22_tables_by_hand():
    s4 = lsd_bandits.lccg22_section4_payoffs()
    assert np.all(s4[[0, 3, 4]] == 0.15)
    assert s4[1].tolist() == [0.0, 0.0, 0.95] + [0.0] * 7
    assert s4[2].tolist() == [0.14] * 5 + [0.16, 0.14, 0.14, 0.96, 0.96]
    sup = lsd_bandits.lccg22_supplementary_payoffs()
    assert sup[0].tolist() == [0.05] * 11 and sup[1].tolist() == [0.06] + [0.95] * 10


# ----------------------------------------------------------------------------------- rendering, hygiene
def test_ansi_render_shows_states_not_payoffs():
    env = gym.make("regretlab/LSDBandit-v0", render_mode="ansi", horizon=5).unwrapped
    assert "not reset yet" in env.render()
    env.reset(seed=0)
    env.step(2)
    text = env.render()
    assert "t = 1/5" in text and "no idling" in text and "last: arm 2" in text
    assert "  2     -1      1" in text and "0.95" not in text
    env = RechargingBanditEnv(P2, 3, render_mode="ansi")
    env.reset(seed=0)
    env.step(2)
    assert "last: idle, reward 0.000" in env.render() and "delay" in env.render()


def test_render_without_mode_warns_and_returns_none():
    env = RechargingBanditEnv(P2, 3)
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="no render_mode"):
        assert env.render() is None


def test_info_arrays_are_fresh_copies():
    env = RechargingBanditEnv(P2, 3, noise="none")
    obs, info = env.reset(seed=0)
    info["states"][0] = 99
    info["means"][0] = 9.0
    obs[1] = 77
    assert env.states.tolist() == [3, 3] and env.current_means.tolist() == [0.3, 0.6]
    with pytest.raises(ValueError):
        env.payoff[0, 0] = 1.0


def test_module_imports_neither_regretlab_nor_numba_nor_torch():
    code = (
        "import sys, gymnasium as gym, regretlab_envs\n"
        "from regretlab_envs import lsd_bandits\n"
        f"for i in {NEW_IDS!r}:\n"
        "    e = gym.make(i, render_mode='ansi'); e.reset(seed=0); e.step(0); e.unwrapped.render()\n"
        "bad = sorted(m for m in ('regretlab', 'numba', 'torch') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
