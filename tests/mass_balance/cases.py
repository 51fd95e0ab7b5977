"""Small instances shared by the mass-balance tests."""
import numpy as np


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def random_case(rng, V=None, m=None):
    """(p, is_correct, counts, r_c, r_w) with random logits, correct set and draw multiset."""
    V = V or int(rng.integers(2, 40))
    m = int(rng.integers(0, V + 1)) if m is None else m
    z = rng.normal(0, rng.uniform(0.1, 3.0), V)
    p = softmax(z)
    c = np.zeros(V, dtype=bool)
    c[rng.choice(V, m, replace=False)] = True
    N = int(rng.integers(1, 3 * V))
    counts = rng.multinomial(N, p)
    return p, c, counts, float(rng.uniform(0, 2)), float(-rng.uniform(0, 2))


def gaussian50():
    """V = 50, m = 10, one fixed standard-normal logit vector (spec §6 item 7)."""
    z = np.random.default_rng(0).standard_normal(50)
    c = np.zeros(50, dtype=bool)
    c[:10] = True
    return z, c
