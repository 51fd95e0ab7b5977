"""Test-only experiment for the results-directory trust tests (also imported by their subprocesses)."""
import os
import time

import numpy as np

from regretlab.core.registry import Float, Int, Str, experiment


@experiment("tests.trust", summary="seeded uniform draws scaled by x, optional sleep (test only)",
            params={"x": Int(1), "scale": Float(1.0), "sleep": Float(0.0, low=0.0),
                    "gate": Str("", doc="wait until this file exists (test only)"),
                    "steps": Int(0, low=0, doc="report progress in this many steps, waiting for `gate` after the first")},
            outputs={"v": "(R,) x * scale * U(0, 1) draws of the replicate's seed", "curve": "(R, 3)",
                     "t": "(3,)"},
            curves={"curve": "t"}, backends=("numba", "numpy", "python"))
def trust(params, seeds, backend):
    """v = x * scale * u with u drawn from the cell's instance seed; fails for x == 13."""
    if params["steps"]:
        seeds.report(1, params["steps"], "steps")
    deadline = time.monotonic() + 120
    while params["gate"] and not os.path.exists(params["gate"]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {params['gate']} never opened")
        time.sleep(0.01)
    for k in range(2, params["steps"] + 1):
        seeds.report(k, params["steps"], "steps")
    if params["sleep"]:
        time.sleep(params["sleep"])
    if params["x"] == 13:
        raise RuntimeError("x = 13 fails on purpose")
    u = seeds.instance_rng().random(seeds.replicates)
    v = params["x"] * params["scale"] * u
    return {"v": v, "curve": np.outer(v, [1.0, 2.0, 3.0]), "t": np.array([1, 2, 3])}
