"""Registered STARC experiment ``starc.correlation`` and its plot kinds (``regretlab list``).

``starc.correlation`` runs the STARC paper's empirical protocol (specs/starc-metrics.md §9; the
generators and labels are in :mod:`regretlab.starc.protocol`): ``n_mdps`` random MDPs, ``draws`` pairs
of random rewards (R1, R2) per MDP, ``steps`` interpolation steps R_i = R1 + i (R2 - R1) / steps per
draw, hence ``n_mdps * draws * steps`` pairs (R1, R_i). For each pair it computes

* the exact regret label (:func:`regretlab.starc.protocol.regret_labels`);
* the distance d(R1, R_i) for every selected (canonicalisation, normalisation, metric) combination, by
  :func:`regretlab.starc.distances.pairwise_distances`, plus the original EPIC and DARD Pearson
  distances;

and, per replicate, the Pearson and Spearman correlation of each distance with the label across all
pairs (the paper's Figure 1 reports the Pearson correlations).

Combinations are stored on an integer-coded axis (no string or object arrays): output ``combo`` is
(n_combos, 3) with codes into :data:`CANONS`, :data:`NORMS` and :data:`METRICS` (-1: not applicable,
for the Pearson distances), and column j of ``distance``, ``pearson`` and ``spearman`` belongs to
``combo[j]``. :func:`combo_names` turns the codes into names such as ``"val/w_l2/w_l2"``.

Selections (``preset``):

* ``default``: no cvxpy. Canonicalisations none, epic, dard, val_potential, val with every
  normalisation (7, "none" included) and metric (6); minimal_potential and minimal with the L2 and
  tau-weighted L2 norms (closed forms) and every metric. 234 combinations + EPIC and DARD Pearson.
* ``paper``: the grid of spec §9: none, epic, dard, val_potential, val x 7 norms x 6 metrics, and
  MinimalPotential x the 6 proper norms x 6 metrics (its L1 and L-inf variants are cvxpy programs,
  one per reward: slow). 246 combinations + the two Pearson distances.
* ``full``: ``paper`` plus the minimal canonicalisation (STARC) x 6 norms x 6 metrics (its L1 and
  L-inf variants are cvxpy programs as well; "STARC-like" only, spec §3.2).

``canons``, ``norms`` and ``metrics`` (comma-separated names) replace the preset's lists by their
product. A minimal canonicalisation needs a norm to minimise, so (minimal*, none) is never formed.

Near-trivial rewards. A sparse reward whose non-zero entries all fall on transitions that the generator's
-20 logit floor leaves with probability ~2e-9 has a policy ordering carried by ~1e-9 of its size
(:func:`regretlab.starc.protocol.ordering_ratio`). Its exact label is well defined, but a STARC distance
calls it trivial (distance 0 or 1) or not depending on a zero threshold, so such pairs (about 8% at the
paper's size) sit off the trend. ``near_trivial`` flags them; ``pearson_nt`` / ``spearman_nt`` are the
correlations without them. ``pearson`` / ``spearman`` use every pair, as the protocol does.

Seeding: MDP m of replicate r of cell c draws from ``SeedSequence(seed, spawn_key=(c, r, m))``
(:func:`regretlab.starc.protocol.mdp_seed`), so the numbers do not depend on the number of threads,
on how replicates are chunked, and MDP m is the same for any ``n_mdps`` > m. Replicates are
independent repetitions of the whole protocol (the paper ran one).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from regretlab.core.registry import Bool, Choice, Float, Int, Str, experiment, plotter
from regretlab.core.validate import ParamError

from .protocol import NEAR_TRIVIAL, REFERENCES, mdp_seed, ordering_ratio, protocol_mdp, regret_labels

__all__ = [
    "CANONS",
    "FAMILIES",
    "METRICS",
    "NORMS",
    "PRESETS",
    "REFERENCES",
    "canon_key",
    "combo_codes",
    "combo_names",
    "correlation",
    "correlations_of",
    "plot_correlations",
    "plot_scatter",
    "preset_combos",
    "selected_combos",
]

CANONS = ("none", "epic", "dard", "minimal_potential", "val_potential", "val", "minimal",
          "epic_pearson", "dard_pearson")
NORMS = ("l1", "l2", "linf", "w_l1", "w_l2", "w_linf", "none")
METRICS = ("l1", "l2", "linf", "w_l1", "w_l2", "w_linf")
DISTANCE_CANONS = CANONS[:7]  # the canonicalisations pairwise_distances takes
PEARSON = ("epic_pearson", "dard_pearson")
STARC_CANONS = ("val", "minimal")  # canonicalisation functions in the STARC sense (spec §3)
MINIMAL = ("minimal_potential", "minimal")  # need a norm to minimise: never with norm "none"
CLOSED_FORM_NORMS = ("l2", "w_l2")  # minimal / minimal_potential without cvxpy
PRESETS = ("default", "paper", "full")

# columns of the paper's Figure 1 (family label for the plot)
FAMILIES = {"none": "None", "epic": "EPIC", "dard": "DARD", "minimal_potential": "MinimalPotential",
            "val_potential": "VALPotential", "val": "STARC-VAL", "minimal": "STARC-minimal"}
PEARSON_FAMILY = {"epic_pearson": "epic", "dard_pearson": "dard"}


# ---------------------------------------------------------------------------------------------------
# Combinations


def _product(canons, norms, metrics):
    return [(c, n, m) for c in canons for n in norms for m in metrics if not (c in MINIMAL and n == "none")]


def preset_combos(preset: str) -> list[tuple]:
    """The (canon, norm, metric) triples of a preset (module docstring), Pearson distances last."""
    if preset not in PRESETS:
        raise ParamError("preset_combos", "preset", "one of " + ", ".join(map(repr, PRESETS)), preset)
    base = ("none", "epic", "dard", "val_potential", "val")
    proper = NORMS[:6]
    if preset == "default":
        combos = (_product(base, NORMS, METRICS) + _product(["minimal_potential"], CLOSED_FORM_NORMS, METRICS)
                  + _product(["minimal"], CLOSED_FORM_NORMS, METRICS))
    else:
        combos = _product(base, NORMS, METRICS) + _product(["minimal_potential"], proper, METRICS)
        if preset == "full":
            combos += _product(["minimal"], proper, METRICS)
    return _ordered(combos + [(p, None, None) for p in PEARSON])


def _ordered(combos):
    """Canonical order: by CANONS, then NORMS, then METRICS (Pearson distances after the rest)."""
    def key(t):
        c, n, m = t
        return (CANONS.index(c), -1 if n is None else NORMS.index(n), -1 if m is None else METRICS.index(m))

    return sorted(set(combos), key=key)


def _split(name, value, allowed, where):
    items = [x.strip() for x in value.split(",") if x.strip()]
    if not items:
        raise ParamError(where, name, "a comma-separated list of: " + ", ".join(allowed), value)
    for x in items:
        if x not in allowed:
            import difflib

            close = difflib.get_close_matches(x, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParamError(where, name, "a comma-separated list of: " + ", ".join(allowed) + hint, x)
    return items


def selected_combos(params: dict) -> list[tuple]:
    """The combinations a resolved parameter dict asks for: the preset's, or the product of the
    ``canons`` x ``norms`` x ``metrics`` lists where given (each replaces the preset's list)."""
    where = "starc.correlation"
    if not (params.get("canons") or params.get("norms") or params.get("metrics")):
        return preset_combos(params["preset"])
    pre = preset_combos(params["preset"])
    canons = (_split("canons", params["canons"], DISTANCE_CANONS, where) if params.get("canons")
              else sorted({c for c, _, _ in pre if c in DISTANCE_CANONS}, key=CANONS.index))
    norms = (_split("norms", params["norms"], NORMS, where) if params.get("norms")
             else sorted({n for _, n, _ in pre if n is not None}, key=NORMS.index))
    metrics = (_split("metrics", params["metrics"], METRICS, where) if params.get("metrics")
               else sorted({m for _, _, m in pre if m is not None}, key=METRICS.index))
    combos = _product(canons, norms, metrics) + [(p, None, None) for p in PEARSON if PEARSON_FAMILY[p] in canons]
    if not any(n is not None for _, n, _ in combos):
        raise ParamError(where, "norms", "a list with a proper norm for the minimal canonicalisations "
                         "(they are never combined with 'none')", params.get("norms"))
    return _ordered(combos)


def combo_codes(combos) -> np.ndarray:
    """(n, 3) int64 codes of (canon, norm, metric) triples: indices into CANONS, NORMS, METRICS (-1: None)."""
    return np.array([[CANONS.index(c), -1 if n is None else NORMS.index(n), -1 if m is None else METRICS.index(m)]
                     for c, n, m in combos], dtype=np.int64).reshape(-1, 3)


def combo_names(codes) -> list[str]:
    """Names ``"canon/norm/metric"`` (or ``"epic_pearson"``) of the rows of a ``combo`` output."""
    out = []
    for c, n, m in np.asarray(codes, dtype=np.int64).reshape(-1, 3):
        out.append(CANONS[c] if n < 0 else f"{CANONS[c]}/{NORMS[n]}/{METRICS[m]}")
    return out


# ---------------------------------------------------------------------------------------------------
# Correlations


def _pearson_columns(X, y):
    """Pearson correlation of each column of X (n, k) with y (n,); nan for a constant column."""
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    num = yc @ Xc
    den = np.sqrt((Xc * Xc).sum(axis=0) * (yc @ yc))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


def _tie_rounded(X):
    """Columns of X rounded to 8 significant digits of each column's largest |value|: values equal up
    to rounding (the exact 0, 1 and 2 that trivial rewards get, computed on another backend) tie."""
    scale = np.abs(X).max(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return np.round(X / scale, 8)


def correlations_of(distance, label):
    """Pearson and Spearman correlation of each distance column with the labels.

    Parameters: distance (n_pairs, n_combos); label (n_pairs,).
    Returns: (pearson (n_combos,), spearman (n_combos,)); nan for a constant column. Spearman is the
        Pearson correlation of the ranks (ties get their average rank, as ``scipy.stats.spearmanr``),
        ranking values rounded to 8 significant digits of the column's (or the labels') largest value,
        so that rounding differences between backends do not break ties.
    """
    from scipy.stats import rankdata

    distance = np.asarray(distance, dtype=np.float64)
    label = np.asarray(label, dtype=np.float64)
    if distance.ndim != 2 or label.shape != distance.shape[:1]:
        raise ParamError("correlations_of", "distance, label", "shapes (n, k) and (n,)",
                         f"{distance.shape} and {label.shape}")
    pearson = _pearson_columns(distance, label)
    spearman = _pearson_columns(rankdata(_tie_rounded(distance), axis=0),
                                rankdata(_tie_rounded(label[:, None])[:, 0]))
    return pearson, spearman


# ---------------------------------------------------------------------------------------------------
# The experiment

PARAMS = {
    "n_states": Int(32, "number of states |S| of each random MDP", low=2),
    "n_actions": Int(4, "number of actions |A|", low=1),
    "gamma": Float(0.95, "discount factor", low=0.0, high=1.0, low_open=True, high_open=True),
    "n_mdps": Int(128, "random MDPs per replicate", low=1),
    "draws": Int(8, "reward pairs (R1, R2) drawn per MDP", low=1),
    "steps": Int(16, "interpolation steps R_i = R1 + i (R2 - R1) / steps, i = 1..steps", low=1),
    "preset": Choice("default", "combinations: default (no cvxpy), paper (spec §9 grid, cvxpy "
                     "MinimalPotential), full (paper + minimal canonicalisation)", choices=PRESETS),
    "canons": Str("", "comma-separated canonicalisations replacing the preset's (none, epic, dard, "
                  "minimal_potential, val_potential, val, minimal); empty: the preset's"),
    "norms": Str("", "comma-separated normalisations replacing the preset's (l1, l2, linf, w_l1, w_l2, "
                 "w_linf, none); empty: the preset's"),
    "metrics": Str("", "comma-separated metrics replacing the preset's (l1, l2, linf, w_l1, w_l2, w_linf); "
                   "empty: the preset's"),
    "episodic": Bool(False, "random MDPs with one absorbing state (the authors' episodic variant)"),
    "state_only": Bool(False, "state-only rewards R[s, a, s'] = r(s')"),
    "threads": Int(0, "threads over MDPs (0: all cores); the numbers do not depend on it", low=0),
}

OUTPUTS = {
    "distance": "(R, n_pairs, n_combos) float64: d(R1, R_i) of each pair for each combination (column j: combo[j])",
    "combo": "(n_combos, 3) int: (canon, norm, metric) codes into CANONS, NORMS, METRICS of "
             "regretlab.starc.experiments (-1: not applicable); combo_names() gives the names",
    "label": "(R, n_pairs) float64: regret label in [0, 1] (exact J)",
    "regret1": "(R, n_pairs) float64: normalised regret under R1 of R_i's optimal policy",
    "regret2": "(R, n_pairs) float64: normalised regret under R_i of R1's optimal policy",
    "mdp": "(n_pairs,) int: MDP index of each pair (pairs are ordered mdp, draw, step)",
    "draw": "(n_pairs,) int: draw index of each pair",
    "step": "(n_pairs,) int: interpolation step i in 1..steps of each pair",
    "near_trivial": "(R, n_pairs) bool: R1 or R_i is near-trivial (protocol.ordering_ratio < 1e-6)",
    "pearson": "(R, n_combos) float64: Pearson correlation of each distance with the label (all pairs)",
    "spearman": "(R, n_combos) float64: Spearman correlation of each distance with the label (all pairs)",
    "pearson_nt": "(R, n_combos) float64: Pearson correlation over the pairs that are not near-trivial",
    "spearman_nt": "(R, n_combos) float64: Spearman correlation over the pairs that are not near-trivial",
    "pearson_val": "(R,) Pearson of STARC-VAL, tau-weighted L2 norm and metric (spec §6 default); nan if absent",
    "pearson_starc_best": "(R,) best Pearson over the STARC combinations (canon val or minimal); nan if none",
    "pearson_epic": "(R,) Pearson of the EPIC (Pearson) distance; nan if absent",
    "pearson_dard": "(R,) Pearson of the DARD (Pearson) distance; nan if absent",
    "pearson_best": "(R,) best Pearson over all combinations",
    "spearman_val": "(R,) Spearman of STARC-VAL w_l2/w_l2; nan if absent",
    "spearman_epic": "(R,) Spearman of the EPIC distance; nan if absent",
    "spearman_dard": "(R,) Spearman of the DARD distance; nan if absent",
    "pearson_val_nt": "(R,) pearson_val over the pairs that are not near-trivial",
    "pearson_starc_best_nt": "(R,) pearson_starc_best over the pairs that are not near-trivial",
    "pearson_epic_nt": "(R,) pearson_epic over the pairs that are not near-trivial",
    "pearson_dard_nt": "(R,) pearson_dard over the pairs that are not near-trivial",
    "near_trivial_fraction": "(R,) fraction of pairs with a near-trivial reward",
    "label_mean": "(R,) mean regret label",
}


def _check(p: dict) -> None:
    selected_combos(p)  # raises ParamError naming the key


def _distance_backend(backend: str) -> str:
    """The backend handed to pairwise_distances: "python" -> "numpy" (the reference path), and "cupy" ->
    "auto" (CuPy for the closed forms, the CPU for the cvxpy-based canonicalisations)."""
    return {"python": "numpy", "cupy": "auto"}.get(backend, backend)


def canon_key(family: str, norm: str | None) -> str:
    """The key of :data:`regretlab.starc.canon.CANONICALISATIONS` for a family and a normalisation.

    The minimal families minimise the normalisation's own norm, as the authors' code does for
    MinimalPotential: ("minimal_potential", n) -> "minimal_potential_<n>", ("minimal", n) ->
    "minimal_<n>" ("minimal_w_l2" is the closed-form minimal canonicalisation of spec §3.2). The other
    families do not depend on the norm.
    """
    if family in MINIMAL:
        if norm is None or norm == "none":
            raise ParamError("canon_key", "norm", f"a proper norm for {family!r} (it minimises that norm)", norm)
        return f"{family}_{norm}"
    return family


def _groups(combos):
    """{(canon key, norms, metrics, family)} calls to pairwise_distances covering ``combos``.

    Returns a list of (key, norms, metrics, family); the keys of pairwise_distances' result
    (key, n, m) belong to combo (family, n, m), its Pearson keys to ("epic_pearson", None, None), ...
    """
    calls: dict = {}
    for c, n, m in combos:
        family = PEARSON_FAMILY.get(c, c)
        key = canon_key(family, n) if (family in MINIMAL) else family
        norms, metrics, _ = calls.setdefault(key, ([], [], family))
        if n is not None and n not in norms:
            norms.append(n)
        if m is not None and m not in metrics:
            metrics.append(m)
    out = []
    for key, (norms, metrics, family) in calls.items():
        out.append((key, norms or ["none"], metrics or ["l2"], family))  # a Pearson distance alone needs one (n, m)
    return out


def _one_mdp(params, seed, cell, replicate, m, groups, backend):
    env, R1, Ri = protocol_mdp(mdp_seed(seed, cell, replicate, m), params["n_states"], params["n_actions"],
                               params["gamma"], params["draws"], params["steps"],
                               episodic=params["episodic"], state_only=params["state_only"])
    lab = regret_labels(R1[:, None], Ri, env.tau, env.gamma, env.mu0)
    near = ((ordering_ratio(R1, env.tau, env.gamma) < NEAR_TRIVIAL)[:, None]
            | (ordering_ratio(Ri, env.tau, env.gamma) < NEAR_TRIVIAL))
    D, K = Ri.shape[:2]
    S, A = env.n_states, env.n_actions
    R1p = np.ascontiguousarray(np.broadcast_to(R1[:, None], Ri.shape).reshape(D * K, S, A, S))
    Rip = np.ascontiguousarray(Ri.reshape(D * K, S, A, S))
    from regretlab.starc.canon import CANONICALISATIONS
    from regretlab.starc.distances import pairwise_distances

    be = _distance_backend(backend)
    cols = {}
    for key, norms, metrics, family in groups:
        kw = dict(canons=[key], norms=norms, metrics=metrics)
        if CANONICALISATIONS[key].uses_cvxpy:  # one solve per reward: R1 once per draw, not once per pair
            parts = [pairwise_distances(R1[d], Ri[d], env.tau, env.gamma, backend=be, **kw) for d in range(D)]
            got = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        else:
            got = pairwise_distances(R1p, Rip, env.tau, env.gamma, backend=be, **kw)
        for (c, n, mm), d in got.items():
            cols[(family if c == key else c, n, mm)] = d
    return lab, near, cols


def run_protocol(params: dict, seed: int, cell: int, replicate: int, backend: str = "numpy", tick=None) -> dict:
    """One replicate of the protocol: labels, distances, correlations (see the module docstring).

    Parameters: params resolved ``starc.correlation`` parameters; seed, cell, replicate ints >= 0 (the
        stream of MDP m is ``mdp_seed(seed, cell, replicate, m)``); backend for pairwise_distances.
    Returns: dict with distance (n_pairs, n_combos), label, regret1, regret2, near_trivial (n_pairs,),
        pearson, spearman, pearson_nt, spearman_nt (n_combos,), combos (the list of triples).
        ``tick()``, if given, is called after each MDP (from the worker threads; progress display only).
    """
    combos = selected_combos(params)
    groups = _groups(combos)
    n = params["n_mdps"]
    threads = params["threads"] or (os.cpu_count() or 1)

    def job(m):
        out = _one_mdp(params, seed, cell, replicate, m, groups, backend)
        if tick is not None:
            tick()
        return out

    if threads > 1 and n > 1 and backend != "cupy":
        with ThreadPoolExecutor(max_workers=min(threads, n)) as pool:
            results = list(pool.map(job, range(n)))
    else:
        results = [job(m) for m in range(n)]
    label = np.concatenate([lab.label.ravel() for lab, _, _ in results])
    regret1 = np.concatenate([lab.regret1.ravel() for lab, _, _ in results])
    regret2 = np.concatenate([lab.regret2.ravel() for lab, _, _ in results])
    near = np.concatenate([nt.ravel() for _, nt, _ in results])
    distance = np.empty((label.size, len(combos)))
    for j, key in enumerate(combos):
        distance[:, j] = np.concatenate([np.asarray(_get(cols, key), dtype=np.float64).ravel()
                                         for _, _, cols in results])
    pearson, spearman = correlations_of(distance, label)
    if (~near).sum() >= 3:
        pearson_nt, spearman_nt = correlations_of(distance[~near], label[~near])
    else:
        pearson_nt = spearman_nt = np.full(len(combos), np.nan)
    return {"distance": distance, "label": label, "regret1": regret1, "regret2": regret2, "near_trivial": near,
            "pearson": pearson, "spearman": spearman, "pearson_nt": pearson_nt, "spearman_nt": spearman_nt,
            "combos": combos}


def _get(cols, key):
    if key not in cols:
        raise KeyError(f"pairwise_distances returned no distance for {key!r}")
    return cols[key]


def _headline(combos, pearson, spearman, pearson_nt):
    """The (R,)-shaped summary scalars from the (R, n_combos) correlations."""
    R = pearson.shape[0]
    nan = np.full(R, np.nan)

    def col(stat, key):
        return stat[:, combos.index(key)] if key in combos else nan.copy()

    starc = [j for j, (c, _, _) in enumerate(combos) if c in STARC_CANONS]

    def best(stat, cols):
        if not cols:
            return nan.copy()
        sub = stat[:, cols]
        return np.array([np.nanmax(row) if np.isfinite(row).any() else np.nan for row in sub])

    return {
        "pearson_val": col(pearson, ("val", "w_l2", "w_l2")),
        "pearson_starc_best": best(pearson, starc),
        "pearson_epic": col(pearson, ("epic_pearson", None, None)),
        "pearson_dard": col(pearson, ("dard_pearson", None, None)),
        "pearson_best": best(pearson, list(range(len(combos)))),
        "spearman_val": col(spearman, ("val", "w_l2", "w_l2")),
        "spearman_epic": col(spearman, ("epic_pearson", None, None)),
        "spearman_dard": col(spearman, ("dard_pearson", None, None)),
        "pearson_val_nt": col(pearson_nt, ("val", "w_l2", "w_l2")),
        "pearson_starc_best_nt": best(pearson_nt, starc),
        "pearson_epic_nt": col(pearson_nt, ("epic_pearson", None, None)),
        "pearson_dard_nt": col(pearson_nt, ("dard_pearson", None, None)),
    }


@experiment(
    "starc.correlation",
    summary="correlation of STARC / EPIC / DARD reward distances with exact regret on random MDPs "
            "[STARC §9 protocol]",
    params=PARAMS,
    small={"n_states": 8, "n_mdps": 3, "draws": 2, "steps": 4},
    outputs=OUTPUTS,
    cite=("STARC", "EPIC", "DARD"),
    check=_check,
    inert={"threads": "execution only: MDPs are seeded one by one (module docstring), the numbers do not depend "
                      "on the thread count",
           "preset": lambda p: "canons, norms and metrics all replace the preset's lists" if (
               p["canons"] and p["norms"] and p["metrics"]) else None},
)
def correlation(params: dict, seeds, backend: str) -> dict:
    import threading

    combos = selected_combos(params)
    total, done, lock = seeds.replicates * params["n_mdps"], [0], threading.Lock()

    def tick():
        with lock:
            done[0] += 1
            seeds.report(done[0], total, "MDPs")

    reps = [run_protocol(params, seeds.seed, seeds.cell, seeds.start + r, backend, tick=tick)
            for r in range(seeds.replicates)]
    n_pairs = params["n_mdps"] * params["draws"] * params["steps"]
    idx = np.arange(n_pairs)
    out = {
        "distance": np.stack([r["distance"] for r in reps]),
        "combo": combo_codes(combos),
        "label": np.stack([r["label"] for r in reps]),
        "regret1": np.stack([r["regret1"] for r in reps]),
        "regret2": np.stack([r["regret2"] for r in reps]),
        "mdp": idx // (params["draws"] * params["steps"]),
        "draw": (idx // params["steps"]) % params["draws"],
        "step": idx % params["steps"] + 1,
        "near_trivial": np.stack([r["near_trivial"] for r in reps]),
        "pearson": np.stack([r["pearson"] for r in reps]),
        "spearman": np.stack([r["spearman"] for r in reps]),
        "pearson_nt": np.stack([r["pearson_nt"] for r in reps]),
        "spearman_nt": np.stack([r["spearman_nt"] for r in reps]),
    }
    out.update(_headline(combos, out["pearson"], out["spearman"], out["pearson_nt"]))
    out["near_trivial_fraction"] = out["near_trivial"].mean(axis=1)
    out["label_mean"] = out["label"].mean(axis=1)
    return out


# ---------------------------------------------------------------------------------------------------
# Plots (read the results directory only)


def _cells(res, spec):
    where = spec.get("where", {})
    return [c for c in res.cells if all(c["params"].get(k) == v for k, v in where.items())
            and res.ok(c["index"])]


def _stems(res, spec, stem):
    cells = _cells(res, spec)
    if len(cells) == 1:
        return [(cells[0], stem)]
    return [(c, stem.with_name(f"{stem.name}.{c['name']}")) for c in cells]


def _cell_title(res, cell):
    p = cell["params"]
    n_pairs = p["n_mdps"] * p["draws"] * p["steps"]
    return (f"|S|={p['n_states']}, |A|={p['n_actions']}, gamma={p['gamma']}, "
            f"{p['n_mdps']} MDPs x {p['draws']} x {p['steps']} = {n_pairs} pairs")


def draw_correlations(ax, combo, stat, *, ylabel="Pearson correlation with regret", title=None):
    """The paper's Figure 1 on ``ax``: one column per canonicalisation family, one point per (norm, metric).

    Parameters: ax matplotlib Axes; combo (n_combos, 3) codes; stat (n_combos,) correlations (e.g. the
        mean over replicates); ylabel, title str.
    Grey points: no normalisation (norm "none"); blue: normalised; red stars: the original EPIC and
    DARD Pearson distances in their columns. The best value of each column is written above it.
    Returns: ax.
    """
    combo = np.asarray(combo, dtype=np.int64).reshape(-1, 3)
    stat = np.asarray(stat, dtype=np.float64)
    fams = [c for c in FAMILIES if any(CANONS[k] == c for k in combo[:, 0])]
    for x, fam in enumerate(fams):
        rows = [j for j in range(len(combo)) if CANONS[combo[j, 0]] == fam]
        nm = [(combo[j, 1], combo[j, 2]) for j in rows]
        order = sorted(range(len(rows)), key=lambda i: nm[i])
        offs = np.linspace(-0.3, 0.3, max(len(rows), 2))[: len(rows)] if len(rows) > 1 else np.zeros(1)
        xs, ys, grey = [], [], []
        for i, k in enumerate(order):
            j = rows[k]
            xs.append(x + offs[i])
            ys.append(stat[j])
            grey.append(NORMS[combo[j, 1]] == "none")
        xs, ys, grey = np.array(xs), np.array(ys), np.array(grey, dtype=bool)
        ax.scatter(xs[~grey], ys[~grey], s=14, color="tab:blue", alpha=0.8, label="normalised (n, m)")
        if grey.any():
            ax.scatter(xs[grey], ys[grey], s=14, color="0.6", alpha=0.9, label="no normalisation (n = 1)")
        best = np.nanmax(ys) if np.isfinite(ys).any() else np.nan
        for p, pfam in PEARSON_FAMILY.items():
            if pfam != fam:
                continue
            j = [j for j in range(len(combo)) if CANONS[combo[j, 0]] == p]
            if j:
                ax.scatter([x], [stat[j[0]]], marker="*", s=160, color="tab:red", edgecolor="black", zorder=5,
                           label="EPIC / DARD (Pearson distance)")
                best = np.nanmax([best, stat[j[0]]])
        if np.isfinite(best):
            ax.annotate(f"{best:.3f}", (x, best), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    finite = stat[np.isfinite(stat)]
    if finite.size:
        ax.set_ylim(min(0.0, finite.min() - 0.05), max(1.0, finite.max() + 0.08))
    ax.set_xticks(range(len(fams)))
    ax.set_xticklabels([FAMILIES[f] for f in fams], rotation=20)
    ax.set_xlim(-0.6, len(fams) - 0.4)
    ax.set_xlabel("canonicalisation")
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        seen = {}
        for h, lab in zip(handles, labels):
            seen.setdefault(lab, h)
        ax.legend(list(seen.values()), list(seen), fontsize=8, loc="lower right")
    return ax


@plotter("starc.correlations")
def plot_correlations(res, spec: dict, stem):
    """Figure 1 of [STARC]: correlation of each distance with the regret label, per canonicalisation family.

    Spec keys: ``stat`` "pearson" (default), "spearman", "pearson_nt" or "spearman_nt" (the pairs with
    no near-trivial reward); ``where`` filters cells. One figure per
    finished cell (suffix ``.cNNNNN`` when there are several). With several replicates, the points are
    the mean over replicates.
    """
    from regretlab.core.plotting import make_figure, save_figure

    stat_name = spec.get("stat", "pearson")
    stats = ("pearson", "spearman", "pearson_nt", "spearman_nt")
    if stat_name not in stats:
        raise ParamError("starc.correlations", "stat", "one of " + ", ".join(map(repr, stats)), stat_name)
    written = []
    for cell, path in _stems(res, spec, stem):
        arr = res.cell(cell["index"])
        stat = np.nanmean(arr[stat_name], axis=0) if arr[stat_name].shape[0] > 1 else arr[stat_name][0]
        fig, ax = make_figure(figsize=(8.0, 4.6))
        kind = stat_name.split("_")[0].capitalize()
        title = _cell_title(res, cell)
        if stat_name.endswith("_nt"):
            frac = float(arr["near_trivial"].mean())
            title += f"\nwithout the {100 * frac:.1f}% of pairs with a near-trivial reward"
        draw_correlations(ax, arr["combo"], stat, ylabel=f"{kind} correlation with regret", title=title)
        written += list(save_figure(fig, path))
    return written


def scatter_variants(combo, pearson) -> list[int]:
    """Columns for the scatter plot: the best STARC combination (by ``pearson``), EPIC and DARD Pearson."""
    names = [CANONS[c] for c in np.asarray(combo)[:, 0]]
    cols = []
    starc = [j for j, c in enumerate(names) if c in STARC_CANONS and np.isfinite(pearson[j])]
    if starc:
        cols.append(max(starc, key=lambda j: pearson[j]))
    cols += [names.index(p) for p in PEARSON if p in names]
    return cols


def draw_scatter(axes, distance, label, combo, columns, pearson=None, near_trivial=None, *, max_points=20000,
                 rng=0):
    """Distance against regret label, one panel per column in ``columns``.

    Parameters: axes sequence of Axes; distance (n_pairs, n_combos); label (n_pairs,); combo (n_combos, 3)
        codes; columns indices into the combos; pearson (n_combos,) or None (shown in the titles);
        near_trivial (n_pairs,) bool or None: those pairs are drawn in orange; max_points: at most that
        many pairs are drawn (a fixed random subset, ``rng``).
    Returns: axes.
    """
    distance = np.asarray(distance, dtype=np.float64)
    label = np.asarray(label, dtype=np.float64)
    names = combo_names(combo)
    idx = np.arange(label.size)
    if label.size > max_points:
        idx = np.sort(np.random.default_rng(rng).choice(label.size, max_points, replace=False))
    near = np.zeros(label.size, dtype=bool) if near_trivial is None else np.asarray(near_trivial, dtype=bool)
    a, b = idx[~near[idx]], idx[near[idx]]
    for ax, j in zip(np.ravel(axes), columns):
        ax.scatter(distance[a, j], label[a], s=3, alpha=0.25, color="tab:blue", rasterized=True, label="pairs")
        if b.size:
            ax.scatter(distance[b, j], label[b], s=5, alpha=0.6, color="tab:orange", rasterized=True,
                       label="a near-trivial reward")
        r = "" if pearson is None else f"  (Pearson {pearson[j]:.3f})"
        ax.set_title(names[j] + r, fontsize=9)
        ax.set_xlabel(f"distance {names[j]}")
        ax.set_ylabel("regret label")
        ax.grid(alpha=0.3)
        if b.size:
            ax.legend(fontsize=7, loc="upper left", markerscale=3)
    return axes


@plotter("starc.scatter")
def plot_scatter(res, spec: dict, stem):
    """Distance vs regret label for the best STARC variant, EPIC and DARD (first replicate of each cell);
    pairs with a near-trivial reward in orange.

    Spec keys: ``where`` filters cells; ``max_points`` (default 20000) caps the points drawn per panel.
    """
    from regretlab.core.plotting import make_figure, save_figure

    written = []
    for cell, path in _stems(res, spec, stem):
        arr = res.cell(cell["index"])
        cols = scatter_variants(arr["combo"], arr["pearson"][0])
        if not cols:
            continue
        fig, axes = make_figure(1, len(cols), figsize=(4.2 * len(cols), 3.8), squeeze=False)
        draw_scatter(axes[0], arr["distance"][0], arr["label"][0], arr["combo"], cols, arr["pearson"][0],
                     arr["near_trivial"][0], max_points=int(spec.get("max_points", 20000)))
        fig.suptitle(_cell_title(res, cell), fontsize=9)
        written += list(save_figure(fig, path))
    return written
