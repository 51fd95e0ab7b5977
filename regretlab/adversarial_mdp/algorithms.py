"""Policy-optimisation algorithms for adversarial linear MDPs and their parameters (the theorem settings).

Every algorithm keeps, at every state s, cumulative estimated losses C(s, .) and plays the per-state FTRL
policy pi_k(.|s) = argmin_p <p, C(s, .)> + Psi(p) (specs/adversarial-linear-mdp.md §2.1; the step solvers
are ``regretlab.core.ftrl``). Episode k: play pi_k once in the real MDP (bandit feedback: the H losses on
the trajectory), then for every layer h

    Sigma_h   = sum_{s in S_h, a} q^{pi_k}_h(s, a) phi(s, a) phi(s, a)^T          (exact simulator, §1.5)
    Qhat(s,a) = phi(s, a)^T (gamma I + Sigma_h)^{-1} phi(s_h, a_h) L_h,   L_h = sum_{h' >= h} l_k(s_h', a_h')
    b(s, a)   = beta (||phi(s,a)||^2_{(gamma I+Sigma_h)^{-1}} + sum_a' pi_k(a'|s) ||phi(s,a')||^2_{...})
    B         = b + (1 + 1/H) P pi_k B   (dilated bonus, [LWL21] §3; backward recursion)
    C        += Qhat - B

(§2.3-2.5). The covariance is the ``exact`` one of the occupancy (the infinite-simulator limit, spec §1.5;
the MGR and empirical estimators are in :mod:`regretlab.adversarial_mdp.estimators`).

Algorithms (``ALGORITHMS``) and their default parameters, with K episodes, A actions, d features, horizon H
and the user constants c_eta, c_beta, c_gamma (default 1; ``eta``/``beta``/``gamma`` > 0 override):

- ``alg1``: [DLWZ23] Algorithm 1, log-barrier FTRL, no clipping of Qhat (the refined log-barrier analysis
  tolerates arbitrarily negative estimates). eta = c_eta sqrt(A ln(AK) / (d K)) / H, beta = c_beta eta H^2,
  gamma = c_gamma / K. Rate O~(sqrt K) confirmed (abstract); the parameter shapes are derived in spec §3 and
  **UNCONFIRMED** against the theorem (the paper's body could not be read here).
- ``alg2_reconstructed``: [DLWZ23] Algorithm 2 is a "magnitude-reduced loss estimator" that removes the
  poly(A) factor (abstract; a citing paper quotes O~(min{d sqrt T, sqrt(d T log A)}) for H = 1). Its exact
  estimator is **UNCONFIRMED**; this is spec §4's analysable reconstruction: Hedge, Qtilde = max(Qhat,
  -1/(2 eta)), eta = c_eta sqrt(ln A / (d K)) / H, beta = c_beta eta H^2, gamma = c_gamma / K.
- ``lwl21``: [LWL21] linear-Q policy optimisation with dilated bonus, the O~(K^(2/3)) baseline: Hedge,
  eta = c_eta (ln A / (d K))^(2/3) / H, gamma = c_gamma eta H (Hedge stability needs gamma >~ eta H),
  beta = c_beta max(eta H^2, sqrt(gamma H)) (spec §6.1; shapes **UNCONFIRMED**, the K^(2/3) rate is firm).
- ``hedge_po``: Hedge without bonus (ablation, spec §6.2): eta = c_eta sqrt(ln A / (d K)) / H,
  gamma = c_gamma eta H.
- ``full_info``: Hedge on the exact Q^{pi_k}_k (full information, spec §6.3): eta = c_eta sqrt(8 ln A /
  (K H^2)); guarantee R_K <= H (ln A / eta + eta K H^2 / 8) for every loss sequence (DERIVED, tested).
- ``uniform``: pi(a|s) = 1/A (spec §6.4); linear regret.

References:
    [DLWZ23] Yan Dai, Haipeng Luo, Chen-Yu Wei, Julian Zimmert, "Refined Regret for Adversarial MDPs with
        Linear Function Approximation", ICML 2023 (PMLR 202:6726-6759), arXiv 2301.12942.
    [LWL21] Haipeng Luo, Chen-Yu Wei, Chung-Wei Lee, "Policy Optimization in Adversarial MDPs: Improved
        Exploration via Dilated Bonuses", NeurIPS 2021, arXiv 2107.08346.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from regretlab.core.validate import ParamError, check_choice, check_float, check_int

__all__ = ["ALGORITHMS", "AlgorithmSpec", "algorithm_spec"]

ALGORITHMS = ("alg1", "alg2_reconstructed", "lwl21", "hedge_po", "full_info", "uniform")


@dataclass(frozen=True)
class AlgorithmSpec:
    """Resolved algorithm: regulariser code, switches and the numeric parameters used by the kernels."""

    name: str
    reg: int  # 0 uniform, 1 log-barrier, 2 Hedge
    full_info: bool
    truncate: bool
    use_bonus: bool
    eta: float
    beta: float
    gamma: float


def algorithm_spec(name: str, K: int, A: int, d: int, H: int, *, c_eta: float = 1.0, c_beta: float = 1.0,
                   c_gamma: float = 1.0, eta: float = 0.0, beta: float = 0.0, gamma: float = 0.0,
                   where: str = "algorithm_spec") -> AlgorithmSpec:
    """The parameters of ``name`` for K episodes (module docstring); eta/beta/gamma > 0 override them."""
    name = check_choice("algorithm", name, ALGORITHMS, where=where)
    K = check_int("K", K, low=1, where=where)
    A = check_int("A", A, low=2, where=where)
    d = check_int("d", d, low=1, where=where)
    H = check_int("H", H, low=1, where=where)
    for key, v in (("c_eta", c_eta), ("c_beta", c_beta), ("c_gamma", c_gamma)):
        check_float(key, v, low=0.0, low_open=True, where=where)
    for key, v in (("eta", eta), ("beta", beta), ("gamma", gamma)):
        check_float(key, v, low=0.0, where=where)
    if name == "alg1":
        e = c_eta * math.sqrt(A * math.log(A * K) / (d * K)) / H
    elif name == "lwl21":
        e = c_eta * (math.log(A) / (d * K)) ** (2.0 / 3.0) / H
    elif name == "full_info":
        e = c_eta * math.sqrt(8.0 * math.log(A) / (K * H * H))
    else:
        e = c_eta * math.sqrt(math.log(A) / (d * K)) / H
    e = eta or e
    if name in ("lwl21", "hedge_po"):
        gm = c_gamma * e * H
    else:
        gm = c_gamma / K
    gm = gamma or gm
    if name == "lwl21":
        bt = c_beta * max(e * H * H, math.sqrt(gm * H))
    else:
        bt = c_beta * e * H * H
    bt = beta or bt
    if not (math.isfinite(e) and e > 0.0):
        raise ParamError(where, "eta", "a finite number > 0", e)
    reg = {"alg1": 1, "uniform": 0}.get(name, 2)
    return AlgorithmSpec(name, reg, name == "full_info", name == "alg2_reconstructed",
                         name in ("alg1", "alg2_reconstructed", "lwl21"), float(e), float(bt), float(gm))
