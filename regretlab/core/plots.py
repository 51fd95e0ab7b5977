"""Plots drawn from a results directory (never from a running simulation).

Generic kinds, selected by ``kind`` in a config's ``[[plots]]`` table:

``curves``  one line per cell (mean over replicates) with a confidence band, of a curve output
            (``y``, default the experiment's first curve) against its x-axis; ``label`` names the
            parameters that make the legend (default: the sweep's varying axes); ``logx``, ``logy``,
            ``band = "t" | "bootstrap" | "none"``, ``where`` filters cells ({param = value}).
``points``  a per-replicate scalar (``y``, e.g. ``final_regret``) against a parameter ``x``, one
            series per value of ``hue``, mean with t-band, optional log-log slope fit (``fit = true``).

Areas register theorem-specific kinds with :func:`regretlab.core.registry.plotter`.
Every figure is saved as PNG and PDF under ``plots/`` with labelled axes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .plotting import make_figure, plot_curves, plot_points_with_fit, save_figure
from .registry import get, get_plotter, plotter
from .results import Results

__all__ = ["cell_label", "draw_all", "group_cells", "loglog_slope_table", "select_cells", "top_decade",
           "write_slopes_csv"]


def cell_label(params: dict, keys) -> str:
    return ", ".join(f"{k}={params[k]}" if len(keys) > 1 or k != "policy" else str(params[k]) for k in keys)


def _select(res: Results, spec: dict) -> list[dict]:
    where = spec.get("where", {})
    return [c for c in res.cells if all(c["params"].get(k) == v for k, v in where.items())
            and res.ok(c["index"])]


def select_cells(res: Results, spec: dict) -> list[dict]:
    """The finished cells that pass the plot's ``where`` filter."""
    return _select(res, spec)


def group_cells(res: Results, spec: dict, by: str) -> dict:
    """Finished cells (``where``-filtered) grouped by the sweep axes other than ``by``, each sorted by ``by``.

    Keys are "axis=value, ..." labels ("" when ``by`` is the only axis), in first-seen order.
    """
    axes = [a for a in res.manifest["axes"] if a != by]
    out: dict = {}
    for c in _select(res, spec):
        out.setdefault(", ".join(f"{a}={c['params'][a]}" for a in axes), []).append(c)
    for cs in out.values():
        cs.sort(key=lambda c: c["params"][by])
    return out


def top_decade(x: np.ndarray) -> np.ndarray:
    """Indices with x >= max(x) / 10 (at least the last three): the range a rate is fitted over."""
    sel = np.flatnonzero(x >= x.max() / 10.0)
    return sel if sel.size >= 3 else np.arange(max(0, x.size - 3), x.size)


def loglog_slope_table(res: Results, spec: dict, by: str, output: str) -> list[dict]:
    """Per group of cells (:func:`group_cells` along ``by``): the grid of ``by``, the (R, n) matrix of the
    per-replicate scalar ``output``, and the replicate-bootstrap log-log slope over the top decade of ``by``
    (``fit`` None with ``why`` when it cannot be formed: fewer than 3 points or a non-positive mean)."""
    from .stats import loglog_slope_bootstrap
    from .validate import ParamError

    rows = []
    for label, cells in group_cells(res, spec, by).items():
        xs = np.array([c["params"][by] for c in cells], dtype=float)
        arrs = [res.cell(c["index"]) for c in cells]
        R = min(a[output].size for a in arrs)
        Y = np.stack([np.asarray(a[output], float)[:R] for a in arrs], axis=1)
        fit, why = None, ""
        top = top_decade(xs)
        try:
            fit = loglog_slope_bootstrap(xs[top], Y[:, top], rng=int(spec.get("bootstrap_seed", 0)))
        except ParamError as e:
            why = str(e)
        rows.append({"label": label, "cells": cells, "arrays": arrs, "K": xs, "x": xs, "Y": Y, "fit": fit,
                     "why": why, "fit_K": xs[top], "fit_x": xs[top]})
    return rows


def write_slopes_csv(path, rows: list[dict], x_name: str = "K") -> Path:
    """The slopes of :func:`loglog_slope_table` as CSV (group, fitted x values, slope and CI, mean at max x)."""
    import csv

    path = Path(path)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["group", f"{x_name}_fitted", "slope", "ci_low", "ci_high", "n_boot_invalid",
                    f"mean_regret_at_{x_name}max", "note"])
        for row in rows:
            fit = row["fit"]
            xfit = " ".join(f"{k:g}" for k in row["fit_x"])
            mean_last = float(row["Y"][:, -1].mean())
            if fit is None:
                w.writerow([row["label"], xfit, "", "", "", "", f"{mean_last:.6g}", row["why"]])
            else:
                w.writerow([row["label"], xfit, f"{fit.slope:.4f}", f"{fit.ci_low:.4f}", f"{fit.ci_high:.4f}",
                            fit.n_boot_invalid, f"{mean_last:.6g}", ""])
    return path


@plotter("curves")
def plot_curves_kind(res: Results, spec: dict, stem: Path) -> list[Path]:
    exp = get(res.manifest["experiment"])
    y = spec.get("y") or next(iter(exp.curves))
    xname = exp.curves[y]
    keys = spec.get("label") or res.manifest["axes"]
    keys = [keys] if isinstance(keys, str) else keys
    curves, x = {}, None
    for c in _select(res, spec):
        arr = res.cell(c["index"])
        x = arr[xname]
        curves[cell_label(c["params"], keys) or c["name"]] = arr[y]
    fig, ax = make_figure()
    if curves:
        plot_curves(ax, x, curves, band=spec.get("band", "t"), logx=spec.get("logx", False),
                    logy=spec.get("logy", False), xlabel=spec.get("xlabel", xname),
                    ylabel=spec.get("ylabel", y),
                    title=spec.get("title", res.manifest["config"].get("title") or res.manifest["experiment"]))
    return list(save_figure(fig, stem))


@plotter("points")
def plot_points_kind(res: Results, spec: dict, stem: Path) -> list[Path]:
    from .stats import loglog_slope, mean_band

    xk, yk = spec["x"], spec.get("y", "final_regret")
    hue = spec.get("hue")
    groups: dict = {}
    for c in _select(res, spec):
        key = c["params"].get(hue) if hue else ""
        groups.setdefault(key, []).append((c["params"][xk], res.cell(c["index"])[yk].astype(float)))
    fig, ax = make_figure()
    for key, pts in groups.items():
        pts.sort(key=lambda p: p[0])
        xs = np.array([p[0] for p in pts], dtype=float)
        stats = [mean_band(p[1]) for p in pts]
        m = np.array([float(s[0]) for s in stats])
        lo = np.array([float(s[1]) for s in stats])
        hi = np.array([float(s[2]) for s in stats])
        fit = loglog_slope(xs, m) if spec.get("fit") and len(xs) >= 3 and np.all(m > 0) else None
        plot_points_with_fit(ax, xs, m, lo, hi, label=f"{hue}={key}" if hue else yk, fit=fit,
                             logx=spec.get("logx", True), logy=spec.get("logy", True),
                             xlabel=spec.get("xlabel", xk), ylabel=spec.get("ylabel", yk),
                             title=spec.get("title"))
    return list(save_figure(fig, stem))


def draw_all(path, quiet: bool = False) -> list[Path]:
    """Draw every plot of the results' config; a failing plot is reported, not raised."""
    res = Results(path)
    default = [{"kind": "curves"}] if get(res.manifest["experiment"]).curves else []
    specs = res.manifest["config"].get("plots") or default
    written: list[Path] = []
    for k, spec in enumerate(specs):
        name = spec.get("name", spec.get("kind", "plot") if k == 0 else f"{spec.get('kind', 'plot')}{k}")
        try:
            fn = get_plotter(spec.get("kind", "curves"))
            written += fn(res, spec, res.dir.plots_dir / name)
        except Exception as e:  # a plot must not lose a finished sweep
            if not quiet:
                print(f"plot {name!r} failed: {type(e).__name__}: {e}")
    return written
