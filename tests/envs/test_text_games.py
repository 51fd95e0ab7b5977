"""Repeated games through text: the column seat, the games' own action names, and two text agents playing each
other (specs/llm-bandit-envs.md §2.4, §3; [P25]'s LLM-vs-LLM games)."""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from regretlab.llm_bandits.metrics import cce_gap, external_regret
from regretlab_envs.games import ACTION_NAMES, GAMES, RepeatedGameEnv, play_repeated_game
from regretlab_envs.parsing import render_choice, render_distribution
from regretlab_envs.text_online import TextGameSeat, TextOnlineWrapper, play_text_game

_TOTAL = re.compile(r"^(.+?): total payoff (-?[0-9.]+), average", re.M)


def _totals(messages, names):
    """The per-action totals a text agent reads off the summary history (0 before round 1)."""
    found = dict(_TOTAL.findall(messages[-1]["content"]))
    return np.array([float(found.get(n, 0.0)) for n in names])


def text_ftl(names):
    """Follow the leader read from the prompt: the action with the largest shown total, the first among ties."""
    return lambda messages: render_choice(int(np.argmax(_totals(messages, names))), names)


def numeric_ftl(state):
    pi = np.zeros(state["cum_payoffs"].size)
    pi[int(np.argmax(state["cum_payoffs"]))] = 1.0
    return pi


def text_hedge(names, T, decimals=6):
    def act(messages):
        L = _totals(messages, names)
        w = np.exp(math.sqrt(8 * math.log(len(names)) / T) * (L - L.max()))
        return render_distribution(w / w.sum(), names, decimals)
    return act


@pytest.mark.parametrize("game", [*GAMES, "random"])
@pytest.mark.parametrize("player", [0, 1])
def test_column_seat_is_the_transposed_game_and_passes_check_env(game, player):
    U1, U2 = GAMES[game] if game != "random" else (None, None)
    env = RepeatedGameEnv(game, horizon=6, player=player, random_size=3)
    if game != "random":
        assert np.array_equal(env.U1, U1 if player == 0 else U2.T)
        assert np.array_equal(env.U2, U2 if player == 0 else U1.T)
        assert env.action_names == ACTION_NAMES[game]
    else:
        assert env.action_names == ("Action A", "Action B", "Action C")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)
        check_env(TextOnlineWrapper(env, names="game", history="summary"), skip_render_check=True)


def test_column_seat_payoffs_and_regret_by_hand():
    # battle of the sexes, learner in the column seat, opponent fixed on Football (row action 1)
    env = RepeatedGameEnv("battle_of_sexes", horizon=2, opponent="fixed", opponent_strategy=[0, 1], player=1)
    env.reset(seed=0)
    _, r, _, _, info = env.step(np.array([1.0, 0.0]))  # the column player goes to the Opera alone
    assert info["actions"] == (0, 1) and r == 0.0
    assert np.allclose(info["payoff_vector"], [0.0, 1.0])  # column's payoffs against row's Football
    _, r, _, _, info = env.step(np.array([0.0, 1.0]))
    assert r == 1.0 and info["regret"] == pytest.approx(1.0)  # Football twice would have earned 2, played 1
    with pytest.raises(ValueError, match="player must be 0"):
        RepeatedGameEnv("chicken", player=2)


def test_game_names_in_prompts_golden():
    env = TextOnlineWrapper(RepeatedGameEnv("prisoners_dilemma", horizon=3, opponent="fixed",
                                            opponent_strategy=[0, 1]), names="game", answer="single")
    _, info = env.reset(seed=1)
    sys_msg = info["messages"][0]["content"]
    assert "You choose among 2 actions: Cooperate, Defect." in sys_msg
    assert "The other player chooses among: Cooperate, Defect." in sys_msg
    obs, *_ = env.step("<Answer>Cooperate</Answer>")
    obs, *_ = env.step("I defect. <Answer>Defect</Answer>")
    assert "Round 1: the other player chose Defect; payoffs Cooperate 0.00, Defect 0.20; your payoff 0.00" in obs
    assert "Round 2: the other player chose Defect; payoffs Cooperate 0.00, Defect 0.20; your payoff 0.20" in obs
    summary = TextOnlineWrapper(RepeatedGameEnv("prisoners_dilemma", horizon=3, opponent="fixed",
                                                opponent_strategy=[0, 1]), names="game", history="summary")
    summary.reset(seed=1)
    obs, *_ = summary.step("<Answer>Cooperate: 0.5, Defect: 0.5</Answer>")
    assert "Defect: total payoff 0.20, average payoff 0.20" in obs
    assert "The other player chose: Cooperate 0 times, Defect 1 time" in obs
    assert "Your total payoff: 0.10" in obs
    with pytest.raises(ValueError, match="repeated games only"):
        from regretlab_envs.online import ExpertsEnv

        TextOnlineWrapper(ExpertsEnv(), names="game")
    with pytest.raises(ValueError, match="names"):
        TextOnlineWrapper(RepeatedGameEnv(), names="semantic")


@pytest.mark.parametrize("game", ["rock_paper_scissors", "matching_pennies", "coordination"])
def test_text_ftl_self_play_equals_numeric_self_play(game):
    # Payoffs in {0, 1/2, 1} are exact in binary and in 2 decimals, so the text agents see exact totals.
    T = 40
    names = ACTION_NAMES[game]
    out = play_text_game((text_ftl(names), text_ftl(names)), game, T, seed=3, history="summary", answer="single",
                         names="game")
    ref = play_repeated_game((numeric_ftl, numeric_ftl), game, T, seed=3)
    assert np.array_equal(out["row_actions"], ref["row_actions"])
    assert np.array_equal(out["col_actions"], ref["col_actions"])
    assert np.array_equal(out["row_pi"], ref["row_pi"]) and np.array_equal(out["col_pi"], ref["col_pi"])
    for seat in out["seats"]:
        assert seat["malformed_rate"] == 0.0 and seat["fallback_rate"] == 0.0
        assert len(seat["replies"]) == T and set(seat["status"]) == {"ok"}


def test_text_hedge_self_play_tracks_hedge_and_has_small_cce_gap():
    T, game = 400, "matching_pennies"
    names = ("Action A", "Action B")
    out = play_text_game((text_hedge(names, T), text_hedge(names, T)), game, T, seed=5, history="summary",
                         decimals=6)
    U1, U2 = out["U1"], out["U2"]
    # every round's distribution is Hedge on the realised payoff vectors, up to the 6 shown decimals
    for pis, own, other in ((out["row_pi"], U1, out["col_actions"]), (out["col_pi"], U2.T, out["row_actions"])):
        cum = np.zeros(2)
        for t in range(T):
            w = np.exp(math.sqrt(8 * math.log(2) / T) * (cum - cum.max()))
            assert np.allclose(pis[t], w / w.sum(), atol=2e-5)
            cum += own[:, other[t]]
    r1, r2 = external_regret(U1, U2, out["row_actions"], out["col_actions"])
    assert max(r1, r2) <= 3 * math.sqrt(T)
    assert cce_gap(U1, U2, out["row_actions"], out["col_actions"]) < 0.15


def test_malformed_replies_fall_back_and_are_counted_per_seat():
    T = 6
    calls = []

    def rambler(messages):
        calls.append(messages)
        return "I am not sure."

    names = ACTION_NAMES["chicken"]
    out = play_text_game((rambler, text_ftl(names)), "chicken", T, seed=0, answer="single", names="game",
                         max_reprompts=1, fallback="uniform")
    row, col = out["seats"]
    assert row["malformed_rate"] == 1.0 and row["fallback_rate"] == 1.0 and row["reprompts"] == [1] * T
    assert len(calls) == 2 * T and "could not be read" in calls[1][-1]["content"]
    assert np.allclose(out["row_pi"], 0.5)
    assert col["malformed_rate"] == 0.0 and col["fallback_rate"] == 0.0
    with pytest.raises(ValueError, match="abort_episode"):
        TextGameSeat(rambler, "chicken", 0, T, fallback="abort_episode")
    with pytest.raises(ValueError, match="two text agents"):
        play_text_game((rambler,), "chicken", T)


def test_expected_feedback_is_shown_against_the_mixed_strategy():
    T = 3
    seen = []

    def row(messages):
        seen.append(messages[-1]["content"])
        return render_distribution([1.0, 0.0], ("Action A", "Action B"))

    col = lambda messages: render_distribution([0.25, 0.75], ("Action A", "Action B"))  # noqa: E731
    out = play_text_game((row, col), "coordination", T, seed=0, feedback="expected")
    assert "Round 1: Action A 0.25, Action B 0.75; your payoff 0.25" in seen[1]
    assert "the other player chose" not in seen[-1]  # only realized feedback shows the opponent's action
    assert np.allclose(out["col_pi"], [0.25, 0.75])
