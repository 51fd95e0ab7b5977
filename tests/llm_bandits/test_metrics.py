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


# ---------------------------------------------------------------------------------------------------
# [N24] aggregate statistics (spec §6.5)

T_GRID = np.unique(np.geomspace(1, 1000, 40).round())


@pytest.mark.parametrize("lam1, alpha, beta, lam2", [(5.0, 1.7, 0.01, 3.0), (0.8, 1.0, 0.0, -1.0),
                                                     (2.0, 2.6, 0.2, 0.0), (0.3, 0.4, 0.5, 10.0)])
def test_regret_form_recovers_exact_curves(lam1, alpha, beta, lam2):
    delta = 0.2
    y = lam1 * np.log(T_GRID) ** alpha / delta + beta * T_GRID + lam2
    f = m.regret_form_fit(T_GRID, y, delta)
    assert f.alpha == pytest.approx(alpha, abs=1e-6) and f.beta == pytest.approx(beta, abs=1e-8)
    assert f.lambda1 == pytest.approx(lam1, rel=1e-6) and f.lambda2 == pytest.approx(lam2, abs=1e-5)
    assert f.rmse < 1e-8 * max(1.0, y.max())
    np.testing.assert_allclose(f(T_GRID[T_GRID >= 2]), y[T_GRID >= 2], rtol=1e-8, atol=1e-8)


def test_regret_form_of_uniform_play_is_linear_with_the_mean_gap():
    from regretlab.bandits import simulate

    mu = np.array([0.6, 0.4, 0.4, 0.4, 0.4])
    exact = (mu.max() - mu).mean() * T_GRID  # uniform play's expected regret
    f = m.regret_form_fit(T_GRID, exact, 0.2)
    assert np.isnan(f.alpha) and f.beta == pytest.approx(0.16, abs=1e-12) and f.lambda1 < 1e-12
    ck = T_GRID.astype(int)
    uni = simulate(mu, "uniform", 1000, 300, seed=3, checkpoints=ck, backend="numpy")["regret"]
    ts = simulate(mu, "ts_beta", 1000, 300, seed=3, checkpoints=ck, backend="numpy")["regret"]
    greedy = simulate(mu, "greedy", 1000, 300, seed=3, checkpoints=ck, backend="numpy")["regret"]
    fu, ft, fg = (m.regret_form_fit(ck, r, 0.2, rng=0, n_boot=100) for r in (uni, ts, greedy))
    assert fu.beta_lo <= 0.16 <= fu.beta_hi and fu.beta_lo > 0.14
    assert ft.beta_hi < 0.005  # Thompson sampling: polylogarithmic regret, no linear term
    assert 0 < ft.alpha_lo <= ft.alpha <= ft.alpha_hi <= 3 and ft.n_boot == 100
    assert fg.beta_lo > 0.05  # greedy's suffix failures: a linear term ([N24]'s beta > 0)


def test_regret_form_bootstrap_covers_the_truth_and_is_reproducible():
    rng = np.random.default_rng(11)
    alpha, delta = 1.5, 0.25
    Y = 2.0 * np.log(T_GRID) ** alpha / delta + 1.0 + rng.normal(0, 2.0, (300, T_GRID.size))
    f = m.regret_form_fit(T_GRID, Y, delta, rng=5, n_boot=200)
    assert f.alpha_lo <= alpha <= f.alpha_hi and f.alpha_hi - f.alpha_lo < 0.2
    assert f.beta_lo <= 1e-12 and f.beta_hi < 0.01
    g = m.regret_form_fit(T_GRID, Y, delta, rng=5, n_boot=200)
    assert (f.alpha_lo, f.alpha_hi, f.beta_hi) == (g.alpha_lo, g.alpha_hi, g.beta_hi)
    h = m.regret_form_fit(T_GRID, Y, delta, rng=6, n_boot=200)
    assert (f.alpha_lo, f.alpha_hi) != (h.alpha_lo, h.alpha_hi)  # the rng draws the bootstrap resamples
    assert np.isnan(m.regret_form_fit(T_GRID, Y, delta).alpha_lo)  # no rng: no bootstrap


def test_box_lstsq_is_the_bounded_least_squares_solution():
    from scipy.optimize import lsq_linear

    rng = np.random.default_rng(0)
    for _ in range(200):
        A, Y = rng.normal(size=(9, 3)), rng.normal(size=(3, 9)) * 3
        x, sse = m._box_lstsq(A, Y)
        assert np.all(x[:, 0] >= 0) and np.all((x[:, 1] >= 0) & (x[:, 1] <= 1))
        for r in range(3):
            ref = lsq_linear(A, Y[r], bounds=([0, 0, -np.inf], [np.inf, 1, np.inf]), tol=1e-13).x
            assert sse[r] <= np.sum((A @ ref - Y[r]) ** 2) + 1e-9


def test_regret_form_refuses_bad_input():
    y = np.log(T_GRID)
    with pytest.raises(ParamError, match="delta_min"):
        m.regret_form_fit(T_GRID, y, 0.0)
    with pytest.raises(ParamError, match="R_t"):
        m.regret_form_fit(T_GRID, y[:-1], 0.1)
    with pytest.raises(ParamError, match="at least 4 times"):
        m.regret_form_fit(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4), 0.1)
    with pytest.raises(ParamError, match="strictly increasing"):
        m.regret_form_fit(T_GRID[::-1], y, 0.1)


def _welch_p(x, y):
    from scipy import stats as st

    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    tstat = (x.mean() - y.mean()) / np.sqrt(vx + vy)
    dof = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    return 2 * st.t.sf(abs(tstat), dof)


def test_win_matrix_by_hand():
    a1 = np.array([10.0, 11.0, 12.0, 11.0])
    b1 = np.array([5.0, 6.0, 5.5, 6.5, 6.0])
    c1 = np.array([10.0, 12.0, 11.0, 11.5])
    a2, b2 = np.array([3.0, 4.0, 3.5]), np.array([3.1, 3.9, 3.6])
    scores = {"A": {"x": a1, "y": a2}, "B": {"x": b1, "y": b2}, "C": {"x": c1, "y": np.array([1.0])}}
    w = m.win_matrix(scores)
    assert w.methods == ("A", "B", "C") and w.configs == ("x", "y")
    # config x: A and C beat B; A vs C is no win either way. Config y: A vs B no win; C has 1 replicate.
    np.testing.assert_array_equal(w.wins, [[0, 1, 0], [0, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(w.compared, [[0, 2, 1], [2, 0, 1], [1, 1, 0]])
    np.testing.assert_allclose(w.win_rate, [1 / 3, 0.0, 1 / 2])
    assert w.p_values[0, 1, 0] == pytest.approx(_welch_p(a1, b1), rel=1e-10)
    assert w.p_values[0, 1, 1] == pytest.approx(_welch_p(a2, b2), rel=1e-10) and w.p_values[0, 1, 1] > 0.5
    assert np.isnan(w.p_values[0, 2, 1])
    assert np.all(w.wins + w.wins.T <= w.compared)


def test_win_matrix_zero_variance_and_bad_input():
    w = m.win_matrix({"greedy": {"c": np.ones(5)}, "ucb": {"c": np.full(5, 2.0)}, "u2": {"c": np.full(3, 2.0)}})
    np.testing.assert_array_equal(w.wins, [[0, 0, 0], [1, 0, 0], [1, 0, 0]])
    with pytest.raises(ParamError, match="at least 2 methods"):
        m.win_matrix({"a": {"c": np.ones(3)}})
    with pytest.raises(ParamError, match="alpha"):
        m.win_matrix({"a": {"c": np.ones(3)}, "b": {"c": np.ones(3)}}, alpha=1.5)


def test_regret_form_beta_above_one_needs_beta_max():
    y = 1.0 * np.log(T_GRID) ** 2 / 0.5 + 2.5 * T_GRID
    f = m.regret_form_fit(T_GRID, y, 0.5, beta_max=5.0)
    assert f.beta == pytest.approx(2.5, abs=1e-8) and f.alpha == pytest.approx(2.0, abs=1e-6)
    assert m.regret_form_fit(T_GRID, y, 0.5).beta == 1.0  # the spec's bound for rewards in [0, 1]
    with pytest.raises(ParamError, match="beta_max"):
        m.regret_form_fit(T_GRID, y, 0.5, beta_max=0.0)
