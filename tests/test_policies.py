"""Every policy test case of every ruleset under ``rulesets/``, each as its own test.

Ids read ``<ruleset>/<file>::<case name>``. A test file that does not load
becomes one failing test naming ``file:line:col``, so the other files still run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from povrules.errors import RulesetError
from povrules.policytest import PolicyCase, load_policy_file, policy_test_files, run_case

RULESETS = Path(__file__).resolve().parents[1] / "rulesets"


def _collect() -> list[object]:
    params: list[object] = []
    for file in policy_test_files(RULESETS):
        shown = f"{file.parent.parent.name}/{file.name}"
        try:
            cases = load_policy_file(file)
        except RulesetError as exc:
            params.append(pytest.param(str(exc), id=f"{shown}::(does not load)"))
            continue
        params.extend(pytest.param(case, id=case.id) for case in cases)
    return params


@pytest.mark.parametrize("case", _collect())
def test_policy_case(case: PolicyCase | str) -> None:
    if isinstance(case, str):
        pytest.fail(f"policy test file does not load: {case}", pytrace=False)
    result = run_case(case)
    if not result.passed:
        explanation = "\n".join(text for text in (result.explanation.zh, result.explanation.en) if text)
        pytest.fail(f"{result.message}\n\n{explanation}", pytrace=False)
