"""Regret plots: mean curves with confidence bands, theory references, fitted slopes; saved as PNG + PDF.

DESIGN.md §7: plots are matplotlib, saved as PNG and PDF, with labelled axes, confidence bands, and fitted
slopes where a rate is the point. This module draws on axes it is given and never runs simulations; the
numbers come from :mod:`regretlab.core.stats` and from saved results.

Backend: nothing here selects a global backend and importing this module does not import matplotlib.
Figures made by :func:`make_figure` are plain :class:`matplotlib.figure.Figure` objects with an Agg canvas
attached (no pyplot, no GUI, no global state), so they render headless on any machine and do not change
the backend of a notebook or script that imports regretlab. :func:`save_figure` writes PNG with Agg and
PDF with matplotlib's PDF backend, whatever backend is active.

Typical use::

    fig, ax = make_figure()
    plot_curves(ax, t, {"UCB1": R_ucb, "TS": R_ts}, logx=True, xlabel="round t", ylabel="regret R(t)")
    plot_reference(ax, t, lai_robbins_bound(means, t), "Lai-Robbins c log t")
    save_figure(fig, out_dir / "plots" / "regret")
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from regretlab.core.validate import ParamError, ParamTypeError, check_array, check_choice, check_float

__all__ = ["make_figure", "plot_curves", "plot_points_with_fit", "plot_reference", "save_figure"]

_BAND_ALPHA = 0.2


def _check_label(name: str, value, where: str) -> str:
    if not isinstance(value, str):
        raise ParamTypeError(where, name, "a non-empty string", value)
    if not value.strip():
        raise ParamError(where, name, "a non-empty string", value)
    return value


def _check_ax(ax, where: str):
    if not (hasattr(ax, "plot") and hasattr(ax, "fill_between") and hasattr(ax, "legend")):
        raise ParamTypeError(where, "ax", "a matplotlib Axes", ax)
    return ax


def _set_scales(ax, logx: bool, logy: bool) -> None:
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")


def _set_labels(ax, xlabel, ylabel, title, where: str) -> None:
    if xlabel is not None:
        ax.set_xlabel(_check_label("xlabel", xlabel, where))
    if ylabel is not None:
        ax.set_ylabel(_check_label("ylabel", ylabel, where))
    if title is not None:
        ax.set_title(_check_label("title", title, where))


def make_figure(nrows=1, ncols=1, *, figsize=(6.4, 4.4), **subplots_kw):
    """A new headless figure (Agg canvas, no pyplot) and its axes.

    Parameters: nrows, ncols >= 1; figsize (width, height) in inches; further keywords go to
        ``Figure.subplots`` (``sharex``, ``squeeze``, ...).
    Returns: (fig, ax) where ax is one Axes for 1 x 1, else the array ``Figure.subplots`` returns.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots(nrows, ncols, **subplots_kw)
    return fig, ax


def plot_curves(ax, x, curves, *, band="t", level=0.95, logx=False, logy=False, xlabel, ylabel,
                title=None, n_boot=2000, rng=None):
    """Mean curve and shaded confidence band for each labelled set of replicates, with a legend.

    For each ``label -> Y`` in ``curves`` (Y of shape (R, C): R replicates at the C points ``x``; a 1-D Y
    is one replicate) draws the mean over replicates as a line and the band of
    :func:`regretlab.core.stats.mean_band` as a shaded area of the same colour. With R = 1 the band has
    zero width. On a log y-axis, parts of a band at or below 0 are clipped by matplotlib.

    Parameters: ax matplotlib Axes; x (C,); curves mapping str -> (R, C) array;
        band "t" | "bootstrap" | "none"; level in (0, 1); logx, logy bool;
        xlabel, ylabel non-empty str (required: every figure has labelled axes); title str or None;
        n_boot, rng for ``band="bootstrap"`` (rng required there).
    Returns: ax.
    """
    from regretlab.core.stats import mean_band

    where = "plot_curves"
    ax = _check_ax(ax, where)
    band = check_choice("band", band, ("t", "bootstrap", "none"), where=where)
    level = check_float("level", level, low=0.0, high=1.0, low_open=True, high_open=True, where=where)
    x = check_array("x", x, ndim=1, where=where)
    if not isinstance(curves, Mapping) or len(curves) == 0:
        raise ParamTypeError(where, "curves", "a non-empty mapping label -> array (R, C)", curves)
    if band == "bootstrap":
        from regretlab.core.validate import check_rng

        rng = check_rng(rng, where)  # one stream shared by the curves, in mapping order
    for label, Y in curves.items():
        label = _check_label("curves label", label, where)
        if np.ndim(Y) == 1:
            Y = check_array(f"curves[{label!r}]", Y, shape=(x.size,), where=where)[None, :]
        else:
            Y = check_array(f"curves[{label!r}]", Y, shape=(None, x.size), where=where)
        if band == "none":
            mean = Y.mean(axis=0)
            lo = hi = None
        else:
            mean, lo, hi = mean_band(Y, level=level, method=band, n_boot=n_boot, rng=rng)
        (line,) = ax.plot(x, mean, label=label)
        if lo is not None:
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=_BAND_ALPHA, linewidth=0)
    _set_scales(ax, logx, logy)
    _set_labels(ax, xlabel, ylabel, title, where)
    ax.legend()
    return ax


def plot_reference(ax, x, y, label, style="--", *, color="black"):
    """A theory curve (e.g. a Lai-Robbins or UCB1 bound) as a thin line, added to the legend.

    Parameters: ax; x (C,); y (C,) or a scalar (a horizontal line); label non-empty str;
        style a matplotlib line format ("--", ":", "-."); color any matplotlib colour.
    Returns: ax.
    """
    where = "plot_reference"
    ax = _check_ax(ax, where)
    x = check_array("x", x, ndim=1, where=where)
    if np.ndim(y) == 0:
        y = np.full(x.shape, check_float("y", y, where=where))
    else:
        y = check_array("y", y, shape=(x.size,), where=where)
    label = _check_label("label", label, where)
    if not isinstance(style, str):
        raise ParamTypeError(where, "style", "a matplotlib line format string such as '--'", style)
    ax.plot(x, y, style, label=label, color=color, linewidth=1.2)
    ax.legend()
    return ax


def plot_points_with_fit(ax, x, y_mean, y_lo, y_hi, label, fit=None, *, logx=True, logy=True,
                         xlabel=None, ylabel=None, title=None):
    """Point estimates with error bars, plus the fitted line of a slope fit with its CI in the legend.

    Draws ``y_mean`` at ``x`` with asymmetric error bars down to ``y_lo`` and up to ``y_hi``. When ``fit``
    (a :class:`regretlab.core.stats.SlopeFit`) is given, draws ``fit.predict`` over the range of x as a
    dashed line whose legend entry reads e.g. ``UCB1 fit: slope 0.50 [0.47, 0.53] (95% CI)``.

    Parameters: ax; x (C,) (> 0 on a log axis); y_mean, y_lo, y_hi (C,) with y_lo <= y_mean <= y_hi;
        label non-empty str; fit SlopeFit or None; logx, logy bool (default log-log, where a power law
        is a straight line); xlabel, ylabel, title str or None (set when given).
    Returns: ax.
    """
    where = "plot_points_with_fit"
    ax = _check_ax(ax, where)
    x = check_array("x", x, ndim=1, where=where)
    y_mean = check_array("y_mean", y_mean, shape=(x.size,), where=where)
    y_lo = check_array("y_lo", y_lo, shape=(x.size,), where=where)
    y_hi = check_array("y_hi", y_hi, shape=(x.size,), where=where)
    if np.any(y_lo > y_mean) or np.any(y_hi < y_mean):
        i = int(np.flatnonzero((y_lo > y_mean) | (y_hi < y_mean))[0])
        raise ParamError(where, f"y_lo[{i}], y_mean[{i}], y_hi[{i}]", "ordered y_lo <= y_mean <= y_hi",
                         (float(y_lo[i]), float(y_mean[i]), float(y_hi[i])))
    label = _check_label("label", label, where)
    bars = ax.errorbar(x, y_mean, yerr=np.vstack([y_mean - y_lo, y_hi - y_mean]), fmt="o", capsize=3,
                       markersize=4, label=label)
    if fit is not None:
        if not (hasattr(fit, "predict") and hasattr(fit, "label")):
            raise ParamTypeError(where, "fit", "a SlopeFit from regretlab.core.stats, or None", fit)
        lo, hi = float(np.min(x)), float(np.max(x))
        if fit.model == "loglog" or logx:
            if lo <= 0:
                raise ParamError(where, "x", "> 0 to draw a fit in log x", lo)
            grid = np.geomspace(lo, hi, 200)
        else:
            grid = np.linspace(lo, hi, 200)
        color = bars.lines[0].get_color()
        ax.plot(grid, fit.predict(grid), "--", color=color, label=f"{label} fit: {fit.label()}")
    _set_scales(ax, logx, logy)
    _set_labels(ax, xlabel, ylabel, title, where)
    ax.legend()
    return ax


def _unlabelled_axes(fig) -> list[str]:
    """Descriptions of data axes lacking an x or y label (shared axes count as labelled by a sibling)."""
    missing = []
    for i, ax in enumerate(fig.get_axes()):
        if not ax.get_visible() or not ax.axison or ax.get_label() == "<colorbar>":
            continue
        if not (ax.lines or ax.collections or ax.images or ax.patches or ax.containers):
            continue
        for which, get_shared in (("x", ax.get_shared_x_axes), ("y", ax.get_shared_y_axes)):
            siblings = get_shared().get_siblings(ax)
            if not any(getattr(s, f"get_{which}label")().strip() for s in siblings):
                missing.append(f"axes {i} ({which}label)")
    return missing


def save_figure(fig, path_stem, *, dpi=150, require_labels=True):
    """Write ``path_stem.png`` (``dpi`` dots per inch) and ``path_stem.pdf``, creating the parent directory.

    ``path_stem`` is the path without extension (it may contain dots, e.g. ``plots/regret.K=2``); a
    stem ending in ``.png`` or ``.pdf`` is rejected rather than doubled. The PDF is written without a
    creation date so that re-running a plot gives identical bytes. With ``require_labels`` (default) a
    figure with an axes that shows data but has an empty x or y label (after counting labels on shared
    axes) is refused: DESIGN.md §7 asks for labelled axes.

    Parameters: fig matplotlib Figure; path_stem str or Path; dpi int > 0; require_labels bool.
    Returns: (png_path, pdf_path) as :class:`pathlib.Path`.
    """
    where = "save_figure"
    if not hasattr(fig, "savefig"):
        raise ParamTypeError(where, "fig", "a matplotlib Figure", fig)
    if not isinstance(path_stem, (str, Path)) or not str(path_stem).strip():
        raise ParamTypeError(where, "path_stem", "a non-empty path (str or pathlib.Path)", path_stem)
    dpi = check_float("dpi", dpi, low=0.0, low_open=True, where=where)
    stem = Path(path_stem)
    if stem.suffix.lower() in (".png", ".pdf"):
        raise ParamError(where, "path_stem", "a path without the .png/.pdf extension (both files are "
                         "written)", str(path_stem))
    if require_labels:
        missing = _unlabelled_axes(fig)
        if missing:
            raise ParamError(where, "fig", "a figure whose data axes all have x and y labels "
                             "(set them, or pass require_labels=False)", "missing " + ", ".join(missing))
    stem.parent.mkdir(parents=True, exist_ok=True)
    png = stem.with_name(stem.name + ".png")
    pdf = stem.with_name(stem.name + ".pdf")
    fig.savefig(png, dpi=dpi, format="png")
    fig.savefig(pdf, format="pdf", metadata={"CreationDate": None})
    return png, pdf
