"""Stochastic-bandit policies: names, integer codes for the kernels, parameters and their papers.

Each policy is an integer code plus a small float parameter vector ``pparams`` so that one compiled
kernel serves all of them (the branch on the code is taken once per round and predicted perfectly).

=============  ======================================================================================
name           rule at round t (1-based; ``n = t - 1`` pulls so far; N_a pulls of arm a; mu_a its mean)
=============  ======================================================================================
uniform        arm uniform on {0..K-1}.
greedy         each arm once, then argmax_a mu_a (ties uniformly at random).
eps_greedy     with probability ``eps`` a uniform arm, else the greedy step (including its initial pulls).
               Sutton and Barto, "Reinforcement Learning: An Introduction", 2nd ed. 2018, Sec. 2.2.
eps_decay      epsilon_t = min(1, c K / (d^2 t)): the epsilon_n-greedy rule of Auer, Cesa-Bianchi and
               Fischer, "Finite-time analysis of the multiarmed bandit problem", Mach. Learn. 47, 2002,
               Sec. 3 (``c > 0``, ``0 < d <= min gap`` for their Theorem 3).
etc            explore-then-commit: arms round-robin for ``m K`` rounds, then the empirical best forever.
               Lattimore and Szepesvari, "Bandit Algorithms", 2020, Algorithm 1 (Ch. 6).
ucb1           each arm once, then argmax mu_a + c sqrt(2 ln n / N_a), ``n`` = plays so far, c = 1 is
               UCB1 of Auer et al. 2002 (Fig. 1). For Gaussian rewards use c = sigma (sigma-sub-Gaussian
               form, Lattimore and Szepesvari 2020, Algorithm 3 with delta = 1/n).
ucb_k24        each arm once, then argmax mu_a + sqrt(c / N_a) (computed as sqrt(c) sqrt(1 / N_a)), c = 1:
               the "UCB with C = 1" baseline of Krishnamurthy, Harris, Foster, Zhang, Slivkins, "Can large
               language models explore in-context?", NeurIPS 2024 (a heuristic constant; no log term).
ucb_c          each arm once, then argmax mu_a + c sqrt(ln t / N_a), ``t`` the 1-based current round, c = 0.5:
               the UCB of the environment code of Chen, Chen, Huang, Xie, Dhingra, "When Greedy Wins: Emergent
               Exploitation Bias in Meta-Bandit LLM Training", ICLR 2026 (specs/llm-bandit-envs.md §7).
ucb_alpha      each arm once, then argmax mu_a + sqrt(alpha ln n / N_a), ``n`` = t - 1 plays so far, alpha = 0.5
               (computed as sqrt(alpha ln n) sqrt(1 / N_a)): the UCB baseline of the ``banditbench`` code of
               Nie et al., "EVOLvE: Evaluating and Optimizing LLMs For In-Context Exploration", ICML 2025
               (arXiv 2410.06238). The paper's formula may place alpha outside the root (UNCONFIRMED); this is the
               code's form. Mathematically ucb1 with c = sqrt(alpha / 2); the floating-point rounding differs.
kl_ucb         each arm once, then argmax max{q : N_a kl(mu_a, q) <= ln n + c ln ln n}. Garivier and
               Cappe, "The KL-UCB algorithm for bounded stochastic bandits and beyond", COLT 2011,
               Algorithm 1 (they analyse c = 3 and recommend c = 0 in practice; our default is c = 0).
               Bernoulli kl solved by monotone Newton to 1e-12; Gaussian kl gives the closed form
               mu_a + sigma sqrt(2 (ln n + c ln ln n) / N_a). When ln n + c ln ln n < 0 (c > 0 and
               n = 2, i.e. K = 2 at t = 3) the paper's set is empty; we use the bonus 0 (index = mean).
ts_beta        theta_a ~ Beta(1 + S_a, 1 + N_a - S_a), argmax theta (Bernoulli rewards only). Thompson,
               Biometrika 1933; Agrawal and Goyal, "Analysis of Thompson sampling for the multi-armed bandit
               problem", COLT 2012, Algorithm 1. ``init_each_arm`` = 1 first plays each untried arm once
               (in index order, like every "each arm once" start here; spec §7: it changes GreedyFrac only).
ts_gauss       Gaussian prior N(m0, v0) per arm, known noise variance s^2: theta_a ~ N(m_a, v_a) with
               v_a = 1 / (1/v0 + N_a/s^2), m_a = v_a (m0/v0 + S_a/s^2); argmax theta. The defaults
               m0 = 0, v0 = 1, s = 1 give exactly theta_a ~ N(S_a/(N_a+1), 1/(N_a+1)), Algorithm 2 of
               Agrawal and Goyal, "Further optimal regret bounds for Thompson sampling", AISTATS 2013
               (stated there for rewards in [0, 1], Bernoulli included). ``init_each_arm`` as for ts_beta.
=============  ======================================================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from regretlab.core.validate import ParamError, check_float, check_int

UNIFORM, GREEDY, EPS_GREEDY, EPS_DECAY, ETC, UCB1, KL_UCB, TS_BETA, TS_GAUSS, UCB_K24, UCB_C, UCB_ALPHA = range(12)
BERNOULLI, GAUSSIAN = 0, 1
FAMILIES = {"bernoulli": BERNOULLI, "gaussian": GAUSSIAN}


@dataclass(frozen=True)
class PolicySpec:
    name: str
    code: int
    summary: str
    params: dict = field(default_factory=dict)  # name -> (default, low, low_open, high)
    families: tuple = ("bernoulli", "gaussian")


POLICIES: dict[str, PolicySpec] = {
    p.name: p
    for p in [
        PolicySpec("uniform", UNIFORM, "uniformly random arm every round"),
        PolicySpec("greedy", GREEDY, "each arm once, then the best empirical mean (random ties)"),
        PolicySpec("eps_greedy", EPS_GREEDY, "uniform arm w.p. eps, else greedy [Sutton & Barto 2018, 2.2]",
                   {"eps": (0.1, 0.0, False, 1.0)}),
        PolicySpec("eps_decay", EPS_DECAY, "epsilon_t = min(1, cK/(d^2 t)) [Auer et al. 2002, Sec. 3]",
                   {"c": (5.0, 0.0, True, None), "d": (0.1, 0.0, True, None)}),
        PolicySpec("etc", ETC, "explore-then-commit, m pulls per arm [Lattimore & Szepesvari 2020, Alg. 1]",
                   {"m": (10, 1, False, None)}),
        PolicySpec("ucb1", UCB1, "mean + c sqrt(2 ln n / N_a) [Auer et al. 2002, Fig. 1]",
                   {"c": (1.0, 0.0, True, None)}),
        PolicySpec("ucb_k24", UCB_K24, "mean + sqrt(c / N_a) [Krishnamurthy et al. 2024, C = 1]",
                   {"c": (1.0, 0.0, True, None)}),
        PolicySpec("ucb_c", UCB_C, "mean + c sqrt(ln t / N_a), t the current round [Chen et al. 2025 code, c = 0.5]",
                   {"c": (0.5, 0.0, True, None)}),
        PolicySpec("ucb_alpha", UCB_ALPHA, "mean + sqrt(alpha ln n / N_a), n = t - 1 [Nie et al. 2025 code, "
                   "alpha = 0.5]", {"alpha": (0.5, 0.0, True, None)}),
        PolicySpec("kl_ucb", KL_UCB, "KL upper confidence bound [Garivier & Cappe 2011, Alg. 1]",
                   {"c": (0.0, 0.0, False, None)}),
        PolicySpec("ts_beta", TS_BETA, "Beta-Bernoulli Thompson sampling [Agrawal & Goyal 2012, Alg. 1]",
                   {"init_each_arm": (0, 0, False, 1)}, families=("bernoulli",)),
        PolicySpec("ts_gauss", TS_GAUSS, "Gaussian Thompson sampling [Agrawal & Goyal 2013, Alg. 2]",
                   {"prior_mean": (0.0, None, False, None), "prior_var": (1.0, 0.0, True, None),
                    "noise": (1.0, 0.0, True, None), "init_each_arm": (0, 0, False, 1)}),
    ]
}


def policy_params(name: str, family: str, where: str = "simulate", **given) -> np.ndarray:
    """Validate a policy's parameters and pack them into the kernel's float vector (length 4).

    Unknown parameter names raise, naming the allowed ones.
    """
    spec = POLICIES[name]
    if family not in spec.families:
        raise ParamError(where, "policy", f"a policy for {family} rewards (not {name!r}: it supports "
                         f"{', '.join(spec.families)})", name)
    unknown = set(given) - set(spec.params)
    if unknown:
        allowed = ", ".join(spec.params) or "none"
        raise ParamError(where, f"{name} parameter {sorted(unknown)[0]!r}",
                         f"one of the parameters of {name} ({allowed})", sorted(unknown)[0])
    out = np.zeros(4)
    for i, (pname, (default, low, low_open, high)) in enumerate(spec.params.items()):
        v = given.get(pname, default)
        if isinstance(default, int):
            out[i] = check_int(pname, v, low=low, high=high, where=f"{where} ({name})")
        else:
            out[i] = check_float(pname, v, low=low, low_open=low_open, high=high, where=f"{where} ({name})")
    return out
