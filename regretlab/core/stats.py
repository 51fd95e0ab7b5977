"""Statistics shared by every area: checkpoints, confidence bands, slope fits, sub-linearity tests, bounds.

Conventions (DESIGN.md §5, specs/llm-bandit-envs.md §6):

* Replicate axis first: a curve sampled at C checkpoints over R replicates is an array of shape (R, C).
* Everything is float64, NumPy/SciPy only (no Numba), and validated once at the boundary with the helpers
  of :mod:`regretlab.core.validate`; errors name the function, the parameter and the allowed range.
* Every random function takes an explicit ``rng``: a :class:`numpy.random.Generator`, a
  :class:`numpy.random.SeedSequence` or an integer seed. There is no global random state and no default
  seed: a bootstrap without ``rng`` is an error.
* Nothing is dropped silently: a log-log fit rejects non-positive values unless ``drop_nonpositive=True``,
  and then the count of dropped points is part of the result.

Contents:

* :func:`log_checkpoints` -- log-spaced recording times, first point 1 and last point T exactly.
* :func:`mean_band` -- mean and a t or percentile-bootstrap confidence band per column.
* :func:`loglog_slope`, :func:`loglog_slope_bootstrap`, :func:`log_rate_slope` -- rate fits with CIs,
  returned as :class:`SlopeFit`.
* :func:`sublinear_tests` -- trend and regression tests of spec §6.6, returned as :class:`SublinearResult`.
* :func:`kl_bernoulli`, :func:`kl_gaussian`, :func:`lai_robbins_constant`, :func:`lai_robbins_bound`,
  :func:`gap_dependent_ucb1_bound` -- theory curves drawn beside simulated regret.

References:
    [LR85] T. L. Lai and H. Robbins, "Asymptotically efficient adaptive allocation rules",
        Advances in Applied Mathematics 6(1):4-22, 1985. https://doi.org/10.1016/0196-8858(85)90002-8
    [ACF02] P. Auer, N. Cesa-Bianchi and P. Fischer, "Finite-time analysis of the multiarmed bandit
        problem", Machine Learning 47:235-256, 2002. https://doi.org/10.1023/A:1013689704352
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import special
from scipy import stats as sp_stats

from regretlab.core.validate import (
    ParamError,
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_probs_in_unit,
    check_rng,
)

__all__ = [
    "REFERENCES",
    "SlopeFit",
    "SublinearResult",
    "gap_dependent_ucb1_bound",
    "kl_bernoulli",
    "kl_gaussian",
    "lai_robbins_bound",
    "lai_robbins_constant",
    "log_checkpoints",
    "log_rate_slope",
    "loglog_slope",
    "loglog_slope_bootstrap",
    "mean_band",
    "sublinear_tests",
    "wilson_interval",
]

REFERENCES = {
    "LR85": """@article{lai1985asymptotically,
  title   = {Asymptotically efficient adaptive allocation rules},
  author  = {Lai, Tze Leung and Robbins, Herbert},
  journal = {Advances in Applied Mathematics},
  volume  = {6}, number = {1}, pages = {4--22}, year = {1985},
  doi     = {10.1016/0196-8858(85)90002-8}
}""",
    "ACF02": """@article{auer2002finite,
  title   = {Finite-time analysis of the multiarmed bandit problem},
  author  = {Auer, Peter and Cesa-Bianchi, Nicol{\\`o} and Fischer, Paul},
  journal = {Machine Learning},
  volume  = {47}, number = {2--3}, pages = {235--256}, year = {2002},
  doi     = {10.1023/A:1013689704352}
}""",
}


# ---------------------------------------------------------------------------------------------------------
# helpers


def _check_level(level, where: str) -> float:
    return check_float("level", level, low=0.0, high=1.0, low_open=True, high_open=True, where=where)


def _t_quantile(level: float, dof: int) -> float:
    return float(sp_stats.t.ppf(0.5 + level / 2.0, dof))


def wilson_interval(k, n, level=0.95):
    """Wilson score interval (lo, hi) of a binomial proportion k / n (arrays broadcast; n > 0).

    E. B. Wilson, "Probable inference, the law of succession, and statistical inference", JASA 1927.
    Unlike the normal interval it stays inside [0, 1] and is informative at k = 0 or k = n.
    """
    level = _check_level(level, "wilson_interval")
    z = float(sp_stats.norm.ppf(0.5 + level / 2.0))
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


def _ols(u: np.ndarray, v: np.ndarray):
    """OLS of v on u (1-D, n >= 3). Returns slope, intercept, stderr of slope, r2, dof, residual scale."""
    n = u.size
    u_mean, v_mean = u.mean(), v.mean()
    du, dv = u - u_mean, v - v_mean
    sxx = float(du @ du)
    slope = float(du @ dv) / sxx
    intercept = float(v_mean - slope * u_mean)
    resid = dv - slope * du
    sse = float(resid @ resid)
    syy = float(dv @ dv)
    dof = n - 2
    # Rounding can leave residuals of order eps * |v| on an exact line: treat them as zero so that an
    # exact power law gives a degenerate interval rather than a spurious one.
    tol = (64 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(v))))) ** 2 * n
    if sse <= tol:
        sse = 0.0
    stderr = math.sqrt(sse / dof / sxx)
    r2 = 1.0 if syy == 0.0 else 1.0 - sse / syy
    return slope, intercept, stderr, r2, dof


def _slopes_of_rows(u: np.ndarray, V: np.ndarray) -> np.ndarray:
    """OLS slope of each row of V (B, n) on u (n,), vectorised."""
    du = u - u.mean()
    return (V - V.mean(axis=1, keepdims=True)) @ du / float(du @ du)


def _check_xy(x, y, where: str, xname: str = "x", yname: str = "y"):
    x = check_array(xname, x, ndim=1, where=where)
    if np.ndim(y) == 1:
        y = check_array(yname, y, shape=(x.size,), where=where)
    else:
        y = check_array(yname, y, shape=(None, x.size), where=where)
    return x, y


def _positive_mask(name: str, values: np.ndarray, drop: bool, where: str, what: str) -> np.ndarray:
    """Boolean mask of positive entries; raise on any non-positive one unless ``drop``."""
    ok = values > 0
    if not drop and not np.all(ok):
        i = int(np.flatnonzero(~ok)[0])
        raise ParamError(
            where, f"{name}[{i}]", f"> 0 ({what}; pass drop_nonpositive=True to drop such points, "
            "the count is reported as n_dropped)", float(values[i]))
    return ok


def _snap_rounding(lo, center, hi):
    """Move lo/hi onto ``center`` where they miss it by rounding only (e.g. a column whose resamples are
    all equal gives quantiles a few ulp off the mean). Larger misses are left as they are."""
    tol = 8 * np.finfo(float).eps * np.maximum(1.0, np.abs(center))
    lo = np.where((lo > center) & (lo - center <= tol), center, lo)
    hi = np.where((hi < center) & (center - hi <= tol), center, hi)
    return lo, hi


def _bootstrap_means(Y: np.ndarray, n_boot: int, gen: np.random.Generator) -> np.ndarray:
    """Means over replicates of ``n_boot`` replicate-resamples of Y (R, C): shape (n_boot, C).

    Resampling R replicates with replacement is a multinomial count vector per resample, so the
    resampled means are one matrix product (no (n_boot, R, C) temporary).
    """
    R = Y.shape[0]
    counts = gen.multinomial(R, np.full(R, 1.0 / R), size=n_boot).astype(np.float64)
    return counts @ Y / R


# ---------------------------------------------------------------------------------------------------------
# checkpoints and bands


def log_checkpoints(horizon, n=100) -> np.ndarray:
    """Log-spaced recording times: sorted unique int64 in [1, horizon], always holding 1 and horizon.

    Greedy construction with a minimum step of 1: starting from t = 1, each next point is
    ``max(t + 1, round(t * (horizon / t) ** (1 / m)))`` where m is the number of points still to place, so
    the early (small-t) points are consecutive integers and the later ones a geometric sequence. The last
    point is ``horizon`` exactly.

    Parameters: horizon int >= 1 (T); n int >= 2, the largest number of points.
    Returns: (k,) int64 with k = min(n, horizon); k == n whenever horizon >= n.
    """
    where = "log_checkpoints"
    horizon = check_int("horizon", horizon, low=1, where=where)
    n = check_int("n", n, low=2, where=where)
    if horizon <= n:
        return np.arange(1, horizon + 1, dtype=np.int64)
    pts = [1]
    while len(pts) < n - 1:
        t = pts[-1]
        remaining = n - len(pts)  # points still to place, horizon included
        nxt = max(t + 1, round(t * (horizon / t) ** (1.0 / remaining)))
        if nxt >= horizon:
            break
        pts.append(nxt)
    pts.append(horizon)
    return np.asarray(pts, dtype=np.int64)


def mean_band(y, level=0.95, method="t", n_boot=2000, rng=None):
    """Mean over replicates with a two-sided confidence band at each column.

    * ``method="t"``: mean +- t_{(1+level)/2, R-1} * s / sqrt(R), s the sample standard deviation
      (ddof=1); equals ``scipy.stats.t.interval(level, R-1, loc=mean, scale=s/sqrt(R))``.
    * ``method="bootstrap"``: percentile bootstrap over replicates: ``n_boot`` resamples of the R rows
      with replacement, band = the (1-level)/2 and (1+level)/2 quantiles of the resampled means.
      Needs ``rng``.

    With R = 1 there is no spread to estimate: the band collapses to the mean (lo = hi = mean), without
    warnings. A column with zero spread likewise gets a zero-width band.

    Parameters: y (R, C) or (R,) finite float; level in (0, 1); method "t" | "bootstrap";
        n_boot int >= 1; rng Generator | SeedSequence | int seed (bootstrap only).
    Returns: (mean, lo, hi), each of shape y.shape[1:] (float64 arrays; 0-d for 1-D input).
    """
    where = "mean_band"
    y = check_array("y", y, where=where)
    if y.ndim not in (1, 2) or y.shape[0] < 1:
        raise ParamError(where, "y", "an array of shape (R, C) or (R,) with R >= 1",
                         f"an array of shape {y.shape}")
    level = _check_level(level, where)
    method = check_choice("method", method, ("t", "bootstrap"), where=where)
    n_boot = check_int("n_boot", n_boot, low=1, where=where)
    R = y.shape[0]
    mean = y.mean(axis=0)
    if method == "bootstrap":
        gen = check_rng(rng, where)
    if R == 1:
        return mean, mean.copy(), mean.copy()
    if method == "t":
        se = y.std(axis=0, ddof=1) / math.sqrt(R)
        half = _t_quantile(level, R - 1) * se
        return mean, mean - half, mean + half
    flat = y.reshape(R, -1)
    boots = _bootstrap_means(flat, n_boot, gen)
    alpha = 1.0 - level
    lo, hi = np.quantile(boots, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    lo, hi = _snap_rounding(lo, flat.mean(axis=0), hi)
    return mean, lo.reshape(mean.shape), hi.reshape(mean.shape)


# ---------------------------------------------------------------------------------------------------------
# slope fits


@dataclass(frozen=True)
class SlopeFit:
    """A straight-line fit with a confidence interval for the slope.

    ``model="loglog"``: log y = intercept + slope * log x (natural logs), i.e. y = e^intercept x^slope.
    ``model="semilog"``: y = intercept + slope * log x.

    Fields: slope, intercept, ci_low, ci_high (two-sided CI of the slope at ``level``), r2 (of the fit
    to the points used), n (points used), stderr (t-based standard error of the slope, or the standard
    deviation of the bootstrap slopes), level, method ("ols" | "bootstrap"), n_dropped (non-positive
    points dropped on request), n_boot (resamples, 0 for OLS), n_boot_invalid (resamples whose mean
    curve had a non-positive point in a fitted column, excluded from the bootstrap quantiles).
    """

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    r2: float
    n: int
    stderr: float
    level: float
    model: str = "loglog"
    method: str = "ols"
    n_dropped: int = 0
    n_boot: int = 0
    n_boot_invalid: int = 0

    def predict(self, x) -> np.ndarray:
        """The fitted curve at x (> 0): e^intercept x^slope (loglog) or intercept + slope log x."""
        x = np.asarray(x, dtype=np.float64)
        if self.model == "loglog":
            return np.exp(self.intercept) * x**self.slope
        return self.intercept + self.slope * np.log(x)

    def label(self, digits: int = 2) -> str:
        """Short legend text, e.g. ``slope 0.50 [0.47, 0.53] (95% CI)``."""
        f = f"{{:.{digits}f}}"
        return (f"slope {f.format(self.slope)} [{f.format(self.ci_low)}, {f.format(self.ci_high)}] "
                f"({self.level:.0%} CI)")


def _min_points(n: int, where: str, what: str) -> None:
    if n < 3:
        raise ParamError(where, what, "at least 3 points to fit a line with a confidence interval", n)


def loglog_slope(x, y, level=0.95, *, drop_nonpositive=False) -> SlopeFit:
    """OLS of log y on log x, with a two-sided t-based confidence interval for the slope.

    Fits log y_i = a + b log x_i; the CI is b +- t_{(1+level)/2, n-2} * se(b),
    se(b) = sqrt(SSE / (n - 2) / sum_i (log x_i - mean log x)^2). An exact power law y = c x^b gives
    slope b and a zero-width interval. Treats the points as independent: for a cumulative curve, whose
    points are strongly correlated, prefer :func:`loglog_slope_bootstrap` over replicates.

    Parameters: x (n,) > 0; y (n,); level in (0, 1); drop_nonpositive: drop points with x <= 0 or
        y <= 0 instead of raising (their count is ``n_dropped``). At least 3 points must remain.
    Returns: :class:`SlopeFit` with model "loglog", method "ols".
    """
    where = "loglog_slope"
    level = _check_level(level, where)
    drop = check_bool("drop_nonpositive", drop_nonpositive, where=where)
    x, y = _check_xy(x, y, where)
    if y.ndim != 1:
        raise ParamError(where, "y", "a 1-D array (use loglog_slope_bootstrap for (R, C) curves)",
                         f"an array of shape {y.shape}")
    ok = _positive_mask("x", x, drop, where, "log-log fit") & _positive_mask("y", y, drop, where,
                                                                             "log-log fit")
    n = int(ok.sum())
    _min_points(n, where, "number of positive points")
    slope, intercept, se, r2, dof = _ols(np.log(x[ok]), np.log(y[ok]))
    half = _t_quantile(level, dof) * se
    return SlopeFit(slope, intercept, slope - half, slope + half, r2, n, se, level,
                    model="loglog", method="ols", n_dropped=int(x.size - n))


def _bootstrap_fit(x, Y, level, n_boot, rng, drop, where, model) -> SlopeFit:
    level = _check_level(level, where)
    n_boot = check_int("n_boot", n_boot, low=1, where=where)
    drop = check_bool("drop_nonpositive", drop, where=where)
    gen = check_rng(rng, where)
    x, Y = _check_xy(x, Y, where, "x", "Y")
    if Y.ndim != 2:
        raise ParamError(where, "Y", "a 2-D array (R, C), replicates first", f"an array of shape {Y.shape}")
    ybar = Y.mean(axis=0)
    ok = _positive_mask("x", x, drop, where, "log x")
    if model == "loglog":
        ok &= _positive_mask("mean(Y, axis=0)", ybar, drop, where, "log of the mean curve")
    n = int(ok.sum())
    _min_points(n, where, "number of usable columns")
    u = np.log(x[ok])

    def transform(v):
        return np.log(v) if model == "loglog" else v

    slope, intercept, _, r2, _ = _ols(u, transform(ybar[ok]))
    boots = _bootstrap_means(Y[:, ok], n_boot, gen)
    if model == "loglog":
        valid = np.all(boots > 0, axis=1)
        boots = boots[valid]
        n_invalid = int(n_boot - valid.sum())
        if boots.shape[0] < 2:
            raise ParamError(where, "Y", "replicates whose resampled mean curves stay > 0 (almost every "
                             "resample had a non-positive mean)", f"{n_invalid} of {n_boot} invalid")
    else:
        n_invalid = 0
    b = _slopes_of_rows(u, transform(boots))
    alpha = 1.0 - level
    lo, hi = np.quantile(b, [alpha / 2.0, 1.0 - alpha / 2.0])
    se = float(b.std(ddof=1)) if b.size > 1 else 0.0
    lo, hi = _snap_rounding(lo, slope, hi)
    return SlopeFit(slope, intercept, float(lo), float(hi), r2, n, se, level,
                    model=model, method="bootstrap", n_dropped=int(x.size - n), n_boot=n_boot,
                    n_boot_invalid=n_invalid)


def loglog_slope_bootstrap(x, Y, level=0.95, n_boot=2000, rng=None, *, drop_nonpositive=False) -> SlopeFit:
    """Log-log slope of the mean curve with a replicate-bootstrap percentile CI.

    The point estimate is the OLS slope of log(mean_r Y[r, :]) on log x. The CI resamples the R replicates
    with replacement ``n_boot`` times, refits the slope of each resampled mean curve, and takes the
    (1-level)/2 and (1+level)/2 quantiles (spec §6.6: "fitted exponent with a replicate-bootstrap CI").
    Unlike the OLS interval this respects the correlation of a cumulative curve across checkpoints.

    Columns with x <= 0 or a non-positive mean raise unless ``drop_nonpositive=True`` (count in
    ``n_dropped``). A resample whose mean is non-positive in a fitted column cannot be logged; such
    resamples are excluded from the quantiles and counted in ``n_boot_invalid``.

    Parameters: x (C,); Y (R, C) per-replicate values at x; level in (0, 1); n_boot int >= 1;
        rng Generator | SeedSequence | int seed (required).
    Returns: :class:`SlopeFit` with model "loglog", method "bootstrap"; r2 is that of the mean-curve fit.
    """
    return _bootstrap_fit(x, Y, level, n_boot, rng, drop_nonpositive, "loglog_slope_bootstrap", "loglog")


def log_rate_slope(T, regret, level=0.95, method="ols", n_boot=2000, rng=None) -> SlopeFit:
    """Slope of mean regret against log T: OLS of R(T) = a + b log T, the check for logarithmic regret.

    ``regret`` is either a mean curve (C,) or per-replicate values (R, C) (averaged over replicates).
    ``method="ols"``: t-based CI b +- t_{(1+level)/2, C-2} se(b), treating the points as independent.
    ``method="bootstrap"``: replicate-bootstrap percentile CI of b (needs (R, C) input and ``rng``).
    For a log-regret algorithm b estimates the constant in front of log T (compare with
    :func:`lai_robbins_constant`); growth faster than logarithmic shows as a poor r2 and a slope that
    rises with the range of T fitted.

    Parameters: T (C,) > 0; regret (C,) or (R, C); level in (0, 1); method "ols" | "bootstrap".
    Returns: :class:`SlopeFit` with model "semilog".
    """
    where = "log_rate_slope"
    method = check_choice("method", method, ("ols", "bootstrap"), where=where)
    if method == "bootstrap":
        return _bootstrap_fit(T, regret, level, n_boot, rng, False, where, "semilog")
    level = _check_level(level, where)
    T, regret = _check_xy(T, regret, where, "T", "regret")
    _positive_mask("T", T, False, where, "log T")
    ybar = regret if regret.ndim == 1 else regret.mean(axis=0)
    _min_points(T.size, where, "number of points")
    slope, intercept, se, r2, dof = _ols(np.log(T), ybar)
    half = _t_quantile(level, dof) * se
    return SlopeFit(slope, intercept, slope - half, slope + half, r2, int(T.size), se, level,
                    model="semilog", method="ols")


# ---------------------------------------------------------------------------------------------------------
# sub-linear regret tests (spec §6.6)


@dataclass(frozen=True)
class SublinearResult:
    """Outcome of :func:`sublinear_tests` (spec §6.6).

    Trend test: ``n_decreasing`` = s = #{i : a_{i+1} < a_i} over the ``n_pairs`` consecutive pairs of the
    average-regret curve a = R(t)/t; ``p_trend`` = P(Binomial(n_pairs, 1/2) >= s).
    Regression test: ``fit`` is the OLS fit of log R(t) on log t over t >= t0 with R(t) > 0 (t-based CI);
    ``slope`` is its exponent beta; ``p_reg`` is the one-sided p-value of H0: beta >= 1 (small => sub-linear).
    ``bootstrap`` is the replicate-bootstrap fit of the same exponent when (R, C) input and ``rng`` were given.
    """

    n_decreasing: int
    n_pairs: int
    p_trend: float
    fit: SlopeFit
    p_reg: float
    t0: float
    bootstrap: SlopeFit | None = None

    @property
    def slope(self) -> float:
        return self.fit.slope

    def is_sublinear(self, alpha=0.05) -> bool:
        """Both tests reject linear regret at level alpha: p_trend < alpha and p_reg < alpha."""
        alpha = check_float("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True,
                            where="SublinearResult.is_sublinear")
        return bool(self.p_trend < alpha and self.p_reg < alpha)


def sublinear_tests(t, R_t, t0=2, level=0.95, n_boot=2000, rng=None) -> SublinearResult:
    """Trend and regression tests for sub-linear regret ([P25]-style, spec §6.6; exact [P25] procedure
    UNCONFIRMED).

    * Trend test on the mean curve: a_i = R(t_i)/t_i over all given times; s = #{i : a_{i+1} < a_i};
      p_trend = P(Binomial(C-1, 1/2) >= s). With every round t = 1..T given this is the spec's test; with
      checkpoints it compares consecutive checkpoints. Differences within 4 ulp of a_i count as ties
      (not decreases), so a rounding-level wobble of a constant average regret is not a trend.
    * Regression test: OLS of log R(t) on log t over t >= t0 with R(t) > 0 (points with R(t) <= 0 are
      excluded by definition and counted in ``fit.n_dropped``); p_reg = P(T_{n-2} <= (beta - 1)/se(beta)),
      the one-sided t-test of H0: beta >= 1. An exact fit (se = 0) gives p_reg = 0 if beta < 1, else 1.
    * With (R, C) input and an ``rng``, also the replicate-bootstrap CI of the exponent (``bootstrap``).

    Parameters: t (C,) strictly increasing, > 0; R_t (C,) mean regret or (R, C) per-replicate regret;
        t0 > 0 (spec default 2); level in (0, 1) for the CIs; n_boot, rng for the bootstrap (optional).
    Returns: :class:`SublinearResult`.
    References: [P25] Park, Liu, Ozdaglar, Zhang, "Do LLM Agents Have Regret? A Case Study in Online
        Learning and Games", ICLR 2025, arXiv 2403.16843.
    """
    where = "sublinear_tests"
    level = _check_level(level, where)
    t0 = check_float("t0", t0, low=0.0, low_open=True, where=where)
    t, R_t = _check_xy(t, R_t, where, "t", "R_t")
    if t.size < 2 or t[0] <= 0 or np.any(np.diff(t) <= 0):
        raise ParamError(where, "t", "strictly increasing and > 0 with at least 2 entries", t)
    rbar = R_t if R_t.ndim == 1 else R_t.mean(axis=0)

    a = rbar / t
    n_pairs = int(t.size - 1)
    # Equal average regret computed through different roundings (e.g. R = 0.3 t) is a tie, not a decrease.
    tol = 4 * np.finfo(float).eps * np.maximum(np.abs(a[1:]), np.abs(a[:-1]))
    s = int(np.sum(a[1:] < a[:-1] - tol))
    p_trend = float(sp_stats.binom.sf(s - 1, n_pairs, 0.5))

    window = t >= t0
    use = window & (rbar > 0)
    n = int(use.sum())
    _min_points(n, where, f"number of times t >= t0 = {t0:g} with R(t) > 0")
    fit = loglog_slope(t[use], rbar[use], level)
    fit = replace(fit, n_dropped=int(window.sum() - n))
    beta, se = fit.slope, fit.stderr
    eps = 64 * np.finfo(float).eps * max(1.0, abs(beta))
    if se <= eps:
        p_reg = 0.0 if beta < 1.0 - eps else 1.0
    else:
        p_reg = float(sp_stats.t.cdf((beta - 1.0) / se, n - 2))

    boot = None
    if R_t.ndim == 2 and rng is not None:
        boot = loglog_slope_bootstrap(t[use], R_t[:, use], level, n_boot, rng)
    return SublinearResult(s, n_pairs, p_trend, fit, p_reg, t0, boot)


# ---------------------------------------------------------------------------------------------------------
# divergences and regret bounds


def _scalar_or_array(x: np.ndarray, scalar: bool):
    """A Python float when every input was a scalar (validation turns scalars into (1,) arrays)."""
    return float(x.reshape(-1)[0]) if scalar else x


def kl_bernoulli(p, q):
    """KL(Ber(p) || Ber(q)) = p log(p/q) + (1-p) log((1-p)/(1-q)), natural log, broadcasting.

    Conventions: 0 log(0/q) = 0 for any q in [0, 1]; x log(x/0) = +inf for x > 0. Hence
    KL(p, p) = 0 also at p in {0, 1}, and KL(p, q) = +inf when q in {0, 1} and q != p. Computed with
    ``scipy.special.rel_entr``, so no warnings at the boundaries.

    Parameters: p, q arrays (or scalars) in [0, 1], broadcastable.
    Returns: float for scalar inputs, else an array of the broadcast shape.
    """
    where = "kl_bernoulli"
    scalar = np.ndim(p) == 0 and np.ndim(q) == 0
    p = check_probs_in_unit("p", p, where=where)
    q = check_probs_in_unit("q", q, where=where)
    out = special.rel_entr(p, q) + special.rel_entr(1.0 - p, 1.0 - q)
    return _scalar_or_array(np.asarray(out, dtype=np.float64), scalar)


def kl_gaussian(m1, m2, sigma=1.0):
    """KL(N(m1, sigma^2) || N(m2, sigma^2)) = (m1 - m2)^2 / (2 sigma^2), broadcasting.

    Parameters: m1, m2 finite arrays (or scalars); sigma > 0, the common standard deviation.
    Returns: float for scalar inputs, else an array of the broadcast shape.
    """
    where = "kl_gaussian"
    scalar = np.ndim(m1) == 0 and np.ndim(m2) == 0
    m1 = check_array("m1", m1, where=where)
    m2 = check_array("m2", m2, where=where)
    sigma = check_float("sigma", sigma, low=0.0, low_open=True, where=where)
    return _scalar_or_array(np.asarray((m1 - m2) ** 2 / (2.0 * sigma**2), dtype=np.float64), scalar)


def _check_means(means, family: str, where: str) -> np.ndarray:
    if family == "bernoulli":
        mu = check_probs_in_unit("means", means, where=where)
    else:
        mu = check_array("means", means, where=where)
    if mu.ndim != 1 or mu.size < 1:
        raise ParamError(where, "means", "a 1-D array with at least one arm", f"an array of shape {mu.shape}")
    return mu


def lai_robbins_constant(means, family="bernoulli", sigma=1.0) -> float:
    """Lai-Robbins constant c(mu) = sum_{a: Delta_a > 0} Delta_a / KL(mu_a, mu*), Delta_a = mu* - mu_a.

    Any uniformly good (consistent) policy has liminf_T E[N_a(T)] / log T >= 1 / KL(mu_a, mu*) for every
    suboptimal arm [LR85] (the brief cites Thm. 2; theorem number UNCONFIRMED here), hence
    liminf_T R(T) / log T >= c(mu): the lower-bound curve is c(mu) log T (:func:`lai_robbins_bound`).

    Families: "bernoulli" (means in [0, 1], KL of :func:`kl_bernoulli`; an arm facing mu* = 1 has
    KL = inf and contributes 0) and "gaussian" (known common ``sigma``, KL = Delta^2 / (2 sigma^2), so the
    term is 2 sigma^2 / Delta_a). Arms tied with the best contribute 0; all arms tied gives 0.

    Parameters: means (K,); family "bernoulli" | "gaussian"; sigma > 0 (gaussian only).
    Returns: float c(mu) >= 0.
    References: [LR85].
    """
    where = "lai_robbins_constant"
    family = check_choice("family", family, ("bernoulli", "gaussian"), where=where)
    sigma = check_float("sigma", sigma, low=0.0, low_open=True, where=where)
    mu = _check_means(means, family, where)
    best = mu.max()
    sub = mu < best
    if not np.any(sub):
        return 0.0
    gaps = best - mu[sub]
    if family == "bernoulli":
        kl = np.asarray(kl_bernoulli(mu[sub], np.full(gaps.shape, best)), dtype=np.float64)
    else:
        kl = gaps**2 / (2.0 * sigma**2)
    return float(np.sum(gaps / kl))


def _check_horizon(T, where: str):
    T = check_array("T", T, low=1.0, where=where)
    return T


def lai_robbins_bound(means, T, family="bernoulli", sigma=1.0):
    """Asymptotic regret lower bound c(mu) log T of [LR85] (see :func:`lai_robbins_constant`).

    An asymptotic statement: the curve is a reference for the slope of regret against log T, not a bound
    that holds at every finite T.

    Parameters: means (K,); T scalar or array, every entry >= 1; family, sigma as in
        :func:`lai_robbins_constant`.
    Returns: float for scalar T, else an array shaped like T.
    References: [LR85].
    """
    where = "lai_robbins_bound"
    scalar = np.ndim(T) == 0
    T = _check_horizon(T, where)
    c = lai_robbins_constant(means, family=family, sigma=sigma)
    return _scalar_or_array(c * np.log(T), scalar)


def gap_dependent_ucb1_bound(means, T):
    """UCB1's finite-time regret upper bound [ACF02, Thm. 1].

        R(T) <= sum_{a: Delta_a > 0} 8 ln T / Delta_a + (1 + pi^2 / 3) sum_a Delta_a,

    valid for every T >= 1 and any reward distributions supported in [0, 1] (hence means in [0, 1]).

    Parameters: means (K,) in [0, 1]; T scalar or array, every entry >= 1.
    Returns: float for scalar T, else an array shaped like T.
    References: [ACF02].
    """
    where = "gap_dependent_ucb1_bound"
    scalar = np.ndim(T) == 0
    mu = _check_means(means, "bernoulli", where)
    T = _check_horizon(T, where)
    gaps = mu.max() - mu
    pos = gaps[gaps > 0]
    out = 8.0 * np.log(T) * float(np.sum(1.0 / pos)) + (1.0 + math.pi**2 / 3.0) * float(np.sum(gaps))
    return _scalar_or_array(np.asarray(out, dtype=np.float64), scalar)
