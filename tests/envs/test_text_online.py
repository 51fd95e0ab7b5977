"""TextOnlineWrapper: text views of the experts setting and of repeated games (specs/llm-bandit-envs.md §2.2-§4)."""
from __future__ import annotations

import math
import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import regretlab_envs  # noqa: F401  (registers the ids)
from regretlab_envs.games import RepeatedGameEnv
from regretlab_envs.online import AdversarialBanditEnv, ExpertsEnv
from regretlab_envs.parsing import render_choice, render_distribution
from regretlab_envs.text_online import BANDIT_HISTORIES, ONLINE_ANSWERS, ONLINE_HISTORIES, TextOnlineWrapper


def _bases():
    return [ExpertsEnv("iid_uniform", d=3, horizon=9), ExpertsEnv("adaptive_adversary", d=2, horizon=6),
            RepeatedGameEnv("rock_paper_scissors", horizon=7, opponent="hedge"),
            RepeatedGameEnv("prisoners_dilemma", horizon=5, opponent="fictitious_play", feedback="expected")]


@pytest.mark.parametrize("history", ONLINE_HISTORIES)
@pytest.mark.parametrize("answer", ONLINE_ANSWERS)
def test_check_env_and_prompts_in_space(history, answer):
    for base in _bases():
        env = TextOnlineWrapper(base, history=history, answer=answer, window=3, cot="reinforced")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env, skip_render_check=True)
        obs, info = env.reset(seed=2)
        done = False
        while not done:
            assert env.observation_space.contains(obs)
            assert all(ch in env.observation_space.character_set for ch in info["messages"][0]["content"])
            reply = render_distribution([0.5] + [0.5 / (env.d - 1)] * (env.d - 1), env.names) \
                if answer == "distribution" else render_choice(env.d - 1, env.names)
            obs, _, done, _, info = env.step(reply)
            assert info["parse"]["status"] == "ok" and info["parse"]["fallback"] is None
        assert "All" in obs and "rounds have been played" in obs


def test_registered_id_builds_both_kinds():
    env = gym.make("regretlab/TextOnline-v0", base_kwargs={"generator": "alternating", "d": 2, "horizon": 4})
    assert env.unwrapped.kind == "experts"
    env = gym.make("regretlab/TextOnline-v0", base_id="regretlab/RepeatedGame-v0",
                   base_kwargs={"game": "matching_pennies", "horizon": 3}, history="summary")
    assert env.unwrapped.kind == "game" and env.unwrapped.names == ("Action A", "Action B")
    with pytest.raises(TypeError, match="ExpertsEnv, AdversarialBanditEnv or RepeatedGameEnv"):
        TextOnlineWrapper(gym.make("regretlab/K24Hard-v0").unwrapped)
    with pytest.raises(ValueError, match="history"):
        TextOnlineWrapper(ExpertsEnv(), history="raw_diary")
    with pytest.raises(ValueError, match="history"):  # bandit feedback reveals no loss vector
        TextOnlineWrapper(AdversarialBanditEnv(), history="loss_vectors")
    assert TextOnlineWrapper(AdversarialBanditEnv()).history == "importance_weighted"


@pytest.mark.parametrize("history", BANDIT_HISTORIES)
@pytest.mark.parametrize("answer", ONLINE_ANSWERS)
def test_bandit_feedback_view(history, answer):
    env = TextOnlineWrapper(AdversarialBanditEnv("sine_trend", d=3, horizon=8), history=history, answer=answer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=4)
    seen = []
    for _ in range(8):
        reply = "<Answer>Action A: 0.2, Action B: 0.3, Action C: 0.5</Answer>" if answer == "distribution" \
            else "<Answer>Action B</Answer>"
        obs, _, done, _, info = env.step(reply)
        assert env.observation_space.contains(obs)
        seen.append((info["action"], info["observed_loss"], info["iw_estimate"]))
    assert done
    lines = obs.splitlines()
    a, y, e = seen[-1]
    p = ([0.2, 0.3, 0.5] if answer == "distribution" else [0.0, 1.0, 0.0])[a]
    if history == "raw":
        assert lines[8] == f"Round 8: {env.names[a]} drawn, loss {y:.2f}"
    elif history == "importance_weighted":
        assert lines[8] == (f"Round 8: {env.names[a]} drawn (probability {p:.2f}), loss {y:.2f}; estimated losses: "
                            + ", ".join(f"{n} {e[i]:.2f}" for i, n in enumerate(env.names)))
    else:
        tot = sum(x[2] for x in seen)
        assert lines[1].endswith(f"total estimated loss {tot[0]:.2f}") and lines[0].startswith("Summary of the 8")


def test_golden_prompts_on_the_alternating_sequence():
    env = TextOnlineWrapper(ExpertsEnv("alternating", d=2, horizon=3))
    obs, info = env.reset(seed=0)
    assert info["messages"][0]["content"] == (
        "You repeatedly choose among 2 actions: Action A, Action B. Each round you choose a probability "
        "distribution over the actions. Then the loss of every action in that round is revealed, a number between "
        "0 and 1, and your loss is the expected loss under your distribution. The losses may change from round to "
        "round. There are 3 rounds in total. Your goal is to make your total loss as small as possible. Answer with "
        "a probability for every action inside answer tags, as in <Answer>NAME: P, NAME: P, ...</Answer>, with "
        "probabilities that sum to 1.")
    assert obs == ("No rounds have been played yet.\n\nWhich distribution over the actions do you choose now "
                   "(round 1 of 3)?\n\nGive your answer inside <Answer></Answer> tags.")
    losses = []
    for reply in ["<Answer>Action A: 0.75, Action B: 0.25</Answer>", "Action B: 100%"]:
        obs, reward, _, _, info = env.step(reply)
        losses.append(info["loss"])
    l1, l2 = losses
    assert reward == pytest.approx(-float(l2[1]))  # all mass on B ("Action A" missing gets 0)
    assert obs.splitlines()[:3] == [
        "Losses of past rounds:",
        f"Round 1: Action A {l1[0]:.2f}, Action B {l1[1]:.2f}; your loss {0.75 * l1[0] + 0.25 * l1[1]:.2f}",
        f"Round 2: Action A {l2[0]:.2f}, Action B {l2[1]:.2f}; your loss {l2[1]:.2f}"]
    env2 = TextOnlineWrapper(ExpertsEnv("alternating", d=2, horizon=3), history="summary")
    env2.reset(seed=0)
    env2.step("<Answer>Action A: 0.75, Action B: 0.25</Answer>")
    obs, *_ = env2.step("Action B: 100%")
    tot = l1 + l2
    assert obs.splitlines()[:4] == [
        "Summary of the 2 rounds played so far:",
        f"Action A: total loss {tot[0]:.2f}, average loss {tot[0] / 2:.2f}",
        f"Action B: total loss {tot[1]:.2f}, average loss {tot[1] / 2:.2f}",
        f"Your total loss: {0.75 * l1[0] + 0.25 * l1[1] + l2[1]:.2f}"]


def test_same_seed_same_prompts_and_window():
    def transcript(seed):
        env = TextOnlineWrapper(ExpertsEnv("iid_uniform", d=3, horizon=8), history="raw_window", window=2)
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for _ in range(8):
            obs, *_ = env.step("<Answer>Action C</Answer>")
            out.append(obs)
        return out

    a, b, c = transcript(5), transcript(5), transcript(6)
    assert a == b and a != c
    assert a[5].startswith("Losses of the last 2 of 5 rounds:\nRound 4:") and "Round 3:" not in a[5]


def test_malformed_replies_and_fallbacks():
    env = TextOnlineWrapper(ExpertsEnv("iid_uniform", d=3, horizon=4), fallback="previous")
    env.reset(seed=1)
    _, _, _, _, info = env.step("no idea")  # round 1: nothing to repeat -> uniform
    assert info["parse"]["fallback"] == "uniform" and np.allclose(info["pi"], 1 / 3)
    env.step("<Answer>Action B: 1/2, Action C: 1/2</Answer>")
    _, _, _, _, info = env.step("<Answer>Action A: -1, Action B: 2</Answer>")  # a negative entry: invalid
    assert info["parse"]["status"] == "invalid" and info["parse"]["fallback"] == "previous"
    np.testing.assert_allclose(info["pi"], [0, 0.5, 0.5])
    env = TextOnlineWrapper(RepeatedGameEnv("stag_hunt", horizon=4), answer="single", fallback="abort_episode")
    env.reset(seed=1)
    _, _, _, _, info = env.step("<Answer>Action B</Answer>")
    np.testing.assert_array_equal(info["pi"], [0, 1])
    _, reward, terminated, _, info = env.step("both")
    assert terminated and reward == 0.0 and info["aborted"] and "malformed" in info["abort_reason"]
    with pytest.raises(RuntimeError, match="reset"):
        env.step("<Answer>Action A</Answer>")


_SUMMARY = re.compile(r"^(Action [A-Z]): total (?:loss|payoff) ([\d.]+), average")


def _hedge_from_text(messages, T, sign):
    """A text agent: read the totals of the summary and answer Hedge's distribution (eta = sqrt(8 ln d / T))."""
    names, tot = [], []
    for line in messages[-1]["content"].splitlines():
        m = _SUMMARY.match(line)
        if m:
            names.append(m[1])
            tot.append(float(m[2]))
    if not tot:  # round 1: the system message lists the actions
        names = list(dict.fromkeys(re.findall(r"Action [A-Z]", messages[0]["content"])))
        tot = [0.0] * len(names)
    eta = math.sqrt(8 * math.log(len(names)) / T)
    w = np.exp(sign * eta * (np.array(tot) - (max(tot) if sign > 0 else min(tot))))
    return render_distribution(w / w.sum(), names, decimals=6)


@pytest.mark.parametrize("kind", ["experts", "game"])
def test_hedge_through_the_text_has_hedge_regret(kind):
    """Totals rendered with 6 decimals carry enough to replay Hedge: its regret from the losses the env revealed
    matches exact Hedge on the same sequence, and respects Hedge's bound sqrt(T ln d / 2)."""
    T = 200
    base = ExpertsEnv("linear_trend", d=3, horizon=T) if kind == "experts" else \
        RepeatedGameEnv("rock_paper_scissors", horizon=T, opponent="fixed", opponent_strategy=[0.5, 0.3, 0.2])
    env = TextOnlineWrapper(base, history="summary", decimals=6)
    _, info = env.reset(seed=3)
    sign = -1.0 if kind == "experts" else 1.0
    vecs, played = [], []
    done = False
    while not done:
        _, _, done, _, info = env.step(_hedge_from_text(info["messages"], T, sign))
        assert info["parse"]["status"] in ("ok", "ok_renormalised")
        vecs.append(info["loss"] if kind == "experts" else info["payoff_vector"])
        played.append(info["pi"])
    V, P = np.array(vecs), np.array(played)
    eta = math.sqrt(8 * math.log(3) / T)
    cum = np.vstack([np.zeros(3), np.cumsum(V, axis=0)[:-1]])
    shift = cum.max(axis=1, keepdims=True) if sign > 0 else cum.min(axis=1, keepdims=True)
    w = np.exp(sign * eta * (cum - shift))
    exact = w / w.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(P, exact, atol=2e-6)
    mine, best = float(np.sum(P * V)), V.sum(axis=0)
    regret = mine - best.min() if kind == "experts" else best.max() - mine
    assert info["regret"] == pytest.approx(regret, abs=1e-9)
    assert info["regret"] <= math.sqrt(T * math.log(3) / 2) + 1e-9
