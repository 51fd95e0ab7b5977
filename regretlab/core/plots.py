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

__all__ = ["cell_label", "draw_all", "group_cells"]


def cell_label(params: dict, keys) -> str:
    return ", ".join(f"{k}={params[k]}" if len(keys) > 1 or k != "policy" else str(params[k]) for k in keys)


def _select(res: Results, spec: dict) -> list[dict]:
    where = spec.get("where", {})
    return [c for c in res.cells if all(c["params"].get(k) == v for k, v in where.items())
            and res.dir.npz_path(c["index"]).exists()]


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
