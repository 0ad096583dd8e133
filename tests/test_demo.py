"""`make demo` runs: the demo walks the shipped rulesets and examples, so a ruleset change that leaves
an example household undecided where the demo expects an answer fails here, not on a fresh machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_demo_runs_to_the_end_and_shows_each_section(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "demo.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for heading in ("六优先排序", "风险消除回头看：回退", "一本台账整体判定", "贫困老人基本养老金：按成员逐人计算"):
        assert heading in done.stdout
    assert "rolled_back" in done.stdout or "回退" in done.stdout
    assert "合计：每月 180 元" in done.stdout and "Total: 180 yuan a month" in done.stdout
