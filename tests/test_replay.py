"""Replay: a record decided again under the ruleset it names (from a store of versions or a git
revision) is confirmed, or its first divergence is named; a missing version is an error."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import povrules
from povrules.audit import (
    Divergence,
    Replay,
    ReplayError,
    RulesetStore,
    load_record,
    make_record,
    record_digest,
    record_json,
    replay,
    replay_with_current,
)
from povrules.errors import PovrulesError
from povrules.ruleset import RulesetDiff
from povrules.trace import leaf_conditions

REPO = Path(__file__).resolve().parent.parent
RULESETS = REPO / "rulesets"
EXAMPLES = REPO / "examples"
IDENTIFY = REPO / "tests" / "fixtures" / "engine" / "identify.yaml"
KEY = b"county-audit-key-0123456789abcdef"

SUBJECT_CASES = [
    ("cn-yunnan-weishan", "household", "cn-yunnan-weishan.jsonl", "identify_poor_household", date(2016, 6, 30)),
    ("cn-yunnan-weishan-village", "village", "cn-yunnan-weishan-village.jsonl", "one_higher", date(2016, 6, 30)),
    (
        "cn-yunnan-weishan-county",
        "county",
        "cn-yunnan-weishan-county.jsonl",
        "county_exit_incidence",
        date(2016, 6, 30),
    ),
]


@pytest.fixture(scope="module")
def shipped_store() -> RulesetStore:
    return RulesetStore(RULESETS)


# A store of two versions of one ruleset: version 2 raises the income line in force from 2021-07-01.

V1 = IDENTIFY.read_text(encoding="utf-8")
V2 = V1.replace('version: "1"', 'version: "2"').replace("value: 4500", "value: 5000")
assert V2.count("value: 5000") == 1


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ruleset.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def versions(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    _write(store / "test-identify" / "1", V1)
    _write(store / "test-identify" / "2", V2)
    return store


def _household(income: str = "4800", **extra):
    return povrules.parse_household(
        {
            "id": "h1",
            "rural_hukou": True,
            "income": {"per_capita_net": income},
            "assets": {"vehicles": []},
            "members": [{"age": 40, "is_public_official": False}],
            **extra,
        }
    )


def _record(ruleset: povrules.Ruleset, household=None, as_of: date = date(2021, 8, 1), **kw) -> dict:
    decision = povrules.evaluate(household or _household(), ruleset, "identify", as_of=as_of)
    return make_record(decision, **kw)


# Identical replays


@pytest.mark.parametrize("name, subject, example, decision, as_of", SUBJECT_CASES)
def test_replay_of_each_subject_is_identical(shipped_store, name, subject, example, decision, as_of):
    ruleset = povrules.load_ruleset(RULESETS / name)
    lines = (EXAMPLES / example).read_text(encoding="utf-8").splitlines()
    assert lines
    for line in lines:
        facts = povrules.parse_facts(line, subject)
        record = make_record(povrules.evaluate(facts, ruleset, decision, as_of=as_of))
        result = replay(record_json(record), shipped_store)
        assert isinstance(result, Replay)
        assert result.identical and result.divergence is None
        assert result.record_digest == result.replayed_digest == record["digest"]
        assert result.ruleset == {"id": ruleset.id, "version": ruleset.version, "digest": ruleset.digest}
        assert not result.with_current and result.changes is None
        assert record_json(result.replayed) == record_json(record)


def test_replay_of_a_redacted_record_with_an_id_number_is_identical(shipped_store, weishan):
    line = (EXAMPLES / "cn-yunnan-weishan.jsonl").read_text(encoding="utf-8").splitlines()[0]
    data = json.loads(line)
    data["members"][0].update(name="张三丰", id_number="53292919700101123X")
    household = povrules.parse_household(data)
    record = make_record(
        povrules.evaluate(household, weishan, "identify_poor_household", as_of=date(2016, 6, 30)), redact_key=KEY
    )
    assert record["redacted"] is True
    text = record_json(record)
    assert "53292919700101123X" not in text and "张三丰" not in text
    result = replay(text, shipped_store)
    assert result.identical, result.explain()
    assert result.replayed["redacted"] is True
    assert result.replayed["facts"]["members"][0]["id_number"] == record["facts"]["members"][0]["id_number"]
    assert result.replayed["facts"]["members"][0]["id_number"].startswith("hmac-sha256:")


def test_replay_explains_identity_in_both_languages(versions):
    record = _record(povrules.load_ruleset(versions / "test-identify" / "1"))
    result = replay(record, RulesetStore(versions))
    assert result.identical
    assert "Replay identical" in result.explain("en") and "test-identify 1" in result.explain("en")
    assert "重放一致" in result.explain("zh")


def test_replay_uses_the_recorded_version_not_the_newest(versions):
    v1 = povrules.load_ruleset(versions / "test-identify" / "1")
    record = _record(v1)
    assert record["outcome"] == "not_identified"  # 4800 is not below the 2021-07-01 line of 4500
    result = replay(record, RulesetStore(versions))
    assert result.identical
    assert result.ruleset["version"] == "1" and result.replayed["outcome"] == "not_identified"


# Missing versions


def test_a_version_missing_from_the_store_is_an_error_naming_id_version_digest_and_what_the_store_has(versions):
    v1 = povrules.load_ruleset(versions / "test-identify" / "1")
    record = _record(v1)
    v2_digest = povrules.load_ruleset(versions / "test-identify" / "2").digest
    # The store's folder for version 1 now holds version 2's content: the recorded digest is nowhere.
    shutil.rmtree(versions / "test-identify" / "1")
    _write(versions / "test-identify" / "1", V2)
    with pytest.raises(ReplayError) as caught:
        replay(record, RulesetStore(versions))
    message = str(caught.value)
    assert isinstance(caught.value, PovrulesError)
    assert f"ruleset test-identify 1 ({v1.digest}) is not in the store" in message
    assert "the store has versions: 2 (" + v2_digest[:19] in message
    assert message.count(v2_digest[:19]) == 2  # both folders hold version 2


def test_same_version_label_with_other_content_is_not_taken(versions):
    v1 = povrules.load_ruleset(versions / "test-identify" / "1")
    record = _record(v1)
    _write(versions / "test-identify" / "1", V1.replace("value: 4000", "value: 3900"))  # same id and version
    with pytest.raises(ReplayError, match=r"Its version 1 has another digest"):
        replay(record, RulesetStore(versions))


def test_an_unknown_ruleset_id_lists_the_ids_the_store_has(versions, shipped_store):
    record = _record(povrules.load_ruleset(versions / "test-identify" / "1"))
    with pytest.raises(ReplayError, match=r"the store has no version of test-identify \(it has cn-anhui-funan, "):
        replay(record, shipped_store)


def test_a_file_that_fails_to_load_is_reported_not_skipped(versions):
    record = _record(povrules.load_ruleset(versions / "test-identify" / "1"))
    shutil.rmtree(versions / "test-identify" / "1")
    _write(versions / "test-identify" / "broken", V1.replace("when: hh.rural_hukou", "when: hh.rural_hukuo"))
    store = RulesetStore(versions)
    assert len(store) == 1
    assert len(store.errors) == 1 and store.errors[0][0].endswith("broken/ruleset.yaml")
    assert "rural_hukuo" in store.errors[0][1]
    with pytest.raises(ReplayError) as caught:
        replay(record, store)
    assert "1 ruleset file(s) in the store could not be loaded and might hold it" in str(caught.value)
    assert "broken/ruleset.yaml" in str(caught.value)


def test_a_store_folder_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ReplayError, match="no such folder"):
        RulesetStore(tmp_path / "nowhere")


def test_extends_resolves_relative_to_each_file_in_the_store(tmp_path, shipped_store, weishan):
    store_dir = tmp_path / "store"
    shutil.copytree(RULESETS / "cn-national", store_dir / "cn-national")
    shutil.copytree(RULESETS / "cn-yunnan-weishan", store_dir / "cn-yunnan-weishan")
    store = RulesetStore(store_dir)
    assert weishan.digest in store
    assert store.get(weishan.digest).id == "cn-yunnan-weishan"
    assert {r.id for r in store.rulesets} == {"cn-national", "cn-yunnan-weishan"}


# Divergence


def test_replay_with_current_names_the_first_divergent_rule_and_condition_with_both_values(versions):
    v1 = povrules.load_ruleset(versions / "test-identify" / "1")
    v2 = povrules.load_ruleset(versions / "test-identify" / "2")
    record = _record(v1)
    result = replay_with_current(record, v2, store=RulesetStore(versions))
    assert result.with_current is True
    assert not result.identical
    d = result.divergence
    assert isinstance(d, Divergence)
    assert d.rule == "low_income"
    assert d.condition == "hh.income.per_capita_net < p.income_line"
    assert d.field == "trace.rules[0].condition[0]"
    assert d.recorded == {"result": "false", "left": "4800.00", "right": "4500", "op": "<"}
    assert d.replayed == {"result": "true", "left": "4800.00", "right": "5000", "op": "<"}
    assert result.replayed["outcome"] == "identified" and result.recorded_outcome == "not_identified"
    assert isinstance(result.changes, RulesetDiff)
    [changed] = result.changes.parameters_changed
    assert changed.name == "income_line"
    assert [(c.start, c.old.value, c.new.value) for c in changed.values_changed] == [("2021-07-01", "4500", "5000")]
    text = result.explain("en")
    assert text.startswith("Compared with the current ruleset (not a faithful replay)")
    assert (
        "first difference: rule low_income, condition hh.income.per_capita_net < p.income_line: "
        "recorded 4800.00 < 4500 → does not hold, replayed 4800.00 < 5000 → holds"
    ) in text
    assert "outcome: recorded not_identified, now identified" in text
    assert "~ parameter income_line:\n    ~ from 2021-07-01: 4500 元 → 5000 元" in text
    zh = result.explain("zh")
    assert zh.startswith("与当前规则集比较（不是忠实重放）")
    assert "记录为 4800.00 < 4500 → 不成立，重放为 4800.00 < 5000 → 成立" in zh
    assert "~ 参数 income_line:\n    ~ 2021-07-01 起: 4500 元 → 5000 元" in zh


def test_replay_with_current_before_the_change_agrees_except_for_the_ruleset(versions):
    v1 = povrules.load_ruleset(versions / "test-identify" / "1")
    v2 = povrules.load_ruleset(versions / "test-identify" / "2")
    record = _record(v1, as_of=date(2021, 3, 1))  # the 4000 line, the same in both versions
    result = replay_with_current(record, v2)
    assert result.identical and result.divergence is None and result.with_current
    assert result.record_digest != result.replayed_digest  # the ruleset named differs, nothing else
    assert result.changes is None  # no store given: what changed cannot be listed
    assert "cannot be listed" in result.explain()


def test_replay_with_current_when_a_rule_is_removed_names_it(versions):
    v1 = povrules.load_ruleset(versions / "test-identify" / "1")
    text = V1.replace("exceptions: [owns_car, public_official]", "exceptions: [owns_car]")
    v3 = povrules.load_ruleset(_write(versions / "test-identify" / "3", text.replace('version: "1"', 'version: "3"')))
    record = _record(v1, _household("3000", members=[{"age": 40, "is_public_official": True}]))
    assert record["outcome"] == "needs_deliberation"
    result = replay_with_current(record, v3, store=RulesetStore(versions))
    assert not result.identical
    assert result.divergence.rule == "public_official"
    assert result.divergence.recorded == "public_official" and result.divergence.replayed is None
    assert [d.name for d in result.changes.decisions_changed] == ["identify"]


def _edit_trace(record: dict, edit) -> dict:
    """Edit a record's trace and compute its digest again: a forgery that verifies on its own."""
    forged = copy.deepcopy(record)
    edit(forged)
    forged["digest"] = record_digest(forged)
    load_record(record_json(forged))  # it verifies
    return forged


def test_a_forged_operand_value_is_the_first_divergence(versions):
    record = _record(povrules.load_ruleset(versions / "test-identify" / "1"))

    def edit(r):
        r["trace"]["rules"][0]["condition"][0]["right"]["value"] = "5000"

    result = replay(_edit_trace(record, edit), RulesetStore(versions))
    assert not result.identical
    assert result.divergence.rule == "low_income"
    assert result.divergence.condition == "hh.income.per_capita_net < p.income_line"
    assert result.divergence.recorded["right"] == "5000" and result.divergence.replayed["right"] == "4500"
    assert "Replay differs" in result.explain() and "rule low_income" in result.explain()
    assert "首个不同之处：规则 low_income 的条件" in result.explain("zh")


def test_the_first_of_two_forged_differences_is_reported(versions):
    record = _record(povrules.load_ruleset(versions / "test-identify" / "1"))
    ids = [r["id"] for r in record["trace"]["rules"]]
    assert ids.index("rural") > ids.index("low_income")

    def edit(r):
        rules = r["trace"]["rules"]
        rules[ids.index("rural")]["condition"][0]["value"]["value"] = False
        rules[ids.index("rural")]["condition"][0]["result"] = "false"
        rules[ids.index("low_income")]["status"] = "met"

    result = replay(_edit_trace(record, edit), RulesetStore(versions))
    assert result.divergence.rule == "low_income"
    assert result.divergence.field == f"trace.rules[{ids.index('low_income')}].status"
    assert (result.divergence.recorded, result.divergence.replayed) == ("met", "not_met")


def test_a_forged_outcome_is_named_as_a_top_level_field(versions):
    record = _record(povrules.load_ruleset(versions / "test-identify" / "1"))

    def edit(r):
        r["outcome"] = r["trace"]["outcome"] = "identified"

    result = replay(_edit_trace(record, edit), RulesetStore(versions))
    assert result.divergence.field == "outcome" and result.divergence.rule is None
    assert (result.divergence.recorded, result.divergence.replayed) == ("identified", "not_identified")


def test_a_record_that_does_not_verify_is_refused_before_replay(versions):
    record = _record(povrules.load_ruleset(versions / "test-identify" / "1"))
    record["outcome"] = "identified"  # digest not recomputed
    with pytest.raises(PovrulesError, match="digest"):
        replay(record, RulesetStore(versions))


# Git revisions


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_from_git_replays_a_record_under_an_earlier_commit(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "auditor@example.org")
    _git(repo, "config", "user.name", "Auditor")
    _write(repo / "rulesets" / "test-identify", V1)
    _git(repo, "add", "rulesets")
    _git(repo, "commit", "-q", "-m", "version 1")
    first = _git(repo, "rev-parse", "HEAD")
    _write(repo / "rulesets" / "test-identify", V2)
    _git(repo, "commit", "-q", "-am", "version 2")

    v1 = povrules.load_ruleset(repo / "rulesets" / "test-identify")  # now version 2 on disk
    assert v1.version == "2"
    record = _record(povrules.load_ruleset(IDENTIFY))
    with pytest.raises(ReplayError, match=r"is not in the store \(git .* HEAD .*\); the store has versions: 2 \("):
        replay(record, RulesetStore.from_git(repo, "HEAD"))
    store = RulesetStore.from_git(repo, first)
    result = replay(record, store)
    assert result.identical
    assert store.versions("test-identify")[0][0] == "1"
    assert store.versions("test-identify")[0][2] == f"{first}:rulesets/test-identify/ruleset.yaml"
    assert replay(record, RulesetStore.from_git(repo, "HEAD~1")).identical


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_from_git_with_an_unknown_revision_or_path_is_an_error(tmp_path):
    repo = tmp_path / "repo"
    _write(repo / "rulesets" / "x", V1)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "auditor@example.org")
    _git(repo, "config", "user.name", "Auditor")
    _git(repo, "add", "rulesets")
    _git(repo, "commit", "-q", "-m", "one")
    with pytest.raises(ReplayError, match="cannot read revision 'no-such-rev'"):
        RulesetStore.from_git(repo, "no-such-rev")
    with pytest.raises(ReplayError, match="--upload-pack"):
        RulesetStore.from_git(repo, "--upload-pack=touch pwned")  # an option-like revision is only a name
    assert not (repo / "pwned").exists()
    with pytest.raises(ReplayError, match="'elsewhere'"):
        RulesetStore.from_git(repo, "HEAD", path="elsewhere")


def test_a_record_from_another_engine_version_names_the_engine_field(versions):
    record = _record(povrules.load_ruleset(versions / "test-identify" / "1"))

    def edit(r):
        r["engine"] = dict(r["engine"], version="0.0.1")
        r["trace"]["engine"] = dict(r["engine"])

    result = replay(_edit_trace(record, edit), RulesetStore(versions))
    assert not result.identical
    assert result.divergence.field == "engine" and result.divergence.rule is None
    assert result.divergence.recorded["version"] == "0.0.1"
    assert result.divergence.replayed["version"] == povrules.__version__


def test_replay_to_dict_is_json_ready(versions):
    v1 = povrules.load_ruleset(versions / "test-identify" / "1")
    v2 = povrules.load_ruleset(versions / "test-identify" / "2")
    document = replay_with_current(_record(v1), v2, store=RulesetStore(versions)).to_dict()
    assert json.loads(json.dumps(document)) == document
    assert document["with_current"] is True and document["identical"] is False
    assert document["outcome"] == {"recorded": "not_identified", "replayed": "identified"}
    assert document["divergence"]["rule"] == "low_income" and document["divergence"]["where"] == []
    assert document["changes"]["parameters"]["changed"][0]["name"] == "income_line"


def test_a_divergence_in_a_condition_over_list_elements_names_the_element(shipped_store, weishan):
    line = (EXAMPLES / "cn-yunnan-weishan.jsonl").read_text(encoding="utf-8").splitlines()[0]
    record = make_record(
        povrules.evaluate(povrules.parse_household(line), weishan, "identify_poor_household", as_of=date(2016, 6, 30))
    )
    places = [
        (i, place, condition)
        for i, rule in enumerate(record["trace"]["rules"])
        for place, condition in leaf_conditions(rule)
        if condition.get("where")
    ]
    assert places
    i, place, condition = places[0]
    flipped = {"true": "false", "false": "true"}[condition["result"]]

    def edit(r):
        _at(r["trace"]["rules"][i], place)["result"] = flipped

    result = replay(_edit_trace(record, edit), shipped_store)
    d = result.divergence
    assert d.field == f"trace.rules[{i}].{place}"
    assert d.rule == record["trace"]["rules"][i]["id"] and d.condition == condition["expr"]
    assert d.where == tuple(condition["where"]) and d.where[0].startswith("hh.")
    assert (d.recorded["result"], d.replayed["result"]) == (flipped, condition["result"])
    assert f"(for {d.where[0]}" in d.explain("en") and f"（对 {d.where[0]}" in d.explain("zh")


def _at(entry: dict, place: str) -> dict:
    """The part of a trace's rule entry at ``place`` (as :func:`povrules.trace.leaf_conditions` names it)."""
    found: Any = entry
    for name, index in re.findall(r"(\w+)\[(\d+)\]", place):
        found = found[name][int(index)]
    return found


def test_a_v1_record_still_loads_verifies_and_replays_as_v1(shipped_store, weishan):
    line = (EXAMPLES / "cn-yunnan-weishan.jsonl").read_text(encoding="utf-8").splitlines()[0]
    decision = povrules.evaluate(
        povrules.parse_household(line), weishan, "identify_poor_household", as_of=date(2016, 6, 30)
    )
    text = record_json(make_record(decision, version=1))
    assert load_record(text)["schema"] == "povrules.record.v1"
    result = replay(text, shipped_store)
    assert result.identical and result.replayed["schema"] == "povrules.record.v1"
