"""Sweep engine: config validation, cell expansion, executors, results, resume, failures."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import regretlab
from regretlab.core import registry
from regretlab.core.registry import Float, Int, experiment
from regretlab.core.runner import resume, run_sweep
from regretlab.core.sweep import ConfigError, load_config, parse_overrides

SMALL = {
    "experiment": "bandits.run",
    "replicates": 8,
    "seed": 3,
    "params": {"instance": "linspace", "K": 3, "horizon": 200},
    "grid": {"policy": ["ucb1", "ts_beta"], "low": [0.1, 0.2]},
    "plots": [{"kind": "curves", "name": "regret", "logx": True}],
}


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------------
# config -> cells


def test_grid_and_zip_expand_in_written_order():
    cfg = {"experiment": "bandits.run", "params": {"horizon": 50},
           "grid": {"policy": ["ucb1", "greedy"]}, "zip": {"K": [3, 4, 5], "low": [0.1, 0.2, 0.3]}}
    sw = load_config(None, config=cfg)
    got = [(c["policy"], c["K"], c["low"]) for c in sw.cells]
    assert got == [("ucb1", 3, 0.1), ("ucb1", 4, 0.2), ("ucb1", 5, 0.3),
                   ("greedy", 3, 0.1), ("greedy", 4, 0.2), ("greedy", 5, 0.3)]
    assert sw.axes == ["policy", "K", "low"]
    # defaults are filled in and validated
    assert all(c["family"] == "bernoulli" and c["horizon"] == 50 for c in sw.cells)


def test_default_in_a_zip_leaves_the_parameter_unset():
    cfg = {"experiment": "bandits.run", "params": {"horizon": 50},
           "zip": {"policy": ["ucb1", "eps_greedy", "eps_greedy"], "eps": ["default", 0.05, 0.2]}}
    sw = load_config(None, config=cfg)
    assert [(c["policy"], c["eps"]) for c in sw.cells] == [("ucb1", None), ("eps_greedy", 0.05), ("eps_greedy", 0.2)]
    # a grid axis too, and "default" gives the spec's default, not None, where there is one
    sw = load_config(None, config={"experiment": "bandits.run", "grid": {"horizon": [20, "default"]}})
    assert [c["horizon"] for c in sw.cells] == [20, 1000]
    # without "default" the cross-parameter check still refuses eps for ucb1
    with pytest.raises(ConfigError, match="eps"):
        load_config(None, config={"experiment": "bandits.run", "zip": {"policy": ["ucb1"], "eps": [0.1]}})


def test_overrides():
    over = parse_overrides(["replicates=5", "horizon=20", "grid.policy=['greedy']", "family=gaussian"])
    assert over == {"replicates": 5, "params": {"horizon": 20, "family": "gaussian"}, "grid": {"policy": ["greedy"]}}
    sw = load_config(None, ["horizon=30", "policy=uniform"], config=SMALL)
    assert sw.replicates == 8 and all(c["horizon"] == 30 for c in sw.cells)
    # --set on a grid axis replaces the axis
    assert {c["policy"] for c in sw.cells} == {"uniform"} and len(sw.cells) == 2


@pytest.mark.parametrize(
    "text,match",
    [
        ('experiment = "bandits.rnu"\n', r"cfg.toml: experiment must be a registered experiment.*did you mean 'bandits.run'"),
        ('experiment = "bandits.run"\n[params]\nhorizn = 10\n', r"cfg.toml: params.horizn: unknown parameter of bandits.run \(did you mean 'horizon'\?\)"),
        ('experiment = "bandits.run"\n[params]\ninstance = "explicit"\nmeans = [0.5, 1.5]\n', r"cfg.toml: params.means = \[0.5, 1.5\]: means\[1\] must be a finite number >= 0.0 and <= 1.0|means\[1\] must be >= 0 and <= 1"),
        ('experiment = "bandits.run"\n[grid]\nK = [3, 1]\n', r"cfg.toml: grid.K\[1\] = 1: K must be an integer >= 2, got 1"),
        ('experiment = "bandits.run"\n[params]\nhorizon = -10\n', r"cfg.toml: params.horizon = -10: horizon must be an integer >= 1, got -10"),
        ('experiment = "bandits.run"\n[params]\npolicy = "ucb1"\neps = 0.1\n', r"cell 0 .*eps must be unset for policy 'ucb1'"),
        ('experiment = "bandits.run"\nreplicate = 3\n', r"unknown top-level key 'replicate'"),
        ('experiment = "bandits.run"\n[zip]\nK = [3, 4]\nlow = [0.1]\n', r"same length"),
        ('experiment = "bandits.run"\n[params]\nlow = 0.5\nhigh = 1.5\n', r"high must be >= 0 and <= 1 for Bernoulli"),
        ('experiment = "bandits.run"\n[grid]\npolicy = "ucb1"\n', r"grid.policy must be a non-empty list"),
        ('experiment = "bandits.run"\nreplicates = 0\n', r"replicates must be an integer >= 1"),
        ('experiment = "bandits.run"\n[params]\nhorizon = 1.5\n', r"horizon must be an integer"),
        ('experiment = "bandits.run"\n[params\n', r"invalid TOML"),
    ],
)
def test_bad_configs_fail_before_work_with_key_named(tmp_path, text, match):
    p = write_toml(tmp_path / "cfg.toml", text)
    with pytest.raises(ConfigError, match=match):
        load_config(p)


def test_cli_bad_config_one_line_nonzero_exit(tmp_path):
    p = write_toml(tmp_path / "cfg.toml", 'experiment = "bandits.run"\n[params]\nK = 1\n')
    r = subprocess.run([sys.executable, "-m", "regretlab.cli", "run", str(p), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "params.K = 1" in lines[0] and "K must be an integer >= 2" in lines[0]
    assert not (tmp_path / "o").exists()  # nothing ran, nothing written


# ------------------------------------------------------------------------------------------------
# running, results, reproducibility


def _read(d):
    return (Path(d) / "summary.csv").read_bytes(), (Path(d) / "curves.csv").read_bytes()


def test_run_writes_results_and_load(tmp_path):
    rep = run_sweep(SMALL, out=tmp_path / "r", workers=1, quiet=True)
    assert rep.ok and rep.cells == 4 and rep.ran == 4
    res = regretlab.load(tmp_path / "r")
    m = res.manifest
    assert m["seed"] == 3 and m["replicates"] == 8 and m["backend"] == "numba"
    assert m["versions"]["numpy"] == np.__version__ and m["versions"]["regretlab"] == regretlab.__version__
    assert m["started"] <= m["finished"] and len(m["cells"]) == 4 and m["runs"][-1]["ran"] == 4
    s = res.summary
    assert len(s) == 4 and list(s["policy"]) == ["ucb1", "ucb1", "ts_beta", "ts_beta"]
    assert np.all(s["status"] == "ok") and np.all(s["replicates"] == 8)
    arr = res.cell(0)
    np.testing.assert_allclose(s["final_regret_mean"][0], arr["final_regret"].mean())
    assert arr["regret"].shape == (8, arr["t"].size)
    c = res.curves.where(cell=1)
    np.testing.assert_allclose(c["mean"], res.cell(1)["regret"].mean(axis=0))
    assert np.all(c["lo"] <= c["mean"]) and np.all(c["mean"] <= c["hi"])
    assert (tmp_path / "r" / "plots" / "regret.png").stat().st_size > 10_000
    assert (tmp_path / "r" / "plots" / "regret.pdf").exists()
    # the numbers are those of a direct simulate() call with the cell's seeds
    from regretlab.bandits import simulate
    from regretlab.core.stats import log_checkpoints
    direct = simulate(np.linspace(0.2, 0.9, 3), "ts_beta", 200, seed=3, cell=3, replicates=8,
                      checkpoints=log_checkpoints(200, 64), backend="python")
    np.testing.assert_array_equal(res.cell(3)["regret"], direct["regret"])
    with pytest.raises(FileExistsError, match="resume"):
        run_sweep(SMALL, out=tmp_path / "r", workers=1, quiet=True)


def test_workers_and_backends_give_identical_summaries(tmp_path):
    run_sweep(SMALL, out=tmp_path / "w1", workers=1, quiet=True, plots=False)
    run_sweep(SMALL, out=tmp_path / "w2", workers=2, quiet=True, plots=False)
    assert _read(tmp_path / "w1") == _read(tmp_path / "w2")
    run_sweep(SMALL, out=tmp_path / "np", workers=1, backend="numpy", quiet=True, plots=False)
    assert _read(tmp_path / "w1") == _read(tmp_path / "np")


def test_dask_local_cluster_gives_identical_summary(tmp_path):
    pytest.importorskip("distributed")
    run_sweep(SMALL, out=tmp_path / "w1", workers=1, quiet=True, plots=False)
    run_sweep(SMALL, out=tmp_path / "dk", dask_local=2, quiet=True, plots=False)
    assert _read(tmp_path / "w1") == _read(tmp_path / "dk")
    # an existing cluster, reached by its scheduler address (as with --scheduler tcp://host:8786)
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run_sweep(SMALL, out=tmp_path / "sc", scheduler=cluster.scheduler_address, quiet=True, plots=False)
    assert _read(tmp_path / "w1") == _read(tmp_path / "sc")



# ------------------------------------------------------------------------------------------------
# failures and resume

_CALLS = []


@experiment("tests.flaky", summary="fails when x == 2 (test only)", params={"x": Int(0), "y": Float(1.0)},
            backends=("numba", "numpy", "python"))
def _flaky(params, seeds, backend):
    _CALLS.append(params["x"])
    if params["x"] == 2:
        raise RuntimeError("cell x=2 fails on purpose")
    return {"v": np.full(seeds.replicates, float(params["x"]) * params["y"])}


def test_failing_cell_is_recorded_and_sweep_goes_on(tmp_path):
    cfg = {"experiment": "tests.flaky", "replicates": 2, "grid": {"x": [0, 1, 2, 3]}}
    _CALLS.clear()
    rep = run_sweep(cfg, out=tmp_path / "f", workers=1, quiet=True, plots=False)
    assert rep.failed == [2] and _CALLS == [0, 1, 2, 3]
    err = json.loads((tmp_path / "f" / "cells" / "c00002.error.json").read_text())
    assert "cell x=2 fails on purpose" in err["error"] and "Traceback" in err["traceback"]
    s = regretlab.load(tmp_path / "f").summary
    assert list(s["status"]) == ["ok", "ok", "failed", "ok"]
    # resume retries only the failed cell
    _CALLS.clear()
    rep = resume(tmp_path / "f", workers=1, quiet=True, plots=False)
    assert _CALLS == [2] and rep.failed == [2] and rep.skipped == 3


def test_resume_after_partial_run_does_not_recompute(tmp_path):
    cfg = {"experiment": "tests.flaky", "replicates": 3, "grid": {"x": [0, 1, 3, 4]}}
    run_sweep(cfg, out=tmp_path / "full", workers=1, quiet=True, plots=False)
    run_sweep(cfg, out=tmp_path / "part", workers=1, quiet=True, plots=False)
    for i in (1, 3):  # as if killed before these two finished
        (tmp_path / "part" / "cells" / f"c0000{i}.npz").unlink()
    before = (tmp_path / "part" / "cells" / "c00000.npz").stat().st_mtime_ns
    _CALLS.clear()
    rep = resume(tmp_path / "part", workers=1, quiet=True, plots=False)
    assert sorted(_CALLS) == [1, 4] and rep.ran == 2
    assert (tmp_path / "part" / "cells" / "c00000.npz").stat().st_mtime_ns == before
    assert _read(tmp_path / "full") == _read(tmp_path / "part")


def test_sigkill_midway_then_resume_equals_uninterrupted(tmp_path):
    """A real SIGKILL of `regretlab run` (2 workers), then `regretlab resume`: same summary."""
    cfg = tmp_path / "k.toml"
    cfg.write_text('experiment = "bandits.run"\nreplicates = 20\nseed = 5\n[params]\nhorizon = 10000\nK = 5\n'
                   '[grid]\npolicy = ["ts_beta", "kl_ucb"]\nlow = [0.1, 0.15, 0.2, 0.25]\n')
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cli = [sys.executable, "-m", "regretlab.cli"]
    ref = subprocess.run(cli + ["run", str(cfg), "--out", str(tmp_path / "ref"), "--workers", "1", "-q", "--no-plot"],
                         capture_output=True, text=True, env=env)
    assert ref.returncode == 0, ref.stderr
    proc = subprocess.Popen(cli + ["run", str(cfg), "--out", str(tmp_path / "k"), "--workers", "2", "-q", "--no-plot"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cells = tmp_path / "k" / "cells"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cells.glob("*.npz"))) < 3 and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # a cell counts as finished only with its record (written after the .npz): an .npz without one is redone
    n_before = len([p for p in cells.glob("*.npz") if p.with_suffix(".json").exists()])
    assert n_before >= 1
    r = subprocess.run(cli + ["resume", str(tmp_path / "k"), "--workers", "2", "-q", "--no-plot"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert f"{8 - n_before} run now, {n_before} already finished" in r.stdout
    assert _read(tmp_path / "ref") == _read(tmp_path / "k")
    assert not list((tmp_path / "k").rglob("*.tmp"))  # resume removed the temp files of the killed writer


def test_registry_lists_and_rejects():
    names = [e.name for e in regretlab.list_experiments()]
    assert "bandits.run" in names
    exp = registry.get("bandits.run")
    assert exp.cite == ("ACF02", "GC11", "AG12", "AG13", "LS20") and exp.curves == {"regret": "t"}
    with pytest.raises(ValueError, match="did you mean 'bandits.run'"):
        registry.get("bandit.run")
