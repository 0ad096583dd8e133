"""The what-if notebook runs from top to bottom, so it cannot rot, and shows what it says it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

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
def executed() -> dict:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    return notebook


def _cell(notebook: dict, starts: str) -> dict:
    return next(c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(starts))


def test_every_cell_ran_without_error(executed: dict) -> None:
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code)
    assert not [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_the_comparison_is_shown(executed: dict) -> None:
    summary = _text(_cell(executed, 'raised = hunan.with_parameter("monitoring_line", 7000)'))
    assert "monitoring_type @ 2021-06-30" in summary and "households change outcome" in summary
    assert "parameter monitoring_line: 6500 → 7000" in summary
    assert "<table" in _html(_cell(executed, "comparison"))
    assert "<details" in _html(_cell(executed, 'after.html("en")'))


def test_the_sweep_plot_and_the_overlay(executed: dict) -> None:
    plot = _cell(executed, "lines.plot(")
    assert any("image/png" in o.get("data", {}) for o in plot.get("outputs", []))
    overlay = _text(_cell(executed, "qianxinan = povrules.load_ruleset("))
    assert "rule neg_commercial_housing removed" in _text(_cell(executed, 'negative.by_cause("en")'))
    assert "households change outcome" in overlay
    refused = _text(_cell(executed, "try:"))
    assert "elimination_income_floor" in refused and "variant" in refused
