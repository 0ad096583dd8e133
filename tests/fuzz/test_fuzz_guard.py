"""The fuzz guard itself: it must see code that runs, or a canary that is touched, or it proves nothing."""

from __future__ import annotations

import pytest
from fuzzing import CANARY, guarded

from povrules import RulesetError, load_ruleset


def test_the_guard_sees_eval_exec_and_the_canary(tmp_path) -> None:
    with pytest.raises(AssertionError, match="ran code"), guarded("guard"):
        eval(compile("__import__('os')", "<string>", "eval"))
    with pytest.raises(AssertionError, match="ran code"), guarded("guard"):
        open(tmp_path / CANARY, "w").close()
    with guarded("guard"):
        pass  # nothing ran: no complaint


def test_a_ruleset_that_names_the_canary_runs_nothing(tmp_path) -> None:
    path = tmp_path / "ruleset.yaml"
    path.write_text(
        f"""id: t\nversion: '1'\ntitle: {{zh: t, en: t}}\nsources: {{D: {{file: d, title: d}}}}
rules:\n  r:\n    title: {{zh: r, en: r}}\n    when: __import__("{CANARY}").x\n    cite: {{source: D, line: 1, quote: q}}
""",
        encoding="utf-8",
    )
    with guarded("guard"), pytest.raises(RulesetError):
        load_ruleset(path)
