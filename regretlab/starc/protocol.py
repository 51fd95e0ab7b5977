"""The STARC paper's empirical protocol: random MDPs, random rewards, interpolated pairs, regret labels.

Reimplemented from specs/starc-metrics.md §9, which describes the authors' experiment code
(``lucyfarnik/starc``: ``src/env/env.py`` ``RandomEnv``, ``src/env/reward.py`` ``random_reward`` and
``interpolate``, ``src/experiments/interpolated.py``), with one deliberate change: the returns J are
computed by exact policy evaluation (:mod:`regretlab.core.mdp`), not by the code's Monte-Carlo rollouts.

Protocol, per random MDP (spec §9):

* :func:`random_env`: tau from i.i.d. N(0, 1) logits, the logits at or below a threshold (1 if
  nS < 50, 1.5 if nS < 100, else 1.8) replaced by -20, softmax over s'; mu0 uniform; optionally one
  random absorbing state;
* :func:`random_reward`: N(0, 1) entries (or a state-only reward R[:, :, s'] = r(s')), then the
  mixture: with probability 0.2 sparse (keep entries above 3 / 3.5 / 3.8; 2 less for state-only
  rewards), with probability 0.7 scaled by 10 U(0, 1), with probability 0.3 shifted by 10 U(0, 1), with
  probability 0.5 potential-shaped with Phi = N(0, 1)^nS 10 U(0, 1) + U(0, 1);
* :func:`interpolated_pairs`: R_i = R1 + i (R2 - R1) / steps, i = 1..steps;
* :func:`regret_labels`: with pi1 = argmax J_R1, w1 = argmax J_{-R1}, pi_i = argmax J_Ri, w_i =
  argmax J_{-Ri} (deterministic optimal policies, exact policy iteration),

      regret1 = (J1(pi1) - J1(pi_i)) / (J1(pi1) - J1(w1)),
      regret2 = (Ji(pi_i) - Ji(pi1)) / (Ji(pi_i) - Ji(w_i)),      0/0 -> 0,
      label   = clip((regret1 + regret2) / 2, 0, 1).

The paper's statistic is the Pearson (and here also Spearman) correlation, across all pairs, between a
reward distance d(R1, R_i) and this label. With 128 MDPs x 8 draws x 16 steps that is 16,384 pairs.

References: [STARC] Skalse, Farnik, Motwani, Jenner, Gleave, Abate, "STARC: A General Framework For
Quantifying Differences Between Reward Functions", ICLR 2024, arXiv 2309.15257; the authors' code at
https://github.com/lucyfarnik/starc (read through specs/starc-metrics.md §9; the settings match the
paper's main-text description as the spec's author recalls it, UNCONFIRMED against the paper's text).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from regretlab.core.mdp import PROB_ATOL, discounted_occupancy, policy_iteration
from regretlab.core.validate import (
    ParamError,
    check_array,
    check_bool,
    check_float,
    check_int,
    check_rng,
)

__all__ = [
    "NEAR_TRIVIAL",
    "REFERENCES",
    "ProtocolEnv",
    "RegretLabels",
    "interpolated_pairs",
    "mdp_seed",
    "ordering_ratio",
    "protocol_mdp",
    "random_env",
    "random_reward",
    "regret_labels",
    "reward_sparsity_threshold",
    "transition_threshold",
]

REFERENCES = {
    "STARC": (
        "@inproceedings{skalse2024starc, author = {Skalse, Joar and Farnik, Lucy and Motwani, Sumeet Ramesh "
        "and Jenner, Erik and Gleave, Adam and Abate, Alessandro}, title = {{STARC}: A General Framework "
        "For Quantifying Differences Between Reward Functions}, booktitle = {ICLR}, year = {2024}, "
        "note = {arXiv 2309.15257; code: https://github.com/lucyfarnik/starc}}"
    ),
    "EPIC": (
        "@inproceedings{gleave2021epic, author = {Gleave, Adam and Dennis, Michael and Legg, Shane and "
        "Russell, Stuart and Leike, Jan}, title = {Quantifying Differences in Reward Functions}, "
        "booktitle = {ICLR}, year = {2021}}"
    ),
    "DARD": (
        "@inproceedings{wulfe2022dard, author = {Wulfe, Blake and Balakrishna, Ashwin and Ellis, Logan and "
        "Mercat, Jean and McAllister, Rowan and Gaidon, Adrien}, title = {Dynamics-Aware Comparison of "
        "Learned Reward Functions}, booktitle = {ICLR}, year = {2022}}"
    ),
}

LOGIT_FLOOR = -20.0  # logits at or below the threshold are set to this before the softmax (spec §9)


class ProtocolEnv(NamedTuple):
    """A random environment of the protocol (no reward).

    Fields: tau (S, A, S) transition probabilities; mu0 (S,) uniform initial distribution; gamma float;
        absorbing int or None: the absorbing state of the episodic variant (tau[s, :, s] = 1).
    """

    tau: np.ndarray
    mu0: np.ndarray
    gamma: float
    absorbing: int | None = None

    @property
    def n_states(self) -> int:
        return int(self.tau.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.tau.shape[1])


class RegretLabels(NamedTuple):
    """The regret label of each pair and its two halves (all of the broadcast batch shape).

    label = clip((regret1 + regret2) / 2, 0, 1); regret1: normalised regret under R1 of R_i's optimal
    policy; regret2: normalised regret under R_i of R1's optimal policy (0 where the range is 0).
    """

    label: np.ndarray
    regret1: np.ndarray
    regret2: np.ndarray


# ---------------------------------------------------------------------------------------------------
# Validation helpers


def _gamma(gamma, where) -> float:
    return check_float("gamma", gamma, low=0.0, high=1.0, low_open=True, high_open=True, where=where)


def _tri_state(name, value, where):
    if value is None:
        return None
    return check_bool(name, value, where=where)


def transition_threshold(n_states: int) -> float:
    """Logit threshold of :func:`random_env`: 1 if n_states < 50, 1.5 if < 100, else 1.8 (spec §9)."""
    n = check_int("n_states", n_states, low=1, where="transition_threshold")
    return 1.0 if n < 50 else (1.5 if n < 100 else 1.8)


def reward_sparsity_threshold(n_states: int, state_only: bool = False) -> float:
    """Threshold of the sparse rewards of :func:`random_reward`: 3 if n_states < 50, 3.5 if < 100,
    else 3.8; 2 less for state-only rewards (which have only n_states distinct values). Spec §9 and the
    authors' ``random_reward``."""
    n = check_int("n_states", n_states, low=1, where="reward_sparsity_threshold")
    t = 3.0 if n < 50 else (3.5 if n < 100 else 3.8)
    return t - 2.0 if state_only else t


# ---------------------------------------------------------------------------------------------------
# Generators


def random_env(n_states, n_actions, gamma, rng, *, episodic=False) -> ProtocolEnv:
    """The protocol's random environment (``RandomEnv`` of the authors' code, spec §9).

    tau[s, a, :] = softmax(x[s, a, :]) over s', where x has i.i.d. N(0, 1) entries and every entry at or
    below ``transition_threshold(n_states)`` (1 / 1.5 / 1.8) is replaced by -20: about P(N(0,1) > 1) =
    15.9% of next states (for nS < 50) get non-negligible mass, the others exp(-20)/Z < 2.1e-9 each.
    A row with no entry above the threshold is uniform. mu0 is uniform (full support, as the STARC
    theory assumes). With ``episodic``, one state drawn uniformly becomes absorbing (tau[s, a, s] = 1);
    the reward on its self-loop is left as drawn, as in the authors' code.

    Parameters: n_states >= 2, n_actions >= 1 (int); gamma in (0, 1); rng numpy Generator (used and
        advanced), SeedSequence or int seed; episodic bool.
    Returns: :class:`ProtocolEnv` (tau (S, A, S) float64, rows summing to 1 within 1e-12).
    """
    where = "random_env"
    S = check_int("n_states", n_states, low=2, where=where)
    A = check_int("n_actions", n_actions, low=1, where=where)
    gamma = _gamma(gamma, where)
    gen = check_rng(rng, where)
    episodic = check_bool("episodic", episodic, where=where)
    logits = gen.standard_normal((S, A, S))
    logits = np.where(logits > transition_threshold(S), logits, LOGIT_FLOOR)
    logits -= logits.max(axis=-1, keepdims=True)  # stable softmax: same distribution, no overflow
    tau = np.exp(logits)
    tau /= tau.sum(axis=-1, keepdims=True)
    absorbing = None
    if episodic:
        absorbing = int(gen.integers(S))
        tau[absorbing] = 0.0
        tau[absorbing, :, absorbing] = 1.0
    return ProtocolEnv(tau, np.full(S, 1.0 / S), gamma, absorbing)


def random_reward(n_states, n_actions, rng, state_only=False, *, gamma, sparse=None, scaled=None,
                  shifted=None, shaped=None, return_info=False):
    """One random reward R[s, a, s'] of the protocol (``random_reward`` of the authors' code, spec §9).

    Draws, in this order, from ``rng``:

    1. base: i.i.d. N(0, 1) of shape (S, A, S); ``state_only``: r ~ N(0, 1)^S and R[:, :, s'] = r[s'];
    2. sparse with probability 0.2 (``u > 0.8``): keep the entries above
       ``reward_sparsity_threshold(S, state_only)`` (3 / 3.5 / 3.8, minus 2 when state-only), zero the rest;
    3. scaled with probability 0.7 (``u > 0.3``): R *= 10 U(0, 1);
    4. shifted with probability 0.3 (``u > 0.7``): R += 10 U(0, 1);
    5. shaped with probability 0.5 (``u > 0.5``): R += gamma Phi[s'] - Phi[s], with
       Phi = N(0, 1)^S * 10 U(0, 1) + U(0, 1).

    Steps 3-5 change neither the policy ordering (scale > 0, shift and shaping are potential shaping),
    so the mixture spreads rewards over scales and offsets within each equivalence class.

    ``gamma`` is a required keyword: the shaping term needs the environment's discount (the authors'
    code reads ``env.discount``). ``sparse``, ``scaled``, ``shifted``, ``shaped``: None draws the coin
    as above; True/False forces the step (the coin is then not drawn).

    Parameters: n_states >= 1, n_actions >= 1; rng Generator (used and advanced), SeedSequence or int;
        state_only bool; gamma in (0, 1); return_info bool.
    Returns: R (S, A, S) float64; with ``return_info``, ``(R, info)`` where info is a dict with keys
        sparse (bool), scale (float, 1.0 if not scaled), shift (float, 0.0 if not shifted) and
        phi ((S,) potential or None).
    """
    where = "random_reward"
    S = check_int("n_states", n_states, low=1, where=where)
    A = check_int("n_actions", n_actions, low=1, where=where)
    gen = check_rng(rng, where)
    state_only = check_bool("state_only", state_only, where=where)
    gamma = _gamma(gamma, where)
    sparse, scaled, shifted, shaped = (_tri_state(k, v, where) for k, v in
                                       (("sparse", sparse), ("scaled", scaled), ("shifted", shifted),
                                        ("shaped", shaped)))
    return_info = check_bool("return_info", return_info, where=where)

    if state_only:
        R = np.broadcast_to(gen.standard_normal(S)[None, None, :], (S, A, S)).copy()
    else:
        R = gen.standard_normal((S, A, S))
    info = {"sparse": False, "scale": 1.0, "shift": 0.0, "phi": None}
    if sparse is True or (sparse is None and gen.random() > 0.8):
        R = np.where(R > reward_sparsity_threshold(S, state_only), R, 0.0)
        info["sparse"] = True
    if scaled is True or (scaled is None and gen.random() > 0.3):
        info["scale"] = 10.0 * gen.random()
        R *= info["scale"]
    if shifted is True or (shifted is None and gen.random() > 0.7):
        info["shift"] = 10.0 * gen.random()
        R += info["shift"]
    if shaped is True or (shaped is None and gen.random() > 0.5):
        phi = gen.standard_normal(S)
        phi *= 10.0 * gen.random()
        phi += gen.random()
        R = R + gamma * phi[None, None, :] - phi[:, None, None]
        info["phi"] = phi
    return (R, info) if return_info else R


def interpolated_pairs(R1, R2, steps=16):
    """The protocol's interpolation R_i = R1 + i (R2 - R1) / steps for i = 1..steps (spec §9).

    Computed as the authors' ``interpolate``: ``diff = (R2 - R1) / steps``, ``R_i = R1 + diff * i``
    (so R_steps equals R2 up to rounding).

    Parameters: R1, R2 arrays of the same shape (..., S, A, S) (any leading batch axes); steps >= 1.
    Returns: (..., steps, S, A, S) float64: ``out[..., i - 1]`` is R_i. Pair ``(R1[...], out[..., i])``.
    """
    where = "interpolated_pairs"
    R1 = check_array("R1", R1, where=where)
    R2 = check_array("R2", R2, where=where)
    steps = check_int("steps", steps, low=1, where=where)
    if R1.ndim < 3 or R1.shape[-1] != R1.shape[-3]:
        raise ParamError(where, "R1", "an array of shape (..., S, A, S)", f"an array of shape {R1.shape}")
    if R2.shape != R1.shape:
        raise ParamError(where, "R2", f"an array of the shape of R1 {R1.shape}", f"an array of shape {R2.shape}")
    diff = (R2 - R1) / steps
    i = np.arange(1, steps + 1, dtype=np.float64).reshape((steps, 1, 1, 1))
    return R1[..., None, :, :, :] + diff[..., None, :, :, :] * i


# ---------------------------------------------------------------------------------------------------
# Regret labels


def _check_tau(tau, where):
    tau = check_array("tau", tau, where=where, low=0.0)
    if tau.ndim != 3 or tau.shape[0] != tau.shape[2] or tau.shape[0] == 0 or tau.shape[1] == 0:
        raise ParamError(where, "tau", "an array of shape (S, A, S)", f"an array of shape {tau.shape}")
    sums = tau.sum(axis=-1)
    dev = np.abs(sums - 1.0)
    if dev.max() > PROB_ATOL:
        s, a = np.unravel_index(int(np.argmax(dev)), dev.shape)
        raise ParamError(where, f"tau[{s}, {a}, :]", f"a distribution over next states (sums to 1 within "
                         f"{PROB_ATOL:g}; never renormalised), but sums to", float(sums[s, a]))
    return tau


def _check_reward(name, R, S, A, where):
    R = check_array(name, R, where=where)
    if R.ndim < 3 or R.shape[-3:] != (S, A, S):
        raise ParamError(where, name, f"an array of shape (..., {S}, {A}, {S}) matching tau",
                         f"an array of shape {R.shape}")
    return R


def _expected(tau, R):
    """Rbar[..., s, a] = sum_s' tau[s, a, s'] R[..., s, a, s']."""
    return np.einsum("sat,...sat->...sa", tau, R)


TRIVIAL_RTOL = 1e-14  # trivial: max|A^u| <= TRIVIAL_RTOL * max|Rbar| / (1 - gamma); rounding gives < 1e-15


def _planning_reward(tau, rbar, gamma):
    """The reward planned on: Rbar made free of offset and shaping, scaled to max |.| = 1.

    A[s, a] = Q^u(s, a) - V^u(s) for the uniform policy u, i.e. Rbar potential-shaped with Phi = V^u
    (up to S'-redistribution): J_A(pi) = J_R(pi) - J_R(u) for every pi (performance-difference identity,
    spec §3.1), so every J difference, every optimal policy and every normalised regret is unchanged,
    and so they are after dividing by max|A| > 0. Removing the offset first keeps the labels accurate
    for rewards whose J varies by ~1e-9 of their size (a sparse reward whose non-zeros all fall on
    transitions of probability < 1e-8, then shifted and shaped: several % of the protocol's rewards),
    where policy iteration's tie guard (relative to |Q|) would otherwise hide their ordering.
    Returns (An (..., S, A), trivial (...) bool); An = 0 for trivial rewards (J constant up to rounding:
    max|A| <= TRIVIAL_RTOL max|Rbar| / (1 - gamma); TRIVIAL_RTOL = 1e-14, while rounding leaves < 1e-15
    on pure shaping + shift, and the near-trivial protocol rewards above reach 1e-12).
    """
    S, A = tau.shape[0], tau.shape[1]
    Pu = tau.mean(axis=1)  # (S, S): the uniform policy's transition matrix
    ru = rbar.mean(axis=-1)  # (..., S)
    batch = ru.shape[:-1]
    V = np.linalg.solve(np.eye(S) - gamma * Pu, ru.reshape(-1, S).T).T.reshape(batch + (S,))
    Q = rbar + gamma * (V.reshape(-1, S) @ tau.reshape(S * A, S).T).reshape(batch + (S, A))
    adv = Q - V[..., None]
    size = np.abs(adv).max(axis=(-2, -1))
    trivial = size <= TRIVIAL_RTOL * np.abs(rbar).max(axis=(-2, -1)) / (1.0 - gamma)
    An = adv / np.where(trivial, 1.0, size)[..., None, None]
    An[trivial] = 0.0
    return An, trivial


NEAR_TRIVIAL = 1e-6  # ordering_ratio below this: the reward's ordering rests on the generator's ~1e-9 leakage


def ordering_ratio(R, tau, gamma):
    """How much of a reward's size carries its policy ordering: max|A^u_R| / max|R| (0 for R = 0).

    A^u_R(s, a) = Q^u(s, a) - V^u(s) is R's advantage under the uniform policy u (C_VAL of spec §3.1);
    it is 0 iff R is trivial (J constant over policies, full-support mu0). In the protocol the ratio is
    either above ~1e-4 or below ~1e-9 (measured on the 17,408 rewards of the paper-size run): a sparse
    reward whose non-zero entries all fall on transitions that the -20 logit floor of :func:`random_env`
    leaves with probability ~2e-9 is *near-trivial*: its ordering, hence its exact regret label, rests
    on that leakage, and a STARC distance calls it trivial or not depending on its zero threshold
    (:data:`regretlab.starc.norms.TRIVIAL_EPS`, relative to max|R|). :data:`NEAR_TRIVIAL` = 1e-6 lies
    in the gap.

    Parameters: R (..., S, A, S); tau (S, A, S); gamma in (0, 1).
    Returns: (...) float64 array.
    """
    where = "ordering_ratio"
    tau = _check_tau(tau, where)
    S, A = tau.shape[0], tau.shape[1]
    R = _check_reward("R", R, S, A, where)
    gamma = _gamma(gamma, where)
    rbar = _expected(tau, R)
    ru = rbar.mean(axis=-1)
    batch = ru.shape[:-1]
    V = np.linalg.solve(np.eye(S) - gamma * tau.mean(axis=1), ru.reshape(-1, S).T).T.reshape(batch + (S,))
    adv = rbar + gamma * (V.reshape(-1, S) @ tau.reshape(S * A, S).T).reshape(batch + (S, A)) - V[..., None]
    size = np.abs(R).max(axis=(-3, -2, -1))
    return np.where(size > 0, np.abs(adv).max(axis=(-2, -1)) / np.where(size > 0, size, 1.0), 0.0)


def _ratio(num, den):
    """num / den, and 0 where den <= 1e-12 (rewards scaled to max|A| = 1; 0/0 -> 0: J constant)."""
    tiny = den <= 1e-12
    return np.where(tiny, 0.0, num / np.where(tiny, 1.0, den))


def regret_labels(R1, Ri, tau, gamma, mu0) -> RegretLabels:
    """Exact regret labels of reward pairs (R1, R_i) on one environment (spec §9, exact J).

    Deterministic optimal policies by exact policy iteration (:func:`regretlab.core.mdp.policy_iteration`):
    pi1 for R1, w1 for -R1 (the worst policy under R1), pi_i for R_i, w_i for -R_i. Returns by exact
    evaluation: J_R(pi) = <d_pi, Rbar> / (1 - gamma), with Rbar = sum_s' tau R and d_pi the normalised
    discounted occupancy from mu0 (:func:`regretlab.core.mdp.discounted_occupancy`, one linear solve per
    policy). Then

        regret1 = (J1(pi1) - J1(pi_i)) / (J1(pi1) - J1(w1))
        regret2 = (Ji(pi_i) - Ji(pi1)) / (Ji(pi_i) - Ji(w_i))
        label   = clip((regret1 + regret2) / 2, 0, 1)

    A zero range (a trivial reward, J constant over policies) gives 0 for that half (the 0/0 -> 0 rule
    of the authors' code). Hence label = 0 when R_i is R1 up to positive scaling, potential shaping
    and S'-redistribution, and label = 1 for R_i = -R1 (non-trivial R1).

    Numerics: planning and J differences use each reward's uniform-policy advantage scaled to
    max|.| = 1 (see ``_planning_reward``), which leaves every quantity above unchanged in exact
    arithmetic and keeps them accurate when a reward's J varies by a tiny fraction of its size. A
    reward is trivial when max|A^u| <= 1e-14 max|Rbar| / (1 - gamma); a range <= 1e-12 (after scaling)
    counts as 0.

    Batching: R1 (..., S, A, S) and Ri (..., S, A, S) broadcast against each other; R1's policies are
    computed on R1's own batch shape, so pass R1 with a singleton axis (e.g. (D, 1, S, A, S) against Ri
    (D, K, S, A, S)) to solve each R1 once.

    Parameters: R1, Ri float arrays as above; tau (S, A, S) rows summing to 1 within 1e-10; gamma in (0, 1);
        mu0 (S,) initial distribution (full support recommended: spec §1).
    Returns: :class:`RegretLabels` (label, regret1, regret2), each of the broadcast batch shape.
    """
    where = "regret_labels"
    tau = _check_tau(tau, where)
    S, A = tau.shape[0], tau.shape[1]
    R1 = _check_reward("R1", R1, S, A, where)
    Ri = _check_reward("Ri", Ri, S, A, where)
    gamma = _gamma(gamma, where)
    mu0 = check_array("mu0", mu0, where=where, low=0.0)
    if mu0.shape != (S,):
        raise ParamError(where, "mu0", f"an array of shape ({S},)", f"an array of shape {mu0.shape}")
    if abs(mu0.sum() - 1.0) > PROB_ATOL:
        raise ParamError(where, "mu0", f"a distribution (sums to 1 within {PROB_ATOL:g})", float(mu0.sum()))
    try:
        batch = np.broadcast_shapes(R1.shape[:-3], Ri.shape[:-3])
    except ValueError:
        raise ParamError(where, "R1, Ri", "batch axes that broadcast against each other",
                         f"{R1.shape[:-3]} and {Ri.shape[:-3]}") from None

    r1, _ = _planning_reward(tau, _expected(tau, R1), gamma)
    ri, _ = _planning_reward(tau, _expected(tau, Ri), gamma)
    pi1 = policy_iteration(tau, r1, gamma).policy
    w1 = policy_iteration(tau, -r1, gamma).policy
    pii = policy_iteration(tau, ri, gamma).policy
    wi = policy_iteration(tau, -ri, gamma).policy
    d_pi1 = discounted_occupancy(tau, gamma, pi1, mu0)
    d_w1 = discounted_occupancy(tau, gamma, w1, mu0)
    d_pii = discounted_occupancy(tau, gamma, pii, mu0)
    d_wi = discounted_occupancy(tau, gamma, wi, mu0)

    def dJ(d_a, d_b, r):  # J_r(a) - J_r(b)
        return np.sum((d_a - d_b) * r, axis=(-2, -1)) / (1.0 - gamma)

    regret1 = _ratio(dJ(d_pi1, d_pii, r1), dJ(d_pi1, d_w1, r1))
    regret2 = _ratio(dJ(d_pii, d_pi1, ri), dJ(d_pii, d_wi, ri))
    regret1 = np.broadcast_to(regret1, batch).copy()
    regret2 = np.broadcast_to(regret2, batch).copy()
    label = np.clip((regret1 + regret2) / 2.0, 0.0, 1.0)
    return RegretLabels(label, regret1, regret2)


# ---------------------------------------------------------------------------------------------------
# One MDP of the protocol


def mdp_seed(seed: int, cell: int, replicate: int, mdp: int) -> np.random.SeedSequence:
    """The stream of MDP ``mdp`` of replicate ``replicate`` of a sweep cell.

    ``SeedSequence(seed, spawn_key=(cell, replicate, mdp))``: the ``mdp``-th child of the replicate's
    ``SeedSequence(seed, spawn_key=(cell, replicate))`` (regretlab.core.rng's seeding). It depends on
    these four numbers only, so MDP m is the same whatever the number of MDPs, their chunking into
    batches or the thread count.
    """
    for k, v in (("seed", seed), ("cell", cell), ("replicate", replicate), ("mdp", mdp)):
        check_int(k, v, low=0, where="mdp_seed")
    return np.random.SeedSequence(int(seed), spawn_key=(int(cell), int(replicate), int(mdp)))


def protocol_mdp(rng, n_states, n_actions, gamma, draws, steps, *, episodic=False, state_only=False):
    """One MDP of the protocol with its ``draws`` x ``steps`` interpolated reward pairs (spec §9).

    Draws from ``rng`` in the authors' order: the environment, then for each draw R1 and R2
    (:func:`random_reward`); the pairs are (R1[d], Ri[d, i]) with Ri from :func:`interpolated_pairs`.

    Returns: (env :class:`ProtocolEnv`, R1 (draws, S, A, S), Ri (draws, steps, S, A, S)).
    """
    where = "protocol_mdp"
    gen = check_rng(rng, where)
    draws = check_int("draws", draws, low=1, where=where)
    steps = check_int("steps", steps, low=1, where=where)
    env = random_env(n_states, n_actions, gamma, gen, episodic=episodic)
    S, A = env.n_states, env.n_actions
    R1 = np.empty((draws, S, A, S))
    R2 = np.empty((draws, S, A, S))
    for d in range(draws):
        R1[d] = random_reward(S, A, gen, state_only, gamma=env.gamma)
        R2[d] = random_reward(S, A, gen, state_only, gamma=env.gamma)
    return env, R1, interpolated_pairs(R1, R2, steps)
