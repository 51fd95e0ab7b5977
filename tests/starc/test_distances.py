"""STARC, EPIC and DARD distances: invariances, the S'-redistribution counterexample, pseudometric axioms,
tiny-MDP equivalence classes, batch vs reference loops, backends (specs/starc-metrics.md §4-8, §11)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starc_cases import instance, redistribution, shaping

import regretlab.starc as starc
from regretlab.core.backends import cupy_available
from regretlab.starc import reference as ref

STARC_EXACT = ["val", "minimal", "minimal_l2"]
CVX = ["minimal_l1", "minimal_linf", "minimal_w_l1", "minimal_w_linf"]
SHAPING_INVARIANT = ["val", "minimal", "minimal_l2", "epic", "dard", "val_potential", "minimal_potential",
                     "minimal_potential_w_l2"]
ALL_EXACT = ["none"] + SHAPING_INVARIANT
NORMS = list(starc.NORMS)
METRICS = list(starc.METRICS)


def keys_for(canons, norms=NORMS, metrics=METRICS):
    return [(c, n, m) for c in canons for n in norms for m in metrics]


# ---------------------------------------------------------------------------------------------------
# invariances (spec §11.1-11.3)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), a=st.floats(0.01, 100.0), k=st.floats(-20, 20),
       gamma=st.sampled_from([0.0, 0.7, 0.95]))
def test_zero_under_shaping_shift_and_scaling(seed, a, k, gamma):
    tau, gen = instance(seed, gamma=gamma)
    S, A = tau.shape[:2]
    R = gen.standard_normal((3, S, A, S))
    R2 = a * (R + shaping(gen, S, A, gamma) + k)
    out = starc.pairwise_distances(R, R2, tau, gamma, canons=SHAPING_INVARIANT, norms=NORMS, metrics=METRICS)
    for key in keys_for(SHAPING_INVARIANT, norms=NORMS[:-1]):
        np.testing.assert_allclose(out[key], 0.0, atol=1e-9, err_msg=str(key))
    # without normalisation (n = "none") only the scaling survives: d = m(c(R), a c(R)) = |1 - a| m(c(R), 0)
    for key in keys_for(SHAPING_INVARIANT, norms=["none"]):
        c, _, m = key
        want = abs(1 - a) * starc.reward_norm(starc.canonicalise(R, tau, gamma, c), tau, m)
        np.testing.assert_allclose(out[key], want, atol=1e-9 * max(1.0, a), rtol=1e-9, err_msg=str(key))
    for key in (("epic_pearson", None, None), ("dard_pearson", None, None)):
        np.testing.assert_allclose(out[key], 0.0, atol=1e-6)  # sqrt(1 - rho) amplifies rounding (§8)
    base = starc.pairwise_distances(R, R2, tau, gamma, canons=["none"], norms=["w_l2"], metrics=["w_l2"])
    assert np.all(base[("none", "w_l2", "w_l2")] > 1e-3)  # without canonicalisation the distance is not 0


def test_cvxpy_variants_zero_under_shaping_scaling_redistribution():
    tau, gen = instance(12, S=4, A=2, branching=2)
    R = gen.standard_normal((2, 4, 2, 4))
    R2 = 2.5 * (R + shaping(gen, 4, 2, 0.9) + 1.0) + redistribution(gen, tau)
    for c in CVX:
        nm = c.removeprefix("minimal_")
        d = starc.starc_distance(R, R2, tau, 0.9, canon=c, norm=nm, metric=nm)
        np.testing.assert_allclose(d, 0.0, atol=1e-6, err_msg=c)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_redistribution_starc_zero_epic_dard_positive(seed):
    tau, gen = instance(seed, S=4, A=3, branching=3)
    R = gen.standard_normal((2, 4, 3, 4))
    R2 = R + redistribution(gen, tau)
    out = starc.pairwise_distances(R, R2, tau, 0.9, canons=STARC_EXACT + ["epic", "dard"], norms=NORMS,
                                   metrics=METRICS)
    for key in keys_for(STARC_EXACT):
        np.testing.assert_allclose(out[key], 0.0, atol=1e-9, err_msg=str(key))
    assert np.all(out[("epic_pearson", None, None)] > 1e-2)
    assert np.all(out[("dard_pearson", None, None)] > 1e-2)
    assert np.all(starc.epic_distance(R, R2, 0.9) > 1e-2)
    assert np.all(starc.dard_distance(R, R2, tau, 0.9) > 1e-2)


def redistribution_case(c, gamma=0.9):
    """The spec §8 counterexample, constructed here (the 'holdout file' is not available).

    S = 2, A = 2, tau[s, a, :] = (1/2, 1/2) for every (s, a). R1[s, a, s'] = +1/2 for a = 0, -1/2 for a = 1;
    R2 = R1 + X with X[s, a, s'] = +c for s' = 0, -c for s' = 1: E_tau X = 0, so R1 and R2 are equivalent.
    C_EPIC and C_DARD leave both R1 and X unchanged (their potentials and DARD's term3 average R1 over
    a, X over s', both to 0), so under uniform coverage X_1 = C(R1) has mean 0 and std 1/2, C(X) has
    mean 0 and std c, and the two are uncorrelated (one varies with a, the other with s'). Hence
    rho = cov(X1, X1 + X) / (std X1 std(X1 + X)) = (1/4) / ((1/2) sqrt(1/4 + c^2)) = 0.5 / sqrt(0.25 + c^2)
    and D_rho = sqrt((1 - 0.5 / sqrt(0.25 + c^2)) / 2), 0.38268 for c = 0.5 (= sqrt((1 - 1/sqrt 2) / 2)).
    """
    tau = np.full((2, 2, 2), 0.5)
    R1 = np.zeros((2, 2, 2))
    R1[:, 0, :], R1[:, 1, :] = 0.5, -0.5
    X = np.zeros((2, 2, 2))
    X[:, :, 0], X[:, :, 1] = c, -c
    return tau, R1, R1 + X, gamma


@pytest.mark.parametrize("c", [0.5, 0.1, 1.0, 3.0])
@pytest.mark.parametrize("gamma", [0.9, 0.5])
def test_redistribution_closed_form(c, gamma):
    tau, R1, R2, g = redistribution_case(c, gamma)
    want = np.sqrt((1.0 - 0.5 / np.sqrt(0.25 + c * c)) / 2.0)
    assert abs(starc.epic_distance(R1, R2, g) - want) < 1e-12
    assert abs(starc.dard_distance(R1, R2, tau, g) - want) < 1e-12
    for canon in STARC_EXACT:
        for n in ("w_l2", "l1", "linf"):
            assert starc.starc_distance(R1, R2, tau, g, canon=canon, norm=n, metric=n) < 1e-12
    if c == 0.5:
        assert abs(want - 0.3827) < 5e-5  # the number quoted in spec §8
        assert abs(starc.epic_distance(R1, R2, g) - np.sqrt((1 - 1 / np.sqrt(2)) / 2)) < 1e-12


# ---------------------------------------------------------------------------------------------------
# negation, range, trivial rewards (spec §6, §11.4)


def test_negation_gives_two_when_metric_is_the_norm():
    tau, gen = instance(3)
    S, A = tau.shape[:2]
    R = gen.standard_normal((3, S, A, S))
    out = starc.pairwise_distances(R, -R, tau, 0.9, canons=ALL_EXACT, norms=METRICS, metrics=METRICS)
    for c in ALL_EXACT:
        for n in METRICS:
            np.testing.assert_allclose(out[(c, n, n)], 2.0, atol=1e-12, err_msg=f"{c} {n}")
            d = starc.starc_distance(R, -R, tau, 0.9, canon=c, norm=n, metric=n, normalise_to_unit=True)
            np.testing.assert_allclose(d, 1.0, atol=1e-12)
    np.testing.assert_allclose(out[("epic_pearson", None, None)], 1.0, atol=1e-12)
    np.testing.assert_allclose(out[("dard_pearson", None, None)], 1.0, atol=1e-12)
    for c in CVX:
        nm = c.removeprefix("minimal_")
        assert abs(starc.starc_distance(R[0], -R[0], tau, 0.9, canon=c, norm=nm, metric=nm) - 2.0) < 1e-6


def test_trivial_rewards():
    tau, gen = instance(4)
    S, A = tau.shape[:2]
    R = gen.standard_normal((S, A, S))
    T1 = shaping(gen, S, A, 0.9) + redistribution(gen, tau) + 3.0
    T2 = shaping(gen, S, A, 0.9, scale=50.0) + redistribution(gen, tau) - 7.0
    for c in STARC_EXACT:
        for n in ("w_l2", "l1", "linf", "w_linf"):
            assert starc.starc_distance(T1, T2, tau, 0.9, canon=c, norm=n, metric=n) == 0.0
            assert abs(starc.starc_distance(T1, R, tau, 0.9, canon=c, norm=n, metric=n) - 1.0) < 1e-12
    # standardise maps trivial canonical rewards (rounding noise) to exactly 0
    C = starc.canon_minimal_l2(T2, tau, 0.9)
    assert np.all(starc.standardise(C, tau, "w_l2", scale=np.abs(T2).max()) == 0.0)
    s = starc.standardise(starc.canon_minimal_l2(R, tau, 0.9), tau, "w_l2")
    assert abs(starc.reward_norm(s, tau, "w_l2") - 1.0) < 1e-14
    # EPIC: a constant or shaped reward has C_EPIC = 0: distance 0 to another, 0.5 to a non-trivial one
    Sh = shaping(gen, S, A, 0.9) + 2.0
    assert starc.epic_distance(Sh, 3.0 * Sh, 0.9) == 0.0
    assert abs(starc.epic_distance(Sh, R, 0.9) - 0.5) < 1e-15


# ---------------------------------------------------------------------------------------------------
# pseudometric axioms (spec §11.5)


COMBOS = [("val", "w_l2", "w_l2"), ("val", "l1", "linf"), ("minimal", "w_l1", "l2"), ("minimal_l2", "none", "l1"),
          ("epic", "l2", "w_linf"), ("dard", "linf", "l1"), ("val_potential", "w_linf", "w_l1")]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), scales=st.lists(st.floats(1e-3, 1e3), min_size=3, max_size=3))
def test_pseudometric_axioms(seed, scales):
    tau, gen = instance(seed, S=3, A=2)
    R = gen.standard_normal((3, 3, 2, 3)) * np.array(scales)[:, None, None, None]
    canons = sorted({c for c, _, _ in COMBOS})
    d = {}
    for i, j in [(0, 1), (1, 0), (1, 2), (0, 2), (0, 0)]:
        d[i, j] = starc.pairwise_distances(R[i], R[j], tau, 0.9, canons=canons, norms=NORMS, metrics=METRICS)
    for key in COMBOS + [("epic_pearson", None, None), ("dard_pearson", None, None)]:
        assert abs(d[0, 1][key][0] - d[1, 0][key][0]) <= 1e-12
        assert abs(d[0, 0][key][0]) <= 1e-7
        assert d[0, 2][key][0] <= d[0, 1][key][0] + d[1, 2][key][0] + 1e-12


# ---------------------------------------------------------------------------------------------------
# equivalence classes on tiny MDPs (spec §7, §11.8): d = 0 iff J over deterministic policies is a
# positive affine function of the other J


@pytest.mark.parametrize("seed", range(6))
def test_tiny_mdp_equivalence_classes(seed):
    S, A = (3, 2) if seed % 2 else (4, 2)
    tau, gen = instance(seed, S=S, A=A, branching=2)
    mu0 = gen.dirichlet(np.ones(S))  # full support
    R = gen.standard_normal((S, A, S))
    equivalent = [gen.uniform(0.1, 10) * (R + shaping(gen, S, A, 0.9)) + redistribution(gen, tau) + 1.5,
                  0.3 * R + redistribution(gen, tau, 10.0)]
    different = [-R, R + 0.3 * gen.standard_normal((S, A, S)), gen.standard_normal((S, A, S)),
                 R + np.where(tau > 0, 0.0, 5.0) + 0.01 * gen.standard_normal((S, A, S))]
    for R2, want in [(x, True) for x in equivalent] + [(x, False) for x in different]:
        same = starc.policy_ordering_equivalent(R, R2, tau, 0.9, mu0)
        assert same is want
        for c in STARC_EXACT:
            d = starc.starc_distance(R, R2, tau, 0.9, canon=c)
            assert (d < 1e-9) is want, (c, d)


# ---------------------------------------------------------------------------------------------------
# batch == loop (spec §11.10), shapes, broadcasting


@pytest.mark.parametrize("S,A,gamma,branching", [(4, 3, 0.9, 2), (3, 2, 0.0, None), (2, 2, 0.99, 1)])
def test_pairwise_equals_reference(S, A, gamma, branching):
    tau, gen = instance(S + 10 * A, S, A, gamma, branching)
    B = 3
    R1 = gen.standard_normal((B, S, A, S)) * gen.uniform(0.1, 10.0, (B, 1, 1, 1))
    R2 = gen.standard_normal((B, S, A, S))
    R2[1] = shaping(gen, S, A, gamma)  # a trivial reward in the batch
    got = starc.pairwise_distances(R1, R2, tau, gamma, canons=ALL_EXACT, norms=NORMS, metrics=METRICS)
    want = ref.pairwise_distances(R1, R2, tau, gamma, ALL_EXACT, NORMS, METRICS)
    assert set(got) == set(want)
    for key in want:
        assert got[key].shape == (B,)
        # 1e-12 on normalised distances; relative to the size for unnormalised ones (norm "none")
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-12 * max(1.0, np.abs(want[key]).max()),
                                   err_msg=str(key))
    # (S, A, S) against a batch broadcasts
    got1 = starc.pairwise_distances(R1[0], R2, tau, gamma, canons=["val", "epic"], norms=["l2"], metrics=["w_l1"])
    want1 = ref.pairwise_distances(R1[0], R2, tau, gamma, ["val", "epic"], ["l2"], ["w_l1"])
    for key in want1:
        np.testing.assert_allclose(got1[key], want1[key], rtol=0, atol=1e-12)


def test_pairwise_cvxpy_canons_equal_starc_distance():
    tau, gen = instance(17, S=3, A=2)
    R1, R2 = gen.standard_normal((2, 2, 3, 2, 3))
    out = starc.pairwise_distances(R1, R2, tau, 0.9, canons=CVX + ["minimal_potential_l1"], norms=["l1", "w_linf"],
                                   metrics=["l2"])
    for (c, n, m), v in out.items():
        np.testing.assert_allclose(v, starc.starc_distance(R1, R2, tau, 0.9, canon=c, norm=n, metric=m), atol=1e-12)


def test_starc_distance_shapes_and_chunking(monkeypatch):
    tau, gen = instance(5)
    S, A = tau.shape[:2]
    R1, R2 = gen.standard_normal((2, 7, S, A, S))
    d = starc.starc_distance(R1, R2, tau, 0.9)
    assert d.shape == (7,) and d.dtype == np.float64
    assert isinstance(starc.starc_distance(R1[0], R2[0], tau, 0.9), float)
    assert starc.starc_distance(R1[0], R2[:3], tau, 0.9).shape == (3,)
    assert starc.pairwise_distances(R1[0], R2[0], tau, 0.9, canons="val", norms="l1", metrics="l1")[
        ("val", "l1", "l1")].shape == (1,)
    import regretlab.starc.distances as dist

    monkeypatch.setattr(dist, "_CHUNK_ENTRIES", 2 * S * A * S)  # chunks of 2 rewards
    np.testing.assert_allclose(starc.starc_distance(R1, R2, tau, 0.9), d, rtol=0, atol=1e-15)
    np.testing.assert_allclose(starc.epic_distance(R1, R2, 0.9),
                               [starc.epic_distance(R1[b], R2[b], 0.9) for b in range(7)], rtol=0, atol=1e-15)


def test_epic_dard_against_reference_with_options():
    tau, gen = instance(6)
    S, A = tau.shape[:2]
    R1, R2 = gen.standard_normal((2, 3, S, A, S))
    D_S, D_A = gen.dirichlet(np.ones(S)), gen.dirichlet(np.ones(A))
    cov = gen.dirichlet(np.ones(S * A * S)).reshape(S, A, S)
    e = starc.epic_distance(R1, R2, 0.8, D_S, D_A, cov)
    dd = starc.dard_distance(R1, R2, tau, 0.8, D_A, cov)
    for b in range(3):
        assert abs(e[b] - ref.epic_distance(R1[b], R2[b], 0.8, D_S, D_A, cov)) < 1e-12
        assert abs(dd[b] - ref.dard_distance(R1[b], R2[b], tau, 0.8, D_A, cov)) < 1e-12
    # identity of spec §8: D_rho = 0.5 || X~ - Y~ ||_{2,D}, X~ centred and scaled to unit D-std
    X, Y = starc.canon_epic(R1[0], 0.8, D_S, D_A), starc.canon_epic(R2[0], 0.8, D_S, D_A)

    def tilde(Z):
        Zc = Z - (cov * Z).sum()
        return Zc / np.sqrt((cov * Zc**2).sum())

    assert abs(e[0] - 0.5 * np.sqrt((cov * (tilde(X) - tilde(Y)) ** 2).sum())) < 1e-12


def test_norms_against_reference_and_compact_forms():
    tau, gen = instance(8, S=4, A=3, branching=2)
    X = gen.standard_normal((2, 4, 3, 4))
    adv = starc.canon_val(X, tau, 0.9, compact=True)
    full = starc.canon_val(X, tau, 0.9)
    from regretlab.starc.norms import _norm_compact, _norm_full

    for n in NORMS:
        got = starc.reward_norm(X, tau, n)
        for b in range(2):
            assert abs(got[b] - ref.reward_norm(X[b], tau, n)) <= 1e-12 * max(1.0, got[b])
        np.testing.assert_allclose(_norm_compact(np, adv, tau, n), _norm_full(np, full, tau, n), rtol=1e-14)
    # spec §4: tau-weighted Lp of the broadcast = plain Lp of the compact array; unweighted = S^{1/p} times it
    np.testing.assert_allclose(starc.reward_norm(full, tau, "w_l2"), np.sqrt((adv**2).sum(axis=(1, 2))), rtol=1e-13)
    np.testing.assert_allclose(starc.reward_norm(full, tau, "l1"), 4 * np.abs(adv).sum(axis=(1, 2)), rtol=1e-13)
    np.testing.assert_allclose(starc.reward_metric(X[0], X, tau, "w_linf"),
                               starc.reward_norm(X[0] - X, tau, "w_linf"), rtol=0)
    assert starc.reward_norm(X[0], tau, "none") == 1.0


# ---------------------------------------------------------------------------------------------------
# backends


def test_numba_backend_is_the_numpy_path():
    tau, gen = instance(9)
    R1, R2 = gen.standard_normal((2, 4, 4, 3, 4))
    a = starc.pairwise_distances(R1, R2, tau, 0.9, canons=ALL_EXACT, norms=NORMS, metrics=METRICS, backend="numpy")
    b = starc.pairwise_distances(R1, R2, tau, 0.9, canons=ALL_EXACT, norms=NORMS, metrics=METRICS, backend="numba")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.gpu
def test_cupy_matches_numpy():
    tau, gen = instance(10, S=6, A=3, branching=3)
    R1, R2 = gen.standard_normal((2, 5, 6, 3, 6))
    a = starc.pairwise_distances(R1, R2, tau, 0.9, canons=ALL_EXACT, norms=NORMS, metrics=METRICS, backend="numpy")
    b = starc.pairwise_distances(R1, R2, tau, 0.9, canons=ALL_EXACT, norms=NORMS, metrics=METRICS, backend="cupy")
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-10, err_msg=str(key))
    for c in ALL_EXACT:
        np.testing.assert_allclose(starc.canonicalise(R1, tau, 0.9, c, backend="cupy"),
                                   starc.canonicalise(R1, tau, 0.9, c, backend="numpy"), atol=1e-10)
    np.testing.assert_allclose(starc.epic_distance(R1, R2, 0.9, backend="cupy"), starc.epic_distance(R1, R2, 0.9),
                               atol=1e-10)
    with pytest.raises(ValueError, match="cvxpy"):
        starc.pairwise_distances(R1, R2, tau, 0.9, canons=["minimal_l1"], norms=["l1"], metrics=["l1"], backend="cupy")


def test_auto_backend_without_gpu_is_numpy():
    if cupy_available():
        pytest.skip("a GPU is present: auto picks CuPy")
    tau, gen = instance(1)
    R = gen.standard_normal((2, 4, 3, 4))
    assert starc.starc_distance(R[0], R[1], tau, 0.9) == starc.starc_distance(R[0], R[1], tau, 0.9, backend="numpy")


# ---------------------------------------------------------------------------------------------------
# validation


def test_bad_inputs_name_the_parameter():
    tau, gen = instance(0)
    S, A = tau.shape[:2]
    R = gen.standard_normal((3, S, A, S))
    with pytest.raises(ValueError, match="starc_distance: R1 and R2 must be batches of the same size"):
        starc.starc_distance(R, R[:2], tau, 0.9)
    with pytest.raises(ValueError, match="starc_distance: norm must be one of .*did you mean 'w_l2'"):
        starc.starc_distance(R, R, tau, 0.9, norm="wl2")
    with pytest.raises(ValueError, match="starc_distance: metric must be one of"):
        starc.starc_distance(R, R, tau, 0.9, metric="none")
    with pytest.raises(TypeError, match="normalise_to_unit must be true or false"):
        starc.starc_distance(R, R, tau, 0.9, normalise_to_unit=1)
    with pytest.raises(ValueError, match=r"pairwise_distances: canons\[1\] must be one of"):
        starc.pairwise_distances(R, R, tau, 0.9, canons=["val", "vall"], norms=["l1"], metrics=["l1"])
    with pytest.raises(TypeError, match="pairwise_distances: norms must be a non-empty sequence"):
        starc.pairwise_distances(R, R, tau, 0.9, canons=["val"], norms=[], metrics=["l1"])
    with pytest.raises(ValueError, match="pairwise_distances: R2 must be an array of shape"):
        starc.pairwise_distances(R, R[..., :2], tau, 0.9, canons=["val"], norms=["l1"], metrics=["l1"])
    with pytest.raises(ValueError, match="pairwise_distances: canons must be free of cvxpy"):
        starc.pairwise_distances(R, R, tau, 0.9, canons=["minimal_l1"], norms=["l1"], metrics=["l1"], backend="cupy")
    with pytest.raises(ValueError, match="epic_distance: coverage must be a distribution"):
        starc.epic_distance(R, R, 0.9, coverage=np.ones((S, A, S)))
    with pytest.raises(ValueError, match="dard_distance: gamma must be"):
        starc.dard_distance(R, R, tau, -0.1)
    with pytest.raises(ValueError, match="reward_metric: X and Y must be batches"):
        starc.reward_metric(R, R[:2], tau)
    with pytest.raises(ValueError, match=r"standardise: scale\[0\] must be >= 0.0"):
        starc.standardise(R, tau, "l1", scale=-np.ones(3))


def test_public_api_documented_and_cited():
    """rlax-style coverage check: every public name has a docstring and appears in the area docstring, which
    maps it to a paper and a spec section; REFERENCES holds BibTeX for STARC, EPIC and DARD."""
    for name in starc.__all__:
        obj = getattr(starc, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__) > 40, name
        assert name in starc.__doc__ or name == "REFERENCES" or name == "Canonicalisation", name
    assert set(starc.REFERENCES) == {"STARC", "EPIC", "DARD"}
    assert all(v.startswith("@inproceedings") and "year" in v for v in starc.REFERENCES.values())
    assert "2309.15257" in starc.REFERENCES["STARC"]
    import importlib

    for mod in ("canon", "norms", "distances", "bounds", "reference"):
        assert "arXiv 2309.15257" in importlib.import_module(f"regretlab.starc.{mod}").__doc__, mod
