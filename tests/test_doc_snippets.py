"""Every snippet of README.md and docs/getting-started.md runs as written.

How the blocks of a page are run, in a fresh temporary folder laid out as the repository is (its
``rulesets/`` and ``examples/`` linked in, and the policy source texts at ``../shared/seeds`` when there
are any, see ``POVRULES_SEEDS`` in conftest):

- A fenced block whose opening line is preceded by ``<!-- file: NAME -->`` is written to ``NAME``
  before anything runs (e.g. the household a page asks the reader to save).
- Each ``sh`` block runs in its own ``bash -e`` with ``povrules`` resolved to the virtualenv's command,
  in page order (a later block may use a file an earlier one wrote); a failing command fails the test,
  naming the page and the block's line.
- The page's ``python`` blocks run after them, in page order, as one script: they continue one
  another as a reader would run them in one session. The interpreter is the one running the tests.
- A block preceded by ``<!-- not run: REASON -->`` is skipped (``make demo``, ``pip install``:
  commands that set up rather than use povrules, and are run elsewhere). The reason must be given.
- When there are no policy texts, a shell block that reads ``../shared/seeds`` is left out and the
  test, once the page's other blocks have run, is skipped naming it.

Other blocks (``json``, ``text``, ``yaml``) are shown output or data, and are not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", REPO / "docs" / "getting-started.md"]
RUN = ("sh", "python")
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARK = re.compile(r"^<!--\s*(file|not run):\s*(.*?)\s*-->\s*$")


@attrs.frozen
class Block:
    page: Path
    line: int  # of the opening fence
    lang: str
    text: str
    mark: tuple[str, str] | None  # ("file", name) or ("not run", reason)

    def __str__(self) -> str:
        return f"{self.page.name}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a Markdown page, each with the mark on the line before it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        mark = _MARK.match(lines[index - 1]) if index else None
        out.append(
            Block(
                page,
                index + 1,
                opening.group(1),
                "\n".join(lines[index + 1 : end]) + "\n",
                (mark.group(1), mark.group(2)) if mark else None,
            )
        )
        index = end + 1
    return out


def _workdir(tmp_path: Path, page: Path, seeds: Path | None) -> Path:
    """A folder laid out as the repository for the page's blocks, with the page's files written."""
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("rulesets", "examples"):
        (work / name).symlink_to(REPO / name, target_is_directory=True)
    if seeds is not None:
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "seeds").symlink_to(seeds.resolve(), target_is_directory=True)
    for block in blocks(page):
        if block.mark and block.mark[0] == "file":
            (work / block.mark[1]).write_text(block.text, encoding="utf-8")
    return work


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the virtualenv's povrules
    env["PYTHONPATH"] = str(REPO / "src")  # this checkout's sources, as the tests use
    return env


def _runnable(page: Path, lang: str) -> list[Block]:
    return [b for b in blocks(page) if b.lang == lang and not (b.mark and b.mark[0] == "not run")]


def test_the_marks_are_well_formed():
    for page in PAGES:
        for block in blocks(page):
            if block.mark and block.mark[0] == "not run":
                assert block.mark[1], f"{block}: a block not run must say why"
            if block.mark and block.mark[0] == "file":
                assert "/" not in block.mark[1] and block.mark[1], f"{block}: a file block names a file of the folder"
        assert _runnable(page, "sh") or _runnable(page, "python"), f"{page.name}: no block runs"
        text = page.read_text(encoding="utf-8")
        assert text.count("<!--") == sum(1 for b in blocks(page) if b.mark), f"{page.name}: a mark not before a fence"


@pytest.mark.parametrize("page", [pytest.param(p, id=p.name) for p in PAGES])
def test_the_shell_blocks_of_a_page_run_in_order(tmp_path: Path, page: Path, seeds_or_none: Path | None):
    steps = _runnable(page, "sh")
    left_out = [step for step in steps if seeds_or_none is None and "../shared/seeds" in step.text]
    work = _workdir(tmp_path, page, seeds_or_none)
    for step in steps:
        if step in left_out:
            continue
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", step.text],
            cwd=work,
            env=_env(),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=600,
        )
        assert done.returncode == 0, f"{step} failed ({done.returncode}):\n{done.stderr[-3000:]}"
    if left_out:
        pytest.skip(
            f"{', '.join(map(str, left_out))} not run: it reads the policy source texts, and there are "
            "none (set POVRULES_SEEDS)"
        )


@pytest.mark.parametrize("page", [pytest.param(p, id=p.name) for p in PAGES])
def test_the_python_blocks_of_a_page_run_in_order(tmp_path: Path, page: Path, seeds_or_none: Path | None):
    work = _workdir(tmp_path, page, seeds_or_none)
    script = "".join(f"# {b}\n{b.text}\n" for b in _runnable(page, "python"))
    (work / "snippets.py").write_text(script, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "snippets.py"],
        cwd=work,
        env=_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    assert done.returncode == 0, f"{page.name}'s python blocks failed:\n{done.stderr[-3000:]}"
