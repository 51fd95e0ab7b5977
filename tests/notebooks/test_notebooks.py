"""Every notebook in proofs_notebooks/ runs top to bottom at its small default size."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "proofs_notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()   # raises CellExecutionError at the first failing cell (allow_errors is False)
    # every non-empty code cell ran, in order, and produced no error output
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code and [c.execution_count for c in code] == list(range(1, len(code) + 1)), path.name
    errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def test_there_are_notebooks():
    assert NOTEBOOKS, "proofs_notebooks/ holds no notebook"
