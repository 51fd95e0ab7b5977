"""Tests for regretlab.core.stats: closed forms by hand, SciPy cross-checks, coverage, properties."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sp_stats

from regretlab.core import stats as S

# ---------------------------------------------------------------------------------------------------------
# KL divergences and regret bounds: closed forms computed by hand


def test_kl_bernoulli_hand_value():
    # 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) = 0.5 ln 2 + 0.5 ln(2/3) = 0.5 ln(4/3)
    assert S.kl_bernoulli(0.5, 0.25) == pytest.approx(0.5 * math.log(4.0 / 3.0), rel=1e-14)
    assert isinstance(S.kl_bernoulli(0.5, 0.25), float)


def test_kl_bernoulli_boundaries_without_warnings():
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.3, 0.0, 1.0])
    q = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.5, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kl = S.kl_bernoulli(p, q)
    expected = [0.0, 0.0, np.inf, np.inf, np.inf, np.inf, math.log(2.0), math.log(2.0)]
    np.testing.assert_array_equal(kl[:6], expected[:6])
    np.testing.assert_allclose(kl[6:], expected[6:], rtol=1e-15)


def test_kl_bernoulli_matches_scipy_entropy_and_broadcasts():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.01, 0.99, size=(4, 1))
    q = rng.uniform(0.01, 0.99, size=(1, 5))
    kl = S.kl_bernoulli(p, q)
    assert kl.shape == (4, 5)
    for i in range(4):
        for j in range(5):
            ref = sp_stats.entropy([p[i, 0], 1 - p[i, 0]], [q[0, j], 1 - q[0, j]])
            assert kl[i, j] == pytest.approx(ref, rel=1e-12)
    assert np.all(kl >= 0)


def test_kl_bernoulli_rejects_out_of_range():
    with pytest.raises(ValueError, match=r"kl_bernoulli: q"):
        S.kl_bernoulli(0.5, 1.2)


def test_kl_gaussian_hand_value():
    assert S.kl_gaussian(1.0, 3.0, sigma=2.0) == pytest.approx(4.0 / 8.0)
    np.testing.assert_allclose(S.kl_gaussian([0.0, 1.0], 0.0), [0.0, 0.5])
    with pytest.raises(ValueError, match=r"kl_gaussian: sigma must be a finite number > 0"):
        S.kl_gaussian(0.0, 1.0, sigma=0.0)


def test_lai_robbins_constant_two_arms_by_hand():
    # Arms (0.5, 0.25): gap 0.25, KL(0.25, 0.5) = 0.25 ln(0.25/0.5) + 0.75 ln(0.75/0.5).
    kl = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    assert kl == pytest.approx(0.1308120359, rel=1e-9)
    c = S.lai_robbins_constant([0.5, 0.25])
    assert c == pytest.approx(0.25 / kl, rel=1e-13)
    assert c == pytest.approx(1.9111391, rel=1e-7)
    # order of arms and duplicate optimal arms do not matter
    assert S.lai_robbins_constant([0.25, 0.5, 0.5]) == pytest.approx(c, rel=1e-13)
    # bound is c log T
    np.testing.assert_allclose(S.lai_robbins_bound([0.5, 0.25], [1, 10, 1000]),
                               c * np.log([1.0, 10.0, 1000.0]), rtol=1e-13)


def test_lai_robbins_constant_gaussian_and_degenerate():
    # Gaussian: Delta / (Delta^2 / (2 sigma^2)) = 2 sigma^2 / Delta = 2 * 4 / 1 = 8, plus 2*4/2 = 4
    assert S.lai_robbins_constant([1.0, 0.0, -1.0], family="gaussian", sigma=2.0) == pytest.approx(12.0)
    assert S.lai_robbins_constant([0.3, 0.3]) == 0.0
    # mu* = 1: KL(mu_a, 1) = inf, the arm costs nothing asymptotically
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert S.lai_robbins_constant([1.0, 0.5]) == 0.0
    with pytest.raises(ValueError, match=r"lai_robbins_constant: family must be one of"):
        S.lai_robbins_constant([0.5, 0.2], family="poisson")


def test_ucb1_bound_by_hand():
    b = S.gap_dependent_ucb1_bound([0.9, 0.8, 0.9], 100)
    assert b == pytest.approx(8 * math.log(100) / 0.1 + (1 + math.pi**2 / 3) * 0.1, rel=1e-12)
    assert isinstance(b, float)
    arr = S.gap_dependent_ucb1_bound([0.9, 0.8], np.array([1, 100]))
    assert arr.shape == (2,) and arr[0] == pytest.approx((1 + math.pi**2 / 3) * 0.1)
    with pytest.raises(ValueError, match=r"gap_dependent_ucb1_bound: T"):
        S.gap_dependent_ucb1_bound([0.9, 0.8], 0)


# ---------------------------------------------------------------------------------------------------------
# checkpoints


@settings(max_examples=200, deadline=None)
@given(horizon=st.integers(1, 10**12), n=st.integers(2, 400))
def test_log_checkpoints_properties(horizon, n):
    c = S.log_checkpoints(horizon, n)
    assert c.dtype == np.int64
    assert c[0] == 1 and c[-1] == horizon
    assert np.all(np.diff(c) > 0)  # sorted and unique
    assert len(c) <= n
    assert len(c) == min(n, horizon)


def test_log_checkpoints_are_log_spaced_at_large_t():
    c = S.log_checkpoints(10**6, 60)
    r = c[1:] / c[:-1]
    tail = r[len(r) // 2:]
    # the second half is a geometric sequence up to rounding
    assert tail.max() / tail.min() < 1.05
    with pytest.raises(ValueError, match=r"log_checkpoints: n must be an integer >= 2, got 1"):
        S.log_checkpoints(10, 1)
    with pytest.raises(ValueError, match=r"log_checkpoints: horizon must be an integer >= 1"):
        S.log_checkpoints(0)


# ---------------------------------------------------------------------------------------------------------
# bands


def test_t_band_equals_scipy_interval():
    y = np.array([2.1, 3.4, 1.9, 5.0, 4.2, 3.3, 2.8])
    mean, lo, hi = S.mean_band(y[:, None], level=0.9)
    ref = sp_stats.t.interval(0.9, y.size - 1, loc=y.mean(), scale=sp_stats.sem(y))
    assert mean[0] == pytest.approx(y.mean())
    assert lo[0] == pytest.approx(ref[0], rel=1e-13)
    assert hi[0] == pytest.approx(ref[1], rel=1e-13)


def test_band_single_replicate_collapses_without_warnings():
    y = np.array([[1.0, 2.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("t", "bootstrap"):
            mean, lo, hi = S.mean_band(y, method=method, rng=0)
            np.testing.assert_array_equal(mean, y[0])
            np.testing.assert_array_equal(lo, y[0])
            np.testing.assert_array_equal(hi, y[0])


def test_bootstrap_band_is_seeded_and_needs_rng():
    y = np.random.default_rng(3).normal(size=(20, 4))
    a = S.mean_band(y, method="bootstrap", rng=7)
    b = S.mean_band(y, method="bootstrap", rng=np.random.default_rng(7))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert np.all(a[1] <= a[0]) and np.all(a[0] <= a[2])
    with pytest.raises(TypeError, match=r"mean_band: rng must be"):
        S.mean_band(y, method="bootstrap")
    with pytest.raises(ValueError, match=r"mean_band: level must be a finite number > 0.0 and < 1.0"):
        S.mean_band(y, level=1.5)


@pytest.mark.parametrize("method", ["t", "bootstrap"])
def test_band_coverage_near_nominal(method):
    # 600 independent datasets of R = 40 draws (one per column) from a skewed law with mean 1.
    rng = np.random.default_rng(2024)
    y = rng.exponential(1.0, size=(40, 600))
    _, lo, hi = S.mean_band(y, level=0.9, method=method, n_boot=2000, rng=rng)
    coverage = np.mean((lo <= 1.0) & (1.0 <= hi))
    # nominal 0.90; skewness makes both intervals undercover slightly at R = 40
    assert 0.82 <= coverage <= 0.96, coverage


# ---------------------------------------------------------------------------------------------------------
# slope fits


def test_loglog_slope_exact_power_law():
    x = np.geomspace(1, 1e5, 40)
    fit = S.loglog_slope(x, 3.0 * x**0.5)
    assert fit.slope == pytest.approx(0.5, abs=1e-13)
    assert fit.intercept == pytest.approx(math.log(3.0), abs=1e-12)
    assert fit.ci_low == pytest.approx(0.5, abs=1e-13) and fit.ci_high == pytest.approx(0.5, abs=1e-13)
    assert fit.r2 == pytest.approx(1.0) and fit.n == 40 and fit.n_dropped == 0
    np.testing.assert_allclose(fit.predict(x), 3.0 * x**0.5, rtol=1e-11)


def test_loglog_slope_matches_linregress_and_covers_truth():
    rng = np.random.default_rng(11)
    x = np.geomspace(1, 1e4, 30)
    covered = 0
    for _ in range(300):
        y = 2.0 * x**0.7 * np.exp(rng.normal(0.0, 0.2, size=x.size))
        fit = S.loglog_slope(x, y, level=0.95)
        covered += fit.ci_low <= 0.7 <= fit.ci_high
    ref = sp_stats.linregress(np.log(x), np.log(y))
    assert fit.slope == pytest.approx(ref.slope, rel=1e-12)
    assert fit.intercept == pytest.approx(ref.intercept, rel=1e-10)
    assert fit.stderr == pytest.approx(ref.stderr, rel=1e-10)
    assert fit.r2 == pytest.approx(ref.rvalue**2, rel=1e-10)
    assert 0.91 <= covered / 300 <= 0.985


def test_loglog_slope_nonpositive_is_an_error_or_counted():
    x = np.arange(1.0, 8.0)
    y = 2 * x
    y[2] = 0.0
    with pytest.raises(ValueError, match=r"loglog_slope: y\[2\] must be > 0.*drop_nonpositive"):
        S.loglog_slope(x, y)
    fit = S.loglog_slope(x, y, drop_nonpositive=True)
    assert fit.n_dropped == 1 and fit.n == 6 and fit.slope == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"at least 3 points"):
        S.loglog_slope([1.0, 2.0], [1.0, 2.0])


def test_loglog_slope_bootstrap():
    t = S.log_checkpoints(10_000, 30).astype(float)
    rng = np.random.default_rng(5)
    # replicate-level scale only: every resampled mean curve is an exact power law
    scale = rng.uniform(0.5, 2.0, size=(25, 1))
    fit = S.loglog_slope_bootstrap(t, scale * t**0.5, n_boot=500, rng=1)
    assert fit.slope == pytest.approx(0.5, abs=1e-12)
    assert fit.ci_high - fit.ci_low < 1e-10 and fit.method == "bootstrap" and fit.n_boot == 500
    # noisy curves with mean exactly 0.5 sqrt(t): positive increments with mean 0.5 (sqrt(s) - sqrt(s-1))
    T = 4000
    s = np.arange(1, T + 1)
    inc = rng.exponential(1.0, size=(30, T)) * 0.5 * (np.sqrt(s) - np.sqrt(s - 1))
    Y = np.cumsum(inc, axis=1)[:, t[t <= T].astype(int) - 1]
    tt = t[t <= T]
    fit = S.loglog_slope_bootstrap(tt[tt >= 10], Y[:, tt >= 10], rng=2)
    assert fit.ci_low < 0.5 < fit.ci_high and fit.ci_high - fit.ci_low < 0.1
    again = S.loglog_slope_bootstrap(tt[tt >= 10], Y[:, tt >= 10], rng=2)
    assert again == fit
    with pytest.raises(TypeError, match=r"loglog_slope_bootstrap: rng"):
        S.loglog_slope_bootstrap(tt, Y)


def test_loglog_slope_bootstrap_counts_invalid_resamples():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    Y = np.tile(x, (6, 1))
    Y[:5, 0] = 0.0  # column 0 positive in one replicate only: its resampled mean is often 0
    fit = S.loglog_slope_bootstrap(x, Y, n_boot=400, rng=3)
    # P(resample misses the one positive replicate) = (5/6)^6 ~ 0.33
    assert 60 < fit.n_boot_invalid < 220
    with pytest.raises(ValueError, match=r"mean\(Y, axis=0\)\[0\] must be > 0"):
        S.loglog_slope_bootstrap(x, np.where(np.arange(4) == 0, 0.0, Y), rng=0)


def test_log_rate_slope():
    T = np.geomspace(10, 1e5, 25)
    fit = S.log_rate_slope(T, 2.0 * np.log(T) + 1.0)
    assert fit.slope == pytest.approx(2.0) and fit.intercept == pytest.approx(1.0)
    assert fit.model == "semilog"
    np.testing.assert_allclose(fit.predict(T), 2.0 * np.log(T) + 1.0)
    rng = np.random.default_rng(8)
    Y = 2.0 * np.log(T) + rng.normal(0.0, 1.0, size=(40, 1)) + rng.normal(0.0, 0.3, size=(40, T.size))
    boot = S.log_rate_slope(T, Y, method="bootstrap", rng=4)
    ols = S.log_rate_slope(T, Y)
    assert boot.ci_low < 2.0 < boot.ci_high
    assert ols.ci_low < 2.0 < ols.ci_high
    assert boot.slope == pytest.approx(ols.slope)


# ---------------------------------------------------------------------------------------------------------
# sub-linear regret tests (spec §6.6)


def test_trend_test_against_exact_binomial_tail():
    t = np.arange(1, 6)
    R = np.array([1.0, 1.5, 2.0, 4.0, 4.5])  # a = 1, .75, .667, 1, .9: three decreases in four pairs
    res = S.sublinear_tests(t, R)
    assert res.n_decreasing == 3 and res.n_pairs == 4
    assert res.p_trend == pytest.approx(5.0 / 16.0)  # (C(4,3) + C(4,4)) / 2^4


def test_sublinear_exact_curves():
    t = np.arange(1, 1001)
    sq = S.sublinear_tests(t, 2.0 * np.sqrt(t))
    assert sq.slope == pytest.approx(0.5) and sq.p_reg == 0.0 and sq.p_trend < 1e-100
    assert sq.is_sublinear()
    lin = S.sublinear_tests(t, 0.3 * t)
    assert lin.n_decreasing == 0 and lin.p_trend == 1.0 and lin.p_reg == 1.0
    assert not lin.is_sublinear()


def _simulated_regret(p_sub, R, rng):
    """Per-replicate pseudo-regret (gap 0.2) when the suboptimal arm is pulled w.p. p_sub[t-1] in round t."""
    pulls = rng.random((R, p_sub.size)) < p_sub
    return 0.2 * np.cumsum(pulls, axis=1)


def test_sublinear_simulated_sqrt_rejects_linear_does_not():
    rng = np.random.default_rng(99)
    T = 20_000
    t_all = np.arange(1, T + 1)
    cps = S.log_checkpoints(T, 60)
    # pull probability sqrt(t) - sqrt(t-1), so that E R(t) = 0.2 sqrt(t) exactly
    sqrt_regret = _simulated_regret(np.sqrt(t_all) - np.sqrt(t_all - 1), 40, rng)[:, cps - 1]
    res = S.sublinear_tests(cps, sqrt_regret, t0=10, rng=5, n_boot=500)
    assert res.p_reg < 0.01 and res.p_trend < 0.01 and res.is_sublinear()
    assert res.bootstrap is not None and res.bootstrap.ci_low < 0.5 < res.bootstrap.ci_high
    lin_regret = _simulated_regret(np.full(T, 0.5), 40, rng)[:, cps - 1]
    res = S.sublinear_tests(cps, lin_regret, t0=10)
    assert res.p_reg > 0.05 and not res.is_sublinear()


def test_sublinear_counts_nonpositive_points():
    t = np.arange(1, 11)
    R = np.sqrt(t)
    R[[2, 3]] = 0.0
    res = S.sublinear_tests(t, R, t0=2)
    assert res.fit.n_dropped == 2 and res.fit.n == 7
    with pytest.raises(ValueError, match=r"sublinear_tests: t must be strictly increasing"):
        S.sublinear_tests(t[::-1], R)
