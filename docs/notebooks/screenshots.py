"""Screenshots of the HTML views, standalone and inside Jupyter's own styles, taken with headless Chromium.

The views must hold their layout wherever they are shown: as a page of their own, and as an output
cell under the stylesheets of JupyterLab and of the classic notebook (which set ``table``, ``td``,
``dl`` and ``code`` rules of their own). This script writes, into ``--out``:

* ``view-<name>-<lang>.html``: each view saved standalone (:meth:`povrules.html.HTML.page`);
* ``notebook-<name>-<template>.html``: a notebook whose outputs are that view in both languages, converted by
  nbconvert with the ``lab`` and ``classic`` templates (their stylesheets are inlined: the pages fetch nothing);
* ``what-if-<template>.html``: the stored, executed what-if notebook converted the same way;
* a ``.png`` screenshot of every page.

Run from the repository root: ``make screenshots`` (or ``python docs/notebooks/screenshots.py``).
It needs nbconvert (the ``notebook`` extra) and a Chromium on the path; ``make test`` needs neither.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import povrules
from povrules.html import HTML

REPO = Path(__file__).resolve().parents[2]
RULESETS = REPO / "rulesets"
EXAMPLES = REPO / "examples"
NOTEBOOK = REPO / "docs" / "notebooks" / "what-if.ipynb"
TEMPLATES = ("lab", "classic")
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def _household(path: Path, household_id: str) -> povrules.Household:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["id"] == household_id:
            return povrules.parse_household(line)
    raise SystemExit(f"{path}: no household {household_id!r}")


def views() -> dict[str, tuple[HTML, HTML]]:
    """Each kind of view, in Chinese and in English, built from the shipped rulesets and example households."""
    weishan = povrules.load_ruleset(RULESETS / "cn-yunnan-weishan")
    hunan = povrules.load_ruleset(RULESETS / "cn-hunan-county-plan4")
    excluded = povrules.evaluate(
        _household(EXAMPLES / "cn-yunnan-weishan.jsonl", "WS-0107"),
        weishan,
        "identify_poor_household",
        as_of=date(2016, 6, 30),
    )
    exited = [
        povrules.parse_household(
            {
                "id": f"E-{income}",
                "rural_hukou": True,
                "registration": {"status": "exited"},
                "income": {"per_capita_net": f"{income}.00"},
                "assessments": {
                    "return_risk": {"value": True, "by": "村第一书记 王某", "on": "2021-05-10"},
                    "poverty_risk": {"value": False, "by": "村第一书记 王某", "on": "2021-05-10"},
                },
            }
        )
        for income in (6000, 6400, 6800, 6900, 7200, 7600)
    ]
    as_of = date(2021, 6, 30)
    table = povrules.evaluate(exited[1], hunan, "monitoring_type", as_of=as_of)
    raised = povrules.compare(
        hunan, hunan.with_parameter("monitoring_line", 7000), exited, "monitoring_type", as_of=as_of
    )
    swept = povrules.sweep(hunan, "monitoring_line", [6500, 7000, 7500], exited, "monitoring_type", as_of=as_of)
    shown = {"decision": excluded, "table": table, "ruleset": hunan, "comparison": raised, "sweep": swept}
    return {name: (value.html("zh"), value.html("en")) for name, value in shown.items()}


def views_notebook(name: str, pair: tuple[HTML, HTML]) -> object:
    """A notebook with one output cell per language of a view, as Jupyter stores it after running the cell."""
    import nbformat.v4 as nbf

    cells = []
    for count, (lang, shown) in enumerate(zip(("zh", "en"), pair), start=1):
        output = nbf.new_output(
            "execute_result",
            data={"text/html": shown._repr_html_(), "text/plain": f"<{name} view>"},
            execution_count=count,
        )
        cells.append(nbf.new_code_cell(f'{name}.html("{lang}")', outputs=[output], execution_count=count))
    return nbf.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )


def convert(notebook: object, template: str) -> str:
    """The notebook as one HTML page with the template's Jupyter stylesheets inlined."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name=template).from_notebook_node(notebook)
    return str(body)


def browser() -> str:
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("screenshots need Chromium on the path (Debian: apt-get install chromium)")


def screenshot(chromium: str, page: Path, size: str) -> Path:
    """A PNG of ``page`` next to it, at window ``size`` (``WIDTHxHEIGHT``)."""
    png = page.with_suffix(".png")
    width, height = size.split("x")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "screenshots", help="where pages and PNGs go")
    parser.add_argument("--size", default="1200x1600", help="browser window, WIDTHxHEIGHT (default 1200x1600)")
    parser.add_argument("--pages-only", action="store_true", help="write the pages, take no screenshots")
    args = parser.parse_args(argv)
    import nbformat

    args.out.mkdir(parents=True, exist_ok=True)
    pages: list[Path] = []
    pairs = views()
    for name, pair in pairs.items():
        for lang, shown in zip(("zh", "en"), pair):
            pages.append(shown.save(args.out / f"view-{name}-{lang}.html"))
    stored = nbformat.read(NOTEBOOK, as_version=4)
    if not any(cell.get("outputs") for cell in stored.cells):
        raise SystemExit(f"{NOTEBOOK.relative_to(REPO)} has no stored outputs: run it first")
    notebooks = {f"notebook-{name}": views_notebook(name, pair) for name, pair in pairs.items()}
    notebooks["what-if"] = stored
    for template in TEMPLATES:
        for stem, notebook in notebooks.items():
            page = args.out / f"{stem}-{template}.html"
            page.write_text(convert(notebook, template), encoding="utf-8")
            pages.append(page)
    if not args.pages_only:
        chromium = browser()
        for page in pages:
            print(screenshot(chromium, page, args.size).relative_to(args.out.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
