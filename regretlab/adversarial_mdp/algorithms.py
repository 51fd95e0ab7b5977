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
and the user constants c_eta, c_beta, c_gamma (and c_mix for alg3_reconstructed; default 1; ``eta``/``beta``/
``gamma`` > 0 override):

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
- ``alg3_reconstructed``: [DLWZ23] Algorithm 3, simulator-free linear MDPs, O~(K^(8/9)) (abstract; it
  extends Algorithm 1 and replaces Matrix Geometric Resampling by a better covariance estimate). The paper's
  body could not be read here; this is spec §5's skeleton with every detail **UNCONFIRMED** and these
  choices of ours. The learner never uses the transition kernel or a simulator: only its own trajectories.
  Epochs of W episodes; at each epoch start the log-barrier FTRL policy pi_j of every state (from C). Each
  episode plays, with probability delta, the policy cover for the whole episode, else pi_j; the cover is the
  uniform policy (no reward-free exploration phase, K_0 = 0, every state "known": our simplification of
  spec §5 item 1; with Dirichlet features every state is reached). The regret charges the executed mixture
  (1 - delta) pi_j + delta pi_cov. At the epoch's end, per layer h: the *empirical* inverse covariance
  (gamma I + Sigma~_h)^{-1}, Sigma~_h the mean of phi phi^T over the epoch's even episodes (spec §2.4, the
  MGR replacement); Qhat(s, a) = phi(s, a)^T (gamma I + Sigma~_h)^{-1} mean over the odd episodes of
  phi(s_h, a_h) L_h (disjoint samples, item 4); the bonus b of §2.5 with that inverse; the dilated bonus
  B_h = b_h + (1 + 1/H) phi^T w_h, w_h the ridge regression (ridge 1) of sum_a' pi_j(a'|s_{h+1})
  B_{h+1}(s_{h+1}, a') on phi(s_h, a_h) over all the epoch's episodes (item 6: least squares instead of the
  simulator's rollouts; linear MDP, so the target is linear in phi; no optimism term); C += W (Qhat - B).
  Both estimates are of the executed mixture, which biases Qhat of pi_j by O(delta H). Parameters (ours,
  from a rough accounting in which four costs balance at the K^(8/9) of the abstract: mixing delta K,
  gamma-shrinkage gamma K, the empirical inverse's multiplicative error sqrt(d / (gamma W)) K, and FTRL over
  K / W epochs, W sqrt(K / W)): W = max(2, ceil(K^(1/3))), delta = min(1/2, c_mix K^(-1/9)),
  gamma = c_gamma K^(-1/9), eta = c_eta sqrt(A ln(AK) / (d K W)) / H (FTRL over K / W epochs with losses of
  size W H), beta = c_beta eta W H^2; ``epoch`` / ``mix`` > 0 override W / delta. With the constants 1 the
  mixing and the shrinkage dominate at feasible K (regret close to uniform's); the simulator-free config
  uses c_gamma = 0.02, c_mix = 0.1 (a pilot). Not a reproduction of the paper's curves (spec §5).

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

ALGORITHMS = ("alg1", "alg2_reconstructed", "lwl21", "hedge_po", "full_info", "uniform", "alg3_reconstructed")


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
    epoch: int = 1          # alg3_reconstructed: episodes per epoch W
    mix: float = 0.0        # alg3_reconstructed: probability delta of playing the cover
    ridge: float = 1.0      # alg3_reconstructed: ridge of the bonus regression

    @property
    def simulator_free(self) -> bool:
        return self.name == "alg3_reconstructed"


def algorithm_spec(name: str, K: int, A: int, d: int, H: int, *, c_eta: float = 1.0, c_beta: float = 1.0,
                   c_gamma: float = 1.0, eta: float = 0.0, beta: float = 0.0, gamma: float = 0.0,
                   epoch: int = 0, mix: float = 0.0, c_mix: float = 1.0,
                   where: str = "algorithm_spec") -> AlgorithmSpec:
    """The parameters of ``name`` for K episodes (module docstring); eta/beta/gamma > 0 override them, and for
    alg3_reconstructed epoch / mix > 0 override W / delta."""
    name = check_choice("algorithm", name, ALGORITHMS, where=where)
    K = check_int("K", K, low=1, where=where)
    A = check_int("A", A, low=2, where=where)
    d = check_int("d", d, low=1, where=where)
    H = check_int("H", H, low=1, where=where)
    for key, v in (("c_eta", c_eta), ("c_beta", c_beta), ("c_gamma", c_gamma), ("c_mix", c_mix)):
        check_float(key, v, low=0.0, low_open=True, where=where)
    for key, v in (("eta", eta), ("beta", beta), ("gamma", gamma)):
        check_float(key, v, low=0.0, where=where)
    epoch = check_int("epoch", epoch, low=0, where=where)
    mix = check_float("mix", mix, low=0.0, high=1.0, where=where)
    if name == "alg3_reconstructed":
        W = epoch or max(2, math.ceil(K ** (1.0 / 3.0)))
        if W < 2:
            raise ParamError(where, "epoch", "0 (automatic) or >= 2 episodes per epoch (half estimate the "
                             "covariance, half the loss)", epoch)
        dl = mix or min(0.5, c_mix * K ** (-1.0 / 9.0))
        e = eta or c_eta * math.sqrt(A * math.log(A * K) / (d * K * W)) / H
        gm = gamma or c_gamma * K ** (-1.0 / 9.0)
        bt = beta or c_beta * e * W * H * H
        if not (math.isfinite(e) and e > 0.0):
            raise ParamError(where, "eta", "a finite number > 0", e)
        return AlgorithmSpec(name, 1, False, False, True, float(e), float(bt), float(gm), int(W), float(dl))
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
