"""The registered experiment ``starc.correlation``, its configs and its plot kinds."""
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import regretlab
from regretlab.core.registry import Seeds, get
from regretlab.core.sweep import ConfigError, load_config
from regretlab.core.validate import ParamError
from regretlab.starc import experiments as E
from regretlab.starc.distances import pairwise_distances
from regretlab.starc.protocol import NEAR_TRIVIAL, mdp_seed, ordering_ratio, protocol_mdp, regret_labels

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "experiments" / "starc" / "correlation.toml"
EXP = get("starc.correlation")
SMALL = EXP.resolve(EXP.small)


def _run(seeds=None, backend="numpy", **over):
    return EXP.func(EXP.resolve({**EXP.small, **over}), seeds or Seeds(3, 0, 1), backend)


@pytest.fixture(scope="module")
def small_out():
    return _run()


# ---------------------------------------------------------------------------------------------------
# Combinations


def test_presets_hold_the_documented_grids():
    default, paper, full = (E.preset_combos(p) for p in ("default", "paper", "full"))
    assert (len(default), len(paper), len(full)) == (234 + 2, 246 + 2, 282 + 2)
    for combos in (default, paper, full):
        assert ("epic_pearson", None, None) in combos and ("dard_pearson", None, None) in combos
        assert not [t for t in combos if t[0] in ("minimal", "minimal_potential") and t[1] == "none"]
    # the paper's grid (spec §9): five families x 7 norms x 6 metrics, MinimalPotential x 6 norms x 6
    assert sum(c == "val" for c, _, _ in paper) == 42
    assert sum(c == "minimal_potential" for c, _, _ in paper) == 36
    assert not [t for t in paper if t[0] == "minimal"]
    # default needs no cvxpy: the minimal families only with the closed-form L2 norms
    assert {n for c, n, _ in default if c in ("minimal", "minimal_potential")} == {"l2", "w_l2"}


def test_canon_keys_minimise_the_normalisation_norm():
    assert E.canon_key("minimal_potential", "w_l1") == "minimal_potential_w_l1"
    assert E.canon_key("minimal", "w_l2") == "minimal_w_l2"
    assert E.canon_key("val", "l1") == "val"
    with pytest.raises(ParamError, match="norm"):
        E.canon_key("minimal", "none")


def test_custom_selection_and_codes_round_trip():
    p = EXP.resolve({"canons": "val, epic", "norms": "w_l2", "metrics": "l2,w_l2"})
    combos = E.selected_combos(p)
    assert combos == [("epic", "w_l2", "l2"), ("epic", "w_l2", "w_l2"), ("val", "w_l2", "l2"),
                      ("val", "w_l2", "w_l2"), ("epic_pearson", None, None)]
    codes = E.combo_codes(combos)
    assert codes.dtype == np.int64 and codes.shape == (5, 3)
    assert E.combo_names(codes) == ["epic/w_l2/l2", "epic/w_l2/w_l2", "val/w_l2/l2", "val/w_l2/w_l2",
                                    "epic_pearson"]


def test_bad_selection_is_reported_before_any_work():
    with pytest.raises(ParamError, match=r"canons.*did you mean 'val'"):
        EXP.resolve({"canons": "vall"})
    with pytest.raises(ConfigError, match="starc.correlation.*metrics"):
        load_config(None, config={"experiment": "starc.correlation", "params": {"metrics": "l3"}})
    with pytest.raises(ConfigError, match="gamma"):
        load_config(CONFIG, ["gamma=1.0"])


def test_configs_validate_at_paper_size():
    sweep = load_config(CONFIG)
    (cell,) = sweep.cells
    assert (cell["n_states"], cell["n_actions"], cell["gamma"], cell["n_mdps"], cell["draws"], cell["steps"],
            sweep.seed) == (32, 4, 0.95, 128, 8, 16, 42)
    assert {p["kind"] for p in sweep.plots} == {"starc.correlations", "starc.scatter"}
    cvx = load_config(CONFIG.with_name("correlation_cvxpy.toml"))
    assert cvx.cells[0]["preset"] == "full" and cvx.seed == 42


def test_correlations_of_matches_scipy():
    rng = np.random.default_rng(0)
    y = rng.random(200)
    X = np.column_stack([y + rng.normal(0, 0.3, 200), -y ** 3, np.round(rng.random(200), 1)])
    X[::7, 2] = 1.0 + 1e-12  # rounding-level differences still tie
    pearson, spearman = E.correlations_of(X, y)
    for j in range(3):
        assert pearson[j] == pytest.approx(stats.pearsonr(X[:, j], y)[0], abs=1e-12)
        want = stats.spearmanr(np.round(X[:, j] / np.abs(X[:, j]).max(), 8), y)[0]
        assert spearman[j] == pytest.approx(want, abs=1e-12)
    p, s = E.correlations_of(np.column_stack([np.ones(200), y]), y)
    assert np.isnan(p[0]) and np.isnan(s[0]) and p[1] == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------------
# The experiment


def test_small_run_outputs(small_out):
    out = small_out
    n_pairs = SMALL["n_mdps"] * SMALL["draws"] * SMALL["steps"]
    combos = E.selected_combos(SMALL)
    k = len(combos)
    assert set(out) == set(EXP.outputs)
    assert out["distance"].shape == (1, n_pairs, k) and out["combo"].shape == (k, 3)
    assert out["label"].shape == out["regret1"].shape == out["near_trivial"].shape == (1, n_pairs)
    assert out["pearson"].shape == out["spearman"].shape == out["pearson_nt"].shape == (1, k)
    assert all(v.dtype != object and v.dtype.kind != "U" for v in out.values())
    assert np.all((out["label"] >= 0) & (out["label"] <= 1))
    np.testing.assert_array_equal(out["step"][: SMALL["steps"]], np.arange(1, SMALL["steps"] + 1))
    assert out["mdp"][-1] == SMALL["n_mdps"] - 1
    # headline scalars are columns of the full tables
    names = E.combo_names(out["combo"])
    assert out["pearson_val"][0] == out["pearson"][0, names.index("val/w_l2/w_l2")]
    assert out["pearson_epic"][0] == out["pearson"][0, names.index("epic_pearson")]
    starc = [j for j, n in enumerate(names) if n.split("/")[0] in ("val", "minimal")]
    assert out["pearson_starc_best"][0] == out["pearson"][0, starc].max()
    # the correlation tables are those of the run's own distances and labels (scipy, not the area's helper)
    X, y = out["distance"][0], out["label"][0]
    for j in range(k):
        if np.ptp(X[:, j]) > 1e-9 * max(1.0, np.abs(X[:, j]).max()):
            assert out["pearson"][0, j] == pytest.approx(stats.pearsonr(X[:, j], y)[0], abs=1e-10), names[j]


def test_small_run_matches_the_protocol_pair_by_pair(small_out):
    out = small_out
    m = 1  # MDP 1 of replicate 0 of cell 0, seed 3
    env, R1, Ri = protocol_mdp(mdp_seed(3, 0, 0, m), SMALL["n_states"], SMALL["n_actions"], SMALL["gamma"],
                               SMALL["draws"], SMALL["steps"])
    rows = out["mdp"] == m
    lab = regret_labels(R1[:, None], Ri, env.tau, env.gamma, env.mu0)
    np.testing.assert_array_equal(out["label"][0, rows], lab.label.ravel())
    near = (ordering_ratio(R1, env.tau, env.gamma)[:, None] < NEAR_TRIVIAL) | (
        ordering_ratio(Ri, env.tau, env.gamma) < NEAR_TRIVIAL)
    np.testing.assert_array_equal(out["near_trivial"][0, rows], near.ravel())
    S, A = env.n_states, env.n_actions
    R1p = np.broadcast_to(R1[:, None], Ri.shape).reshape(-1, S, A, S)
    names = E.combo_names(out["combo"])
    for name, key in [("val/w_l2/w_l2", ("val", "w_l2", "w_l2")),
                      ("minimal_potential/l2/linf", ("minimal_potential_l2", "l2", "linf")),
                      ("minimal/w_l2/l1", ("minimal_w_l2", "w_l2", "l1")),
                      ("dard_pearson", ("dard_pearson", None, None))]:
        canon = key[0].replace("_pearson", "")
        want = pairwise_distances(R1p, Ri.reshape(-1, S, A, S), env.tau, env.gamma, canons=[canon],
                                  norms=[key[1] or "none"], metrics=[key[2] or "l2"])[key]
        np.testing.assert_allclose(out["distance"][0, rows, names.index(name)], want, rtol=1e-12, atol=1e-13)


def test_same_numbers_for_any_thread_count_and_replicate_chunking(small_out):
    one = _run(threads=1)
    many = _run(threads=3)
    for k in small_out:
        np.testing.assert_array_equal(one[k], small_out[k], err_msg=k)
        np.testing.assert_array_equal(many[k], small_out[k], err_msg=k)
    both = _run(Seeds(3, 0, 2))
    second = _run(Seeds(3, 0, 1, start=1))
    for k in ("distance", "label", "pearson", "pearson_val"):
        np.testing.assert_array_equal(both[k][1], second[k][0], err_msg=k)
        np.testing.assert_array_equal(both[k][0], small_out[k][0], err_msg=k)
    assert not np.array_equal(both["label"][0], both["label"][1])  # replicates are independent
    # MDP m's stream does not depend on n_mdps: the first MDPs' pairs are shared
    fewer = _run(n_mdps=SMALL["n_mdps"] - 1)
    n = fewer["label"].shape[1]
    np.testing.assert_array_equal(fewer["label"][0], small_out["label"][0, :n])
    np.testing.assert_array_equal(fewer["distance"][0], small_out["distance"][0, :n])


def test_different_seed_or_cell_gives_other_pairs(small_out):
    assert not np.array_equal(_run(Seeds(4, 0, 1))["label"], small_out["label"])
    assert not np.array_equal(_run(Seeds(3, 1, 1))["label"], small_out["label"])


def test_run_load_and_plots_through_the_sweep(tmp_path):
    over = ["n_states=8", "n_mdps=3", "draws=2", "steps=4", "threads=1"]
    report = regretlab.run(CONFIG, overrides=over, out=tmp_path / "corr", workers=1, quiet=True, backend="numpy")
    assert report.ok and report.ran == 1
    res = regretlab.load(tmp_path / "corr")
    s = res.summary
    assert s["status"][0] == "ok" and s["replicates"][0] == 1
    for k in ("pearson_val", "pearson_starc_best", "pearson_epic", "pearson_dard", "label_mean"):
        assert np.isfinite(s[f"{k}_mean"][0])
    cell = res.cell(0)
    assert s["pearson_epic_mean"][0] == pytest.approx(float(cell["pearson_epic"][0]))
    assert cell["distance"].shape == (1, 24, len(E.preset_combos("default")))
    plots = tmp_path / "corr" / "plots"
    for name in ("correlations", "correlations_spearman", "correlations_without_near_trivial", "scatter"):
        assert (plots / f"{name}.png").stat().st_size > 5000
        assert (plots / f"{name}.pdf").exists()
    # same config, same seed: the numbers of a direct call of the experiment
    direct = EXP.func(EXP.resolve(res.manifest["cells"][0]["params"]), Seeds(42, 0, 1), "numpy")
    np.testing.assert_array_equal(direct["distance"], cell["distance"])


def test_plot_kind_rejects_an_unknown_statistic(tmp_path):
    from regretlab.core.registry import get_plotter

    report = regretlab.run({"experiment": "starc.correlation", "params": {**EXP.small, "canons": "val,epic",
                                                                           "norms": "w_l2", "metrics": "w_l2"}},
                           out=tmp_path / "r", workers=1, quiet=True, plots=False)
    res = regretlab.load(report.out)
    with pytest.raises(ParamError, match="stat"):
        get_plotter("starc.correlations")(res, {"stat": "kendall"}, tmp_path / "x")
    paths = get_plotter("starc.correlations")(res, {"stat": "spearman"}, tmp_path / "plots" / "c")
    assert paths[0].exists()


@pytest.mark.gpu
def test_cupy_backend_matches_numpy(small_out):
    out = _run(backend="cupy")
    np.testing.assert_array_equal(out["label"], small_out["label"])  # labels: always NumPy
    np.testing.assert_array_equal(out["near_trivial"], small_out["near_trivial"])
    ok = ~small_out["near_trivial"][0]
    np.testing.assert_allclose(out["distance"][0][ok], small_out["distance"][0][ok], rtol=1e-9, atol=1e-12)
    # a near-trivial reward's canonical part is ~1e-10 to 1e-9 of its size (above the distances' zero
    # threshold 1e-10): normalising it amplifies rounding to ~1e-5 relative
    np.testing.assert_allclose(out["distance"], small_out["distance"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(out["pearson_nt"], small_out["pearson_nt"], rtol=1e-9, atol=1e-9)
