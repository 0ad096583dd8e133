"""The citation lint: a quote away from its cited line is found and its line named; a quote in the other
script (Traditional against Simplified) is told as such; each problem points at the ``cite`` in the ruleset."""

from __future__ import annotations

from pathlib import Path

import pytest

import povrules
from povrules.citations import NEARBY, TRADITIONAL, check_citations, quote_problem, simplified
from povrules.cli import main
from povrules.ruleset.model import Citation

# A small source text: the clause of interest on line 4, a Traditional-script clause on line 6,
# and a clause far below the others.
SOURCE = [
    "第一条 总则",
    "",
    "第二条 识别",
    "有机动车的不录",
    "",
    "第三条 監測對象",
    "",
    *["（空）"] * 30,
    "家庭成员有公职人员的不录",
]
FAR = len(SOURCE)


def citation(line: int, quote: str, end: int | None = None) -> Citation:
    return Citation("src.txt", line, end or line, quote)


def test_a_quote_at_its_line_has_no_problem():
    assert quote_problem(citation(4, "有机动车的不录"), SOURCE) is None


def test_a_quote_some_lines_off_is_named_at_its_nearby_line():
    problem = quote_problem(citation(2, "有机动车的不录"), SOURCE)
    assert (
        problem
        == "quote not found at the cited lines: 「有机动车的不录」; it stands at line 4 (nearby, 2 below the cited line 2)"
    )
    problem = quote_problem(citation(6, "有机动车的不录"), SOURCE)
    assert problem is not None and problem.endswith("it stands at line 4 (nearby, 2 above the cited line 6)")


def test_a_quote_far_from_its_line_is_named_but_not_called_nearby():
    problem = quote_problem(citation(1, "家庭成员有公职人员的不录"), SOURCE)
    assert FAR - 1 > NEARBY
    assert problem is not None and problem.endswith(f"it stands at line {FAR} ({FAR - 1} below the cited line 1)")


def test_a_quote_over_a_line_break_is_found_as_a_longer_span():
    problem = quote_problem(citation(1, "第二条识别有机动车"), SOURCE)
    assert problem is not None and "it stands at lines 3-4 (nearby, 2 below the cited line 1)" in problem


def test_a_quote_that_runs_on_past_its_cited_line_asks_for_the_lines():
    problem = quote_problem(citation(3, "第二条识别有机动车"), SOURCE)
    assert problem is not None and problem.endswith("it runs on over lines 3-4: cite them all")


def test_a_quote_in_the_other_script_at_its_line_says_so():
    problem = quote_problem(citation(6, "第三条 监测对象"), SOURCE)
    assert problem == (
        "quote not found at the cited lines: 「第三条 监测对象」; the source writes 對測監 in Traditional "
        "characters where the quote has Simplified ones: quote the source as it is written"
    )
    problem = quote_problem(citation(4, "有機動車的不錄"), SOURCE)
    assert (
        problem is not None
        and "the quote writes 動機車錄 in Traditional characters where the source has Simplified ones" in problem
    )


def test_a_quote_in_the_other_script_and_at_another_line_says_both():
    problem = quote_problem(citation(1, "監測對象"), SOURCE)
    assert problem is not None and problem.endswith(
        "it stands at line 6 (nearby, 5 below the cited line 1)"
    )  # same script
    problem = quote_problem(citation(1, "监测对象"), SOURCE)
    assert problem is not None and problem.endswith(
        "it stands at line 6 (nearby, 5 below the cited line 1), and there the source writes 對測監 in Traditional "
        "characters where the quote has Simplified ones"
    )


def test_a_quote_that_is_nowhere_says_only_that():
    assert (
        quote_problem(citation(4, "有商品房的不录"), SOURCE) == "quote not found at the cited lines: 「有商品房的不录」"
    )


def test_lines_past_the_end_of_the_source():
    assert quote_problem(citation(FAR + 1, "x"), SOURCE) == f"the source has only {FAR} lines"


def test_the_script_table_maps_traditional_characters_only():
    assert all(simplified(c) != c for c in TRADITIONAL)
    assert not {simplified(c) for c in TRADITIONAL} & TRADITIONAL  # mapping once is enough
    assert simplified("建檔立卡貧困戶") == "建档立卡贫困户"


RULESET = """\
id: t
version: '1'
title: {zh: 测, en: t}
sources: {S: {file: src.txt, title: s}}
rules:
  a:
    title: {zh: a, en: a}
    when: hh.rural_hukou
    cite: {source: S, line: 2, quote: 有机动车的不录}
"""


def test_lint_points_at_the_cite_in_the_ruleset(capsys, tmp_path: Path):
    (tmp_path / "src.txt").write_text("\n".join(SOURCE) + "\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULESET, encoding="utf-8")
    assert main(["lint", "--sources", str(tmp_path), str(tmp_path / "r.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'r.yaml'}:9:11: cite of " in err and "rule 'a'" in err
    assert "it stands at line 4 (nearby, 2 below the cited line 2)" in err


def test_check_citations_names_the_cite_location(tmp_path: Path):
    (tmp_path / "src.txt").write_text("\n".join(SOURCE) + "\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULESET, encoding="utf-8")
    [problem] = check_citations(povrules.load_ruleset(tmp_path / "r.yaml"), tmp_path)
    assert problem.citation.location is not None and (
        problem.citation.location.line,
        problem.citation.location.column,
    ) == (9, 11)
    assert str(problem).startswith(f"{tmp_path / 'r.yaml'}:9:11: cite of ")


@pytest.mark.parametrize("quote", ["有机动车的不录", "第二条"])
def test_the_cites_location_does_not_make_two_citations_differ(quote: str):
    loaded = Citation("src.txt", 4, 4, quote, povrules.Location("r.yaml", 9, 11))
    assert loaded == citation(4, quote) and hash(loaded) == hash(citation(4, quote))


def test_a_policy_case_cite_is_checked_the_same_way(capsys, tmp_path: Path, fixtures_dir: Path, fixture_sources: Path):
    folder = tmp_path / "rs"
    (folder / "tests").mkdir(parents=True)
    (folder / "ruleset.yaml").write_text((fixtures_dir / "identify.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    cases = folder / "tests" / "cases.yaml"
    cases.write_text(
        "decision: identify\nas_of: 2021-03-01\ncases:\n"
        "  - name: unknown income\n"
        "    facts: {id: h, rural_hukou: true}\n"
        "    expect: undetermined\n"
        '    cite: {source: D, line: 6, quote: "A missing fact is *unknown*, not false."}\n',
        encoding="utf-8",
    )
    assert main(["lint", "--sources", str(fixture_sources), str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"{cases}:7:11: " in err and "case 'unknown income'" in err
    assert "it stands at line 8 (nearby, 2 below the cited line 6)" in err
