"""Linear relaxations of the recharging / LSD planning problem in cvxpy (spec §6), solved with HiGHS.

Each returns the optimal per-round rate LP* and the solution. All three are upper bounds on the planning
optimum once the finite-horizon start-up term is added (spec §6, derived there and tested against the DP):

- :func:`lp_recharging` ([PCS22] time-fraction LP, 6.1): variables x[i, d] >= 0,
  max sum (p_i(d)/d) x[i, d]  s.t.  sum_d x[i, d] <= 1,  sum_{i,d} x[i, d]/d <= m.
  Bound: OPT(T) <= (T - 1 + max_i d0_i) LP*.
- :func:`lp_lsd_cycles` (the [FGPZ23] "higher-dimensional" relaxation over block types, 6.2; the indexing by
  (a, b) blocks is the spec's reconstruction, UNCONFIRMED against the paper, hence the name of the variant in
  docs: ``lp_lsd_cycles`` is the relaxation actually implemented): a block type (a, b) plays the arm a rounds
  then idles b rounds, earning R_i(a, b) = mu_i(b) + sum_{j=1}^{a-1} mu_i(-min(j, tau)) over a + b rounds;
  type "inf" plays forever at mu_i(-tau). x[i, c] >= 0 is the time fraction of arm i in type c:
  max sum x R / (a + b) + sum x_inf mu(-tau)  s.t.  sum_c x[i, c] <= 1,  sum x a / (a + b) + sum x_inf <= m.
  Bound: OPT(T) <= T LP* + k (2 tau - 1) max mu.
- :func:`lp_occupation` (6.3, both models, from the column form): per arm a stationary distribution y[i, c, u]
  over (state column, idle/play) with flow conservation through the transition maps, plays coupled by
  sum y[i, c, 1] <= m. Its optimum equals 6.1 (recharging) and 6.2 (LSD) (tested).

The solver is HiGHS through cvxpy (ships with cvxpy's dependencies, no licence); results are clipped at 0 only
for round-off below 1e-9 (larger negatives raise).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regretlab.core.validate import ParamError

from .models import Instance, lsd_column

__all__ = ["LPResult", "lp_recharging", "lp_lsd_cycles", "lp_occupation", "lp_value", "lp_fast", "lp_upper_bound",
           "block_types", "rate_time"]


@dataclass(frozen=True)
class LPResult:
    """value: LP* (a per-round rate); x: the solution array (layout per function); labels: what the second
    axis of x indexes."""

    value: float
    x: np.ndarray
    labels: tuple


def _solve(objective, constraints, where):
    import cvxpy as cp

    prob = cp.Problem(cp.Maximize(objective), constraints)
    prob.solve(solver=cp.HIGHS, highs_options={"output_flag": False})
    if prob.status != cp.OPTIMAL:
        raise RuntimeError(f"{where}: the LP solver returned status {prob.status!r}")
    return float(prob.value)


def _clean(x, where):
    x = np.asarray(x, dtype=float)
    if np.any(x < -1e-9):
        raise RuntimeError(f"{where}: the solver returned a negative entry {x.min():.3g}")
    return np.maximum(x, 0.0)


def block_types(tau_max: int) -> list[tuple[int, int]]:
    """The block types (a, b), a, b = 1..tau_max, then (0, 0) standing for "play forever"."""
    return [(a, b) for a in range(1, tau_max + 1) for b in range(1, tau_max + 1)] + [(0, 0)]


def rate_time(inst: Instance, payoff=None) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The coefficients shared by LP 6.1 and LP 6.2: both read max sum rate * x s.t. sum_c x[i, c] <= 1 and
    sum x @ time <= m. Returns (rate (k, n_types), time (n_types,), labels) for the instance's model, with the
    payoff table ``payoff`` (default the instance's; learners pass estimates)."""
    mu = inst.payoff if payoff is None else np.asarray(payoff, float)
    tau = inst.tau_max
    if inst.kind == "recharging":
        d = np.arange(1, tau + 1, dtype=float)
        return mu / d, 1.0 / d, tuple(int(v) for v in d)
    types = block_types(tau)
    rate = np.zeros((inst.k, len(types)))
    time = np.zeros(len(types))
    for c, (a, b) in enumerate(types):
        if a == 0:
            rate[:, c] = mu[:, lsd_column(-tau, tau)]
            time[c] = 1.0
            continue
        R = mu[:, lsd_column(b, tau)] + sum(mu[:, lsd_column(-min(j, tau), tau)] for j in range(1, a))
        rate[:, c] = R / (a + b)
        time[c] = a / (a + b)
    return rate, time, tuple(types)


def _model_lp(inst: Instance, where: str) -> LPResult:
    import cvxpy as cp

    rate, time, labels = rate_time(inst)
    X = cp.Variable(rate.shape, nonneg=True)
    val = _solve(cp.sum(cp.multiply(rate, X)), [cp.sum(X, axis=1) <= 1, cp.sum(X @ time) <= inst.m], where)
    return LPResult(val, _clean(X.value, where), labels)


def lp_recharging(inst: Instance) -> LPResult:
    """LP 6.1 (module docstring); x has shape (k, tau_max), x[i, d - 1] the weight of period d."""
    if inst.kind != "recharging":
        raise ParamError("lp_recharging", "inst", "a recharging instance", inst.kind)
    return _model_lp(inst, "lp_recharging")


def lp_lsd_cycles(inst: Instance) -> LPResult:
    """LP 6.2 (module docstring); x has shape (k, tau^2 + 1) over :func:`block_types`."""
    if inst.kind != "lsd":
        raise ParamError("lp_lsd_cycles", "inst", "an LSD instance", inst.kind)
    return _model_lp(inst, "lp_lsd_cycles")


def lp_fast(inst: Instance, payoff=None) -> LPResult:
    """The model's LP (6.1 or 6.2) for the payoff table ``payoff`` through scipy's HiGHS dual simplex directly
    (a vertex solution; no cvxpy problem construction), for learners that re-solve it many times. Equal in
    value to :func:`lp_value` (tested)."""
    from scipy.optimize import linprog

    rate, time, labels = rate_time(inst, payoff)
    k, n = rate.shape
    A = np.zeros((k + 1, k * n))
    for i in range(k):
        A[i, i * n:(i + 1) * n] = 1.0
    A[k] = np.tile(time, k)
    b = np.concatenate([np.ones(k), [float(inst.m)]])
    res = linprog(-rate.ravel(), A_ub=A, b_ub=b, bounds=(0, None), method="highs-ds")
    if res.status != 0:
        raise RuntimeError(f"lp_fast: the LP solver returned status {res.status} ({res.message})")
    return LPResult(float(-res.fun), _clean(res.x.reshape(k, n), "lp_fast"), labels)


def lp_occupation(inst: Instance) -> LPResult:
    """LP 6.3 on the column form; x has shape (k, n_states, 2), last axis (idle, play)."""
    import cvxpy as cp

    where = "lp_occupation"
    k, n = inst.k, inst.n_states
    Y0 = cp.Variable((k, n), nonneg=True)      # idle
    Y1 = cp.Variable((k, n), nonneg=True)      # play
    Mi = np.zeros((n, n))                       # Mi[c', c] = 1 if idle from c' leads to c
    Mp = np.zeros((n, n))
    Mi[np.arange(n), inst.next_idle] = 1.0
    Mp[np.arange(n), inst.next_play] = 1.0
    cons = [cp.sum(Y0 + Y1, axis=1) == 1, Y0 + Y1 == Y0 @ Mi + Y1 @ Mp, cp.sum(Y1) <= inst.m]
    val = _solve(cp.sum(cp.multiply(inst.payoff, Y1)), cons, where)
    x = np.stack([_clean(Y0.value, where), _clean(Y1.value, where)], axis=2)
    return LPResult(val, x, ("idle", "play"))


def lp_value(inst: Instance) -> LPResult:
    """The model's own relaxation: 6.1 for recharging, 6.2 for LSD."""
    return lp_recharging(inst) if inst.kind == "recharging" else lp_lsd_cycles(inst)


def lp_upper_bound(inst: Instance, T: int, lp: LPResult | None = None) -> float:
    """The finite-horizon upper bound on OPT(T) from LP* (spec §6.1 / §6.2)."""
    lp = lp or lp_value(inst)
    if inst.kind == "recharging":
        return (T - 1 + int(inst.init.max()) + 1) * lp.value
    return T * lp.value + inst.k * (2 * inst.tau_max - 1) * float(inst.payoff.max())
