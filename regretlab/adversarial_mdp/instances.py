"""Episodic MDPs whose Q functions are exactly linear in known features, and oblivious loss sequences.

Construction (specs/adversarial-linear-mdp.md §7.1, the "low-rank simplex" linear MDP; exact): layers
h = 0..H-1 with n_0 = 1 state and n states in every other layer, A actions, d features.

1. ``features="simplex"``: phi(s, a) ~ Dirichlet(alpha_phi 1_d), a point of the simplex (||phi||_2 <= 1).
   ``features="tabular"``: phi(s, a) = e_{s A + a} (one-hot), d = n A (layer 0 uses only its first A
   coordinates, so its covariance is singular without the gamma I term).
2. Latent next-state laws nu_{h,j} ~ Dirichlet(alpha_nu 1_n) on layer h+1, one per coordinate j
   (tabular: nu_{h, sA+a} is a Dirichlet row P(.|s, a) itself).
3. Transitions P(.|s, a) = sum_j phi_j(s, a) nu_{h,j}: a mixture, hence a distribution.
4. Losses l_k(s, a) = phi(s, a)^T g_{k,h} with g_{k,h} in [0, 1]^d chosen by an oblivious adversary.

Then Q^pi_k(s, a) = phi(s, a)^T theta with theta_j = g_{k,h}[j] + sum_s' nu_{h,j}(s') V^pi_k(s') in
[0, H - h] for **every** policy: a linear MDP (spec §1.6), hence linear-Q (§1.4), ||theta||_2 <= sqrt(d) H.

Adversaries (§7.2), all oblivious: the loss vector of episode k, layer h, coordinate j is drawn from the
counter-based uniform u = U(key, (k H + h) d + j) of a loss stream ``key`` that depends on (seed,
replicate) only, so every algorithm and every K of a sweep sees the same sequence (a prefix of it):

- ``uniform``: g = u (i.i.d. uniform on [0, 1]^d).
- ``stochastic_gap``: g = 1{u < m_h[j]}, fixed means m_h[j] ~ U[0.3, 0.7] with coordinate 0 lowered by
  ``gap`` (default of the rate plot).
- ``switching``: Bernoulli with piecewise-constant means; block i covers episodes [2^i - 1, 2^(i+1) - 1)
  (geometrically growing) and lowers coordinate i mod d by ``gap`` instead of coordinate 0, so the best
  fixed policy of a prefix keeps changing.
- ``drifting``: Bernoulli whose means drift linearly over the K episodes from "coordinate 0 lowered by
  ``gap``" to "coordinate 1 lowered by ``gap``" (64 equal blocks, or K if fewer; d >= 2): the best fixed
  policy of a prefix moves slowly from one coordinate to the other (adversarially drifting losses).

The means form a table (n_blocks, H, d) with block starts; kernels read it, so drawing the losses costs
O(H d) memory whatever K is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regretlab.core.mdp import LayeredMDP, backward_induction
from regretlab.core.validate import ParamError, check_array, check_choice, check_float, check_int

__all__ = [
    "ADVERSARIES",
    "FEATURES",
    "Adversary",
    "LinearMDP",
    "adversary",
    "benchmark_values",
    "episode_losses",
    "expected_loss_of_policy",
    "linear_mdp",
    "loss_key",
]

FEATURES = ("simplex", "tabular")
ADVERSARIES = ("stochastic_gap", "uniform", "switching", "drifting")
LOSS_KEY = 2**32 - 3  # spawn_key slot of the per-replicate loss streams (independent of the cell)
DRIFT_BLOCKS = 64
INSTANCE_KEY = 2**32 - 4  # spawn_key slot of the instance (independent of cell and replicate)


@dataclass(frozen=True, eq=False)
class LinearMDP:
    """A layered linear MDP in padded arrays (layer 0 has one state, the others ``n``).

    Fields:
        phi (H, n, A, d) float64 features (zero on the padding states s >= n_states[h]);
        P (H, n, A, n) float64 transitions from layer h to layer h+1 (zero for the last layer and padding);
        n_states (H,) int64 layer sizes (1, n, ..., n);
        nu (max(H-1, 0), d, n) latent next-state laws (simplex features) or None (tabular);
        features "simplex" | "tabular".
    """

    phi: np.ndarray
    P: np.ndarray
    n_states: np.ndarray
    nu: np.ndarray | None
    features: str

    @property
    def horizon(self) -> int:
        return int(self.phi.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.phi.shape[2])

    @property
    def dim(self) -> int:
        return int(self.phi.shape[3])

    @property
    def width(self) -> int:
        return int(self.phi.shape[1])

    def to_layered(self) -> LayeredMDP:
        """The same MDP as a :class:`regretlab.core.mdp.LayeredMDP` (flat states, layer by layer)."""
        H, n, A, _ = self.phi.shape
        sizes = tuple(int(x) for x in self.n_states)
        off = np.concatenate([[0], np.cumsum(sizes)])
        S = int(off[-1])
        P = np.zeros((S, A, S))
        for h in range(H - 1):
            P[off[h]:off[h + 1], :, off[h + 1]:off[h + 2]] = self.P[h, :sizes[h], :, :sizes[h + 1]]
        last = np.arange(off[-2], off[-1])
        P[last, :, last] = 1.0
        return LayeredMDP(P, np.zeros((S, A)), sizes)

    def flat_losses(self, g) -> np.ndarray:
        """Losses l(s, a) = phi(s, a)^T g_h on the flat states of :meth:`to_layered`.

        g (..., H, d) -> (..., S, A).
        """
        g = np.asarray(g, dtype=float)
        rows = [np.einsum("sad,...d->...sa", self.phi[h, :int(self.n_states[h])], g[..., h, :])
                for h in range(self.horizon)]
        return np.concatenate(rows, axis=-2)


def linear_mdp(horizon: int, width: int, n_actions: int, dim: int | None, rng, *, features: str = "simplex",
               alpha_phi: float = 0.3, alpha_nu: float = 0.5) -> LinearMDP:
    """A random linear MDP of the construction in the module docstring.

    Parameters: horizon H >= 1; width n >= 1 states per layer h >= 1; n_actions A >= 2; dim d >= 1 (simplex
        features; ``None`` or n A for tabular); rng Generator or seed; features "simplex" | "tabular";
        alpha_phi, alpha_nu > 0 Dirichlet concentrations.
    """
    where = "linear_mdp"
    H = check_int("horizon", horizon, low=1, where=where)
    n = check_int("width", width, low=1, where=where)
    A = check_int("n_actions", n_actions, low=2, where=where)
    features = check_choice("features", features, FEATURES, where=where)
    a_phi = check_float("alpha_phi", alpha_phi, low=0.0, low_open=True, where=where)
    a_nu = check_float("alpha_nu", alpha_nu, low=0.0, low_open=True, where=where)
    gen = np.random.default_rng(rng)
    sizes = np.array([1] + [n] * (H - 1), dtype=np.int64)
    if features == "tabular":
        if dim is not None and int(dim) != n * A:
            raise ParamError(where, "dim", f"width * n_actions = {n * A} with tabular features (or None)", dim)
        d = n * A
    else:
        d = check_int("dim", dim, low=1, where=where)
    phi = np.zeros((H, n, A, d))
    for h in range(H):
        for s in range(int(sizes[h])):
            if features == "tabular":
                phi[h, s, np.arange(A), s * A + np.arange(A)] = 1.0
            else:
                phi[h, s] = gen.dirichlet(np.full(d, a_phi), size=A)
    P = np.zeros((H, n, A, n))
    nu = None if features == "tabular" else np.zeros((max(H - 1, 0), d, n))
    for h in range(H - 1):
        if features == "tabular":
            P[h, :int(sizes[h])] = gen.dirichlet(np.full(n, a_nu), size=(int(sizes[h]), A))
        else:
            nu[h] = gen.dirichlet(np.full(n, a_nu), size=d)
            P[h, :int(sizes[h])] = phi[h, :int(sizes[h])] @ nu[h]
    return LinearMDP(phi, P, sizes, nu, features)


def check_linear_mdp(mdp: LinearMDP, where: str = "LinearMDP") -> None:
    """Validate a (possibly user-built) instance: shapes, non-negative features, distributions as rows."""
    phi = check_array("phi", mdp.phi, where=where, low=0.0)
    if phi.ndim != 4:
        raise ParamError(where, "phi", "an array of shape (H, n, A, d)", phi.shape)
    H, n, A, d = phi.shape
    check_int("n_actions (phi.shape[2])", A, low=2, where=where)
    if mdp.features == "simplex" and np.any(np.abs(phi.sum(-1)[0, :1] - 1.0) > 1e-12):
        raise ParamError(where, "phi", "simplex features (each phi(s, a) non-negative, summing to 1)", phi[0, 0])
    for h in range(H - 1):
        rows = mdp.P[h, :int(mdp.n_states[h]), :, :int(mdp.n_states[h + 1])].sum(-1)
        if np.any(np.abs(rows - 1.0) > 1e-12):
            raise ParamError(where, f"P[{h}]", "rows that are distributions on layer h+1", rows)


@dataclass(frozen=True, eq=False)
class Adversary:
    """An oblivious loss sequence: Bernoulli (or uniform) coordinates with block-constant means.

    Fields: means (n_blocks, H, d) in [0, 1]; starts (n_blocks,) int64 first episode of each block
    (starts[0] = 0, increasing); bernoulli bool (False: g = u, the ``uniform`` adversary); name.
    """

    means: np.ndarray
    starts: np.ndarray
    bernoulli: bool
    name: str


def adversary(name: str, horizon: int, dim: int, n_episodes: int, rng, *, gap: float = 0.15) -> Adversary:
    """The adversary ``name`` of the module docstring for K = ``n_episodes`` (blocks cover [0, K))."""
    where = "adversary"
    name = check_choice("adversary", name, ADVERSARIES, where=where)
    H = check_int("horizon", horizon, low=1, where=where)
    d = check_int("dim", dim, low=1, where=where)
    K = check_int("n_episodes", n_episodes, low=1, where=where)
    gap = check_float("gap", gap, low=0.0, high=0.3, where=where)
    gen = np.random.default_rng(rng)
    base = gen.uniform(0.3, 0.7, size=(H, d))
    if name == "uniform":
        return Adversary(np.full((1, H, d), 0.5), np.zeros(1, dtype=np.int64), False, name)
    if name == "stochastic_gap":
        m = base.copy()
        m[:, 0] -= gap
        return Adversary(m[None], np.zeros(1, dtype=np.int64), True, name)
    if name == "drifting":
        if d < 2:
            raise ParamError(where, "dim", ">= 2 for the drifting adversary (it moves between coordinates 0 and 1)", d)
        n_blocks = min(DRIFT_BLOCKS, K)
        w = np.arange(n_blocks) / max(n_blocks - 1, 1)
        means = np.repeat(base[None], n_blocks, axis=0)
        means[:, :, 0] -= gap * (1.0 - w)[:, None]
        means[:, :, 1] -= gap * w[:, None]
        starts = (np.arange(n_blocks) * K) // n_blocks
        return Adversary(means, starts.astype(np.int64), True, name)
    n_blocks = max(1, int(np.floor(np.log2(K + 1))))
    starts = np.array([2**i - 1 for i in range(n_blocks)], dtype=np.int64)
    means = np.repeat(base[None], n_blocks, axis=0)
    for i in range(n_blocks):
        means[i, :, i % d] -= gap
    return Adversary(means, starts, True, name)


def loss_key(seed: int, replicate: int) -> np.uint64:
    """Key of replicate ``replicate``'s loss stream: a function of (seed, replicate) only."""
    ss = np.random.SeedSequence(seed, spawn_key=(LOSS_KEY, replicate))
    return ss.generate_state(1, dtype=np.uint64)[0]


def instance_rng(seed: int, instance: int, part: int = 0) -> np.random.Generator:
    """Generator of instance number ``instance`` of a sweep seed (independent of cells and replicates);
    ``part`` 0 draws the MDP, 1 the adversary's means, so changing one does not move the other."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(INSTANCE_KEY, instance, part)))


def episode_losses(adv: Adversary, key, k0: int, k1: int) -> np.ndarray:
    """g_{k,h} for episodes k0 <= k < k1 of the stream ``key``: (k1 - k0, H, d), as the kernels draw them."""
    from regretlab.core.detmath import counter_uniforms

    _, H, d = adv.means.shape
    k = np.arange(k0, k1, dtype=np.int64)
    ctr = ((k[:, None, None] * H + np.arange(H)[None, :, None]) * d + np.arange(d)[None, None, :])
    u = counter_uniforms(np.uint64(key), ctr)
    if not adv.bernoulli:
        return u
    block = np.searchsorted(adv.starts, k, side="right") - 1
    return (u < adv.means[block]).astype(float)


def benchmark_values(mdp: LinearMDP, G) -> np.ndarray:
    """min over policies of the total loss for cumulative loss vectors G (..., H, d): exact (backward
    induction on l-bar = phi^T G, the best fixed deterministic policy in hindsight, spec §1.3)."""
    G = np.asarray(G, dtype=float)
    lay = mdp.to_layered()
    r = mdp.flat_losses(G)  # (..., S, A)
    batch = r.shape[:-2]
    r4 = np.broadcast_to(r.reshape((-1,) + r.shape[-2:])[:, None], (int(np.prod(batch, dtype=int)), mdp.horizon)
                         + r.shape[-2:])
    res = backward_induction(lay.P, np.ascontiguousarray(r4), mdp.horizon, maximize=False, backend="numpy")
    return res.V[:, 0, 0].reshape(batch)


def expected_loss_of_policy(mdp: LinearMDP, pi, g) -> float:
    """Sum over h, s, a of q^pi_h(s, a) l(s, a) for a padded policy pi (H, n, A) and losses g (H, d)."""
    from regretlab.core.mdp import finite_horizon_occupancy

    lay = mdp.to_layered()
    flat = np.concatenate([pi[h, :int(mdp.n_states[h])] for h in range(mdp.horizon)], axis=0)
    q = finite_horizon_occupancy(lay.P, np.broadcast_to(flat, (mdp.horizon,) + flat.shape), lay.mu0, mdp.horizon,
                                 backend="numpy")
    r = mdp.flat_losses(np.asarray(g, dtype=float))
    return float(np.sum(q * r[None]))
