"""A results directory shows only whole results of its own config, written by one writer at a time."""
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import regretlab
from regretlab import cli
from regretlab.core.results import LOCK_NAME, ResultsWarning
from regretlab.core.runner import resume, run_sweep

sys.path.insert(0, str(Path(__file__).parent))
import _trust_helpers  # noqa: E402,F401  (registers tests.trust)

HERE = Path(__file__).parent
CFG = {"experiment": "tests.trust", "replicates": 5, "seed": 11, "grid": {"x": [1, 2, 3, 4]}}


def _env():
    pp = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": pp, "PYTHONUNBUFFERED": "1"}


def _tables(d):
    return (Path(d) / "summary.csv").read_bytes(), (Path(d) / "curves.csv").read_bytes()


def _run(cfg, out, **kw):
    return run_sweep(cfg, out=out, workers=1, quiet=True, plots=False, **kw)


# ------------------------------------------------------------------------------------------------
# 1. one writer at a time

HOLD = """
import sys, time
sys.path.insert(0, {here!r})
from regretlab.core.results import ResultsDir
with ResultsDir({out!r}).writer("run"):
    print("locked", flush=True)
    time.sleep(600)
"""


def _holder(out):
    p = subprocess.Popen([sys.executable, "-c", HOLD.format(here=str(HERE), out=str(out))], env=_env(),
                         stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert p.stdout.readline().strip() == "locked"  # blocks until the lock is held: no timing luck
    return p


def test_second_writer_is_refused_naming_the_holder_and_a_dead_holder_blocks_nothing(tmp_path, capsys):
    out = tmp_path / "r"
    _run(CFG, out)
    before = _tables(out)
    holder = _holder(out)
    try:
        for argv in (["run", "x.toml", "--out", str(out), "--overwrite"], ["resume", str(out)], ["plot", str(out)]):
            if argv[0] == "run":
                cfgp = tmp_path / "x.toml"
                cfgp.write_text('experiment = "tests.trust"\nreplicates = 50\n[grid]\nx = [1, 2]\n')
                argv[1] = str(cfgp)
            rc = cli.main(argv)
            err = capsys.readouterr().err.strip().splitlines()
            assert rc == 2 and len(err) == 1, err
            assert str(out) in err[0] and f"pid {holder.pid}" in err[0] and "another regretlab process" in err[0]
        assert _tables(out) == before  # the refused writers touched nothing
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    # the holder died without releasing anything by hand: the kernel dropped its lock
    assert cli.main(["resume", str(out), "-q", "--no-plot", "--workers", "1"]) == 0
    assert (out / LOCK_NAME).exists()


CLI = "import sys; sys.path.insert(0, {here!r}); import _trust_helpers; from regretlab.cli import main; " \
      "sys.exit(main(sys.argv[1:]))"


def test_concurrent_runs_never_mix(tmp_path):
    """Two real `regretlab run --overwrite` into one directory: one is refused (exit 2), the other is whole."""
    gate = tmp_path / "gate"  # the first run's cells wait for it: it is mid-run while the second one starts
    cfgp = tmp_path / "c.toml"
    cfgp.write_text(f'experiment = "tests.trust"\nreplicates = 10\n[params]\ngate = "{gate}"\n[grid]\nx = [1, 2, 3]\n')
    out = tmp_path / "d"
    cmd = [sys.executable, "-c", CLI.format(here=str(HERE)), "run", str(cfgp), "--out", str(out), "--overwrite",
           "-q", "--no-plot", "--workers", "1"]
    first = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "manifest.json").exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert first.poll() is None, first.communicate()
    try:  # refused at once; without a lock it would wait at the gate too (and time out here)
        second = subprocess.run(cmd + ["--set", "replicates=100"], env=_env(), capture_output=True, text=True,
                                timeout=300)
    finally:
        gate.write_text("go")
    assert first.wait() == 0
    assert second.returncode == 2 and "another regretlab process" in second.stderr
    s = regretlab.load(out).summary
    assert list(s["replicates"]) == [10, 10, 10]


# ------------------------------------------------------------------------------------------------
# 2-3. foreign and corrupt cells are detected everywhere and recomputed by resume


def test_foreign_cell_is_refused_by_load_show_and_recomputed_by_resume(tmp_path, capsys):
    ref, a, b = tmp_path / "ref", tmp_path / "a", tmp_path / "b"
    _run(CFG, ref)
    _run(CFG, a)
    _run({**CFG, "params": {"scale": 7.0}}, b)  # another config: same cell names, other numbers
    for suffix in (".npz", ".json"):
        shutil.copy(b / "cells" / f"c00002{suffix}", a / "cells" / f"c00002{suffix}")
    with pytest.warns(ResultsWarning, match=r"c00002 foreign: made by another config: scale=7\.0 \(here 1\.0\)"):
        res = regretlab.load(a)
    s = res.summary
    assert list(s["status"]) == ["ok", "ok", "foreign", "ok"]
    assert np.isnan(s["v_mean"][2]) and s["v_mean"].dtype == np.float64
    np.testing.assert_array_equal(np.delete(s["v_mean"], 2), np.delete(regretlab.load(ref).summary["v_mean"], 2))
    assert 2 not in set(res.curves["cell"]) and res.finished() == [0, 1, 3]
    with pytest.raises(ValueError, match="cell 2 .* is foreign"):
        res.cell(2)
    assert cli.main(["show", str(a)]) == 0
    out = capsys.readouterr()
    assert "foreign" in out.out and "warning:" in out.err
    rep = resume(a, workers=1, quiet=True, plots=False)
    assert rep.ran == 1 and rep.skipped == 3 and [r[:2] for r in rep.rejected] == [(2, "foreign")]
    assert "scale=7.0" in rep.rejected[0][2]
    assert _tables(a) == _tables(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert regretlab.load(a).finished() == [0, 1, 2, 3]


@pytest.mark.parametrize("damage", ["truncate", "flip", "no_record", "garbage_record", "edited_summary"])
def test_damaged_cell_is_never_shown_and_is_recomputed(tmp_path, damage, capsys):
    ref, a = tmp_path / "ref", tmp_path / "a"
    _run(CFG, ref)
    _run(CFG, a)
    npz, rec = a / "cells" / "c00002.npz", a / "cells" / "c00002.json"
    data = npz.read_bytes()
    if damage == "truncate":
        npz.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # same size, one byte of the stored float data changed
        k = len(data) // 3
        npz.write_bytes(data[:k] + bytes([data[k] ^ 0xFF]) + data[k + 1:])
    elif damage == "no_record":
        rec.unlink()
    elif damage == "garbage_record":
        rec.write_text("{not json")
    else:  # the cell is fine but somebody edited the table
        text = (a / "summary.csv").read_text().replace(",ok,", ",ok ,", 1)
        (a / "summary.csv").write_text(text)
    if damage == "edited_summary":
        res = regretlab.load(a)  # all cells verify: the table is rebuilt from them, not read from the edited file
        assert list(res.summary["status"]) == ["ok"] * 4
        np.testing.assert_array_equal(res.summary["v_mean"], regretlab.load(ref).summary["v_mean"])
        return
    with pytest.warns(ResultsWarning, match="c00002 corrupt"):
        res = regretlab.load(a)
    assert list(res.summary["status"]) == ["ok", "ok", "corrupt", "ok"] and np.isnan(res.summary["v_mean"][2])
    assert cli.main(["show", str(a)]) == 0
    assert "corrupt" in capsys.readouterr().out
    assert cli.main(["resume", str(a), "-q", "--no-plot", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "c00002: corrupt" in printed and "recomputed" in printed and "1 run now, 3 already finished" in printed
    assert _tables(a) == _tables(ref)


def test_failed_cell_record_of_another_config_is_not_a_failure_here(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _run({**CFG, "grid": {"x": [1, 13]}}, a)
    _run({**CFG, "grid": {"x": [1, 13]}, "params": {"scale": 2.0}}, b)
    shutil.copy(b / "cells" / "c00001.error.json", a / "cells" / "c00001.error.json")
    assert list(regretlab.load(a).summary["status"]) == ["ok", "missing"]


# ------------------------------------------------------------------------------------------------
# 4. temp files of dead writers; random SIGKILLs


def test_resume_removes_temp_files_of_dead_writers(tmp_path):
    a = tmp_path / "a"
    _run(CFG, a)
    junk = [a / "cells" / ".c00003.json.x1y2.tmp", a / ".summary.csv.abc.tmp", a / "work" / "c00001" / ".r.tmp"]
    for p in junk:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half")
    rep = resume(a, workers=1, quiet=True, plots=False)
    assert rep.ran == 0 and not any(p.exists() for p in junk)


KILLED_RUN = """
import sys
sys.path.insert(0, {here!r})
import _trust_helpers
from regretlab.core.runner import run_sweep
run_sweep({cfg!r}, out={out!r}, workers={workers}, quiet=True, plots={plots})
"""


def test_random_sigkills_then_resume_equal_an_uninterrupted_run(tmp_path):
    """20 runs killed (SIGKILL) at random moments, each resumed: summary.csv and curves.csv byte-identical."""
    cfg = {"experiment": "tests.trust", "replicates": 4, "seed": 3, "params": {"sleep": 0.03},
           "grid": {"x": list(range(1, 13))}, "plots": [{"kind": "curves", "name": "c"}]}
    min_cells_time = 12 * 0.03  # the run cannot get past its cells sooner than this after its manifest
    ref = tmp_path / "ref"
    _run(cfg, ref)
    want = _tables(ref)
    rng = random.Random(20261208)
    for trial in range(20):
        out = tmp_path / f"k{trial}"
        workers = 2 if trial % 5 == 4 else 1
        plots = trial % 4 == 3  # some runs die while drawing plots
        delay = rng.uniform(0.0, 2 * min_cells_time)  # some land in the cell loop, some after it
        proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN.format(here=str(HERE), cfg=cfg, out=str(out),
                                                                       workers=workers, plots=plots)],
                                env=_env(), start_new_session=True)
        deadline = time.time() + 120
        while not (out / "manifest.json").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if delay < min_cells_time and workers == 1:
            assert proc.returncode == -signal.SIGKILL, f"trial {trial} was not killed mid-run"
        rep = resume(out, workers=1, quiet=True, plots=False)
        assert rep.ok
        assert _tables(out) == want, f"trial {trial}"
        assert not list(out.rglob("*.tmp"))


# ------------------------------------------------------------------------------------------------
# 5. filesystem errors: one line, exit 2, before any cell runs


def _one_line_exit_2(capsys, argv, *must):
    rc = cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    for m in must:
        assert m in err[0], err[0]


def test_out_is_a_file_or_under_a_file(tmp_path, capsys):
    cfgp = tmp_path / "c.toml"
    cfgp.write_text('experiment = "tests.trust"\n[grid]\nx = [13]\n')
    f = tmp_path / "file"
    f.write_text("x")
    _one_line_exit_2(capsys, ["run", str(cfgp), "--out", str(f)], str(f), "not a directory")
    _one_line_exit_2(capsys, ["run", str(cfgp), "--out", str(f), "--overwrite"], str(f), "not a directory")
    _one_line_exit_2(capsys, ["run", str(cfgp), "--out", str(f / "sub")], str(f / "sub"), "cannot write")
    assert f.read_text() == "x"


def test_unwritable_out_directory(tmp_path, capsys, monkeypatch):
    cfgp = tmp_path / "c.toml"
    cfgp.write_text('experiment = "tests.trust"\n[grid]\nx = [13]\n')
    ro = tmp_path / "ro"
    ro.mkdir()
    real_open = os.open

    def deny(path, *a, **k):  # what a read-only mount or a directory without write permission answers
        if str(path).startswith(str(ro)):
            raise OSError(30, "Read-only file system", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", deny)
    _one_line_exit_2(capsys, ["run", str(cfgp), "--out", str(ro / "r")], str(ro / "r"), "Read-only file system")
    monkeypatch.undo()
    if os.geteuid() != 0:  # a real permission bit (root ignores it)
        ro.chmod(0o555)
        try:
            _one_line_exit_2(capsys, ["run", str(cfgp), "--out", str(ro / "r")], str(ro / "r"), "ermission denied")
        finally:
            ro.chmod(0o755)
    assert not list(ro.rglob("*.npz"))


# ------------------------------------------------------------------------------------------------
# 6. the summary table keeps its types when a cell fails


def test_summary_columns_stay_numeric_with_a_failed_cell(tmp_path):
    out = tmp_path / "f"
    rep = _run({**CFG, "grid": {"x": [1, 13, 3]}}, out)
    assert rep.failed == [1]
    s = regretlab.load(out).summary
    assert s["v_mean"].dtype == np.float64 and np.isnan(s["v_mean"][1]) and np.isfinite(s["v_mean"][[0, 2]]).all()
    assert s["x"].dtype == np.int64 and list(s["x"]) == [1, 13, 3]
    assert s["replicates"].dtype == np.float64 and np.isnan(s["replicates"][1])
    assert s["error"][1].startswith("RuntimeError: x = 13 fails on purpose")
    df = s.to_pandas()
    assert str(df["v_mean"].dtype) == "float64" and df["v_mean"].isna().tolist() == [False, True, False]
    direct = regretlab.load(out).cell(0)["v"].mean()
    assert df.loc[0, "v_mean"] == direct


def test_filesystem_without_locks(tmp_path, capsys, monkeypatch):
    import errno
    import fcntl

    cfgp = tmp_path / "c.toml"
    cfgp.write_text('experiment = "tests.trust"\n[grid]\nx = [13]\n')

    def no_locks(fd, op):  # what flock answers on a mount without lock support
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    _one_line_exit_2(capsys, ["run", str(cfgp), "--out", str(tmp_path / "r")], str(tmp_path / "r"),
                     "cannot lock", "No locks available")
    assert not (tmp_path / "r" / "manifest.json").exists()
