"""The identifiability cases of specs/regret-preference.md §7 and the corridor of §8 (spec §10 item 7)."""
import math

import numpy as np
import pytest

from regretlab.preference.identifiability import CASES, figure1_corridor, run_case
from regretlab.preference.models import partial_return, regret


def test_figure1_corridor_probabilities():
    mdp, segs, pairs, p_pr, p_regret = figure1_corridor()
    np.testing.assert_array_equal(partial_return(segs, mdp.w_true), [-2, -2, -2, -2])
    np.testing.assert_allclose(p_pr, [0.5, 0.5])
    np.testing.assert_allclose(regret(segs, mdp.w_true, mdp), [0, 2, 0, 4], atol=1e-12)
    np.testing.assert_allclose(p_regret, [1 / (1 + math.exp(-2)), 1 / (1 + math.exp(-4))], rtol=1e-12)


def test_noiseless_order_case_by_hand():
    c = CASES()["noiseless_order"]
    for m, best, reg in ((c.mdp, 1, (0.5, 0.0)), (c.mdp_alt, 0, (0.0, 0.5))):
        opt = m.optimal(m.r_true)
        assert int(np.argmax(opt.Q[0])) == best
        np.testing.assert_allclose(-opt.advantage[0], reg, atol=1e-12)


def test_anchoring_case_by_hand():
    c = CASES()["anchoring"]
    V = c.mdp.optimal(c.mdp.r_true).V
    V_alt = c.mdp_alt.optimal(c.mdp_alt.r_true).V
    assert V[1] == pytest.approx(50.0) and V[2] == pytest.approx(-1 + 0.999 * 50)
    np.testing.assert_allclose(V_alt[[1, 2]], [1000.0, 1000.0], rtol=1e-9)  # +1 forever: 1 / (1 - gamma)


@pytest.fixture(scope="module")
def results():
    return {name: run_case(c, iterations=1500, backend="numba") for name, c in CASES().items()}


def test_partial_return_labels_coincide_and_the_pr_learner_fails_on_one_truth(results):
    for name, case in CASES().items():
        for noise in case.noises:
            rows = [r for r in results[name] if r["label_model"] == "partial_return" and r["noise"] == noise]
            # one row per (truth, learned model): the checks below are not vacuous
            assert sorted((r["truth"], r["model"]) for r in rows) == [
                ("r", "partial_return"), ("r", "regret"), ("r_alt", "partial_return"), ("r_alt", "regret")]
            assert all(r["labels_identical"] for r in rows)
            pr = {r["truth"]: r for r in rows if r["model"] == "partial_return"}
            np.testing.assert_array_equal(pr["r"]["w"], pr["r_alt"]["w"])  # same data, same answer
            assert not (pr["r"]["optimal"] and pr["r_alt"]["optimal"])


def test_regret_labels_differ_and_the_regret_learner_recovers_both(results):
    for name, case in CASES().items():
        for noise in case.noises:
            rows = [r for r in results[name] if r["label_model"] == "regret" and r["noise"] == noise]
            assert sorted((r["truth"], r["model"]) for r in rows) == [
                ("r", "partial_return"), ("r", "regret"), ("r_alt", "partial_return"), ("r_alt", "regret")]
            assert not any(r["labels_identical"] for r in rows)
            for r in rows:
                if r["model"] == "regret":
                    assert r["optimal"] and r["scaled_return"] == pytest.approx(1.0, abs=1e-9), (name, r)
