"""The fuzz campaign's tally, printed after the run: inputs tried per target and how they ended."""

from __future__ import annotations

from typing import Any

from fuzzing import ENDED, EXAMPLES, PROFILE, TRIED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TRIED:
        return
    terminalreporter.section(f"fuzz campaign ({PROFILE}: up to {EXAMPLES} inputs per test)")
    for target, count in sorted(TRIED.items()):
        endings = ", ".join(f"{how} {n}" for (t, how), n in sorted(ENDED.items()) if t == target)
        terminalreporter.write_line(f"{target}: {count} inputs ({endings})")
