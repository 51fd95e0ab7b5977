"""Mass balance of correct-token probability under one-step RL with N rollouts [BroRL].

Every name below, its paper and its section of specs/mass-balance.md (the spec):

Analytic (:mod:`regretlab.mass_balance.theory`, plain NumPy)
    decompose                   Theorem 1: dQ_c = (eta/N)(T1 + T2 + T3), eqs. (U)-(P)      spec §2, §3
    logit_step, probability_change  eqs. (U) and (P)                                      spec §2
    expected_change             E[dQ_c], exact, O(V) (spec's derivation)                  spec §3.1
    change_variance             Var[dQ_c], exact, O(V^2)                                  spec §3.1
    expected_terms              E[T1], E[T2], E[T3], exact, O(V^2) (our derivation)      spec §3
    expected_unsampled_moments  Lemma 2 / Corollary 3: E[u_c2], E[u_w2]                   spec §3
    limit_scaled_change         lim N E[dQ_c] / eta as N -> infinity                      spec §3 item 4
    pass_at_k                   1 - (1 - Q_c)^k                                           spec §3.3
Instances (:mod:`regretlab.mass_balance.instances`)
    logits_instance, FAMILIES   seeded (Sec. 4.1), uniform, gaussian, zipf logits         spec §4, §5.1
Monte Carlo (:mod:`regretlab.mass_balance.simulate`; Numba, NumPy, CuPy, plain-Python backends)
    one_step                    the theorem's step over many sample sets                   spec §5.1
    simulate_training           the Sec. 4.1 token-level simulator (Figure 3), AdamW       spec §4, §5.2
Reference (:mod:`regretlab.mass_balance.reference`): plain-Python oracle; prob_increase_exact
    (P(dQ_c > 0) by enumerating draw multisets, spec §6 item 7).

UNCONFIRMED in the paper and decided here (each also in its docstring): the indices of the correct set P
(default {1..m}), the anchor's class (incorrect) and whether it is frozen (no; ``freeze_anchor``),
AdamW's betas / eps / weight decay (PyTorch defaults), the number of runs behind Figure 3 (one; we run
several trials and draw mean +- 2 s.e.).

Reference: [BroRL] J. Hu, M. Liu, X. Lu, F. Wu, Z. Harchaoui, S. Diao, Y. Choi, P. Molchanov, J. Yang,
J. Kautz, Y. Dong, "BroRL: Scaling Reinforcement Learning via Broadened Exploration", arXiv 2510.01180, 2025.
"""
from .instances import FAMILIES, logits_instance
from .simulate import ONE_STEP_COLUMNS, TRAIN_OUTPUTS, checkpoints, one_step, simulate_training
from .theory import (
    MassBalance,
    change_variance,
    decompose,
    expected_change,
    expected_terms,
    expected_unsampled_moments,
    limit_scaled_change,
    logit_step,
    pass_at_k,
    probability_change,
)

__all__ = [
    "FAMILIES", "ONE_STEP_COLUMNS", "TRAIN_OUTPUTS", "MassBalance", "change_variance", "checkpoints",
    "decompose", "expected_change", "expected_terms", "expected_unsampled_moments", "limit_scaled_change", "logit_step",
    "logits_instance", "one_step", "pass_at_k", "probability_change", "simulate_training",
]
