"""The [K24] baseline statistics on their "hard" instance (specs/llm-bandit-envs.md §10): K = 5 Bernoulli arms,
best 0.6 and the others 0.4 (gap 0.2), T = 100, 2,000 replicates. Krishnamurthy et al., "Can large language
models explore in-context?", NeurIPS 2024: UCB (C = 1) SuffFailFreq(T/2) 0.024 and K MinFrac 0.18, Greedy
SuffFailFreq(T/2) 0.466 (spec's verified values), Thompson sampling below 0.02."""
import numpy as np
import pytest

from regretlab.bandits import simulate

MU = np.array([0.6, 0.4, 0.4, 0.4, 0.4])
T, R = 100, 2000


def stats(policy, **kw):
    o = simulate(MU, policy, T, R, seed=1, backend="numba", **kw)
    return (o["last_best"] < T // 2).mean(), 5 * (o["counts"].min(axis=1) / T).mean(), o["greedy_frac"].mean()


def test_ucb_k24():
    sf, kmf, gf = stats("ucb_k24", c=1.0)
    assert sf == pytest.approx(0.024, abs=0.02)
    assert kmf == pytest.approx(0.18, abs=0.02)
    assert gf == pytest.approx(0.76, abs=0.03)  # [K24]'s UCB GreedyFrac under the optimistic convention


def test_greedy_suffix_failure_and_thompson():
    sf, kmf, gf = stats("greedy")
    assert sf == pytest.approx(0.466, abs=0.04) and gf == 1.0
    sf_ts, _, _ = stats("ts_beta")
    assert sf_ts <= 0.02
