"""Reward learning from preferences: the partial-return and regret preference models [KNOX-TMLR], [KNOX-AAAI].

Every name below, its paper and its section of specs/regret-preference.md (the spec):

Domain (:mod:`regretlab.preference.domain`)
    PreferenceMDP               finite MDP with transition features, exact V*, Q*, A*          spec §1, §9
    delivery_mdp                the delivery gridworld (rules of regretlab_envs.gridworld)     spec §3.1, §3.2
    random_delivery_mdp         random delivery boards (authors' generate_MDP)                 spec §3.3
    tabular_mdp                 hand-built MDPs with one-hot (s, a) features [KNOX-AAAI]        spec §5.1, §7
Segments (:mod:`regretlab.preference.segments`)
    enumerate_segments, sample_pairs, segments_from_actions                                    spec §4
Models (:mod:`regretlab.preference.models`)
    partial_return, regret, regret_expected, preference_probability, label_pairs               spec §2
Learning (:mod:`regretlab.preference.learning`; Numba, NumPy, CuPy and plain-Python backends)
    policy_set, successor_features   Pi_SF and psi, the successor-features trick               spec §5.3
    preference_rows, fit             maximum likelihood by full-batch Adam                     spec §5.2, §5.4
    fit_lbfgs, exact_value_gradient  checks: SciPy L-BFGS-B; exact V*_w and its subgradient    spec §5.3 item 5
Evaluation (:mod:`regretlab.preference.evaluation`)
    scaled_return, evaluate          near-optimality (>= 0.9) and the STARC distance           spec §6
Identifiability (:mod:`regretlab.preference.identifiability`)
    the counterexamples of spec §7 and the Figure 1 corridor of spec §8, as runnable cases
Reference (:mod:`regretlab.preference.reference`): plain-Python oracle of the fit and of the likelihood.

UNCONFIRMED in the paper and decided here (the papers' bodies could not be read; the authors' code
could, see the closing note of the issue): the regret discounts with the gamma of V* (0.999) throughout
(the code drops the gammas); the optimiser settings are the code's (Adam, lr 0.5, 5000 iterations);
ties in noiseless labels use a 1e-9 tolerance (the code rounds regrets to 2 decimals); segment pairs are
drawn uniformly from pairs of distinct segments (the code enumerates start-state and action-sequence
pairs); the number of random MDPs and dataset sizes of the synthetic figure are not known (we use 100
MDPs and N from 30 to 10,000).
"""
from .domain import PreferenceMDP, delivery_mdp, random_delivery_mdp, tabular_mdp
from .evaluation import evaluate, scaled_return
from .learning import (
                       exact_value_gradient,
                       fit,
                       fit_lbfgs,
                       init_weights,
                       policy_set,
                       preference_rows,
                       successor_features,
)
from .models import label_pairs, partial_return, preference_logit, preference_probability, regret, regret_expected
from .segments import enumerate_segments, sample_pairs, segments_from_actions

__all__ = [
    "PreferenceMDP", "delivery_mdp", "enumerate_segments", "evaluate", "exact_value_gradient", "fit", "fit_lbfgs",
    "init_weights", "label_pairs", "partial_return", "policy_set", "preference_logit", "preference_probability",
    "preference_rows", "random_delivery_mdp", "regret", "regret_expected", "sample_pairs", "scaled_return",
    "segments_from_actions", "successor_features", "tabular_mdp",
]
