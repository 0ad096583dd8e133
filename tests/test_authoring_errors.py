"""Authoring mistakes are load errors at file:line:column with a did-you-mean (or, for a parameter no
rule reads, a load warning); loaded rulesets are immutable; variants refuse what no ruleset holds;
lint reads nothing outside its sources folder.
"""

from __future__ import annotations

import pickle
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import povrules
from povrules import EvaluationError, RulesetError, load_ruleset
from povrules.citations import check_citations, source_path
from povrules.cli import main

REPO = Path(__file__).resolve().parent.parent

HEAD = """\
id: test
version: "1"
title: {zh: 测试, en: Test}
sources:
  S1: {file: policy.txt, title: 政策}
parameters:
  line:
    title: {zh: 收入线, en: Income line}
    unit: 元
    values:
      - from: 2020-01-01
        value: 4000
        cite: {source: S1, line: 1, quote: 收入线4000元}
rules:
  low:
    title: {zh: 低收入, en: Low income}
    when: hh.income.per_capita_net < p.line
    cite: {source: S1, line: 1, quote: 收入线}
  car:
    title: {zh: 有车, en: Owns a car}
    when: any(v.kind == "car" for v in hh.assets.vehicles)
    outcome: excluded
    cite: {source: S1, line: 1, quote: 收入线}
"""

DECISIONS = """\
decisions:
  identify:
    kind: eligibility
    title: {zh: 识别, en: Identification}
    criteria: [low]
    exceptions: [car]
    outcomes: {yes: identified, no: not_identified}
    labels:
      identified: {zh: 识别, en: identified}
      LABEL: {zh: 排除, en: excluded}
"""

RANKING = """\
  order:
    kind: ranking
    title: {zh: 排序, en: Order}
    among: {decision: identify, outcomes: [AMONG]}
    criteria: [low]
"""


def write(folder: Path, text: str) -> Path:
    path = folder / "ruleset.yaml"
    path.write_text(text, encoding="utf-8")
    (folder / "policy.txt").write_text("收入线4000元\n", encoding="utf-8")
    return path


def load_error(folder: Path, text: str) -> RulesetError:
    with pytest.raises(RulesetError) as caught:
        load_ruleset(write(folder, text))
    return caught.value


def line_of(text: str, token: str) -> int:
    return text[: text.index(token)].count("\n") + 1


def ruleset(tmp_path: Path, label: str = "excluded", among: str | None = None) -> str:
    text = HEAD + DECISIONS.replace("LABEL", label)
    return text + RANKING.replace("AMONG", among) if among else text


# Row 21: a misspelt label key or `among` outcome


def test_the_correct_ruleset_loads_without_warnings(tmp_path: Path) -> None:
    rs = load_ruleset(write(tmp_path, ruleset(tmp_path, among="identified")))
    assert rs.decisions["identify"].label("excluded", "en") == "excluded" and rs.warnings == ()
    assert check_citations(rs, tmp_path) == []


def test_a_label_for_an_outcome_the_decision_never_gives_is_a_load_error(tmp_path: Path) -> None:
    text = ruleset(tmp_path, label="exluded")
    err = load_error(tmp_path, text)
    assert "decision 'identify' has a label for 'exluded', an outcome it never gives" in str(err)
    assert "did you mean 'excluded'" in str(err)
    assert err.location is not None and err.location.line == line_of(text, "exluded:")


@pytest.mark.parametrize("label", ["undetermined", "needs_deliberation", "conflict", "not_identified"])
def test_labels_for_outcomes_the_engine_gives_are_allowed(tmp_path: Path, label: str) -> None:
    assert label in load_ruleset(write(tmp_path, ruleset(tmp_path, label=label))).decisions["identify"].labels


def test_an_among_outcome_never_given_is_a_load_error(tmp_path: Path) -> None:
    text = ruleset(tmp_path, among="identifed")
    err = load_error(tmp_path, text)
    assert "ranks among outcome 'identifed' of 'identify', which that decision never gives" in str(err)
    assert "did you mean 'identified'" in str(err)
    assert err.location is not None and err.location.line == line_of(text, "among:")


def test_a_collect_table_label_joins_only_outcomes_of_its_rows(tmp_path: Path) -> None:
    table = (
        HEAD
        + """\
decisions:
  kinds:
    kind: table
    title: {zh: 类型, en: Kinds}
    hit_policy: COLLECT
    rows: [car]
    default: none
    labels:
      excluded+none: {zh: 组合, en: combined}
"""
    )
    # 'none' is the default, given only when no row holds: a table never joins it with a row's outcome.
    err = load_error(tmp_path, table)
    assert "a label for 'excluded+none', which a COLLECT table never gives" in str(err)
    assert err.hint == "outcomes of its rows: excluded"
    err = load_error(tmp_path, table.replace("excluded+none", "excluded+nope"))
    assert "a label for 'excluded+nope'" in str(err)


def test_a_variant_may_leave_the_label_of_a_rule_it_takes_out(tmp_path: Path) -> None:
    rs = load_ruleset(write(tmp_path, ruleset(tmp_path)))
    variant = rs.without_rule("car")
    assert "excluded" in variant.decisions["identify"].labels


# Row 22: free text that is not text


@pytest.mark.parametrize(
    "where, old, new",
    [
        ("unit", "    unit: 元\n", "    unit: {zh: 元}\n"),
        ("description", 'version: "1"\n', 'version: "1"\ndescription: {zh: 说明}\n'),
    ],
)
def test_free_text_that_is_a_mapping_or_a_list_is_a_load_error(tmp_path: Path, where: str, old: str, new: str) -> None:
    text = ruleset(tmp_path).replace(old, new, 1)
    assert text != ruleset(tmp_path)
    err = load_error(tmp_path, text)
    assert "is free text: write it as one string" in str(err), where
    assert err.location is not None and err.location.line == line_of(text, new.strip().split("\n")[-1].strip())


@pytest.mark.parametrize(
    "where, old, new, message",
    [
        ("parameter", "    unit: 元\n", "    unit: 元\n    note: [a, b]\n", "is text, or {zh: …, en: …}: not a list"),
        (
            "parameter value",
            "        value: 4000\n",
            "        value: 4000\n        note: {zh: 说明}\n",
            "needs 'note' with 'zh' and 'en' text",
        ),
        (
            "decision",
            "    kind: eligibility\n",
            "    kind: eligibility\n    note: {en: n}\n",
            "needs 'note' with 'zh' and 'en' text",
        ),
        (
            "rule",
            "    outcome: excluded\n",
            "    outcome: excluded\n    note: {zh: 说明, en: a, b}\n",
            "has a key 'b' besides 'zh' and 'en'",
        ),
    ],
)
def test_a_note_is_text_or_both_languages(tmp_path: Path, where: str, old: str, new: str, message: str) -> None:
    text = ruleset(tmp_path).replace(old, new, 1)
    assert text != ruleset(tmp_path)
    err = load_error(tmp_path, text)
    assert message in str(err), (where, str(err))
    assert err.location is not None and err.location.line == line_of(text, new.strip().split("\n")[-1].strip())


def test_a_note_in_both_languages_loads_and_a_bad_one_fails_check(tmp_path: Path, capsys) -> None:
    text = ruleset(tmp_path).replace(
        "    outcome: excluded\n", "    outcome: excluded\n    note: {zh: 说明, en: note}\n"
    )
    assert main(["check", str(write(tmp_path, text))]) == 0
    capsys.readouterr()
    text = text.replace("note: {zh: 说明, en: note}", "note: {zh: 说明}")
    path = write(tmp_path, text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line_of(text, 'note:')}:" in err and "'zh' and 'en'" in err and "Traceback" not in err


# Row 23: a parameter no rule reads


def test_a_parameter_no_rule_reads_is_a_load_warning(tmp_path: Path, capsys) -> None:
    unread = """\
  grant:
    title: {zh: 补助, en: Grant}
    unit: 元
    values:
      - from: 2020-01-01
        value: 500
        cite: {source: S1, line: 1, quote: 收入线}
"""
    text = ruleset(tmp_path).replace("rules:\n", unread + "rules:\n", 1)
    path = write(tmp_path, text)
    rs = load_ruleset(path)
    assert [w.message for w in rs.warnings] == ["parameter 'grant' is read by no rule: changing it changes no decision"]
    assert rs.warnings[0].location.line == line_of(text, "grant:")
    assert main(["check", str(path)]) == 0
    assert "warning: parameter 'grant' is read by no rule" in capsys.readouterr().err
    household = povrules.parse_household({"id": "H1", "income": {"per_capita_net": "3000"}})
    with pytest.raises(EvaluationError, match="changes parameter 'grant', which no rule of ruleset 'test' reads"):
        povrules.compare(rs, rs.with_parameter("grant", 800), [household], "identify", as_of=date(2021, 1, 1))
    with pytest.raises(EvaluationError, match="no rule of ruleset 'test' reads"):
        povrules.sweep(rs, "grant", [600, 700], [household], "identify", as_of=date(2021, 1, 1))
    # A parameter that a rule reads compares as before, even when nothing changes.
    same = povrules.compare(rs, rs.with_parameter("line", 4000), [household], "identify", as_of=date(2021, 1, 1))
    assert same.changed == 0


def test_every_parameter_of_every_shipped_ruleset_is_read() -> None:
    """An amount or a line that no rule reads changes nothing when changed (the amount schedules once were)."""
    warned = {
        path.parent.name: [w.message for w in load_ruleset(path.parent).warnings]
        for path in sorted((REPO / "rulesets").glob("*/ruleset.yaml"))
    }
    assert {name: messages for name, messages in warned.items() if messages} == {}


# Row 10: NaN and infinity; wrong argument types


@pytest.fixture(scope="module")
def weishan() -> povrules.Ruleset:
    return load_ruleset(REPO / "rulesets" / "cn-yunnan-weishan")


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        Decimal("NaN"),
        Decimal("Infinity"),
        [Decimal(1), Decimal("-Infinity")],
    ],
)
def test_with_parameter_refuses_what_is_no_number(tmp_path: Path, value: object) -> None:
    rs = load_ruleset(write(tmp_path, ruleset(tmp_path)))
    with pytest.raises(RulesetError, match="finite"):
        rs.with_parameter("line", value)
    with pytest.raises(RulesetError, match="finite"):
        rs.with_overlay({"parameters": {"line": {"set": {"value": value}}}})
    assert rs.with_parameter("line", 4500.5).parameters["line"].values[-1].value == Decimal("4500.5")


def test_a_yaml_nan_or_infinity_is_refused_at_its_line(tmp_path: Path) -> None:
    for written in (".nan", ".inf", "-.inf", "!!float inf"):
        text = ruleset(tmp_path).replace("value: 4000", f"value: {written}")
        err = load_error(tmp_path, text)
        assert err.location is not None and err.location.line == line_of(text, f"value: {written}")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda rs: rs.with_parameter(3, 1), "name: expected a parameter name"),
        (lambda rs: rs.with_parameter("line", 1, from_="2021-01-01"), "from_: expected a date"),
        (lambda rs: rs.with_parameter("line", 1, note=5), "note: expected text"),
        (lambda rs: rs.with_rule(None, when="true"), "rule_id: expected a rule id"),
        (lambda rs: rs.without_rule(["car"]), "rule_id: expected a rule id"),
        (lambda rs: rs.with_overlay(42), "overlay: expected a mapping"),
    ],
)
def test_wrong_argument_types_are_type_errors(tmp_path: Path, call, message: str) -> None:
    rs = load_ruleset(write(tmp_path, ruleset(tmp_path)))
    with pytest.raises(TypeError, match=message):
        call(rs)


# Row 11: a loaded ruleset is immutable


def test_a_loaded_ruleset_cannot_be_changed_in_place(weishan: povrules.Ruleset) -> None:
    name = next(iter(weishan.parameters))
    rule = next(iter(weishan.rules))
    decision = next(iter(weishan.decisions))
    attempts = [
        lambda: weishan.parameters.__setitem__(name, None),
        lambda: weishan.parameters.pop(name),  # type: ignore[attr-defined]
        lambda: weishan.rules.__setitem__(rule, None),
        lambda: weishan.rules.__delitem__(rule),
        lambda: weishan.decisions.__setitem__(decision, None),
        lambda: weishan.derived.__setitem__("x", None),
        lambda: weishan.sources.clear(),  # type: ignore[attr-defined]
        lambda: weishan.decisions[decision].labels.__setitem__("x", None),
        lambda: weishan.traced.rules.__setitem__(rule, None),
        lambda: weishan.values_as_of(date(2016, 6, 30)).__setitem__(name, None),
        lambda: weishan.parameters_as_of(date(2016, 6, 30)).__setitem__(name, None),
    ]
    for attempt in attempts:
        with pytest.raises((TypeError, AttributeError)):
            attempt()
    with pytest.raises(AttributeError):
        weishan.parameters = {}  # type: ignore[misc]


def test_an_immutable_ruleset_still_pickles_and_makes_variants(weishan: povrules.Ruleset) -> None:
    again = pickle.loads(pickle.dumps(weishan))
    assert again.digest == weishan.digest and dict(again.parameters).keys() == dict(weishan.parameters).keys()
    name = "motor_vehicle_kinds"
    variant = weishan.with_parameter(name, ["car"])
    assert variant.parameters[name].values[-1].value == ("car",)
    assert weishan.parameters[name].values[-1].value != ("car",) and variant.digest != weishan.digest
    assert pickle.loads(pickle.dumps(variant)).digest == variant.digest


# Row 18: citations outside the sources folder


@pytest.mark.parametrize(
    "file", ["../../../../etc/passwd", "/etc/passwd", "..\\\\..\\\\etc\\\\passwd", "a/../../b.txt"]
)
def test_a_source_file_outside_the_sources_folder_is_a_load_error(tmp_path: Path, file: str) -> None:
    text = ruleset(tmp_path).replace("file: policy.txt", f"file: '{file}'")
    err = load_error(tmp_path, text)
    assert "a source file is named relative to the sources folder" in str(err)
    assert err.location is not None and err.location.line == line_of(text, "file:")


def test_lint_reads_nothing_outside_its_sources_folder(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("收入线4000元\n", encoding="utf-8")
    (sources / "link.txt").symlink_to(outside)
    (sources / "policy.txt").write_text("收入线4000元\n", encoding="utf-8")
    (sources / "latin1.txt").write_bytes("收入线".encode("gb18030"))
    assert source_path(sources, "policy.txt") == (sources / "policy.txt").resolve()
    assert source_path(sources, "link.txt") is None  # a link leading out of the folder
    assert source_path(sources, "../secret.txt") is None and source_path(sources, str(outside)) is None
    rs = load_ruleset(write(tmp_path, ruleset(tmp_path).replace("file: policy.txt", "file: link.txt")))
    problems = check_citations(rs, sources)
    assert problems and all("is outside" in p.message for p in problems)
    rs = load_ruleset(write(tmp_path, ruleset(tmp_path).replace("file: policy.txt", "file: latin1.txt")))
    assert all("cannot be read as UTF-8" in p.message for p in check_citations(rs, sources))


# An unquoted comma in a flow mapping makes a third key and cuts the English text


def test_a_title_cut_by_an_unquoted_comma_is_a_load_error_at_the_extra_key(tmp_path: Path) -> None:
    text = ruleset(tmp_path).replace("en: Income line}", "en: Income line, per head}")
    error = load_error(tmp_path, text)
    assert error.location.line == line_of(text, "per head")
    assert error.location.column == text.splitlines()[error.location.line - 1].index("per head") + 1
    assert "'per head' besides 'zh' and 'en'" in str(error) and "quote the text" in str(error)


def test_the_same_title_quoted_loads_whole(tmp_path: Path) -> None:
    text = ruleset(tmp_path).replace("en: Income line}", 'en: "Income line, per head"}')
    assert load_ruleset(write(tmp_path, text)).parameters["line"].title.en == "Income line, per head"
