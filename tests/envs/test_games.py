"""RepeatedGameEnv (specs/llm-bandit-envs.md §2.4, §6.7)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from regretlab_envs.games import GAMES, OPPONENTS, RepeatedGameEnv, game_matrices


def _hedge(cum, T, n):
    w = np.exp(math.sqrt(8 * math.log(n) / T) * (cum - cum.max()))
    return w / w.sum()


@pytest.mark.parametrize("game", [*GAMES, "random"])
@pytest.mark.parametrize("opponent", OPPONENTS)
def test_check_env_payoffs_in_unit_interval(game, opponent):
    env = RepeatedGameEnv(game, 15, opponent)
    assert 0 <= env.U1.min() and env.U1.max() <= 1 and 0 <= env.U2.min() and env.U2.max() <= 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)


@pytest.mark.parametrize("feedback", ["realized", "expected"])
def test_regret_in_info_and_hedge_bound(feedback):
    T = 300
    env = RepeatedGameEnv("rock_paper_scissors", T, "fictitious_play", feedback=feedback)
    obs, _ = env.reset(seed=1)
    vs, pis, done = [], [], False
    while not done:
        pi = _hedge(obs["cum_payoffs"], T, 3)
        obs, r, done, _, info = env.step(pi)
        vs.append(info["payoff_vector"])
        pis.append(pi)
        i, j = info["actions"]
        assert r == env.U1[i, j]
    vs, pis = np.array(vs), np.array(pis)
    assert info["regret"] == pytest.approx(vs.sum(axis=0).max() - (vs * pis).sum())
    assert info["regret"] <= math.sqrt(T * math.log(3) / 2) + 1e-9  # Hedge on payoffs in [0, 1]


def test_hedge_vs_hedge_dynamics():
    T = 2000
    env = RepeatedGameEnv("prisoners_dilemma", T, "hedge")
    obs, _ = env.reset(seed=0)
    done = False
    while not done:
        obs, _, done, _, info = env.step(_hedge(obs["cum_payoffs"], T, 2))
    assert info["pi"][1] > 0.99 and info["q"][1] > 0.99  # both learn to defect (dominant)
    env = RepeatedGameEnv("matching_pennies", T, "hedge", feedback="expected")
    obs, _ = env.reset(seed=0)
    done, pis = False, []
    while not done:
        obs, _, done, _, info = env.step(_hedge(obs["cum_payoffs"], T, 2))
        pis.append(info["pi"])
    assert abs(np.mean(pis, axis=0)[0] - 0.5) < 0.1  # time average near the mixed equilibrium


def test_fixed_opponent_fallback_and_bad_input():
    env = RepeatedGameEnv("coordination", 400, "fixed", opponent_strategy=[3, 1])
    env.reset(seed=0)
    js = []
    for _ in range(400):
        _, _, _, _, info = env.step([np.nan, 1.0])
        assert info["fallback"] and np.allclose(info["pi"], 0.5) and np.allclose(info["q"], [0.75, 0.25])
        js.append(info["actions"][1])
    assert abs(np.mean(js) - 0.25) < 0.07
    with pytest.raises(ValueError, match="game"):
        RepeatedGameEnv("poker")
    with pytest.raises(ValueError, match="opponent"):
        RepeatedGameEnv(opponent="random")
    with pytest.raises(ValueError, match="opponent_strategy"):
        RepeatedGameEnv(opponent="fixed", opponent_strategy=[0, 0])
    U1, U2 = game_matrices("random", 5, 3)
    assert U1.shape == U2.shape == (5, 5) and not np.array_equal(U1, U2)
    # payoffs in [0, 1] (cum_payoffs lives in Box(0, T)); the seed draws the game
    assert U1.min() >= 0 and max(U1.max(), U2.max()) <= 1 and U2.min() >= 0
    assert not np.array_equal(U1, game_matrices("random", 5, 4)[0])
