"""Tests for regretlab.core.plotting: files written, legends and labels present, lazy matplotlib import."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from regretlab.core import plotting as P
from regretlab.core import stats as S


def _curves(rng, x):
    return {
        "UCB1": 2.0 * np.log(x) + rng.normal(0.0, 0.3, size=(20, x.size)),
        "greedy": 0.05 * x + rng.normal(0.0, 0.3, size=(20, x.size)),
    }


def test_import_does_not_load_matplotlib():
    code = "import sys, regretlab.core.plotting; assert 'matplotlib' not in sys.modules, 'matplotlib loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plot_curves_legend_labels_bands_and_files(tmp_path):
    import matplotlib.image as mpimg

    rng = np.random.default_rng(0)
    x = S.log_checkpoints(1000, 30).astype(float)
    fig, ax = P.make_figure()
    out = P.plot_curves(ax, x, _curves(rng, x), logx=True, xlabel="round t", ylabel="regret R(t)",
                        title="demo")
    assert out is ax
    P.plot_reference(ax, x, S.lai_robbins_bound([0.5, 0.25], x), "Lai-Robbins c log t")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["UCB1", "greedy", "Lai-Robbins c log t"]
    assert ax.get_xlabel() == "round t" and ax.get_ylabel() == "regret R(t)" and ax.get_title() == "demo"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    assert len(ax.collections) == 2  # one shaded band per curve
    # the band line is the mean over replicates
    np.testing.assert_allclose(ax.lines[0].get_ydata(), _curves(np.random.default_rng(0), x)["UCB1"].mean(0))

    png, pdf = P.save_figure(fig, tmp_path / "plots" / "regret.K=2")
    assert png == tmp_path / "plots" / "regret.K=2.png" and pdf == tmp_path / "plots" / "regret.K=2.pdf"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    w, h = fig.get_size_inches()
    assert mpimg.imread(png).shape[:2] == (round(h * 150), round(w * 150))  # dpi 150


def test_save_figure_pdf_is_reproducible(tmp_path):
    x = np.arange(1.0, 11.0)
    fig, ax = P.make_figure()
    P.plot_curves(ax, x, {"a": np.vstack([x, x + 1])}, xlabel="x", ylabel="y")
    _, pdf1 = P.save_figure(fig, tmp_path / "one")
    _, pdf2 = P.save_figure(fig, tmp_path / "two")
    assert pdf1.read_bytes() == pdf2.read_bytes()


def test_save_figure_refuses_unlabelled_axes_and_extensions(tmp_path):
    fig, ax = P.make_figure()
    ax.plot([1, 2], [3, 4])
    ax.set_xlabel("t")
    with pytest.raises(ValueError, match=r"save_figure: fig must be .*labels.*axes 0 \(ylabel\)"):
        P.save_figure(fig, tmp_path / "f")
    assert not (tmp_path / "f.png").exists()
    P.save_figure(fig, tmp_path / "f", require_labels=False)
    ax.set_ylabel("y")
    with pytest.raises(ValueError, match=r"save_figure: path_stem must be a path without"):
        P.save_figure(fig, tmp_path / "f.png")


def test_shared_axes_count_as_labelled(tmp_path):
    fig, axes = P.make_figure(2, 1, sharex=True)
    x = np.arange(1.0, 6.0)
    P.plot_curves(axes[0], x, {"a": x[None, :]}, xlabel="t", ylabel="R")
    axes[0].set_xlabel("")  # only the bottom panel carries the shared x label
    P.plot_curves(axes[1], x, {"b": x[None, :]}, xlabel="t", ylabel="R/t")
    png, _ = P.save_figure(fig, tmp_path / "shared")
    assert png.exists()


def test_plot_points_with_fit_legend_shows_slope_and_ci():
    rng = np.random.default_rng(3)
    x = np.geomspace(10, 1e4, 8)
    Y = 3.0 * x**0.5 * np.exp(rng.normal(0.0, 0.3, size=(30, x.size)))
    mean, lo, hi = S.mean_band(Y)
    fit = S.loglog_slope_bootstrap(x, Y, rng=1, n_boot=300)
    _, ax = P.make_figure()
    P.plot_points_with_fit(ax, x, mean, lo, hi, "UCB1", fit=fit, xlabel="horizon T", ylabel="R(T)")
    legend = sorted(t.get_text() for t in ax.get_legend().get_texts())
    assert len(legend) == 2 and legend[0] == "UCB1"
    assert legend[1].startswith("UCB1 fit: slope 0.") and "95% CI" in legend[1]
    assert f"[{fit.ci_low:.2f}, {fit.ci_high:.2f}]" in legend[1]
    assert ax.containers and len(ax.lines) >= 1  # error bars and the fitted line
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel()
    with pytest.raises(ValueError, match=r"plot_points_with_fit: .*ordered y_lo <= y_mean <= y_hi"):
        P.plot_points_with_fit(ax, x, mean, hi, lo, "bad")


def test_plot_curves_validation():
    _, ax = P.make_figure()
    x = np.arange(1.0, 4.0)
    with pytest.raises(ValueError, match=r"plot_curves: xlabel must be a non-empty string"):
        P.plot_curves(ax, x, {"a": np.ones((2, 3))}, xlabel=" ", ylabel="y")
    with pytest.raises(ValueError, match=r"plot_curves: curves\['a'\] must be an array of shape \(any, 3\)"):
        P.plot_curves(ax, x, {"a": np.ones((2, 4))}, xlabel="x", ylabel="y")
    with pytest.raises(TypeError, match=r"plot_curves: rng"):
        P.plot_curves(ax, x, {"a": np.ones((2, 3))}, band="bootstrap", xlabel="x", ylabel="y")
    with pytest.raises(TypeError):
        P.plot_curves(ax, x, {"a": np.ones((2, 3))})  # axis labels are required
