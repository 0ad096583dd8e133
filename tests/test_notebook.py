"""The what-if notebook runs from top to bottom, so it cannot rot, and shows what it says it shows."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

_DIGEST = re.compile(r"sha256:[0-9a-f]+")
NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "notebooks" / "what-if.ipynb"


def _text(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


def _html(cell: dict) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.get("outputs", []))


@pytest.fixture(scope="module")
def executed() -> Iterator[dict]:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    # The kernel runs in the notebook's folder: a relative PYTHONPATH (PYTHONPATH=src) must still find these sources.
    before = os.environ.get("PYTHONPATH")
    if before:
        os.environ["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in before.split(os.pathsep) if p)
    try:
        client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    finally:
        if before:
            os.environ["PYTHONPATH"] = before
    yield notebook


def _cell(notebook: dict, starts: str) -> dict:
    return next(c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(starts))


def test_every_cell_ran_without_error(executed: dict) -> None:
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code)
    assert not [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_the_comparison_is_shown(executed: dict) -> None:
    summary = _text(_cell(executed, 'raised = hunan.with_parameter("monitoring_line", 7000)'))
    assert "monitoring_type @ 2021-06-30" in summary and "households change outcome" in summary
    assert "parameter Monitoring base line (per-capita net income): 6,500 → 7,000" in summary  # its title
    shown = _html(_cell(executed, "comparison"))
    assert "<table" in shown and 'lang="en"' in shown and "Outcome changes" in shown  # display_language("en")
    assert "<details" in _html(_cell(executed, "after")) and 'lang="en"' in _html(_cell(executed, "after"))


def test_the_sweep_plot_and_the_overlay(executed: dict) -> None:
    plot = _cell(executed, "lines.plot(")
    assert any("image/png" in o.get("data", {}) for o in plot.get("outputs", []))
    overlay = _text(_cell(executed, "qianxinan = povrules.load_ruleset("))
    assert "neg_commercial_housing" not in _text(_cell(executed, 'negative.by_cause("en")'))
    assert "removed" in _text(_cell(executed, 'negative.by_cause("en")'))
    assert "households change outcome" in overlay
    refused = _text(_cell(executed, "try:"))
    assert "elimination_income_floor" in refused and "variant" in refused


def _outputs(cell: dict) -> list[tuple[str, dict[str, str]]]:
    """A cell's outputs as a reader sees them: kind, and per type the text with digests masked (any change to a
    ruleset changes them). Rich outputs (HTML views, the plot) only by their type, so that a reworded note or
    a new matplotlib leaves the stored notebook current; the text outputs carry the figures."""
    out = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            out.append(("stream", {output["name"]: _DIGEST.sub("sha256:…", output["text"])}))
        else:
            data = {
                kind: (_DIGEST.sub("sha256:…", value) if kind == "text/plain" else "")
                for kind, value in output.get("data", {}).items()
            }
            out.append((output["output_type"], data))
    return out


def test_the_stored_notebook_shows_what_a_fresh_run_shows(executed: dict) -> None:
    """The notebook is kept with its outputs for readers of the repository (docs/notebooks/run.py stores it)."""
    stored = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in stored.cells] == [c.source for c in executed.cells]
    code = [(s, e) for s, e in zip(stored.cells, executed.cells) if s.cell_type == "code"]
    assert all(s.get("outputs") for s, _ in code), "stored without outputs: run docs/notebooks/run.py"
    for was, now in code:
        assert _outputs(was) == _outputs(now), f"stale outputs of {was.source[:40]!r}: run docs/notebooks/run.py"
    assert not set(stored.metadata) - {"kernelspec", "language_info"}  # no per-run noise
    assert not [c for c in stored.cells if "execution" in c.get("metadata", {})]
