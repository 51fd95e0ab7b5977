"""Agent factories named as 'module:factory' by the harness tests (importable from this folder)."""
import numpy as np


class LowestIndexGreedy:
    """Numeric agent: each arm once in index order, then the lowest-index arm of largest empirical mean."""

    name = "lowest_index_greedy"

    def reset(self, n_arms, horizon, rng):
        self.n = np.zeros(n_arms)
        self.s = np.zeros(n_arms)

    def act(self, obs):
        untried = np.flatnonzero(self.n == 0)
        if untried.size:
            return int(untried[0])
        return int(np.argmax(self.s / self.n))

    def update(self, action, reward, info):
        self.n[action] += 1
        self.s[action] += reward


def numeric_greedy():
    return LowestIndexGreedy()


def always_garbage():
    """A text agent whose every reply is unreadable: the fallback decides every round."""
    return lambda messages: "I would rather not say."


not_callable = 3
