"""Exploration metrics on tiny hand-written histories (specs/llm-bandit-envs.md §6, §10)."""
import numpy as np
import pytest

from regretlab.core.validate import ParamError
from regretlab.llm_bandits import metrics as m

MU = np.array([0.6, 0.4, 0.4])  # arm 0 is best, K = 3


def test_pseudo_regret_and_identity():
    a = np.array([[0, 1, 2, 0], [1, 1, 1, 1]])
    np.testing.assert_allclose(m.pseudo_regret(a, MU), [[0, 0.2, 0.4, 0.4], [0.2, 0.4, 0.6, 0.8]], atol=1e-15)
    # identity: R(T) = sum_a N_a(T) (mu* - mu_a)
    N = np.stack([(a == k).sum(1) for k in range(3)], 1)
    np.testing.assert_allclose(m.pseudo_regret(a, MU)[:, -1], N @ (MU.max() - MU))


def test_suffix_failure_windows_are_inclusive():
    # T = 6; replicate 0 picks the best arm last at round 4, replicate 1 never, replicate 2 at round 6
    a = np.array([[1, 0, 2, 0, 1, 1], [1, 2, 1, 2, 1, 2], [1, 1, 1, 1, 1, 0]])
    sf = m.suffix_failure(a, MU)
    # t = 1..4: replicate 1 fails only; t = 5, 6: replicates 0 and 1 fail, except t = 6 where rep 2 hits
    np.testing.assert_allclose(sf, [1 / 3, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    a2 = np.array([[1, 1, 1, 1, 1, 2]])
    np.testing.assert_allclose(m.suffix_failure(a2, MU), 1.0)


def test_min_frac_at_t():
    a = np.array([[0, 1, 2, 0, 0, 0]])
    # counts after t: t=1 (1,0,0) t=2 (1,1,0) t=3 (1,1,1) t=4 (2,1,1) t=5 (3,1,1) t=6 (4,1,1)
    np.testing.assert_allclose(m.min_frac(a, MU), [0, 0, 1 / 3, 1 / 4, 1 / 5, 1 / 6])


def test_greedy_frac_conventions():
    # K = 2, T = 5. rewards: r1 arm 0 -> 1, r2 arm 1 -> 0, r3 arm 0 -> 0, r4 arm 1 -> 1, r5 arm 0 -> 1
    mu = np.array([0.5, 0.4])
    a = np.array([[0, 1, 0, 1, 0]])
    y = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
    # empirical means before t: t=2 (1, -) t=3 (1, 0) t=4 (0.5, 0) t=5 (0.5, 0.5)
    # played_only: t1 untried (no), t2 arm 1 untried (no), t3 arm 0 = max (yes), t4 arm 1 0 < 0.5 (no),
    #              t5 arm 0 ties 0.5 (yes) -> 2/5
    assert m.greedy_frac(a, y, mu, "played_only") == pytest.approx(2 / 5)
    # optimistic: t1 yes (untried), t2 yes (arm 1 untried), t3 yes, t4 no, t5 yes -> 4/5
    assert m.greedy_frac(a, y, mu, "optimistic") == pytest.approx(4 / 5)
    # all_played_rounds_only: rounds 3..5 -> 2/3
    assert m.greedy_frac(a, y, mu, "all_played_rounds_only") == pytest.approx(2 / 3)
    # a replicate never completing the arms is dropped from all_played_rounds_only
    a2 = np.vstack([a, [[0, 0, 0, 0, 0]]])
    y2 = np.vstack([y, [[1, 1, 1, 1, 1.0]]])
    assert m.greedy_frac(a2, y2, mu, "all_played_rounds_only") == pytest.approx(2 / 3)
    assert m.greedy_frac(a2, y2, mu, "played_only") == pytest.approx((2 / 5 + 4 / 5) / 2)
    with pytest.raises(ParamError, match="convention"):
        m.greedy_frac(a, y, mu, "lazy")


def test_greedy_frac_compares_means_exactly():
    # 0.1 + 0.2 (sum over 2 pulls) vs 0.15 (one pull): 0.30000000000000004 / 2 != 0.15 -> not a tie
    mu = np.array([0.5, 0.4])
    a = np.array([[0, 0, 1, 1]])
    y = np.array([[0.1, 0.2, 0.15, 0.0]])
    # t4: arm 1 mean 0.15, arm 0 mean 0.15000000000000002 -> arm 1 not greedy under exact comparison
    assert (0.1 + 0.2) / 2 > 0.15
    assert m.greedy_frac(a, y, mu, "played_only") == pytest.approx(1 / 4)  # only t2


def test_reward_summary_rescaling_and_median():
    mu = np.array([0.6, 0.4])  # gap 0.2: rescaled = (phi - 0.4) / 0.2
    y = np.array([[1, 0, 1, 0.0], [1, 1, 1, 1.0], [0, 0, 0, 0.0], [1, 1, 0, 1.0]])
    s = m.reward_summary(y, mu)
    np.testing.assert_allclose(s["rescaled"], [0.5, 3.0, -2.0, 1.75])
    assert s["median"] == pytest.approx((0.5 + 1.75) / 2) and s["mean"] == pytest.approx(3.25 / 4)
    with pytest.raises(ParamError, match="means"):
        m.reward_summary(y, [0.5, 0.5])


def test_early_failure_and_best_arm_freq():
    a = np.array([[1] * 10, [0] * 10, [0] + [1] * 9])
    np.testing.assert_allclose(m.best_arm_freq(a, MU), [0, 1, 0.1])
    e = m.early_failure(a, MU)
    assert e["t0"] == 6  # max(2K, ceil(T/10)) = max(6, 1)
    assert e["suffix_failure_t0"] == pytest.approx(2 / 3)
    assert e["low_best_arm_freq"] == pytest.approx(1 / 3) and e["best_never_tried"] == pytest.approx(1 / 3)


def test_k24_summary_odd_T_uses_floor_half():
    a = np.array([[0, 1, 1, 1, 1]])  # T = 5, t = floor(5/2) = 2: window rounds 2..5 has no best arm
    y = np.array([[1, 0, 0, 0, 0.0]])
    s = m.k24_summary(a, y, MU)
    assert s["suffix_failure_half"] == 1.0
    assert s["k_min_frac"] == pytest.approx(3 * 0 / 5)
    assert s["regret"] == pytest.approx(0.8)


def test_game_regrets_and_gaps():
    # matching pennies: U1 = [[1, -1], [-1, 1]], U2 = -U1
    U1 = np.array([[1.0, -1.0], [-1.0, 1.0]])
    U2 = -U1
    i = np.array([0, 0, 1, 1])
    j = np.array([0, 1, 0, 0])
    # row realised: 1 - 1 - 1 - 1 = -2; best fixed row vs j: row0 1-1+1+1 = 2, row1 -2 -> regret 4
    # column realised: -1 + 1 + 1 + 1 = 2; best fixed column vs i: col0 -1-1+1+1 = 0, col1 1+1-1-1 = 0 -> -2
    r1, r2 = m.external_regret(U1, U2, i, j)
    assert (r1, r2) == (4.0, -2.0)
    assert m.cce_gap(U1, U2, i, j) == 1.0
    assert m.nash_gap(U1, U2, [0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0)
    assert m.nash_gap(U1, U2, [1.0, 0.0], [1.0, 0.0]) == pytest.approx(2.0)  # column gains 2 by switching
    with pytest.raises(ParamError, match="p"):
        m.nash_gap(U1, U2, [0.7, 0.7], [0.5, 0.5])


def test_bad_histories_name_the_parameter():
    with pytest.raises(ParamError, match="actions"):
        m.suffix_failure(np.array([[0, 3]]), MU)
    with pytest.raises(ParamError, match="actions"):
        m.min_frac(np.array([0, 1]), MU)
    with pytest.raises(ParamError, match="rewards"):
        m.greedy_frac(np.array([[0, 1]]), np.array([[1.0]]), MU)
