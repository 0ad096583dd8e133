"""Strict facts: what careless or hostile input is refused, and how the refusal reads.

Each test names the kind of input it guards against. Facts are tried both as JSON text and as
decoded JSON (the mapping path's form), which must be refused alike.
"""

from __future__ import annotations

import json
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

import povrules
from povrules.batch import BatchError, decide_caseload
from povrules.canonical import facts_digest, facts_json
from povrules.cli import main
from povrules.errors import FactsError, JurisdictionWarning
from povrules.facts import encoding_problem, parse_date, parse_facts, parse_household

ROOT = Path(__file__).resolve().parent.parent
WEISHAN = ROOT / "rulesets" / "cn-yunnan-weishan"
LINGSHOU = ROOT / "rulesets" / "cn-hebei-lingshou"


def refused(facts: dict[str, Any], subject: str = "household") -> list[FactsError]:
    """The errors for ``facts`` as JSON text and as decoded JSON; both must refuse them."""
    errors = []
    for form in (json.dumps(facts, ensure_ascii=False), facts):
        with pytest.raises(FactsError) as caught:
            parse_facts(form, subject)
        errors.append(caught.value)
    assert [e.problems for e in errors[:1]] == [e.problems for e in errors[1:]]
    return errors


def one_problem(facts: dict[str, Any], subject: str = "household") -> tuple[str, str, str | None]:
    (problem,) = refused(facts, subject)[0].problems
    return problem.path, problem.expected, problem.given


# Row 12: no coercion of JSON types.


@pytest.mark.parametrize(
    "facts, path, given",
    [
        ({"members": [{"age": True}]}, "members[0].age", "true"),
        ({"members": [{"age": "58"}]}, "members[0].age", '"58"'),
        ({"members": [{"age": 58.0}]}, "members[0].age", "58.0"),
        ({"members": [{"age": "５８"}]}, "members[0].age", '"５８"'),
        ({"registration": {"dibao": "false"}}, "registration.dibao", '"false"'),
        ({"registration": {"dibao": 0}}, "registration.dibao", "0"),
        ({"months_absent": False}, "months_absent", "false"),
        ({"village": 12}, "village", "12"),
    ],
    ids=["age true", "age text", "age float", "age full-width", "bool text", "bool number", "int false", "text number"],
)
def test_a_facts_json_type_is_never_converted(facts, path, given):
    got_path, _, got_given = one_problem({"id": "H1", **facts})
    assert (got_path, got_given) == (path, given)


@pytest.mark.parametrize(
    "value",
    [
        0,
        1467244800,
        "20160630",
        "2016-W26-4",
        "2016-182",
        "２０１６-０６-３０",
        "2016-06-30T00:00:00",
        "2016-6-30",
        " 2016-06-30",
    ],
)
def test_a_date_is_text_of_the_form_yyyy_mm_dd_only(value):
    path, expected, _ = one_problem({"id": "H1", "registration": {"registered_on": value}})
    assert path == "registration.registered_on" and "YYYY-MM-DD" in expected


def test_a_judgement_takes_a_boolean_and_a_strict_date():
    judged = {"value": True, "by": "村第一书记 王某", "on": "2021-03-01"}
    assert (
        one_problem({"id": "H1", "assessments": {"income_stable": {**judged, "value": "true"}}})[0]
        == "assessments.income_stable.value"
    )
    assert (
        one_problem({"id": "H1", "assessments": {"income_stable": {**judged, "on": 0}}})[0]
        == "assessments.income_stable.on"
    )
    facts = parse_household({"id": "H1", "assessments": {"income_stable": {**judged, "evidence": ["走访记录"]}}})
    assert facts.assessments.income_stable.evidence == ("走访记录",)


@pytest.mark.parametrize("value", [True, "1E+3", "１０００", "1 000", "1,000", "NaN", "Infinity", "0x10", ""])
def test_an_amount_is_a_number_or_ascii_decimal_text(value):
    path, expected, _ = one_problem({"id": "H1", "income": {"wage": value}})
    assert path == "income.wage" and "decimal text" in expected


def test_a_percentage_is_stored_with_its_four_places():
    village = parse_facts({"id": "V1", "income": {"county_non_poor_villages_growth": "-0"}}, "village")
    assert facts_json(village)["income"]["county_non_poor_villages_growth"] == "0.0000"
    village = parse_facts('{"id":"V1","income":{"county_non_poor_villages_growth":10.6}}', "village")
    assert facts_json(village)["income"]["county_non_poor_villages_growth"] == "10.6000"


def test_village_percentages_are_strict_too():
    path, _, _ = one_problem({"id": "V1", "income": {"county_non_poor_villages_growth": "1e1"}}, "village")
    assert path == "income.county_non_poor_villages_growth"
    assert one_problem({"id": "V1", "households": "12"}, "village")[0] == "households"


# Row 14: one amount, one form.


@pytest.mark.parametrize("written", ['"1000"', '"1000.00"', "1E+3", "1000", "1000.0", '"+1000"', "1e3"])
def test_equal_amounts_are_one_fact_with_one_digest(written):
    base = parse_household('{"id":"H1","income":{"wage":1000}}')
    facts = parse_household('{"id":"H1","income":{"wage":%s}}' % written)
    assert facts_json(facts) == {"id": "H1", "income": {"wage": "1000.00"}}
    assert facts_digest(facts) == facts_digest(base)


@pytest.mark.parametrize(
    "written, stored",
    [
        ('"-0"', "0.00"),
        ("-0", "0.00"),
        ("-0.0", "0.00"),
        ("0", "0.00"),
        ('"1234.5"', "1234.50"),
        ("0.1", "0.10"),
        ('"00012.3"', "12.30"),
        ("1234.56", "1234.56"),
    ],
)
def test_an_amount_is_stored_to_the_fen_without_exponent_or_sign(written, stored):
    facts = parse_household('{"id":"H1","income":{"wage":%s}}' % written)
    assert facts_json(facts)["income"]["wage"] == stored
    record = povrules.evaluate(
        facts, povrules.load_ruleset(WEISHAN), "identify_poor_household", as_of=date(2016, 6, 30)
    )
    from povrules.audit import make_record

    assert make_record(record)["facts"]["income"]["wage"] == stored


def test_a_negative_amount_is_still_refused():
    assert "greater than or equal to 0" in one_problem({"id": "H1", "income": {"wage": "-5"}})[1]


# Row 13: duplicate keys.


@pytest.mark.parametrize(
    "text, key",
    [
        ('{"id":"H1","id":"H2"}', '"id"'),
        ('{"id":"H1","members":[{"age":30,"age":31}]}', '"age"'),
        ('{"id":"H1","registration":{"dibao":true},"registration":{"dibao":false}}', '"registration"'),
        ('{"id":"H1", "village" :"a", "village":"b"}', '"village"'),  # a blank before one colon
        ('{"id":"H1","village":"a\\":","village":"b"}', '"village"'),  # text holding the marks of a key
        ('{"id" : "H1", "id" : "H2"}', '"id"'),
    ],
)
def test_a_key_given_twice_is_refused(text, key):
    for data in (text, text.encode()):
        with pytest.raises(FactsError) as caught:
            parse_household(data, "h.json")
        (problem,) = caught.value.problems
        assert problem.path == "(json)" and problem.given == f"{key} twice"
        assert str(caught.value).startswith("h.json: ")


@pytest.mark.parametrize(
    "text",
    [
        '{"id":"H1","village":"a\\":b"}',
        '{"id" : "H1" , "village" : "a"}',
        '{"id":"H1","members":[{"age":30},{"age":31}]}',
    ],
)
def test_keys_that_only_look_repeated_are_accepted(text):
    assert parse_household(text.encode()).id == "H1"


def test_a_key_given_twice_in_a_caseload_names_its_line(tmp_path):
    source = tmp_path / "dup.jsonl"
    source.write_bytes(b'{"id":"H1"}\n{"id":"H2","village":"a","village":"b"}\n')
    with pytest.raises(BatchError) as caught:
        decide_caseload(
            povrules.load_ruleset(WEISHAN),
            "identify_poor_household",
            source,
            as_of=date(2016, 6, 30),
            output=tmp_path / "out.jsonl",
        )
    assert caught.value.where == f"{source}:2" and '"village" twice' in str(caught.value)


# Row 15: encodings.


def test_a_utf8_byte_order_mark_is_skipped():
    assert parse_household(b'\xef\xbb\xbf{"id":"H1"}').id == "H1"
    assert parse_household('\ufeff{"id":"H1"}').id == "H1"


@pytest.mark.parametrize(
    "data, words",
    [
        ('{"id":"户1"}'.encode("gbk"), "GBK/GB18030"),
        ('{"id":"户1"}'.encode("gb18030"), "GBK/GB18030"),
        ('{"id":"H1"}'.encode("utf-16"), "UTF-16"),
        ('{"id":"H1"}'.encode("utf-32"), "UTF-32"),
        (b'{"id":"\xff\xff"}', "not UTF-8"),
    ],
)
def test_text_in_another_encoding_is_named_with_a_hint(data, words):
    with pytest.raises(FactsError) as caught:
        parse_household(data, "h.json")
    (problem,) = caught.value.problems
    assert problem.path == "(encoding)" and words in (problem.given or "") and "UTF-8" in (problem.given or "")
    assert "line 1 column 1" not in str(caught.value)
    assert encoding_problem(data) == problem.given


def test_utf8_text_has_no_encoding_problem():
    assert encoding_problem('{"id":"户1"}'.encode()) is None
    assert encoding_problem(b'\xef\xbb\xbf{"id":"H1"}') is None


def test_the_command_line_names_a_gbk_file(tmp_path, capsys):
    path = tmp_path / "h.json"
    path.write_bytes('{"id":"户1"}'.encode("gbk"))
    code = main(["decide", str(WEISHAN), "identify_poor_household", str(path), "--as-of", "2016-06-30"])
    err = capsys.readouterr().err
    assert code != 0 and "GBK/GB18030" in err and "iconv" in err


# Row 17: control characters in ids and names.


@pytest.mark.parametrize(
    "facts, path",
    [
        ({"id": "H1\nH2 被认定为贫困户"}, "id"),
        ({"id": "H1\r"}, "id"),
        ({"id": "H1", "members": [{"name": "张三\u001b[2J"}]}, "members[0].name"),
        ({"id": "H1", "members": [{"id": "m\t1"}]}, "members[0].id"),
        ({"id": "H1", "jurisdiction": "cn\u0085x"}, "jurisdiction"),
        (
            {"id": "H1", "assessments": {"income_stable": {"value": True, "by": "王某\n", "on": "2021-03-01"}}},
            "assessments.income_stable.by",
        ),
    ],
)
def test_ids_and_names_are_single_line(facts, path):
    got_path, expected, given = one_problem(facts)
    assert got_path == path and "one line" in expected
    assert "\n" not in str(refused(facts)[0])  # the error itself shows the text escaped


def test_a_village_id_is_single_line_too():
    assert one_problem({"id": "V1\nV2"}, "village")[0] == "id"


def test_a_note_may_span_lines():
    facts = parse_household(
        {
            "id": "H1",
            "five_looks": {"housing": {"assessed_on": "2021-03-01", "assessor": "王某", "note": "土木结构\n屋顶漏雨"}},
        }
    )
    assert facts.five_looks.housing.note == "土木结构\n屋顶漏雨"


# Row 5: a household of nobody.


def test_a_household_with_no_members_is_refused():
    path, expected, given = one_problem({"id": "H1", "members": []})
    assert (path, given) == ("members", "[]") and "at least one member" in expected
    assert parse_household({"id": "H1"}).members is None  # unknown members stay unknown


def test_a_household_with_no_members_is_refused_in_a_batch_at_its_line(tmp_path):
    source = tmp_path / "hh.jsonl"
    source.write_bytes(b'{"id":"H1","members":[{"age":40}]}\n\n{"id":"H2","members":[]}\n')
    with pytest.raises(BatchError) as caught:
        decide_caseload(
            povrules.load_ruleset(WEISHAN),
            "identify_poor_household",
            source,
            as_of=date(2016, 6, 30),
            output=tmp_path / "out.jsonl",
        )
    assert caught.value.where == f"{source}:3" and "at least one member" in str(caught.value)
    assert not (tmp_path / "out.jsonl").exists()


def test_a_date_past_the_calendar_names_the_line_and_the_household(tmp_path):
    lingshou = povrules.load_ruleset(LINGSHOU)
    judged = {"value": True, "by": "村第一书记 王某", "on": "2021-03-01"}
    household = {
        "id": "LS-9",
        "monitoring": {"status": "monitored", "income_stable_since": "9999-06-30"},
        "assessments": {"risk_eliminated": judged, "income_stable": judged},
    }
    source = tmp_path / "hh.jsonl"
    source.write_bytes(orjson.dumps({"id": "LS-1"}) + b"\n" + orjson.dumps(household) + b"\n")
    with pytest.raises(BatchError) as caught:
        decide_caseload(
            lingshou, "mark_risk_eliminated", source, as_of=date(2022, 6, 30), output=tmp_path / "out.jsonl"
        )
    assert caught.value.where == f"{source}:2"
    assert "household 'LS-9'" in str(caught.value) and "outside the calendar" in str(caught.value)


# Row 16: a judgement made after the decision date; a household of another jurisdiction.


def _exit_household(on: str) -> povrules.Household:
    return parse_household(
        {
            "id": "WS-1",
            "jurisdiction": "cn-yunnan-weishan",
            "rural_hukou": True,
            "members": [{"age": 40}],
            "registration": {"status": "registered_poor", "dibao": False},
            "guarantees": {
                "food_secure": True,
                "clothing_secure": True,
                "compulsory_education": True,
                "basic_medical": True,
                "housing_safe": True,
            },
            "assessments": {"reaches_exit_line": {"value": True, "by": "驻村工作队员 杨某", "on": on}},
        }
    )


def test_a_judgement_made_after_the_decision_date_is_refused():
    weishan = povrules.load_ruleset(WEISHAN)
    before = povrules.evaluate(_exit_household("2016-11-20"), weishan, "household_exit", as_of=date(2016, 12, 31))
    assert before.outcome  # decided: the judgement was made before the decision date
    for trace in (True, False):
        with pytest.raises(
            povrules.EvaluationError,
            match=r"hh\.assessments\.reaches_exit_line: judged on "
            r"2017-01-05, after the decision date 2016-12-31",
        ):
            povrules.evaluate(
                _exit_household("2017-01-05"), weishan, "household_exit", as_of=date(2016, 12, 31), trace=trace
            )
    # On the day itself the judgement is known.
    povrules.evaluate(_exit_household("2016-12-31"), weishan, "household_exit", as_of=date(2016, 12, 31))


def test_a_judgement_of_a_member_made_later_is_refused_too():
    plan4 = povrules.load_ruleset(ROOT / "rulesets" / "cn-hunan-county-plan4")
    burden = {"value": True, "by": "村医 李某", "on": "2022-03-01"}
    facts = parse_household(
        {"id": "HN-1", "members": [{"age": 60, "health": "chronic", "chronic_heavy_burden": burden}]}
    )
    p = povrules.plan(plan4, "focus_group")
    values, _ = p.rule_values(facts, date(2022, 6, 30))
    assert values[[r.id for r in p.rules].index("focus_chronic_heavy")] is True
    with pytest.raises(
        povrules.EvaluationError,
        match=r"m\.chronic_heavy_burden: judged on 2022-03-01, after the "
        r"decision date 2021-12-31",
    ):
        povrules.evaluate(facts, plan4, "focus_group", as_of=date(2021, 12, 31))


def test_a_household_of_another_jurisdiction_is_warned_about_once():
    weishan = povrules.load_ruleset(WEISHAN)
    p = povrules.plan(weishan, "identify_poor_household")
    elsewhere = parse_household({"id": "JS-1", "jurisdiction": "cn-jiangsu", "members": [{"age": 40}]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        povrules.evaluate(elsewhere, weishan, "identify_poor_household", as_of=date(2016, 6, 30))
        p.decide(elsewhere, date(2016, 6, 30))
        list(p.decide_each([elsewhere, elsewhere], date(2016, 6, 30)))
    found = [w for w in caught if issubclass(w.category, JurisdictionWarning)]
    assert len(found) == 1
    assert "'cn-jiangsu'" in str(found[0].message) and "'cn-yunnan-weishan'" in str(found[0].message)


def test_a_run_that_redacts_warns_of_a_jurisdiction_by_its_keyed_hash(tmp_path):
    # A household's jurisdiction is personal data: the warning of a redacting run does not show it.
    source = tmp_path / "hh.jsonl"
    source.write_text('{"id":"JS-1","jurisdiction":"cn-jiangsu-secret","members":[{"age":40}]}\n', encoding="utf-8")
    key = b"0123456789abcdef-warnings"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decide_caseload(
            povrules.load_ruleset(WEISHAN),
            "identify_poor_household",
            source,
            as_of=date(2016, 6, 30),
            output=tmp_path / "out.jsonl",
            write="record",
            redact_key=key,
            workers=1,
        )
    shown = [str(w.message) for w in caught if issubclass(w.category, JurisdictionWarning)]
    assert len(shown) == 1 and "hmac-sha256:" in shown[0] and "secret" not in shown[0]
    assert "'cn-yunnan-weishan'" in shown[0]


def test_a_redacted_record_replays_without_a_jurisdiction_warning():
    # Its jurisdiction is a keyed hash, which names no place to compare; the decision was warned about.
    from povrules.audit import RulesetStore, make_record, record_json, replay

    elsewhere = parse_household({"id": "JS-1", "jurisdiction": "cn-jiangsu", "members": [{"age": 40}]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decision = povrules.evaluate(
            elsewhere, povrules.load_ruleset(WEISHAN), "identify_poor_household", as_of=date(2016, 6, 30)
        )
    assert [w for w in caught if issubclass(w.category, JurisdictionWarning)]
    text = record_json(make_record(decision, redact_key=b"0123456789abcdef-warnings"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", JurisdictionWarning)
        assert replay(text, RulesetStore(ROOT / "rulesets")).identical


@pytest.mark.parametrize("place", ["cn-yunnan-weishan", "cn-yunnan-weishan-maojie", None])
def test_a_household_within_the_jurisdiction_is_not_warned_about(place):
    weishan = povrules.load_ruleset(WEISHAN)
    facts = parse_household({"id": "WS-1", "jurisdiction": place, "members": [{"age": 40}]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", JurisdictionWarning)
        povrules.evaluate(facts, weishan, "identify_poor_household", as_of=date(2016, 6, 30))


def test_a_national_ruleset_holds_in_every_province():
    national = povrules.load_ruleset(ROOT / "rulesets" / "cn-national")
    facts = parse_household({"id": "WS-1", "jurisdiction": "cn-yunnan-weishan", "members": [{"age": 40}]})
    decision = next(iter(national.decisions))
    with warnings.catch_warnings():
        warnings.simplefilter("error", JurisdictionWarning)
        povrules.evaluate(facts, national, decision, as_of=date(2020, 6, 30))


# Row 19: wrong arguments.


@pytest.mark.parametrize("ruleset", [str(WEISHAN), WEISHAN, None, {"id": "x"}])
def test_a_ruleset_that_is_not_loaded_is_a_type_error(ruleset):
    facts = parse_household({"id": "H1"})
    for call in (
        lambda: povrules.evaluate(facts, ruleset, "identify_poor_household", as_of=date(2016, 6, 30)),
        lambda: povrules.evaluate_many([facts], ruleset, "identify_poor_household", as_of=date(2016, 6, 30)),
        lambda: povrules.plan(ruleset, "identify_poor_household"),
    ):
        with pytest.raises(TypeError, match="takes a Ruleset, not .*load_ruleset"):
            call()


def test_facts_that_are_not_validated_and_dates_that_are_not_days_are_type_errors():
    weishan = povrules.load_ruleset(WEISHAN)
    with pytest.raises(TypeError, match="parse_household"):
        povrules.evaluate({"id": "H1"}, weishan, "identify_poor_household", as_of=date(2016, 6, 30))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="as_of"):
        povrules.evaluate(parse_household({"id": "H1"}), weishan, "identify_poor_household", as_of="2016-06-30")  # type: ignore[arg-type]


# Row 20: strict dates on the command line.


@pytest.mark.parametrize(
    "text", ["20160630", "2016-W26-4", "2016-182", "２０１６-０６-３０", "2016-06-31", "2016-6-30"]
)
def test_the_command_line_takes_yyyy_mm_dd_only(text, tmp_path, capsys):
    path = tmp_path / "h.json"
    path.write_text('{"id":"H1"}', encoding="utf-8")
    code = main(["decide", str(WEISHAN), "identify_poor_household", str(path), "--as-of", text])
    captured = capsys.readouterr()
    assert code != 0 and "--as-of: expected a date as YYYY-MM-DD" in captured.err and captured.out == ""


def test_parse_date_takes_yyyy_mm_dd_only():
    assert parse_date("2016-06-30") == date(2016, 6, 30)
    for text in ("20160630", "2016-W26-4", "2016-06-30T00:00", "2016-02-30"):
        with pytest.raises(ValueError):
            parse_date(text)


# The JSON Schema states what the model refuses.


@pytest.mark.parametrize(
    "facts",
    [
        {"id": "H1", "members": []},
        {"id": "H1\nH2"},
        {"id": "H1", "registration": {"registered_on": "20160630"}},
        {"id": "H1", "registration": {"dibao": "false"}},
        {"id": "H1", "members": [{"age": "58"}]},
        {"id": "H1", "income": {"wage": "1E+3"}},
    ],
)
def test_the_schema_refuses_what_the_model_refuses(facts):
    import jsonschema

    refused(facts)
    assert list(jsonschema.Draft202012Validator(povrules.household_schema()).iter_errors(facts))


def test_a_record_whose_household_id_holds_a_newline_is_refused():
    from povrules.audit import make_record
    from povrules.audit.record import RecordError, record_digest, verify_record

    facts = parse_household({"id": "H1", "members": [{"age": 40}]})
    decision = povrules.evaluate(
        facts, povrules.load_ruleset(WEISHAN), "identify_poor_household", as_of=date(2016, 6, 30)
    )
    record = make_record(decision)
    verify_record(record)
    # A record made from such facts by an earlier version: consistent digests, a forged line.
    forged = json.loads(json.dumps(record).replace('"H1"', '"H1\\n  \\u2192 identified"'))
    from povrules.canonical import sha256_digest

    forged["facts_digest"] = forged["trace"]["facts_digest"] = sha256_digest(forged["facts"])
    forged["digest"] = record_digest(forged)
    with pytest.raises(RecordError) as caught:
        verify_record(forged)
    assert "facts.id: expected text on one line" in str(caught.value)
    assert "trace.facts_id: expected text on one line" in str(caught.value)


@pytest.mark.parametrize(
    "text", [rb'{"id":"H1","village":"x","village":"\u0022:"}', rb'{"id":"H1","village":"\u003a","village":"\"\u003a"}']
)
def test_a_key_given_twice_is_found_whatever_its_text_escapes(text):
    with pytest.raises(FactsError, match='"village" twice'):
        parse_household(text)
