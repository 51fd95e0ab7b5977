"""`regretlab reproduce`: lists, runs at --quick size, stamps provenance, resumes, refuses stale results."""
import json
import math
import shutil
import tomllib
from pathlib import Path

import pytest

from regretlab.cli import main
from regretlab.core.reproduce import discover, quick_config
from regretlab.core.sweep import ConfigError

ROOT = Path(__file__).resolve().parents[1] / "experiments"


def test_every_area_config_with_reproduce_is_valid_at_both_sizes(tmp_path):
    for quick in (False, True):
        targets = discover(None, quick=quick, root=ROOT, out=tmp_path)
        areas = {t.area for t in targets}
        assert {"bandits", "starc", "mass_balance", "regret_preference", "adversarial_mdp", "llm_bandits"} <= areas
        for t in targets:
            # cells: the product of the grid axes, a [zip] group counting as one axis (regretlab.core.sweep);
            # seconds: the config's own estimate for that size
            cfg = tomllib.loads(t.path.read_text())
            run = quick_config(cfg) if quick else cfg
            n_zip = len(next(iter(run["zip"].values()))) if run.get("zip") else 1
            assert t.cells == math.prod(len(v) for v in run.get("grid", {}).values()) * n_zip, t.name
            assert t.seconds == float(cfg["reproduce"]["quick_seconds" if quick else "seconds"]), t.name
            assert t.status == "new"


def test_quick_overrides_replace_axes():
    cfg = {"experiment": "mass_balance.simulator", "grid": {"N": [4, 8], "steps": [1, 2]},
           "params": {"V": 10}, "reproduce": {"quick": {"params": {"steps": 3}, "grid": {"N": [2]},
                                                          "replicates": 2}}}
    q = quick_config(cfg)
    assert q["grid"] == {"N": [2]} and q["params"] == {"V": 10, "steps": 3} and q["replicates"] == 2
    assert cfg["grid"]["N"] == [4, 8]  # the original is untouched
    with pytest.raises(ConfigError, match="unknown key"):
        quick_config({"reproduce": {"quick": {"plots": []}}})


def test_unknown_area_is_refused(capsys):
    assert main(["reproduce", "mass_balanse", "--list", "--configs", str(ROOT)]) == 2
    assert "did you mean 'mass_balance'" in capsys.readouterr().err


def test_quick_run_writes_figures_with_provenance_and_resumes(tmp_path, capsys):
    configs = tmp_path / "experiments"
    shutil.copytree(ROOT / "mass_balance", configs / "mass_balance")
    for p in (configs / "mass_balance").glob("one_step*.toml"):  # keep this test short: the simulator only
        p.unlink()
    out = tmp_path / "out"
    args = ["reproduce", "mass_balance", "--quick", "--configs", str(configs), "--out", str(out), "--workers", "1"]
    assert main(args + ["--list"]) == 0
    listing = capsys.readouterr().out
    assert "figure3" in listing and "est. time" in listing and not out.exists()
    assert main(args + ["-q"]) == 0
    d = out / "mass_balance" / "figure3"
    prov = json.loads((d / "plots" / "figure3.provenance.json").read_text())
    assert prov["quick"] and prov["params"]["V"] == 20_000 and prov["grid"]["N"] == [4, 16, 512, 4096]
    assert "git_revision" in prov and prov["experiment"] == "mass_balance.simulator"
    from PIL import Image

    with Image.open(d / "plots" / "figure3.png") as im:
        assert json.loads(im.text["regretlab"])["seed"] == prov["seed"]
    assert "figure3.png" in (out / "FIGURES.md").read_text()
    # interrupted: lose one cell, rerun -> only that cell runs, the others are kept untouched
    cells = sorted((d / "cells").glob("*.npz"))
    kept = cells[0].stat().st_mtime_ns
    cells[-1].unlink()
    t = discover(["mass_balance"], quick=True, root=configs, out=out)[0]
    assert t.status == "partial" and t.done == 3
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "1 cells run, 3 kept" in text
    assert cells[0].stat().st_mtime_ns == kept
    # cells written under other experiment defaults (a parameter added since) are stale too
    man = d / "manifest.json"
    saved = man.read_text()
    m = json.loads(saved)
    m["cells"][0]["params"]["a_parameter_added_since"] = 1
    man.write_text(json.dumps(m))
    assert discover(["mass_balance"], quick=True, root=configs, out=out)[0].status == "stale"
    man.write_text(saved)
    # an edited config makes the results stale: refused without --overwrite
    cfg = configs / "mass_balance" / "figure3.toml"
    cfg.write_text(cfg.read_text().replace("seed = 2025", "seed = 2026"))
    assert main(args + ["-q"]) == 2
    assert "different config" in capsys.readouterr().err
    assert main(args + ["-q", "--overwrite"]) == 0
