"""Long work is never silent: a running cell reports progress from inside, and a huge sweep is refused early."""
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from regretlab import cli
from regretlab.core.registry import Seeds, get
from regretlab.core.sweep import ConfigError, execute, load_config

sys.path.insert(0, str(Path(__file__).parent))
import _trust_helpers  # noqa: E402,F401  (registers tests.trust)


@pytest.mark.parametrize("workers", [1, 2, "dask"])
def test_a_running_cell_reports_its_progress_to_the_sweep(tmp_path, workers, monkeypatch):
    """The cell reports step 1 of 3 and then waits until the sweep's process has *seen* that report (the test's
    on_progress opens the gate): it finishes only if the report crossed from inside the cell, in-process or
    from a worker process (through the progress file)."""
    gate = tmp_path / "gate"
    sweep = load_config(None, None, config={"experiment": "tests.trust", "replicates": 2,
                                            "params": {"steps": 3, "gate": str(gate)}, "grid": {"x": [1, 2]}})
    seen, results = [], {}

    def on_progress(i, done, total, unit):
        seen.append((i, done, total, unit))
        gate.write_text("open")

    # spawned workers find the helper experiment through REGRETLAB_AREAS
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("REGRETLAB_AREAS", "_trust_helpers")
    if workers == "dask":
        pytest.importorskip("distributed")
    execute(sweep, [0, 1], lambda i, r: results.__setitem__(i, r), workers=workers if workers != "dask" else 1,
            dask_local=1 if workers == "dask" else None, workdir=tmp_path / "work", on_progress=on_progress)
    assert all(r["ok"] for r in results.values()), results
    assert seen and all(t == 3 and u == "steps" and 1 <= d <= 3 for _, d, t, u in seen)
    if workers == 1:  # in-process every report arrives, in order
        assert [(i, d) for i, d, _, _ in seen] == [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)]
    assert not list((tmp_path / "work").rglob("*.json"))  # progress files are removed with their cell


def test_starc_correlation_reports_every_mdp():
    """The one-cell STARC experiment (minutes at paper size) reports MDPs done out of replicates x n_mdps."""
    exp = get("starc.correlation")
    p = exp.resolve({**exp.small, "n_mdps": 3, "threads": 1})
    calls = []
    out = exp.func(p, Seeds(1, 0, 2, progress=lambda d, t, u: calls.append((d, t, u))), "numpy")
    assert calls == [(k, 6, "MDPs") for k in range(1, 7)]
    ref = exp.func(p, Seeds(1, 0, 2), "numpy")  # reporting never changes the numbers
    for k in out:
        np.testing.assert_array_equal(out[k], ref[k])


@pytest.mark.parametrize("name", ["lsd.ratio", "preference.learning", "llm_bandits.online"])
def test_python_loop_experiments_report_each_replicate(name):
    exp = get(name)
    p = exp.resolve(exp.small)
    calls = []
    exp.func(p, Seeds(2, 0, 3, progress=lambda d, t, u: calls.append((d, t))), "numpy")
    assert sorted(calls) == [(1, 3), (2, 3), (3, 3)]


def test_cell_count_is_checked_before_the_grid_is_expanded(tmp_path, capsys):
    big = tmp_path / "big.toml"
    axes = "\n".join(f"{k} = {list(v)}" for k, v in {
        "horizon": range(10, 110, 10), "K": range(2, 12), "checkpoints": range(8, 14),
        "low": [round(0.01 * i, 2) for i in range(1, 11)], "high": [round(0.9 + 0.01 * i, 2) for i in range(1, 11)]
    }.items())
    big.write_text(f'experiment = "bandits.run"\n[grid]\npolicy = {["ucb1"] * 10}\n{axes}\n')
    t0 = time.process_time()
    rc = cli.main(["run", str(big), "--out", str(tmp_path / "o")])
    cpu = time.process_time() - t0
    cap = capsys.readouterr()
    err = cap.err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "600,000 cells" in err[0] and "--yes" in err[0]
    assert "600,000 cells x 1 replicates" in cap.out  # stated first
    assert not (tmp_path / "o").exists()
    # expanding and validating 600,000 cells takes minutes; refusing must not have started it
    assert cpu < 30
    cfg = {"experiment": "tests.trust", "grid": {"x": [1, 2, 3]}, "zip": {"scale": [1.0, 2.0], "sleep": [0.0, 0.0]}}
    with pytest.raises(ConfigError, match=r"has 6 cells \(x 3 x \[zip\] 2\), more than the limit of 5"):
        load_config(None, None, config=cfg, max_cells=5)
    assert len(load_config(None, None, config=cfg, max_cells=6).cells) == 6
    assert len(load_config(None, None, config=cfg, max_cells=None).cells) == 6


@pytest.mark.parametrize("name, module, const, small", [
    ("bandits.run", "regretlab.bandits.experiments", "BLOCK_PULLS", {"horizon": 300, "K": 4}),
    ("adversarial_mdp.regret", "regretlab.adversarial_mdp.experiments", "BLOCK_EPISODES", {"K": 40}),
    ("mass_balance.one_step", "regretlab.mass_balance.experiments", "BLOCK_TOKENS", {"V": 200, "m": 20, "N": 8}),
])
def test_kernel_experiments_report_blocks_and_blocks_change_nothing(name, module, const, small, monkeypatch):
    """A compiled-kernel cell runs its replicates in blocks and reports each block; any blocking gives the numbers
    of one call, bit for bit (replicate r's streams depend on (seed, cell, r) only)."""
    import importlib

    from regretlab.core import registry

    monkeypatch.setattr(registry, "_kernel_threads", lambda: 1)  # blocks as small as 2 replicates
    exp = get(name)
    p = exp.resolve({**exp.small, **small})
    R = 7
    whole = exp.func(p, Seeds(4, 2, R), "numba")
    monkeypatch.setattr(importlib.import_module(module), const, 1)  # the smallest blocks
    calls = []
    blocked = exp.func(p, Seeds(4, 2, R, progress=lambda d, t, u: calls.append((d, t, u))), "numba")
    assert calls == [(2, R, "replicates"), (4, R, "replicates"), (6, R, "replicates"), (7, R, "replicates")]
    assert set(blocked) == set(whole)
    for k in whole:
        np.testing.assert_array_equal(blocked[k], whole[k], err_msg=k)


def test_in_blocks_refuses_an_undeclared_per_replicate_output():
    def fn(s):
        return {"v": np.arange(s.start, s.start + s.replicates, dtype=float)}

    s = Seeds(1, 0, 6)
    assert list(s.in_blocks(fn, {"v": "(R,) values"}, size=2)["v"]) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="output 'v' differs between blocks"):
        s.in_blocks(fn, {}, size=2)
