"""Analytic mass balance of the correct-token probability under one RL step [BroRL, Sec. 2].

Notation of specs/mass-balance.md (= the paper's, in ASCII): vocabulary [V], logits z, p = softmax(z);
correct set C (|C| = m, ``is_correct``), incorrect W; rewards r_c >= 0 >= r_w; N i.i.d. draws with
counts c_i, sampled set S = {c_i > 0}; A = S n C, B = S n W, U = V \\ S (U_c, U_w).
Masses Q_c (paper Q_pos), Q_w (Q_neg), P_A (P_pos), P_B (P_neg); second moments a2 (A_2), b2 (B_2),
uc2 (U_pos,2), uw2 (U_neg,2); batch "mood" s = r_c P_A + r_w P_B (S_R).

The update [BroRL, App. C.1]: one gradient-ascent step of size eta on J(z) = (1/N) sum_{i in S} rho_i p_i
(each distinct sampled token once; rho = r_c on A, r_w on B, 0 on U):

    (U)  dz_j = (eta/N) p_j (rho_j - s)           (P)  dp_i = p_i (dz_i - sum_j p_j dz_j)

Theorem 1 (mass balance) [BroRL, Thm. 1], dQ_c = sum_{i in C} dp_i:

    dQ_c = (eta/N) [ (r_c - s) Q_w a2  +  (s - r_w) Q_c b2  +  s (Q_c uw2 - Q_w uc2) ]
                     T1 (>= 0)            T2 (>= 0)            T3 (either sign)

Lemma 2 / Corollary 3 [BroRL]: E[sum_{U} p_i^2] = sum_i p_i^2 (1 - p_i)^N, decreasing in N.
The exact mean and variance of dQ_c (spec §3.1, derived there, not in the paper) use that
N dQ_c / eta = sum_j w_j I_j is linear in the indicators I_j = 1[c_j > 0], with
w_j = R_j p_j (kappa_j p_j - K2), kappa_j = 1[j in C] - Q_c, K2 = sum_j kappa_j p_j^2, R_j the class reward.

Every function here is plain NumPy on one probability vector (the analytic side; the Monte-Carlo kernels
are in ``_kernels.py`` / ``_numpy.py`` / ``reference.py``). Terms T1..T3 are returned *scaled* by N/eta,
the quantity comparable across N (spec §2 note).

Reference: [BroRL] J. Hu, M. Liu, X. Lu, F. Wu, Z. Harchaoui, S. Diao, Y. Choi, P. Molchanov, J. Yang,
J. Kautz, Y. Dong, "BroRL: Scaling Reinforcement Learning via Broadened Exploration", arXiv 2510.01180
(2025): Theorem 1, Lemma 2, Corollary 3 (Sec. 2) and App. C.1-C.2.
"""
from __future__ import annotations

import numpy as np

from regretlab.core.validate import ParamError, check_array, check_float, check_int, check_prob

__all__ = [
    "MassBalance",
    "change_variance",
    "check_rewards",
    "decompose",
    "expected_change",
    "expected_terms",
    "expected_unsampled_moments",
    "limit_scaled_change",
    "logit_step",
    "pass_at_k",
    "probability_change",
]


def check_rewards(r_c, r_w, where: str) -> tuple[float, float]:
    """r_c >= 0 >= r_w (the theorem's assumption), as floats."""
    r_c = check_float("r_c", r_c, low=0.0, where=where)
    r_w = check_float("r_w", r_w, high=0.0, where=where)
    return r_c, r_w


def _inputs(p, is_correct, where):
    p = check_prob("p", p, atol=1e-9, where=where)
    if p.ndim != 1:
        raise ParamError(where, "p", "a 1-D probability vector", f"an array of shape {p.shape}")
    c = check_array("is_correct", is_correct, shape=(p.size,), dtype=bool, where=where)
    return p, c


class MassBalance(dict):
    """Result of :func:`decompose`: a dict with attribute access.

    Fields: ``N``, ``s``, ``Q_c``, ``Q_w``, ``P_A``, ``P_B``, ``a2``, ``b2``, ``uc2``, ``uw2``;
    ``t1``, ``t2``, ``t3`` (scaled by N/eta), ``dq`` = (eta/N)(t1 + t2 + t3) (the theorem's value),
    ``dq_first_order`` = sum_{C} dp_i from eqs. (U)-(P) directly, ``dz`` (V,) and ``dp`` (V,).
    """

    __getattr__ = dict.__getitem__


def logit_step(p, rho, s, eta, N):
    """Eq. (U): dz_j = (eta/N) p_j (rho_j - s) for per-token rewards ``rho`` and mood ``s``."""
    return (eta / N) * p * (rho - s)


def probability_change(p, dz):
    """Eq. (P): first-order dp_i = p_i (dz_i - sum_j p_j dz_j) of softmax probabilities."""
    return p * (dz - np.dot(p, dz))


def decompose(p, is_correct, counts, eta=1.0, r_c=1.0, r_w=-1.0) -> MassBalance:
    """Mass-balance decomposition of dQ_c after one RL step with the draws ``counts`` [BroRL, Thm. 1].

    Parameters: p (V,) probability vector (sums to 1 within 1e-9); is_correct (V,) bool;
        counts (V,) int >= 0, draws per token, N = counts.sum() >= 1; eta > 0; r_c >= 0 >= r_w.
    Returns: :class:`MassBalance`. ``dq`` and ``dq_first_order`` agree to rounding (the theorem).
    """
    where = "decompose"
    p, c = _inputs(p, is_correct, where)
    counts = check_array("counts", counts, shape=(p.size,), dtype=np.int64, low=0, where=where)
    N = int(counts.sum())
    if N < 1:
        raise ParamError(where, "counts", "draws with sum N >= 1", counts)
    eta = check_float("eta", eta, low=0.0, low_open=True, where=where)
    r_c, r_w = check_rewards(r_c, r_w, where)
    hit = counts > 0
    p2 = p * p
    Q_c, Q_w = float(p[c].sum()), float(p[~c].sum())  # Q_w as a sum, not 1 - Q_c (spec §6.1)
    P_A, P_B = float(p[hit & c].sum()), float(p[hit & ~c].sum())
    a2, b2 = float(p2[hit & c].sum()), float(p2[hit & ~c].sum())
    uc2, uw2 = float(p2[~hit & c].sum()), float(p2[~hit & ~c].sum())
    s = r_c * P_A + r_w * P_B
    t1 = (r_c - s) * Q_w * a2
    t2 = (s - r_w) * Q_c * b2
    t3 = s * (Q_c * uw2 - Q_w * uc2)
    rho = np.where(hit, np.where(c, r_c, r_w), 0.0)
    dz = logit_step(p, rho, s, eta, N)
    dp = probability_change(p, dz)
    return MassBalance(N=N, s=s, Q_c=Q_c, Q_w=Q_w, P_A=P_A, P_B=P_B, a2=a2, b2=b2, uc2=uc2, uw2=uw2,
                       t1=t1, t2=t2, t3=t3, dq=(eta / N) * (t1 + t2 + t3),
                       dq_first_order=float(dp[c].sum()), dz=dz, dp=dp)


def _miss(p, N):
    """(1 - p)^N computed as exp(N log1p(-p)) (accurate for tiny p)."""
    with np.errstate(divide="ignore"):
        return np.exp(N * np.log1p(-p))


def _weights(p, c, r_c, r_w):
    Q_c = p[c].sum()
    kappa = c.astype(float) - Q_c
    K2 = float(np.dot(kappa, p * p))
    R = np.where(c, r_c, r_w)
    return R * p * (kappa * p - K2)


def _common(p, is_correct, N, eta, r_c, r_w, where):
    p, c = _inputs(p, is_correct, where)
    N = check_int("N", N, low=1, where=where)
    eta = check_float("eta", eta, low=0.0, low_open=True, where=where)
    r_c, r_w = check_rewards(r_c, r_w, where)
    return p, c, N, eta, r_c, r_w


def expected_change(p, is_correct, N, eta=1.0, r_c=1.0, r_w=-1.0) -> float:
    """E[dQ_c] over the N draws: (eta/N) sum_j w_j (1 - (1 - p_j)^N) (spec §3.1; O(V)).

    Parameters as :func:`decompose`, with N >= 1 the number of draws. Multiply by N/eta to compare
    across N; as N -> infinity that tends to :func:`limit_scaled_change`.
    """
    p, c, N, eta, r_c, r_w = _common(p, is_correct, N, eta, r_c, r_w, "expected_change")
    w = _weights(p, c, r_c, r_w)
    return float((eta / N) * np.dot(w, -np.expm1(N * np.log1p(-p))))


def change_variance(p, is_correct, N, eta=1.0, r_c=1.0, r_w=-1.0, max_vocab: int = 4096) -> float:
    """Var[dQ_c] over the N draws (spec §3.1): (eta/N)^2 sum_{j,k} w_j w_k Cov(I_j, I_k). O(V^2).

    Cov(I_j, I_k) = (1-p_j-p_k)^N - (1-p_j)^N (1-p_k)^N for j != k (the indicators of a multinomial
    sample), pi_j (1 - pi_j) on the diagonal. ``max_vocab`` guards the quadratic cost (raise it
    knowingly).
    """
    where = "change_variance"
    p, c, N, eta, r_c, r_w = _common(p, is_correct, N, eta, r_c, r_w, where)
    if p.size > max_vocab:
        raise ParamError(where, "p", f"a vocabulary of at most max_vocab = {max_vocab} tokens (O(V^2) "
                         "memory and time)", f"V = {p.size}")
    w = _weights(p, c, r_c, r_w)
    pi = 1.0 - _miss(p, N)
    cov = _pair_inclusion(p, N) - pi[:, None] * pi[None, :]  # diagonal: pi (1 - pi)
    return float((eta / N) ** 2 * (w @ cov @ w))


def _pair_inclusion(p, N):
    """M[j, k] = P(I_j = 1, I_k = 1) = 1 - q_j - q_k + (1 - p_j - p_k)^N, M[j, j] = 1 - q_j."""
    q = _miss(p, N)
    pair = np.clip(1.0 - p[:, None] - p[None, :], 0.0, None)
    with np.errstate(divide="ignore"):
        both_missed = np.exp(N * np.log(pair))
    M = 1.0 - q[:, None] - q[None, :] + both_missed
    np.fill_diagonal(M, 1.0 - q)
    return M


def expected_terms(p, is_correct, N, r_c=1.0, r_w=-1.0, max_vocab: int = 4096) -> tuple[float, float, float]:
    """(E[T1], E[T2], E[T3]) of Theorem 1, each scaled by N/eta (our derivation; O(V^2)).

    The terms are quadratic in the sampling indicators through s = sum_j R_j p_j I_j, so their means
    need the pair inclusion probabilities M_jk = P(I_j I_k = 1). With a = p^2 1_C, b = p^2 1_W,
    pi = diag(M) and Rp = R * p:
    E[T1] = Q_w (r_c pi.a - Rp' M a),  E[T2] = Q_c (Rp' M b - r_w pi.b),
    E[T3] = Q_c ((Rp.pi) sum(b) - Rp' M b) - Q_w ((Rp.pi) sum(a) - Rp' M a).
    Their sum is N E[dQ_c] / eta (:func:`expected_change`).
    """
    where = "expected_terms"
    p, c, N, _, r_c, r_w = _common(p, is_correct, N, 1.0, r_c, r_w, where)
    if p.size > max_vocab:
        raise ParamError(where, "p", f"a vocabulary of at most max_vocab = {max_vocab} tokens (O(V^2) "
                         "memory and time)", f"V = {p.size}")
    M = _pair_inclusion(p, N)
    pi = np.diag(M).copy()
    Q_c, Q_w = p[c].sum(), p[~c].sum()
    a = np.where(c, p * p, 0.0)
    b = np.where(c, 0.0, p * p)
    Rp = np.where(c, r_c, r_w) * p
    sMa, sMb, spi = Rp @ M @ a, Rp @ M @ b, Rp @ pi
    t1 = Q_w * (r_c * (pi @ a) - sMa)
    t2 = Q_c * (sMb - r_w * (pi @ b))
    t3 = Q_c * (spi * b.sum() - sMb) - Q_w * (spi * a.sum() - sMa)
    return float(t1), float(t2), float(t3)


def expected_unsampled_moments(p, is_correct, N) -> tuple[float, float]:
    """(E[uc2], E[uw2]) = (sum_C, sum_W) p_i^2 (1 - p_i)^N [BroRL, Lemma 2 and Corollary 3]."""
    where = "expected_unsampled_moments"
    p, c = _inputs(p, is_correct, where)
    N = check_int("N", N, low=1, where=where)
    x = p * p * _miss(p, N)
    return float(x[c].sum()), float(x[~c].sum())


def limit_scaled_change(p, is_correct, r_c=1.0, r_w=-1.0) -> float:
    """lim_{N->inf} N E[dQ_c] / eta = (r_c - r_w)(Q_w^2 sum_C p^2 + Q_c^2 sum_W p^2) (spec §3 item 4).

    Every token with p_i > 0 is eventually sampled, so the unsampled term vanishes and
    s -> r_c Q_c + r_w Q_w.
    """
    where = "limit_scaled_change"
    p, c = _inputs(p, is_correct, where)
    r_c, r_w = check_rewards(r_c, r_w, where)
    Q_c, Q_w = p[c].sum(), p[~c].sum()
    p2 = p * p
    return float((r_c - r_w) * (Q_w**2 * p2[c].sum() + Q_c**2 * p2[~c].sum()))


def pass_at_k(q_c, k):
    """pass@k = 1 - (1 - Q_c)^k for a prompt with correct mass ``q_c`` in [0, 1] (spec §3.3).

    Strictly increasing in Q_c for k >= 1, so a pointwise increase of correct mass raises pass@k on
    every prompt. ``q_c`` may be an array (one entry per prompt).
    """
    where = "pass_at_k"
    q = check_array("q_c", q_c, low=0.0, high=1.0, where=where)
    k = check_int("k", k, low=1, where=where)
    out = -np.expm1(k * np.log1p(-q)) if np.all(q < 1) else 1.0 - (1.0 - q) ** k
    return float(out) if out.ndim == 0 else out
