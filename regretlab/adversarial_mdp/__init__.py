"""Adversarial linear MDPs: log-barrier FTRL policy optimisation, the magnitude-reduced estimator, the
simulator-free variant (reconstructed) and the baselines they improve on [DLWZ23, LWL21]
(specs/adversarial-linear-mdp.md).

- :mod:`.instances`: random linear MDPs with exactly linear Q (simplex or tabular features), oblivious
  adversaries, the exact best-fixed-policy benchmark.
- :mod:`.algorithms`: the algorithms and their theorem parameters.
- :mod:`.simulate`: the episode loop on every backend (Numba kernel, NumPy/CuPy, plain-Python reference);
  the simulator-free ``alg3_reconstructed`` has its own epoch loop (Numba kernel and Python reference).
- :mod:`.estimators`: covariance-inverse estimators (exact, empirical, MGR) and layer-feature sampling,
  for tests and notebooks (the simulator-based loop uses the exact covariance; ``alg3_reconstructed`` the
  empirical one of its own episodes).
- :mod:`.experiments`: the registered sweep ``adversarial_mdp.regret`` and the theorem plot.

Nothing here compiles or imports Numba at import time.
"""
from .algorithms import ALGORITHMS, AlgorithmSpec, algorithm_spec
from .instances import ADVERSARIES, FEATURES, Adversary, LinearMDP, adversary, benchmark_values, linear_mdp
from .simulate import pseudo_regret, simulate

__all__ = ["ADVERSARIES", "ALGORITHMS", "FEATURES", "Adversary", "AlgorithmSpec", "LinearMDP", "adversary",
           "algorithm_spec", "benchmark_values", "linear_mdp", "pseudo_regret", "simulate"]
