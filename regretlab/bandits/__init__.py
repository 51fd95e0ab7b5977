"""Stochastic K-armed bandits: the first workload and the baselines of everything else.

Policies (codes and papers in :mod:`regretlab.bandits.policies`): uniform, greedy, eps_greedy,
eps_decay [Auer et al. 2002], etc [Lattimore & Szepesvari 2020], ucb1 [Auer et al. 2002], kl_ucb
[Garivier & Cappe 2011], ts_beta [Agrawal & Goyal 2012], ts_gauss [Agrawal & Goyal 2013].

Layout: ``bandits.py`` public API; ``_kernels.py`` Numba kernel; ``_numpy.py`` NumPy backend
vectorised over replicates; ``_cupy.py`` CUDA twin; ``reference.py`` the plain-Python truth;
``experiments.py`` the registered sweeps.
"""
from regretlab.core.seeding import replicate_states

from .bandits import OUTPUTS, simulate
from .policies import POLICIES

__all__ = ["OUTPUTS", "POLICIES", "replicate_states", "simulate"]
