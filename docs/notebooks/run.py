"""Run the what-if notebook and store it with its outputs, so a reader of the repository sees them.

Only what a reader needs is kept: each cell's outputs and execution count. The timing and kernel
details that a run leaves in the metadata change on every run and are dropped, so that running it
again changes the file only where an output changed. ``tests/test_notebook.py`` runs the notebook
too and checks that the stored outputs are those a fresh run gives.

Run from the repository root: ``make notebook`` (or ``python docs/notebooks/run.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

NOTEBOOK = Path(__file__).resolve().parent / "what-if.ipynb"
KEPT_METADATA = ("kernelspec", "language_info")


def execute(path: Path = NOTEBOOK) -> Any:
    """The notebook at ``path`` run from top to bottom in its own folder (a failing cell raises)."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    # The kernel runs in the notebook's folder: a relative PYTHONPATH (PYTHONPATH=src) must still find the sources.
    search = os.environ.get("PYTHONPATH")
    if search:
        os.environ["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in search.split(os.pathsep) if p)
    client.execute()
    return notebook


def clean(notebook: Any) -> Any:
    """``notebook`` without the per-run noise: execution timings, cell ids' churn aside, kernel versions."""
    notebook.metadata = {k: v for k, v in notebook.metadata.items() if k in KEPT_METADATA}
    language = notebook.metadata.get("language_info")
    if language is not None:  # the interpreter's version differs from machine to machine
        notebook.metadata["language_info"] = {"name": language.get("name", "python")}
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            output.get("metadata", {}).pop("execution", None)
    return notebook


def main() -> int:
    import nbformat

    nbformat.write(clean(execute()), NOTEBOOK)
    print(f"{NOTEBOOK.name}: stored with its outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
