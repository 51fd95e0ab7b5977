"""A test-only experiment that fails for x == 2 (imported by the CLI tests)."""
import numpy as np

from regretlab.core.registry import Int, experiment


@experiment("tests.flaky2", summary="fails when x == 2 (test only)", params={"x": Int(0)})
def flaky2(params, seeds, backend):
    """Returns x per replicate; raises for x == 2."""
    if params["x"] == 2:
        raise RuntimeError("x=2 fails on purpose")
    return {"v": np.full(seeds.replicates, float(params["x"]))}
