"""Self-play in repeated games with the equilibrium measures of specs/llm-bandit-envs.md §6.7."""
from __future__ import annotations

import math

import numpy as np
import pytest

from regretlab.llm_bandits.metrics import cce_gap, external_regret, nash_gap
from regretlab_envs.games import play_repeated_game


def hedge(T):
    def act(state):
        n = state["cum_payoffs"].size
        w = math.sqrt(8 * math.log(n) / T) * (state["cum_payoffs"] - state["cum_payoffs"].max())
        return np.exp(w) / np.exp(w).sum()
    return act


@pytest.mark.parametrize("game", ["rock_paper_scissors", "matching_pennies", "random"])
def test_hedge_self_play_cce_gap_vanishes(game):
    T = 3000
    out = play_repeated_game((hedge(T), hedge(T)), game, T, seed=4, random_size=4)
    r1, r2 = external_regret(out["U1"], out["U2"], out["row_actions"], out["col_actions"])
    # realised-payoff regret of Hedge: <= sqrt(T ln n / 2) + a martingale term (sampling), a few sqrt(T)
    assert max(r1, r2) <= 3 * math.sqrt(T)
    assert cce_gap(out["U1"], out["U2"], out["row_actions"], out["col_actions"]) < 0.06
    if game != "random":  # zero-sum with a unique mixed equilibrium: the time averages approach it
        p, q = out["row_pi"].mean(axis=0), out["col_pi"].mean(axis=0)
        assert nash_gap(out["U1"], out["U2"], p, q) < 0.1


def test_constant_player_is_exploited_and_fallbacks_counted():
    T = 500
    always_rock = lambda state: [1.0, 0.0, 0.0]  # noqa: E731
    out = play_repeated_game((always_rock, hedge(T)), "rock_paper_scissors", T, seed=0)
    assert np.mean(out["col_actions"][T // 2:] == 1) > 0.95  # paper beats rock
    broken = lambda state: [np.nan] * 3  # noqa: E731
    out = play_repeated_game((broken, hedge(T)), "rock_paper_scissors", 20, seed=0)
    assert out["fallbacks"] == (20, 0) and np.allclose(out["row_pi"], 1 / 3)
    a = play_repeated_game((hedge(50), hedge(50)), "chicken", 50, seed=7)
    b = play_repeated_game((hedge(50), hedge(50)), "chicken", 50, seed=7)
    c = play_repeated_game((hedge(50), hedge(50)), "chicken", 50, seed=8)
    assert np.array_equal(a["row_actions"], b["row_actions"])
    assert not np.array_equal(a["row_actions"], c["row_actions"])  # the seed draws the actions
    with pytest.raises(ValueError, match="agents"):
        play_repeated_game((hedge(5),), "chicken", 5)
