"""Full-information baselines (specs/llm-bandit-envs.md §7, §10): Hedge's bound on every generator, FTL's
linear regret on the alternating sequence, FTPL-Gumbel = Hedge in law, regret identities."""
from __future__ import annotations

import math

import numpy as np
import pytest

from regretlab.core.validate import ParamError
from regretlab.llm_bandits.full_info import FULL_INFO_POLICIES, hedge_regret_bound, run_full_info
from regretlab_envs.online import GENERATORS, loss_sequence


def _losses(name, d, T, R, seed):
    return np.stack([loss_sequence(name, d, T, seed + r).rescaled() for r in range(R)])


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("T", [1, 7, 200])
def test_hedge_regret_below_bound_on_every_generator_and_prefix_horizon(name, T):
    d = 2 if name == "alternating" else 5
    L = _losses(name, d, T, 8, seed=11)
    out = run_full_info(L, "hedge")
    assert np.all(out["regret"][:, -1] <= hedge_regret_bound(T, d) + 1e-12)
    # anytime Hedge: Cesa-Bianchi & Lugosi (2006) Thm 2.3, 2 sqrt(T ln d / 2) + sqrt(ln d / 8), at every t
    anytime = run_full_info(L, "hedge_anytime")["regret"]
    t = np.arange(1, T + 1)
    assert np.all(anytime <= 2 * np.sqrt(t * math.log(d) / 2) + math.sqrt(math.log(d) / 8) + 1e-12)


def test_ftl_linear_regret_on_alternating_hedge_sublinear():
    T = 1000
    L = loss_sequence("alternating", 2, T).rescaled()
    ftl = run_full_info(L, "ftl")["regret"][0]
    hedge = run_full_info(L, "hedge")["regret"][0]
    # FTL: round 1 uniform (0.25), then loss 1 every round; best action ~ T/2
    assert ftl[-1] == pytest.approx(0.25 + (T - 1) - min(L[:, 0].sum(), L[:, 1].sum()))
    assert ftl[-1] >= 0.45 * T
    assert hedge[-1] <= hedge_regret_bound(T, 2) < 0.03 * T


def test_ftpl_gumbel_frequencies_match_hedge_probabilities():
    T, R = 30, 4000
    L = np.broadcast_to(loss_sequence("iid_uniform", 3, T, 5).rescaled(), (R, T, 3))
    hedge = run_full_info(L[:1], "hedge")["pi"][0]
    ftpl = run_full_info(L, "ftpl", rng=9)["pi"]
    assert set(np.unique(ftpl)) <= {0.0, 1.0}
    freq = ftpl.mean(axis=0)
    se = np.sqrt(hedge * (1 - hedge) / R) + 1e-12
    assert np.all(np.abs(freq - hedge) <= 5 * se)
    # the same rng gives the same play; another gives another
    again = run_full_info(L[:50], "ftpl", rng=9)["pi"]
    assert np.array_equal(again, run_full_info(L[:50], "ftpl", rng=9)["pi"])
    assert not np.array_equal(again, run_full_info(L[:50], "ftpl", rng=10)["pi"])


@pytest.mark.parametrize("policy", FULL_INFO_POLICIES)
def test_distributions_in_simplex_and_regret_identities(policy):
    L = _losses("sine_trend", 4, 50, 3, seed=2)
    out = run_full_info(L, policy, rng=0)
    pi = out["pi"]
    assert np.all(pi >= 0) and np.allclose(pi.sum(axis=2), 1.0)
    loss = (pi * L).sum(axis=2)
    assert np.allclose(out["loss"], loss)
    assert np.allclose(out["regret"][:, -1], loss.sum(axis=1) - L.sum(axis=1).min(axis=1))
    assert np.allclose(out["dynamic_regret"][:, -1], (loss - L.min(axis=2)).sum(axis=1))
    assert np.all(out["dynamic_regret"] >= out["regret"] - 1e-12)


def test_best_fixed_action_has_zero_regret_and_uniform_closed_form():
    L = _losses("iid_uniform", 3, 40, 1, seed=4)[0]
    best = int(np.argmin(L.sum(axis=0)))
    assert L[:, best].sum() - L.sum(axis=0).min() == 0.0
    uni = run_full_info(L, "uniform")
    assert uni["regret"][0, -1] == pytest.approx(L.mean(axis=1).sum() - L.sum(axis=0).min())


def test_bad_input_names_the_parameter():
    with pytest.raises(ParamError, match="policy"):
        run_full_info(np.zeros((5, 2)), "exp4")
    with pytest.raises(ParamError, match="losses"):
        run_full_info(np.full((5, 2), 2.0), "hedge")
    with pytest.raises(ParamError, match="losses"):
        run_full_info(np.zeros((5, 1)), "hedge")


@pytest.mark.parametrize("generator", ["iid_uniform", "sine_trend", "alternating"])
def test_experts_env_with_hedge_matches_run_full_info(generator):
    from regretlab.core.ftrl import hedge_rows_xp
    from regretlab_envs.online import ExpertsEnv

    d, T = (2 if generator == "alternating" else 3), 40
    env = ExpertsEnv(generator, d, T)
    obs, _ = env.reset(seed=3)
    eta = math.sqrt(8 * math.log(d) / T)
    losses, done = [], False
    while not done:
        pi = hedge_rows_xp(obs["cum_losses"][None], eta, np)[0]
        obs, _, done, _, info = env.step(pi)
        losses.append(info["loss"])
    ref = run_full_info(np.array(losses), "hedge")
    assert info["regret"] == pytest.approx(ref["regret"][0, -1], abs=1e-12)
    assert info["dynamic_regret"] == pytest.approx(ref["dynamic_regret"][0, -1], abs=1e-12)


def test_adaptive_adversary_gives_ftl_linear_and_hedge_sublinear_regret():
    # FTL alternates a tie (loss 1/2) and a sure loss 1 while the best action loses T/2: regret T/4 exactly
    from regretlab.core.ftrl import hedge_rows_xp
    from regretlab_envs.online import ExpertsEnv

    T = 400
    for rule, check in (("ftl", lambda r: r == T / 4), ("hedge", lambda r: r <= hedge_regret_bound(T, 2) + 1)):
        env = ExpertsEnv("adaptive_adversary", 2, T)
        obs, _ = env.reset(seed=0)
        done = False
        while not done:
            cum = obs["cum_losses"]
            if rule == "ftl":
                pi = (cum == cum.min()).astype(float)
            else:
                pi = hedge_rows_xp(cum[None], math.sqrt(8 * math.log(2) / T), np)[0]
            obs, _, done, _, info = env.step(pi)
        assert check(info["regret"]), (rule, info["regret"])
