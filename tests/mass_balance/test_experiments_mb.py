"""The registered mass-balance experiments: listing, refused parameters, a small sweep with its plots."""
import numpy as np
import pytest

from regretlab.cli import main
from regretlab.core.results import load
from regretlab.core.runner import run_sweep


@pytest.mark.parametrize("override, key, allowed", [
    ("m=200000", "m", "[0, 127999]"),
    ("logits=normal", "logits", "'seeded', 'uniform', 'gaussian', 'zipf'"),
    ("r_w=0.5", "r_w", "<= 0.0"),
    ("eta=0", "eta", "> 0.0"),
])
def test_bad_parameter_is_refused_before_work(override, key, allowed, tmp_path, capsys):
    cfg = "experiments/mass_balance/" + ("figure3.toml" if key == "m" else "one_step.toml")
    out = tmp_path / "r"
    assert main(["run", cfg, "--set", override, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key in err and allowed in err
    assert not out.exists()


def test_list_shows_every_parameter_with_its_range(capsys):
    assert main(["list", "mass_balance.one_step"]) == 0
    text = capsys.readouterr().out
    for k in ("logits", "V", "m", "eta", "N", "r_c", "r_w", "sigma", "alpha", "int >= 1"):
        assert k in text


def test_small_sweep_and_plots(tmp_path):
    cfg = {"experiment": "mass_balance.one_step", "replicates": 400, "seed": 1,
           "params": {"logits": "zipf", "V": 40, "m": 8},
           "grid": {"N": [1, 4, 64]},
           "plots": [{"kind": "mass_balance.one_step", "name": "t1"}, {"kind": "mass_balance.terms", "name": "t2"}]}
    rep = run_sweep(cfg, out=tmp_path / "r", workers=1, quiet=True)
    assert rep.ok
    res = load(tmp_path / "r")
    assert sorted(p.name for p in (tmp_path / "r" / "plots").glob("*.png")) == ["t1.png", "t2.png"]
    cells = [res.cell(i) for i in range(3)]
    # shared instance: the same logits (same Q_c and limit) in every N
    assert len({float(c["Q_c"]) for c in cells}) == 1 and len({float(c["limit_scaled"]) for c in cells}) == 1
    from regretlab.core.registry import Seeds
    from regretlab.mass_balance import logits_instance
    from regretlab.mass_balance.reference import prob_increase_exact

    z, is_c = logits_instance("zipf", 40, 8, Seeds(1, 0, 1).instance_rng())  # the cell-0 instance stream
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert float(cells[0]["Q_c"]) == pytest.approx(p[is_c].sum(), rel=1e-12)
    for c, N in zip(cells[:2], (1, 4)):
        exact = prob_increase_exact(p, is_c, N)[0]
        assert abs(c["increase"].mean() - exact) <= 4 * np.sqrt(max(exact * (1 - exact), 0.0) / 400) + 1e-3
    assert cells[2]["increase"].mean() == 1.0
    for c in cells:
        e = float(c["expected_t1"] + c["expected_t2"] + c["expected_t3"])
        assert e == pytest.approx(float(c["expected_scaled"]), rel=1e-9)
        assert abs(c["dq_scaled"].mean() - float(c["expected_scaled"])) < 4 * c["dq_scaled"].std() / 20 + 1e-15
        assert np.all(np.abs(c["linearisation_gap"]) < 1e-8)
