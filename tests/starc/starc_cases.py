"""Random instances and order-preserving transformations shared by the STARC tests (spec §2, §11)."""
import numpy as np

from regretlab.core.mdp import random_mdp, shaped_reward


def instance(seed, S=4, A=3, gamma=0.9, branching=2):
    """tau with impossible transitions (branching < S), and a generator for the rest."""
    gen = np.random.default_rng(seed)
    tau = random_mdp(S, A, gen, gamma=gamma, branching=branching).P
    return tau, gen


def shaping(gen, S, A, gamma, scale=5.0):
    """A pure potential-shaping reward gamma Phi(s') - Phi(s) with a random Phi."""
    return shaped_reward(np.zeros((S, A, S)), scale * gen.standard_normal(S), gamma)


def redistribution(gen, tau, scale=3.0):
    """X with sum_s' tau X = 0 for every (s, a); arbitrary where tau = 0."""
    X = scale * gen.standard_normal(tau.shape)
    return X - (tau * X).sum(axis=-1, keepdims=True)
