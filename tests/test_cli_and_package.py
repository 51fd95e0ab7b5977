"""The command line and the package surface: help texts, list, run/show/plot, import cost, docstrings."""
import importlib
import inspect
import subprocess
import sys

import pytest

from regretlab.cli import main

COMMANDS = ["list", "run", "resume", "plot", "show", "bench"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert f"regretlab {cmd}" in out and len(out) > 200


def test_top_level_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for c in COMMANDS:
        assert c in out


def test_list_shows_experiments_and_policies(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "bandits.run" in out and "ts_beta" in out and "kl_ucb" in out
    assert main(["list", "bandits.run"]) == 0
    assert "horizon" in capsys.readouterr().out


def test_run_show_plot_roundtrip(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('experiment = "bandits.run"\nreplicates = 4\n[params]\nhorizon = 100\nK = 3\n'
                   '[grid]\npolicy = ["ucb1", "greedy"]\n')
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--workers", "1", "-q", "--set", "seed=9"]) == 0
    assert (out / "plots" / "curves.png").exists()
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "ucb1" in shown and "greedy" in shown and "final_regret" in shown
    assert main(["plot", str(out)]) == 0
    # an existing directory is not overwritten silently
    assert main(["run", str(cfg), "--out", str(out), "-q"]) == 2


def test_failed_cells_give_exit_code_1(tmp_path):
    cfg = tmp_path / "c.toml"
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    import tests_helpers_flaky  # noqa: F401  (registers the test experiment tests.flaky2)

    cfg.write_text('experiment = "tests.flaky2"\nreplicates = 2\n[grid]\nx = [0, 2]\n')
    assert main(["run", str(cfg), "--out", str(tmp_path / "o"), "--workers", "1", "-q", "--no-plot"]) == 1


def test_import_is_cheap_and_compiles_nothing():
    code = ("import sys, time; t = time.perf_counter(); import regretlab, regretlab.bandits, regretlab.core.sweep; "
            "dt = time.perf_counter() - t; "
            "print(dt, 'numba' in sys.modules and 'regretlab.bandits._kernels' in sys.modules, 'cupy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False" and out[2] == "False"
    code = "import sys, regretlab; print(sorted(m for m in ('numba', 'cupy', 'matplotlib', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


PUBLIC_MODULES = ["regretlab", "regretlab.bandits", "regretlab.bandits.bandits", "regretlab.core.rng",
                  "regretlab.core.stats", "regretlab.core.plotting", "regretlab.core.results",
                  "regretlab.core.runner", "regretlab.core.sweep", "regretlab.core.validate",
                  "regretlab.core.backends", "regretlab.core.mdp", "regretlab.core.ftrl"]


@pytest.mark.parametrize("modname", PUBLIC_MODULES)
def test_public_functions_have_docstrings(modname):
    mod = importlib.import_module(modname)
    assert mod.__doc__, f"{modname} has no module docstring"
    names = getattr(mod, "__all__", [n for n in dir(mod) if not n.startswith("_")])
    for n in names:
        obj = getattr(mod, n)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", "").startswith("regretlab"):
            assert inspect.getdoc(obj), f"{modname}.{n} has no docstring"
