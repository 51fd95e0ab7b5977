"""Our bandit baselines as step-wise numeric agents (specs/llm-bandit-envs.md §5, §7).

``BaselineAgent(policy, family="bernoulli", sigma=1.0, init_order="random", **params)`` plays any policy of
:mod:`regretlab.bandits.policies` (same names, parameters, defaults and ranges, validated by
:func:`regretlab.bandits.policies.policy_params`) with the step rule of the bandit reference,
:class:`regretlab.bandits.reference.ReferencePolicy`: the very rule that the Numba, NumPy and CuPy simulators
reproduce bit for bit. It implements the numeric protocol of :mod:`regretlab_envs.runner` (``reset``, ``act``,
``update``) and answers text prompts through :class:`regretlab_envs.runner.NumericAsText`.

``init_order="random"`` (default, as spec §7: "untried arms in a random order from the agent stream") relabels
the arms by a uniformly random permutation drawn at ``reset``; the reference pulls untried arms in index order,
so the relabelling makes the initial order uniformly random, and leaves random tie-breaking uniform.
``init_order="index"`` plays the reference exactly (a test checks the actions against
:func:`regretlab.bandits.reference.simulate_one`).
"""
from __future__ import annotations

import numpy as np

from regretlab.bandits.policies import FAMILIES, POLICIES, policy_params
from regretlab.bandits.reference import ReferencePolicy
from regretlab.core.rng import PyRandom
from regretlab.core.validate import check_choice, check_float

__all__ = ["BaselineAgent"]


class BaselineAgent:
    """A :mod:`regretlab.bandits` policy as a numeric agent (module docstring)."""

    def __init__(self, policy: str, family: str = "bernoulli", sigma: float = 1.0, init_order: str = "random",
                 **params):
        where = "BaselineAgent"
        self.policy = check_choice("policy", policy, POLICIES, where=where)
        self.family = check_choice("family", family, FAMILIES, where=where)
        self.sigma = check_float("sigma", sigma, low=0.0, low_open=True, where=where)
        self.init_order = check_choice("init_order", init_order, ("random", "index"), where=where)
        self.pparams = policy_params(policy, family, where=where, **params)
        self.name = policy
        self._pol: ReferencePolicy | None = None

    def reset(self, n_arms: int, horizon: int, rng) -> None:
        """Start an episode; ``rng`` (a numpy Generator) seeds the policy's generator and the arm order."""
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        state = gen.integers(0, 2**64, size=4, dtype=np.uint64, endpoint=False)
        if not state.any():
            state[0] = 1
        self._perm = gen.permutation(n_arms) if self.init_order == "random" else np.arange(n_arms)
        self._inv = np.argsort(self._perm)
        self._pol = ReferencePolicy(POLICIES[self.policy].code, self.pparams, FAMILIES[self.family], self.sigma,
                                    n_arms, PyRandom(state))
        self._t = 1

    def act(self, obs=None) -> int:
        return int(self._perm[self._pol.choose(self._t)])

    def update(self, action: int, reward: float, info=None) -> None:
        self._pol.update(int(self._inv[int(action)]), float(reward))
        self._t += 1
