"""``regretlab reproduce [AREA ...] [--quick]``: redraw every theorem plot from its config.

A *theorem plot* is a config ``experiments/<area>/<name>.toml`` with a ``[reproduce]`` table::

    [reproduce]
    seconds = 150            # measured wall time of the full (paper-size) run on 2 cores
    quick_seconds = 10       # the same for --quick
    [reproduce.quick]        # test-size overrides, merged into the config for --quick
    replicates = 3
    params = { V = 20_000 }  # a parameter given here also replaces a grid axis of that name
    grid = { N = [4, 16] }   # a grid axis given here replaces that axis

Each target runs into ``<out>/<area>/<name>`` (``out`` defaults to ``results/reproduce``, or
``results/reproduce-quick`` with ``--quick``) through the ordinary sweep engine, so an interrupted
reproduction resumes: finished cells are kept, only missing cells run, and the plots are redrawn. A
directory made from a different config (edited since) is refused unless ``overwrite``. Every figure gets
a provenance record -- config, parameters, seed, replicates, backend, git revision, versions -- in
``plots/<figure>.provenance.json`` and in the PNG's ``regretlab`` text chunk, and ``<out>/FIGURES.md``
indexes all figures made so far.
"""
from __future__ import annotations

import copy
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .sweep import ConfigError, load_config

__all__ = ["Target", "default_configs_root", "discover", "quick_config", "reproduce"]


@dataclass
class Target:
    """One theorem-plot config: where it comes from, what it will run, and where it goes."""

    area: str
    name: str
    path: Path
    config: dict
    title: str
    experiment: str
    cells: int
    seconds: float | None
    out: Path
    done: int = 0
    status: str = "new"  # new | partial | done | stale
    plots: list = field(default_factory=list)

    @property
    def estimate(self) -> float | None:
        """Seconds left: the config's estimate scaled by the share of cells still to run."""
        if self.seconds is None:
            return None
        return self.seconds * (self.cells - self.done) / max(self.cells, 1)


def default_configs_root() -> Path:
    """``./experiments`` when it exists, else the ``experiments/`` of the source tree of this package."""
    here = Path("experiments")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "experiments"


def quick_config(cfg: dict) -> dict:
    """The config with its ``[reproduce.quick]`` overrides merged (grid axes replaced, not appended)."""
    quick = cfg.get("reproduce", {}).get("quick", {})
    out = copy.deepcopy(cfg)
    for k, v in quick.items():
        if k in ("params", "grid", "zip"):
            if not isinstance(v, dict):
                raise ConfigError(f"[reproduce.quick] {k} must be a table")
            out.setdefault(k, {})
            out[k].update(v)
            if k == "params":  # a quick parameter replaces a grid/zip axis of the same name
                for sec in ("grid", "zip"):
                    for name in v:
                        out.get(sec, {}).pop(name, None)
        elif k in ("replicates", "seed"):
            out[k] = v
        else:
            raise ConfigError(f"[reproduce.quick]: unknown key {k!r} (allowed: replicates, seed, params, grid, zip)")
    return out


def _areas_of(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.toml")))


def discover(areas=None, *, quick: bool = False, root=None, out=None) -> list[Target]:
    """The theorem-plot targets of ``areas`` (all when empty), validated, with their status on disk."""
    from .results import ResultsDir
    from .runner import _jsonable

    root = Path(root) if root is not None else default_configs_root()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no experiments directory (run from a source checkout or pass --configs)")
    known = _areas_of(root)
    areas = list(areas or [])
    for a in areas:
        if a not in known:
            import difflib

            close = difflib.get_close_matches(a, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"reproduce: unknown area {a!r}{hint}; areas with theorem plots: {', '.join(known)}")
    out = Path(out) if out is not None else Path("results") / ("reproduce-quick" if quick else "reproduce")
    targets = []
    for area in areas or known:
        for path in sorted((root / area).glob("*.toml")):
            with open(path, "rb") as fh:
                try:
                    cfg = tomllib.load(fh)
                except tomllib.TOMLDecodeError as e:
                    raise ConfigError(f"{path}: invalid TOML: {e}") from None
            rep = cfg.get("reproduce")
            if rep is None:
                continue
            if quick:
                cfg = quick_config(cfg)
            sweep = load_config(path, None, config=cfg)  # validates every cell before any work
            secs = rep.get("quick_seconds" if quick else "seconds")
            t = Target(area=area, name=path.stem, path=path, config=cfg, title=cfg.get("title", path.stem),
                       experiment=sweep.experiment, cells=len(sweep.cells),
                       seconds=float(secs) if secs is not None else None, out=out / area / path.stem)
            rd = ResultsDir(t.out)
            if rd.exists():
                m = rd.read_manifest()
                cells = [_jsonable(c) for c in sweep.cells]
                if (m.get("config") != json.loads(json.dumps(sweep.to_config()))
                        or [c.get("params") for c in m.get("cells", [])] != cells):
                    t.status = "stale"  # an edited config, or changed experiment defaults
                else:
                    t.done = len(rd.done(m))
                    t.status = "done" if t.done == t.cells else "partial"
            targets.append(t)
    return targets


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "?"
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def plan_table(targets: list[Target], quick: bool):
    """A rich Table of what will run, with estimated times."""
    from rich.table import Table

    t = Table(title=f"regretlab reproduce{' --quick' if quick else ''}: {len(targets)} theorem plots")
    for c in ("#", "area", "config", "what", "cells", "status", "est. time", "output"):
        t.add_column(c, justify="right" if c in ("#", "cells", "est. time") else "left")
    for i, g in enumerate(targets, 1):
        t.add_row(str(i), g.area, g.name, g.title, f"{g.done}/{g.cells}", g.status, _fmt_seconds(g.estimate),
                  str(g.out))
    total = [g.estimate for g in targets]
    t.caption = "total: " + (_fmt_seconds(sum(total)) if all(x is not None for x in total) else "unknown") + \
        " (estimates measured on 2 cores)"
    return t


def _provenance(target: Target, manifest: dict, figure: Path, quick: bool) -> dict:
    return {
        "figure": figure.name,
        "config": str(target.path),
        "area": target.area,
        "quick": quick,
        "experiment": manifest["experiment"],
        "title": target.title,
        "params": manifest["config"].get("params", {}),
        "grid": manifest["config"].get("grid", {}),
        "zip": manifest["config"].get("zip", {}),
        "seed": manifest["seed"],
        "replicates": manifest["replicates"],
        "backend": manifest["backend"],
        "git_revision": manifest.get("git_revision"),
        "versions": manifest.get("versions", {}),
        "cite": manifest.get("cite", []),
        "results": str(target.out),
    }


def _stamp(paths, target: Target, quick: bool) -> list[Path]:
    """Write the provenance of every figure beside it (JSON) and into its PNG text chunk."""
    from .results import ResultsDir, _atomic_write_json

    m = ResultsDir(target.out).read_manifest()
    pngs = sorted({Path(p).with_suffix(".png") for p in paths})
    for png in pngs:
        prov = _provenance(target, m, png.with_suffix(""), quick)
        _atomic_write_json(png.with_name(png.stem + ".provenance.json"), prov)
        if png.exists():
            from PIL import Image, PngImagePlugin

            info = PngImagePlugin.PngInfo()
            info.add_text("regretlab", json.dumps(prov, sort_keys=True))
            info.add_text("Software", f"regretlab {prov['versions'].get('regretlab', '')}")
            with Image.open(png) as im:
                im.load()
                tmp = png.with_name(png.name + ".tmp")
                im.save(tmp, format="PNG", pnginfo=info)
            os.replace(tmp, png)
    return pngs


def _write_index(out_root: Path) -> Path:
    lines = ["# Figures made by `regretlab reproduce`", "",
             "| figure | area | config | experiment | seed | replicates | backend | git revision |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for prov_path in sorted(out_root.glob("*/*/plots/*.provenance.json")):
        p = json.loads(prov_path.read_text())
        fig = prov_path.with_name(p["figure"] + ".png").relative_to(out_root)
        lines.append(f"| [{fig}]({fig}) | {p['area']} | {p['config']} | {p['experiment']} | {p['seed']} | "
                     f"{p['replicates']} | {p['backend']} | {p['git_revision']} |")
    path = out_root / "FIGURES.md"
    out_root.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def reproduce(areas=None, *, quick: bool = False, out=None, root=None, workers=None, backend: str = "auto",
              overwrite: bool = False, dry_run: bool = False, quiet: bool = False, console=None) -> list[Target]:
    """Run (or resume) every theorem plot of ``areas`` and redraw its figures; returns the targets.

    Raises ConfigError before any work when a config is invalid, and FileExistsError when a target's
    directory holds results of a different config (``overwrite`` replaces them).
    """
    import sys
    import time

    from rich.console import Console

    from .runner import resume, run_sweep

    con = console or Console(quiet=quiet, width=None if sys.stdout.isatty() else 160)
    targets = discover(areas, quick=quick, root=root, out=out)
    if not targets:
        raise ConfigError("reproduce: no config with a [reproduce] table in " + ", ".join(areas or ["any area"]))
    con.print(plan_table(targets, quick))
    stale = [g for g in targets if g.status == "stale"]
    if stale and not overwrite and not dry_run:
        raise FileExistsError(f"{stale[0].out} holds results of a different config (edited since?); "
                              "--overwrite replaces them")
    if dry_run:
        return targets
    out_root = targets[0].out.parent.parent
    for i, g in enumerate(targets, 1):
        con.rule(f"[{i}/{len(targets)}] {g.area}/{g.name}: {g.title} (est. {_fmt_seconds(g.estimate)})")
        t0 = time.perf_counter()
        if g.status in ("partial", "done"):
            rep = resume(g.out, workers=workers, quiet=quiet)
        else:  # new, or stale (refused above unless overwrite): run_sweep replaces a stale directory
            rep = run_sweep(g.config, out=g.out, workers=workers, backend=backend, quiet=quiet,
                            overwrite=g.status == "stale", source=str(g.path))
        # run_sweep and resume redraw every plot of the config at the end
        g.plots = _stamp(sorted((g.out / "plots").glob("*.png")), g, quick)
        g.done = rep.cells - len(rep.failed)
        g.status = "done" if not rep.failed else "failed"
        con.print(f"{g.out}: {rep.ran} cells run, {rep.skipped} kept, {len(rep.failed)} failed, "
                  f"{time.perf_counter() - t0:.1f} s; figures: " + ", ".join(str(p) for p in g.plots))
    idx = _write_index(out_root)
    con.print(f"index of figures: {idx}")
    return targets
