"""FTRL / OMD over the probability simplex: log-barrier, negative entropy (Hedge) and Tsallis steps.

One FTRL step maps cumulative losses L (shape ``(..., A)``, batched over leading axes) to the policy

    p = argmin_{p in simplex} <p, L> + Psi(p)

for three regularisers, each with a learning rate eta > 0 (scalar or broadcastable to ``L.shape[:-1]``):

- log-barrier  Psi(p) = (1/eta) sum_a ln(1/p_a)                   ``log_barrier_step``  [FLLST16, WL18]
- entropy      Psi(p) = (1/eta) sum_a p_a ln p_a                  ``hedge_step``        [FS97]
- Tsallis      Psi(p) = -(1/eta) sum_a (p_a^alpha - alpha p_a) / (alpha (1 - alpha))
               (alpha = 1/2: -(1/eta) sum_a (4 sqrt(p_a) - 2 p_a))  ``tsallis_step``     [ZS21]

The log-barrier and Tsallis steps are solved by a safeguarded Newton method on one scalar multiplier, to
machine precision, after shifting L by its minimum (specs/adversarial-linear-mdp.md §2.1); the Hedge step is
a shifted softmax. ``FTRL`` is a small stateful wrapper that keeps cumulative losses and recomputes the
policy from them every time (no multiplicative incremental updates, which drift). ``ftrl_stability``
computes the stability term max_x <x_t - x, loss> - D_Psi(x, x_t) of the FTRL regret decomposition
(spec §2.2).

Numba kernels live in ``regretlab.core._ftrl_kernels``; their per-row functions (``log_barrier_row``,
``tsallis_row``, ``hedge_row``) can be called from other ``@njit`` kernels. Nothing compiles at import.

References: see ``REFERENCES`` (BibTeX) and the docstrings.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_choice, check_float, check_int, check_prob

__all__ = [
    "FTRL",
    "REFERENCES",
    "SimplexStepResult",
    "ftrl_stability",
    "hedge_row_py",
    "hedge_rows_xp",
    "hedge_step",
    "log_barrier_row_py",
    "log_barrier_rows_xp",
    "log_barrier_step",
    "tsallis_step",
]

REFERENCES = {
    "FLLST16": """@inproceedings{FLLST16,
  author = {Dylan J. Foster and Zhiyuan Li and Thodoris Lykouris and Karthik Sridharan and Eva Tardos},
  title = {Learning in Games: Robustness of Fast Convergence},
  booktitle = {Advances in Neural Information Processing Systems 29 (NeurIPS 2016)},
  year = {2016},
  note = {arXiv:1606.06244}
}""",
    "WL18": """@inproceedings{WL18,
  author = {Chen-Yu Wei and Haipeng Luo},
  title = {More Adaptive Algorithms for Adversarial Bandits},
  booktitle = {Proceedings of the 31st Conference on Learning Theory (COLT 2018)},
  series = {PMLR},
  volume = {75},
  year = {2018},
  note = {arXiv:1801.03265}
}""",
    "FS97": """@article{FS97,
  author = {Yoav Freund and Robert E. Schapire},
  title = {A Decision-Theoretic Generalization of On-Line Learning and an Application to Boosting},
  journal = {Journal of Computer and System Sciences},
  volume = {55},
  number = {1},
  pages = {119--139},
  year = {1997}
}""",
    "ZS21": """@article{ZS21,
  author = {Julian Zimmert and Yevgeny Seldin},
  title = {Tsallis-INF: An Optimal Algorithm for Stochastic and Adversarial Bandits},
  journal = {Journal of Machine Learning Research},
  volume = {22},
  number = {28},
  pages = {1--49},
  year = {2021},
  url = {https://jmlr.org/papers/v22/19-753.html}
}""",
    "DLWZ23": """@inproceedings{DLWZ23,
  author = {Yan Dai and Haipeng Luo and Chen-Yu Wei and Julian Zimmert},
  title = {Refined Regret for Adversarial {MDP}s with Linear Function Approximation},
  booktitle = {Proceedings of the 40th International Conference on Machine Learning (ICML 2023)},
  series = {PMLR},
  volume = {202},
  year = {2023},
  note = {arXiv:2301.12942}
}""",
}

_REGULARIZERS = ("log_barrier", "entropy", "tsallis")


@dataclass(frozen=True, eq=False)
class SimplexStepResult:
    """Result of a Newton-solved FTRL step (log-barrier or Tsallis); attribute access, no exceptions.

    Fields (``B = L.shape[:-1]``; for a single row, i.e. ``B == ()``, the scalar fields are Python
    ``float``/``int``/``bool``):

    - ``p`` (B..., A) float64: the policy, renormalised to sum to 1 (within a few ulps).
    - ``nu`` (B...) float64: the shifted multiplier, in [1, A^(1 - alpha)] (log-barrier: [1, A]).
      Log-barrier: p_a = 1 / (eta (L_a - min L) + nu). Tsallis: p_a = ((1 - alpha) eta (L_a - min L) + nu)
      ^ (-1 / (1 - alpha)). Both hold before the final renormalisation (a change of ~1 ulp).
    - ``multiplier`` (B...) float64: the same in the original scale. Log-barrier: lambda = nu / eta - min L,
      p_a = 1 / (eta (L_a + lambda)). Tsallis: the normaliser x = min L - nu / ((1 - alpha) eta),
      p_a = ((1 - alpha) eta (L_a - x))^(-1/(1 - alpha)) (alpha = 1/2: 4 / (eta (L_a - x))^2 as in
      [ZS21, Alg. 1]). For |eta L| large it carries the rounding of the shift; prefer ``nu``.
    - ``n_iter`` (B...) int64: number of Newton (or bisection) updates of nu.
    - ``converged`` (B...) bool: |sum_a p_a - 1| <= tol before renormalisation (sums are compensated,
      so this is reachable for any A), or, as a safeguard, the bracket around nu shrank to a few ulps
      (root located to machine precision). False only if ``max_iter`` was reached first.
    """

    p: np.ndarray
    nu: np.ndarray | float
    multiplier: np.ndarray | float
    n_iter: np.ndarray | int
    converged: np.ndarray | bool


# ------------------------------------------------------------------------------------------------------
# validation helpers


def _clean_losses(where: str, name: str, L) -> np.ndarray:
    L = check_array(name, L, where=where)
    if L.ndim == 0:
        raise ParamError(where, name, "an array of shape (..., A) with A >= 2 actions", L)
    check_int(f"{name}.shape[-1] (number of actions A)", L.shape[-1], low=2, where=where)
    return L


def _clean_eta(where: str, eta, batch_shape: tuple, name: str = "eta") -> np.ndarray:
    """eta > 0, finite, scalar or broadcastable to ``batch_shape``; returned as an array of that shape."""
    if isinstance(eta, np.ndarray) and eta.ndim > 0:
        arr = check_array(name, eta, where=where)
        bad = ~(arr > 0.0)
        if np.any(bad):
            i = tuple(int(j) for j in np.argwhere(bad)[0])
            raise ParamError(where, f"{name}[{i[0] if len(i) == 1 else i}]", "> 0", arr[i].item())
    elif isinstance(eta, (list, tuple)):
        return _clean_eta(where, np.asarray(eta, dtype=np.float64), batch_shape, name)
    else:
        if isinstance(eta, np.ndarray):  # 0-d array
            eta = eta.item()
        arr = np.asarray(check_float(name, eta, low=0.0, low_open=True, where=where))
    try:
        return np.array(np.broadcast_to(arr, batch_shape), dtype=np.float64)  # copy, C-contiguous
    except ValueError:
        raise ParamError(where, name, f"a scalar or an array broadcastable to {batch_shape}",
                         f"an array of shape {arr.shape}") from None


def _clean_alpha(where: str, alpha) -> float:
    return check_float("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True, where=where)


def _clean_solver_opts(where: str, tol, max_iter) -> tuple[float, int]:
    tol = check_float("tol", tol, low=0.0, low_open=True, where=where)
    max_iter = check_int("max_iter", max_iter, low=0, where=where)
    return tol, max_iter


def _scalarize(x: np.ndarray, kind):
    return kind(x) if x.ndim == 0 else x


def _newton_step(L: np.ndarray, c: np.ndarray, beta: float, tol: float, max_iter: int):
    """Run the batched Newton kernel on validated inputs: L (..., A), c (...) -> arrays."""
    from regretlab.core import _ftrl_kernels as K

    batch = L.shape[:-1]
    A = L.shape[-1]
    L2 = L.reshape(-1, A)
    c1 = np.ascontiguousarray(c.reshape(-1))
    n = L2.shape[0]
    p = np.empty((n, A))
    nu = np.empty(n)
    n_iter = np.empty(n, dtype=np.int64)
    conv = np.empty(n, dtype=np.bool_)
    K.newton_simplex_batch(L2, c1, float(beta), tol, max_iter, p, nu, n_iter, conv)
    return p.reshape(L.shape), nu.reshape(batch), n_iter.reshape(batch), conv.reshape(batch)


# ------------------------------------------------------------------------------------------------------
# steps


def log_barrier_step(L, eta, *, tol: float = 1e-14, max_iter: int = 100) -> SimplexStepResult:
    """Log-barrier FTRL step: p = argmin_{p in simplex} <p, L> + (1/eta) sum_a ln(1/p_a).

    The minimiser is interior and unique. Stationarity gives p_a = 1 / (eta (L_a + lambda)) with one
    multiplier lambda > -min L fixed by sum_a p_a = 1. Solved in shifted variables exactly as in
    specs/adversarial-linear-mdp.md §2.1 (DERIVED there):

        m = min_a L_a,  y_a = eta (L_a - m) >= 0,  solve g(nu) = sum_a 1/(y_a + nu) - 1 = 0 on [1, A],
        p_a = 1/(y_a + nu),  then p <- p / sum p.

    Monotone Newton from nu = 1, nu <- nu + (sum p - 1) / sum p^2 (g is convex and decreasing, g(1) >= 0,
    so the iterates increase and never overshoot), safeguarded by a bracket with bisection fallback; stops
    at |sum p - 1| <= ``tol`` or after ``max_iter`` updates. The loop runs in a Numba kernel over the
    flattened batch. Properties (tested): shift invariance in L, step(L, eta) == step(eta L, 1), strict
    order (L_a < L_b => p_a > p_b) and p_a >= 1/(y_a + A) > 0 (p_a underflows to 0 only if
    eta (L_a - min L) overflows float64).

    Parameters:
        L: (..., A) float64 cumulative losses, finite, A >= 2. Any magnitude (the shift makes |eta L| up
            to 1e6 and beyond safe); large negative entries are the intended use ([DLWZ23]).
        eta: learning rate > 0, scalar or broadcastable to ``L.shape[:-1]``.
        tol: tolerance on |sum p - 1| before renormalisation (> 0). max_iter: cap on updates (>= 0).
    Returns:
        ``SimplexStepResult`` with p (..., A), nu, multiplier (lambda), n_iter, converged.
    Raises:
        ValueError (naming the parameter) for non-finite L or eta, eta <= 0, A < 2; TypeError for a
        non-numeric argument.
    References:
        [FLLST16] Foster, Li, Lykouris, Sridharan, Tardos, "Learning in Games: Robustness of Fast
        Convergence", NeurIPS 2016. [WL18] Wei and Luo, "More Adaptive Algorithms for Adversarial Bandits",
        COLT 2018. [DLWZ23] Dai, Luo, Wei, Zimmert, "Refined Regret for Adversarial MDPs with Linear
        Function Approximation", ICML 2023 (log-barrier policy optimisation; spec §2.1-2.2).
    """
    where = "log_barrier_step"
    L = _clean_losses(where, "L", L)
    eta = _clean_eta(where, eta, L.shape[:-1])
    tol, max_iter = _clean_solver_opts(where, tol, max_iter)
    p, nu, n_iter, conv = _newton_step(L, eta, 1.0, tol, max_iter)
    lam = nu / eta - L.min(axis=-1)
    return SimplexStepResult(p=p, nu=_scalarize(nu, float), multiplier=_scalarize(lam, float),
                             n_iter=_scalarize(n_iter, int), converged=_scalarize(conv, bool))


def tsallis_step(L, eta, alpha: float = 0.5, *, tol: float = 1e-14, max_iter: int = 100) -> SimplexStepResult:
    """alpha-Tsallis FTRL step (Tsallis-INF [ZS21] for alpha = 1/2).

    Regulariser convention (stated here because papers differ by constants and linear terms):

        Psi(p) = -(1/eta) sum_a (p_a^alpha - alpha p_a) / (alpha (1 - alpha)),   0 < alpha < 1,

    so for alpha = 1/2, Psi(p) = -(1/eta) sum_a (4 sqrt(p_a) - 2 p_a), equal on the simplex to
    -(4/eta) sum_a sqrt(p_a). The linear term changes nothing on the simplex; it makes Psi tend to the
    log-barrier (1/eta) sum ln(1/p_a) as alpha -> 0 and to the negative entropy (1/eta) sum p_a ln p_a as
    alpha -> 1 (up to constants), which the tests check. With this convention, for alpha = 1/2,

        p_a = 4 / (eta (L_a - x))^2,   x < min L the normaliser with sum_a p_a = 1,

    which is the weight formula of [ZS21, Alg. 1] (with eta_t and cumulative loss estimates there); their
    Newton normalisation x <- x - (sum p - 1) / (eta sum p^(3/2)) is the same iteration as ours below,
    written in the original scale. For general alpha, p_a = ((1 - alpha) eta (L_a - x))^(-1/(1-alpha)).

    Solved like the log-barrier step (which is the alpha -> 0 limit), in shifted variables: beta =
    1/(1 - alpha), y_a = (1 - alpha) eta (L_a - min L), p_a = (y_a + nu)^(-beta), g(nu) = sum p - 1 is
    convex decreasing with g(1) >= 0 >= g(A^(1/beta)); monotone Newton from nu = 1,
    nu <- nu + (sum p - 1) / (beta sum_a p_a / (y_a + nu)), bracket and bisection safeguard, stop at
    |sum p - 1| <= tol or ``max_iter`` updates, final renormalisation. General alpha in (0, 1) is
    supported; for alpha very close to 1 the exponent beta is large and p is accurate to about
    beta * 1e-16 relative (still ~1e-9 at alpha = 1 - 1e-7).

    Parameters:
        L: (..., A) float64 cumulative losses, finite, A >= 2. eta: > 0, scalar or broadcastable to
        ``L.shape[:-1]``. alpha: Tsallis exponent in (0, 1), default 1/2. tol, max_iter: as in
        ``log_barrier_step``.
    Returns:
        ``SimplexStepResult``; ``multiplier`` is the normaliser x = min L - nu / ((1 - alpha) eta).
    References:
        [ZS21] Julian Zimmert and Yevgeny Seldin, "Tsallis-INF: An Optimal Algorithm for Stochastic and
        Adversarial Bandits", JMLR 22(28):1-49, 2021, https://jmlr.org/papers/v22/19-753.html
        (Algorithm 1; the alpha-general regulariser form above is this module's convention).
    """
    where = "tsallis_step"
    L = _clean_losses(where, "L", L)
    eta = _clean_eta(where, eta, L.shape[:-1])
    alpha = _clean_alpha(where, alpha)
    tol, max_iter = _clean_solver_opts(where, tol, max_iter)
    c = (1.0 - alpha) * eta
    p, nu, n_iter, conv = _newton_step(L, c, 1.0 / (1.0 - alpha), tol, max_iter)
    x = L.min(axis=-1) - nu / c
    return SimplexStepResult(p=p, nu=_scalarize(nu, float), multiplier=_scalarize(x, float),
                             n_iter=_scalarize(n_iter, int), converged=_scalarize(conv, bool))


def hedge_step(L, eta) -> np.ndarray:
    """Negative-entropy FTRL step (Hedge / exponential weights): p_a = exp(-eta L_a) / sum_b exp(-eta L_b).

    argmin_{p in simplex} <p, L> + (1/eta) sum_a p_a ln p_a, computed as a softmax shifted by m = min L:
    p_a = exp(-eta (L_a - m)) / sum_b exp(-eta (L_b - m)), so the largest weight is exactly 1 and nothing
    overflows; entries may underflow to exactly 0 (harmless for the step, spec §2.1). With L the
    cumulative (estimated) losses this is Hedge [FS97] (full information) and EXP3's sampling distribution
    without forced exploration (importance-weighted L); see specs/llm-bandit-envs.md §7.

    Parameters:
        L: (..., A) float64 cumulative losses, finite, A >= 2.
        eta: learning rate > 0, scalar or broadcastable to ``L.shape[:-1]`` (e.g. eta_t = sqrt(8 ln A / t)
            for anytime Hedge, passed per call).
    Returns:
        p (..., A) float64, sums to 1 within a few ulps.
    References:
        [FS97] Yoav Freund and Robert E. Schapire, "A Decision-Theoretic Generalization of On-Line
        Learning and an Application to Boosting", J. Computer and System Sciences 55(1):119-139, 1997.
    """
    from regretlab.core import _ftrl_kernels as K

    where = "hedge_step"
    L = _clean_losses(where, "L", L)
    eta = _clean_eta(where, eta, L.shape[:-1])
    A = L.shape[-1]
    L2 = L.reshape(-1, A)
    p = np.empty_like(L2)
    K.hedge_batch(L2, np.ascontiguousarray(eta.reshape(-1)), p)
    return p.reshape(L.shape)


def _step_p(regularizer: str, L: np.ndarray, eta: np.ndarray, alpha: float) -> np.ndarray:
    if regularizer == "log_barrier":
        return _newton_step(L, eta, 1.0, 1e-14, 100)[0]
    if regularizer == "tsallis":
        return _newton_step(L, (1.0 - alpha) * eta, 1.0 / (1.0 - alpha), 1e-14, 100)[0]
    return hedge_step(L, eta)


# ------------------------------------------------------------------------------------------------------
# Bit-identical twins of the Numba rows, for vectorised (NumPy / CuPy) and plain-Python backends.
#
# Area kernels call ``log_barrier_row`` / ``hedge_row_det`` of ``_ftrl_kernels`` per state inside their
# episode loops; their NumPy backends solve many rows at once with the ``*_rows_xp`` functions below, and
# their plain-Python references call the ``*_row_py`` functions. All three perform the same IEEE-754
# operations in the same order (Kahan-compensated sums, the same bracket and stopping rules, the portable
# exponential of ``regretlab.core.detmath``), so they return identical doubles (tests/core/test_ftrl.py).
# They trust their inputs (finite float64 losses, eta > 0): the callers validate.

_EPS = float(np.finfo(np.float64).eps)


def log_barrier_rows_xp(L, eta, xp=np, tol: float = 1e-14, max_iter: int = 100):
    """Log-barrier step on every row of ``L`` (N, A) at once; returns (p (N, A), nu, n_iter, converged).

    ``nu`` (N,) float64, ``n_iter`` (N,) int64, ``converged`` (N,) bool as the kernel's return values.

    ``eta`` is a scalar or an (N,) array. Row i undergoes exactly the Newton/bisection updates of
    ``_ftrl_kernels.log_barrier_row`` on ``L[i]`` (a finished row is frozen while others iterate).
    """
    N, A = L.shape
    eta = xp.asarray(eta, dtype=xp.float64)
    c = eta if eta.ndim == 0 else eta[:, None]
    m = L[:, 0]
    for a in range(1, A):
        m = xp.minimum(m, L[:, a])
    y = c * (L - m[:, None])
    lo = xp.ones(N)
    hi = xp.full(N, float(A))
    nu = xp.ones(N)
    n_iter = xp.zeros(N, dtype=xp.int64)
    active = xp.ones(N, dtype=bool)
    converged = xp.zeros(N, dtype=bool)
    while bool(active.any()):
        s = xp.zeros(N)
        comp = xp.zeros(N)
        d = xp.zeros(N)
        for a in range(A):
            r = 1.0 / (y[:, a] + nu)
            yk = r - comp
            t = s + yk
            comp = (t - s) - yk
            s = t
            d = d + r * r
        g = s - 1.0
        done = active & (xp.abs(g) <= tol)
        converged |= done
        active &= ~done
        up = g > 0.0
        lo = xp.where(active & up, nu, lo)
        hi = xp.where(active & ~up, nu, hi)
        done = active & (hi - lo <= 4.0 * _EPS * hi)
        converged |= done
        active &= ~done
        active &= n_iter < max_iter
        with np.errstate(all="ignore"):
            cand = nu + g / (1.0 * d)
        ok = (lo < cand) & (cand < hi)
        cand = xp.where(ok, cand, 0.5 * (lo + hi))
        nu = xp.where(active, cand, nu)
        n_iter = n_iter + active
    s = xp.zeros(N)
    comp = xp.zeros(N)
    p = xp.empty_like(L)
    for a in range(A):
        pa = 1.0 / (y[:, a] + nu)
        p[:, a] = pa
        yk = pa - comp
        t = s + yk
        comp = (t - s) - yk
        s = t
    return p / s[:, None], nu, n_iter, converged


def hedge_rows_xp(L, eta, xp=np):
    """Hedge step on every row of ``L`` (N, A): bit-identical to ``_ftrl_kernels.hedge_row_det`` per row."""
    from regretlab.core.detmath import exp_array

    A = L.shape[-1]
    eta = xp.asarray(eta, dtype=xp.float64)
    c = eta if eta.ndim == 0 else eta[:, None]
    m = L[:, 0]
    for a in range(1, A):
        m = xp.minimum(m, L[:, a])
    w = exp_array(-c * (L - m[:, None]), xp)
    s = w[:, 0]
    for a in range(1, A):
        s = s + w[:, a]
    return w / s[:, None]


def log_barrier_row_py(L, eta: float, tol: float = 1e-14, max_iter: int = 100) -> list:
    """Plain-Python twin of ``_ftrl_kernels.log_barrier_row`` for one row (a sequence of floats).

    Returns the policy as a list of floats (same doubles as the kernel; reference backends use it).
    """
    A = len(L)
    m = min(float(x) for x in L)
    y = [eta * (float(x) - m) for x in L]
    lo, hi, nu, n_iter = 1.0, float(A), 1.0, 0
    while True:
        s = comp = d = 0.0
        for ya in y:
            r = 1.0 / (ya + nu)
            yk = r - comp
            t = s + yk
            comp = (t - s) - yk
            s = t
            d += r * r
        g = s - 1.0
        if abs(g) <= tol:
            break
        if g > 0.0:
            lo = nu
        else:
            hi = nu
        if hi - lo <= 4.0 * _EPS * hi or n_iter >= max_iter:
            break
        cand = nu + g / (1.0 * d)
        if not (lo < cand < hi):
            cand = 0.5 * (lo + hi)
        nu = cand
        n_iter += 1
    p = [1.0 / (ya + nu) for ya in y]
    s = comp = 0.0
    for pa in p:
        yk = pa - comp
        t = s + yk
        comp = (t - s) - yk
        s = t
    return [pa / s for pa in p]


def hedge_row_py(L, eta: float) -> list:
    """Plain-Python twin of ``_ftrl_kernels.hedge_row_det`` for one row (a sequence of floats).

    Returns the policy as a list of floats (same doubles as the kernel; reference backends use it).
    """
    from regretlab.core.detmath import exp_scalar

    m = min(float(x) for x in L)
    w = [exp_scalar(-eta * (float(x) - m)) for x in L]
    s = 0.0
    for x in w:
        s += x
    return [x / s for x in w]


# ------------------------------------------------------------------------------------------------------
# stateful convenience


class FTRL:
    """FTRL over the simplex with a fixed regulariser, keeping cumulative losses.

    ``update(loss)`` adds a loss vector (or a batch of them) to the cumulative sum; ``policy()`` solves
    p = argmin <p, L_cum> + Psi(p) from the cumulative sum every time (no multiplicative incremental
    updates; they drift, spec §2.1). For loops of 10^6 steps x 10^3 replicates use the kernels in
    ``regretlab.core._ftrl_kernels`` inside an ``@njit`` loop instead (STYLE §4).

    Parameters:
        n_actions: A >= 2.
        regularizer: "log_barrier" (``log_barrier_step``), "entropy" (``hedge_step``) or "tsallis"
            (``tsallis_step`` with ``alpha``).
        eta: learning rate > 0, scalar or broadcastable to ``batch_shape``; ``policy(eta=...)`` overrides it
            for one call (time-varying eta_t).
        batch_shape: leading axes of independent learners (e.g. (n_states,) or (replicates, n_states)).
        alpha: Tsallis exponent in (0, 1), used only by "tsallis".
    Attributes: ``cumulative_loss`` (batch_shape + (A,), a copy), ``t`` (number of updates).
    References: [FS97], [FLLST16], [WL18], [ZS21]; see the step functions.
    """

    def __init__(self, n_actions, regularizer: str = "log_barrier", eta=1.0, batch_shape=(), *,
                 alpha: float = 0.5):
        where = "FTRL"
        self.n_actions = check_int("n_actions", n_actions, low=2, where=where)
        self.regularizer = check_choice("regularizer", regularizer, _REGULARIZERS, where=where)
        if isinstance(batch_shape, (int, np.integer)):
            batch_shape = (batch_shape,)
        if not isinstance(batch_shape, (tuple, list)):
            raise ParamError(where, "batch_shape", "a tuple of integers >= 0", batch_shape)
        self.batch_shape = tuple(check_int(f"batch_shape[{i}]", b, low=0, where=where)
                                 for i, b in enumerate(batch_shape))
        self.eta = _clean_eta(where, eta, self.batch_shape)
        self.alpha = _clean_alpha(where, alpha)
        self._L = np.zeros(self.batch_shape + (self.n_actions,))
        self.t = 0

    @property
    def cumulative_loss(self) -> np.ndarray:
        return self._L.copy()

    def reset(self) -> None:
        """Forget all losses (cumulative sum back to 0, t = 0)."""
        self._L[...] = 0.0
        self.t = 0

    def update(self, loss) -> None:
        """Add ``loss`` (broadcastable to batch_shape + (A,), finite) to the cumulative losses."""
        where = "FTRL.update"
        loss = check_array("loss", loss, where=where)
        try:
            loss = np.broadcast_to(loss, self._L.shape)
        except ValueError:
            raise ParamError(where, "loss", f"an array broadcastable to {self._L.shape}",
                             f"an array of shape {loss.shape}") from None
        with np.errstate(over="ignore"):
            new = self._L + loss
        if not np.all(np.isfinite(new)):
            raise ParamError(where, "loss", "such that the cumulative loss stays finite (float64 overflow)",
                             "an update that overflows")
        self._L = new
        self.t += 1

    def policy(self, eta=None) -> np.ndarray:
        """The FTRL policy from the current cumulative losses: batch_shape + (A,) float64."""
        eta = self.eta if eta is None else _clean_eta("FTRL.policy", eta, self.batch_shape)
        return _step_p(self.regularizer, self._L, eta, self.alpha)


# ------------------------------------------------------------------------------------------------------
# stability term


def _h_log_barrier(u: np.ndarray) -> np.ndarray:
    """h(u) = u - 1 - ln u >= 0, written with log1p."""
    d = u - 1.0
    return d - np.log1p(d)


def ftrl_stability(x_t, loss, eta, regularizer: str = "log_barrier", *, alpha: float = 0.5):
    """Stability term of FTRL: max_{x in simplex} <x_t - x, loss> - D_Psi(x, x_t).

    FTRL regret = penalty + sum_t stability_t (specs/adversarial-linear-mdp.md §2.2). The maximisation is
    a strictly concave problem; its maximiser is the OMD step x* = argmin_x <x, loss - grad Psi(x_t)> +
    Psi(x), solved here with the same machine-precision steps as the policy (the shift by the minimum
    keeps huge negative losses safe), after which the value is evaluated directly:

    - log_barrier, Psi = (1/eta) sum ln(1/x_a): grad Psi(x_t) = -1/(eta x_t), D = (1/eta) sum_a h(u_a),
      u = x/x_t, h(u) = u - 1 - ln u. Spec §2.2 (DERIVED): the value is <= 2 eta sum_a x_t,a loss_a^2 for
      every real loss vector, and <= eta sum_a x_t,a^2 loss_a^2 when eta x_t,a |loss_a| <= 1/2.
    - entropy, Psi = (1/eta) sum x ln x: closed form <x_t, loss> + (1/eta) ln sum_a x_t,a exp(-eta loss_a)
      (log-sum-exp); <= eta sum_a x_t,a loss_a^2 when eta loss_a >= -1 [FS97]. x_t may contain zeros.
    - tsallis (convention of ``tsallis_step``): D = (1/(eta alpha (1 - alpha))) sum_a
      [x_t,a^alpha - x_a^alpha + alpha x_t,a^(alpha-1) (x_a - x_t,a)].

    Accuracy: relative error about 1e-16 / min_a (eta x_t,a |loss_a|) from cancellation when the loss is
    tiny; independent of how negative the loss is. ``tests/core/test_ftrl.py`` checks the value against
    cvxpy (SCS) on moderate cases.

    Parameters:
        x_t: (..., A) probability vector(s) summing to 1 within 1e-12; strictly positive for log_barrier
            and tsallis. loss: same shape, finite, any sign and size. eta: > 0, scalar or broadcastable to
            the batch shape. regularizer: "log_barrier", "entropy" or "tsallis". alpha: Tsallis exponent.
    Returns:
        float (single vector) or array of shape ``x_t.shape[:-1]``.
    References: [DLWZ23] via spec §2.2; [FS97]; [ZS21].
    """
    where = "ftrl_stability"
    regularizer = check_choice("regularizer", regularizer, _REGULARIZERS, where=where)
    x_t = check_prob("x_t", x_t, where=where)
    _clean_losses(where, "x_t", x_t)
    loss = check_array("loss", loss, where=where)
    if loss.shape != x_t.shape:
        raise ParamError(where, "loss", f"an array of the shape of x_t {x_t.shape}",
                         f"an array of shape {loss.shape}")
    if regularizer != "entropy" and np.any(x_t <= 0.0):
        raise ParamError(where, "x_t", f"strictly positive for regularizer {regularizer!r}",
                         float(x_t.min()))
    eta = _clean_eta(where, eta, x_t.shape[:-1])
    alpha = _clean_alpha(where, alpha)
    e = eta[..., None]

    if regularizer == "entropy":
        from scipy.special import logsumexp

        val = np.sum(x_t * loss, axis=-1) + logsumexp(-e * loss, b=x_t, axis=-1) / eta
    elif regularizer == "log_barrier":
        G = loss + 1.0 / (e * x_t)
        x = _newton_step(G, eta, 1.0, 1e-14, 100)[0]
        u = x / x_t
        val = np.sum(x_t * loss * (1.0 - u), axis=-1) - np.sum(_h_log_barrier(u), axis=-1) / eta
    else:
        G = loss + x_t ** (alpha - 1.0) / ((1.0 - alpha) * e)
        x = _newton_step(G, (1.0 - alpha) * eta, 1.0 / (1.0 - alpha), 1e-14, 100)[0]
        u = x / x_t
        # x_t^a - x^a + a x_t^(a-1)(x - x_t) = x_t^a [1 - u^a + a (u - 1)], 1 - u^a = -expm1(a log1p(u - 1))
        d = u - 1.0
        k = -np.expm1(alpha * np.log1p(d)) + alpha * d
        D = np.sum(x_t**alpha * k, axis=-1) / (eta * alpha * (1.0 - alpha))
        val = np.sum(x_t * loss * (1.0 - u), axis=-1) - D
    return float(val) if val.ndim == 0 else val
