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


CALLS = {"n": 0}


def counting_uniform_text():
    """A text agent answering the uniform distribution over the prompt's 'Action X' names, counting its calls."""
    import re

    def act(messages):
        CALLS["n"] += 1
        names = sorted(set(re.findall(r"Action [A-Z]", messages[0]["content"])))
        return "<Answer>" + ", ".join(f"{n}: {1 / len(names):.6f}" for n in names) + "</Answer>"
    return act


class FollowTheLeaderOnline:
    """Numeric online agent: all mass on the action with the smallest cumulative loss (lowest index)."""

    def reset(self, d, horizon, rng):
        self.cum = np.zeros(d)

    def act(self, obs):
        p = np.zeros(self.cum.size)
        p[int(np.argmin(self.cum))] = 1.0
        return p

    def update(self, info):
        self.cum += info["loss"] if "loss" in info else 1.0 - np.asarray(info["payoff_vector"])


def online_ftl():
    return FollowTheLeaderOnline()
