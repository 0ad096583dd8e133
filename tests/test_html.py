"""HTML views of decisions and rulesets (povrules.html).

The views are parsed with the standard library's HTMLParser into a small tree, so the
tests check structure (balanced tags, one trace entry per rule tried, classes on the
rows that failed) rather than only the presence of words.
"""

from __future__ import annotations

import json
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import povrules
from povrules.html import CSS, HTML, badge, citation, decision_html, esc, ruleset_html, table, tag, words
from povrules.trace import to_trace

REPO = Path(__file__).resolve().parent.parent
RULESETS = REPO / "rulesets"
EXAMPLES = REPO / "examples"
WEISHAN_DAY = date(2016, 6, 30)
HUNAN_DAY = date(2021, 6, 30)
VOID = {"meta", "br", "hr", "img", "link", "wbr", "input", "col", "area", "base", "source"}


# A small tree of the parsed markup.


class Node:
    def __init__(self, name: str, attrs: dict[str, str | None], parent: Node | None):
        self.name, self.attrs, self.parent = name, attrs, parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> list[Node]:
        out = []
        for child in self.children:
            if isinstance(child, Node):
                out.append(child)
                out.extend(child.walk())
        return out

    def find_all(self, name: str | None = None, cls: str | None = None) -> list[Node]:
        return [n for n in self.walk() if (name is None or n.name == name) and (cls is None or cls in n.classes)]

    def find(self, name: str | None = None, cls: str | None = None) -> Node:
        found = self.find_all(name, cls)
        assert found, f"no <{name or '*'}> with class {cls!r}"
        return found[0]

    def children_named(self, name: str) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node) and c.name == name]


class Collector(HTMLParser):
    """Builds a Node tree and records every tag that does not close in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.current = self.root
        self.errors: list[str] = []
        self.declarations: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.declarations.append(decl)

    def handle_starttag(self, name: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(name, dict(attrs), self.current)
        self.current.children.append(node)
        if name not in VOID:
            self.current = node

    def handle_startendtag(self, name: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(name, dict(attrs), self.current))

    def handle_endtag(self, name: str) -> None:
        if name in VOID:
            return
        if self.current.name != name:
            self.errors.append(f"</{name}> closes <{self.current.name}>")
            return
        self.current = self.current.parent or self.root

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(markup: str) -> Node:
    collector = Collector()
    collector.feed(markup)
    collector.close()
    assert collector.errors == [], collector.errors
    assert collector.current is collector.root, f"<{collector.current.name}> left open"
    return collector.root


def view(view_html: HTML) -> Node:
    """The view's root element, checked to be balanced."""
    root = parse(str(view_html))
    (div,) = [c for c in root.children if isinstance(c, Node) and c.name == "div"]
    return div


# Fixtures: real rulesets and households.


@pytest.fixture(scope="module")
def weishan() -> povrules.Ruleset:
    return povrules.load_ruleset(RULESETS / "cn-yunnan-weishan")


@pytest.fixture(scope="module")
def hunan() -> povrules.Ruleset:
    return povrules.load_ruleset(RULESETS / "cn-hunan-county-plan4")


def _examples(name: str) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in (EXAMPLES / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: row for row in rows}


@pytest.fixture(scope="module")
def weishan_households() -> dict[str, dict[str, Any]]:
    return _examples("cn-yunnan-weishan.jsonl")


def identify(ruleset: povrules.Ruleset, data: dict[str, Any], **kw: Any) -> povrules.Decision:
    household = povrules.parse_household(json.dumps(data, ensure_ascii=False))
    return povrules.evaluate(household, ruleset, "identify_poor_household", as_of=WEISHAN_DAY, **kw)


@pytest.fixture(scope="module")
def identified(weishan, weishan_households) -> povrules.Decision:
    decision = identify(weishan, weishan_households["WS-0102"])
    assert decision.outcome == "identified"
    return decision


@pytest.fixture(scope="module")
def excluded(weishan, weishan_households) -> povrules.Decision:
    decision = identify(weishan, weishan_households["WS-0107"])
    assert decision.outcome == "excluded"
    assert set(decision.reasons) == {"wubulu_urban_commodity_housing", "wubulu_public_official"}
    return decision


@pytest.fixture(scope="module")
def undetermined(weishan, weishan_households) -> povrules.Decision:
    data = json.loads(json.dumps(weishan_households["WS-0102"]))
    del data["assessments"]["among_poorest"]  # 最贫困 is a criterion: without the judgement nothing is decided
    decision = identify(weishan, data)
    assert decision.outcome == "undetermined"
    assert decision.missing == ("hh.assessments.among_poorest",)
    return decision


HUNAN_EXITED = {
    "id": "exited-1",
    "rural_hukou": True,
    "registration": {"status": "exited"},
    "income": {"per_capita_net": "6000.00"},
    "assessments": {"return_risk": {"value": True, "by": "村第一书记 王某", "on": "2021-05-10"}},
}


def monitoring(ruleset: povrules.Ruleset, income: str) -> povrules.Decision:
    data = json.loads(json.dumps(HUNAN_EXITED))
    data["income"]["per_capita_net"] = income
    data["assessments"]["poverty_risk"] = {"value": False, "by": "村第一书记 王某", "on": "2021-05-10"}
    return povrules.evaluate(povrules.parse_household(data), ruleset, "monitoring_type", as_of=HUNAN_DAY)


# The decision view.


def test_decision_view_is_balanced_and_says_the_outcome_in_words(excluded):
    cases = (
        ("zh", "五不录排除", "建档立卡贫困户识别"),
        ("en", "excluded by the five exclusions", "Identification as a registered poor household"),
    )
    for lang, label, title in cases:
        root = view(decision_html(excluded, lang))
        assert {"pv", "pv-decision"} <= root.classes
        assert root.attrs["lang"] == ("zh-CN" if lang == "zh" else "en")
        assert title in root.find("h3").text()
        outcome = root.find("span", "pv-badge")
        assert label in outcome.text()
        assert "pv-no" in outcome.classes and "✘" in outcome.text()  # the mark reads without colour
        meta = root.find("dl", "pv-meta")
        assert [dt.text() for dt in meta.children_named("dt")][:2] == [words(lang)["household"], words(lang)["as_of"]]
        dds = [dd.text() for dd in meta.children_named("dd")]
        assert dds[0] == "WS-0107" and dds[1] == "2016-06-30"


def test_decision_view_quotes_every_decisive_clause_with_its_citation(excluded):
    root = view(excluded.html("en"))
    reasons = root.find("ul", "pv-reasons").children_named("li")
    assert [li.attrs["data-rule"] for li in reasons] == list(excluded.reasons)
    for li in reasons:
        rule = excluded.ruleset.rules[li.attrs["data-rule"]]
        quote = li.find("blockquote", "pv-quote").text()
        assert rule.citation.quote in quote
        assert li.find("cite").text() == f"{rule.citation.file}:{rule.citation.line}"
    assert "有城镇商品房的不录" in root.find("ul", "pv-reasons").text()
    assert "002_f25b4d77f22fc531.txt:293" in root.find("ul", "pv-reasons").text()
    assert (
        reasons[0].find("div", "pv-source").text() == "“Reports on the campaign against poverty (six pieces)”, piece 3"
    )
    # the cited document's title is kept for a tooltip
    assert reasons[0].find("cite").attrs["title"] == excluded.ruleset.sources["S002"].title


def test_trace_is_collapsible_with_one_entry_per_rule_tried(excluded):
    root = view(excluded.html("zh"))
    details = root.find("details", "pv-trace")
    assert "open" not in details.attrs  # collapsed until clicked
    summary = details.children_named("summary")[0].text()
    assert f"{len(excluded.results)} 条规则" in summary
    entries = details.find("ol", "pv-rules").children_named("li")
    assert len(entries) == len(excluded.results) == 8
    assert [li.attrs["data-rule"] for li in entries] == [r.rule.id for r in excluded.results]
    assert [li.attrs["data-status"] for li in entries] == [r.status for r in excluded.results]
    assert not root.find_all("script")


def _leaves(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The leaf conditions of a v2 condition tree, in order."""
    found: list[dict[str, Any]] = []
    for node in nodes:
        children = list(node.get("items", [])) + [i for e in node.get("elements", []) for i in e.get("items", [])]
        found.extend(_leaves(children) if "items" in node or "elements" in node else [node])
    return found


def _entry(root: Node, rule_id: str) -> Node:
    return next(
        li
        for li in root.find("details", "pv-trace").find("ol").children_named("li")
        if li.attrs["data-rule"] == rule_id
    )


def test_trace_conditions_are_sentences_with_their_expression_and_failures_marked(excluded):
    trace = to_trace(excluded)
    root = view(excluded.html("en"))
    entries = root.find("details", "pv-trace").find("ol").children_named("li")
    failed = 0
    for li, rule in zip(entries, trace["rules"]):
        leaves = li.find_all("li", "pv-leaf")
        assert [leaf.attrs["title"] for leaf in leaves] == [c["expr"] for c in _leaves(rule["condition"])]
        for leaf, condition in zip(leaves, _leaves(rule["condition"])):
            text = leaf.text().strip()
            if condition["result"] == "false":
                failed += 1
                assert "pv-fail" in leaf.classes and text.startswith("✘") and text.endswith("→ does not hold")
            else:
                assert "pv-fail" not in leaf.classes
            if condition["result"] == "true":
                assert text.startswith("✔") and text.endswith("→ holds")
    assert failed >= 2  # WS-0107: a member who is no public official, no large business, …
    # leaves read as the text explanation says them: the judged fact says who judged it, no raw codes
    enterprise = _entry(root, "wubulu_large_enterprise")
    assert "judged by 村第一书记 李某 on 2016-03-15" in enterprise.find("li", "pv-leaf").text()
    housing = _entry(root, "wubulu_urban_commodity_housing").find("ul", "pv-cond").text()
    assert "commodity_housing" not in housing and "commercial housing (required: commercial housing)" in housing


def test_an_or_shows_any_of_and_the_parts_not_checked_greyed(excluded):
    for lang, word, rest in (("zh", "或", "其余1项未检查"), ("en", "Any of", "was not checked")):
        pool = _entry(view(excluded.html(lang)), "registration_pool")
        group = pool.find("li", "pv-or")
        assert word in group.find("span", "pv-group-head").text()
        items = group.find("ul", "pv-cond").children_named("li")
        assert [i.classes & {"pv-leaf", "pv-skipped"} for i in items] == [{"pv-leaf"}, {"pv-skipped"}]
        assert rest in items[1].text()
    assert "pv-skipped" in CSS and "font-style:italic" in CSS


def test_an_and_shows_all_of_with_each_part_nested(excluded):
    looks = _entry(view(excluded.html("zh")), "five_looks_recorded").find("li", "pv-and")
    assert "且" in looks.find("span", "pv-group-head").text()
    assert len(looks.find("ul", "pv-cond").children_named("li")) == 5


def test_a_not_shows_the_negation_over_the_condition_it_negates():
    ruleset = povrules.load_ruleset(RULESETS / "cn-hunan-leiyang")
    household = povrules.parse_household(
        {"id": "LY-1", "registration": {"status": "registered_poor"}, "credit_rated": False}
    )
    decision = povrules.evaluate(household, ruleset, "microcredit_eligibility", as_of=date(2016, 9, 30))
    assert decision.outcome == "no_credit_line"
    for lang, word, verdict in (("zh", "非", "不成立"), ("en", "Not", "does not hold")):
        group = _entry(view(decision.html(lang)), "no_valid_credit_line").find("li", "pv-not")
        head = group.find("span", "pv-group-head").text()
        assert head.startswith("✔") and word in head  # the negation holds …
        (inner,) = group.find("ul", "pv-cond").children_named("li")
        assert "pv-fail" in inner.classes and inner.text().strip().endswith(verdict)  # … as the part is false


def test_a_quantifier_names_each_member_it_looked_at(excluded):
    for lang, first, second in (("zh", "成员1（50岁）", "成员2（26岁）"), ("en", "member 1", "member 2")):
        official = _entry(view(excluded.html(lang)), "wubulu_public_official").find("li", "pv-any")
        members = official.find("ul", "pv-cond").children_named("li")
        assert [m.attrs["data-at"] for m in members] == ["hh.members[0]", "hh.members[1]"]
        names = [m.find("span", "pv-element").text() for m in members]
        assert first in names[0].lower() and second in names[1].lower()
        assert "pv-fail" in members[0].find("li", "pv-leaf").classes
        assert "pv-pass" in members[1].find("li", "pv-leaf").classes
        assert "hh.members" not in official.find("ul", "pv-cond").text()


def test_an_empty_list_is_said_to_be_empty(excluded):
    for lang, said in (("zh", "为空（没有任何一项）"), ("en", "is empty (there is none)")):
        vehicle = _entry(view(excluded.html(lang)), "wubulu_motor_vehicle")
        assert said in vehicle.find("li", "pv-empty").text()
        assert not vehicle.find_all("li", "pv-member")


def test_a_rule_names_its_source_by_title_and_section_before_file_and_line(excluded):
    for lang, named in (("zh", "《关于脱贫攻坚行动报告（六篇）》第3篇"), ("en", ", piece 3")):
        pool = _entry(view(excluded.html(lang)), "registration_pool")
        source = pool.find("span", "pv-source").text()
        assert source.endswith(named)
        assert pool.find("cite", "pv-cite").text() == "002_f25b4d77f22fc531.txt:269"


def test_rules_not_met_are_highlighted_and_marked(weishan, weishan_households):
    decision = identify(weishan, weishan_households["WS-0106"])  # judged not among the poorest
    assert decision.outcome == "not_identified"
    root = view(decision.html("zh"))
    entries = {li.attrs["data-rule"]: li for li in root.find("details").find("ol").children_named("li")}
    poorest = entries["among_poorest"]
    assert "pv-fail" in poorest.classes and "pv-decisive" in poorest.classes
    assert poorest.text().lstrip().startswith("✘") and "不满足" in poorest.text()
    assert "pv-fail" not in entries["five_looks_recorded"].classes
    assert "pv-pass" in entries["five_looks_recorded"].classes and "满足" in entries["five_looks_recorded"].text()
    # an exception that does not apply is the ordinary case: marked, not highlighted
    assert "pv-fail" not in entries["wubulu_motor_vehicle"].classes
    assert "不适用" in entries["wubulu_motor_vehicle"].text()


def test_undetermined_lists_the_missing_facts_and_the_possible_outcomes(undetermined):
    root = view(undetermined.html("zh"))
    badge_node = root.find("span", "pv-badge")
    assert "无法判定" in badge_node.text() and "pv-open" in badge_node.classes
    missing = root.find("ul", "missing")
    assert [li.text() for li in missing.children_named("li")] == ["最贫困 hh.assessments.among_poorest"]
    possible = root.find("p", "pv-possible").text()
    assert "识别为贫困户" in possible and "不识别" in possible
    assert root.find("p", "pv-reasons").text() == "没有起决定作用的规则"
    entry = next(
        li for li in root.find("details").find("ol").children_named("li") if li.attrs["data-rule"] == "among_poorest"
    )
    assert (
        "pv-unknown" in entry.classes and "尚缺事实" in entry.text() and "hh.assessments.among_poorest" in entry.text()
    )
    en = view(undetermined.html("en"))
    assert en.find("h4").text() == "Facts still needed"


def test_zh_and_en_differ_and_use_their_own_words(excluded):
    zh, en = str(excluded.html("zh")), str(excluded.html("en"))
    assert zh != en
    for word in ("决定依据", "逐条检查", "评估日", "五不录排除", "适用"):
        assert word in zh and word not in en
    for word in ("Decided by", "Trace", "As of", "excluded by the five exclusions", "applies"):
        assert word in en and word not in zh
    # the structure is the same in both languages
    assert [n.name for n in view(excluded.html("zh")).walk()] == [n.name for n in view(excluded.html("en")).walk()]


def test_the_word_tables_have_the_same_entries():
    assert set(words("zh")) == set(words("en"))
    assert all(words("zh")[k] != words("en")[k] for k in ("outcome", "trace", "reasons", "missing"))


def test_an_unknown_language_is_a_value_error_naming_the_choices(excluded, weishan):
    for call in (
        lambda: decision_html(excluded, "fr"),
        lambda: ruleset_html(weishan, "EN"),
        lambda: excluded.html("zh-CN"),
        lambda: words(""),
    ):
        with pytest.raises(ValueError, match="'zh', 'en'"):
            call()


def test_household_text_is_escaped(weishan, weishan_households):
    data = dict(weishan_households["WS-0102"], id="<script>alert('x')</script>&")
    decision = identify(weishan, data)
    markup = str(decision.html("en"))
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;" in markup
    root = view(decision.html("en"))
    assert not root.find_all("script")
    assert root.find("dl").children_named("dd")[0].text() == "<script>alert('x')</script>&"
    page = decision.html("zh").page()
    assert "<title>" in page and "<script" not in page and "&lt;script&gt;" in page


def test_judged_fact_provenance_is_escaped(weishan, weishan_households):
    data = json.loads(json.dumps(weishan_households["WS-0107"]))
    data["assets"]["has_large_enterprise"]["by"] = "<b>李某</b>"
    markup = str(identify(weishan, data).html("zh"))
    assert "<b>" not in markup and "&lt;b&gt;李某&lt;/b&gt;" in markup


def test_parameters_used_show_value_unit_date_and_citation(hunan):
    decision = monitoring(hunan, "6500.00")  # at the line: 以内 includes it
    assert decision.outcome == "unstable_exited"
    root = view(decision.html("zh"))
    params = root.find("table", "pv-params")
    rows = {
        tr.find("span", "pv-id").text(): [td.text() for td in tr.children_named("td")]
        for tr in params.find("tbody").children_named("tr")
    }
    name, value, start, cite = rows["[monitoring_line]"]
    assert name.startswith("监测基准线") and value == "6,500 元" and start == "2021-01-01"
    assert "6500元為基準線" in cite and cite.endswith("003_e3e29ff1be94684a.txt:276")
    # the comparison at the line, in words, with the line's date
    row = next(
        li for li in root.find("details").find("ol").children_named("li") if li.attrs["data-rule"] == "unstable_exited"
    )
    assert "人均纯收入 6,500元 不高于 监测基准线（家庭人均纯收入） 6,500元（2021-01-01起） → 成立" in row.text()


def test_table_decision_below_at_and_above_the_line(hunan):
    for income, outcome, tone in (
        ("6499.99", "unstable_exited", "pv-yes"),
        ("6500.00", "unstable_exited", "pv-yes"),
        ("6500.01", "not_monitored", "pv-no"),
    ):
        decision = monitoring(hunan, income)
        assert decision.outcome == outcome
        root = view(decision.html("en"))
        badge_node = root.find("span", "pv-badge")
        assert tone in badge_node.classes
        assert hunan.decisions["monitoring_type"].label(outcome, "en") in badge_node.text()
        entries = {li.attrs["data-rule"]: li for li in root.find("details").find("ol").children_named("li")}
        assert len(entries) == 3
        selected = "pv-pass" in entries["unstable_exited"].classes
        assert selected == (outcome == "unstable_exited")
        assert ("pv-fail" in entries["unstable_exited"].classes) == (not selected)
        income_row = next(
            li
            for li in entries["unstable_exited"].find_all("li", "pv-leaf")
            if "p.monitoring_line" in li.attrs["title"]
        )
        assert ("pv-fail" in income_row.classes) == (income == "6500.01")


def test_a_default_table_outcome_names_no_decisive_rule(hunan):
    decision = monitoring(hunan, "9000.00")
    assert decision.outcome == "not_monitored" and decision.reasons == ()
    root = view(decision.html("en"))
    assert root.find("p", "pv-reasons").text() == "No rule decided it"
    assert "not a monitoring object" in root.find("span", "pv-badge").text()


def test_deliberation_statuses_name_the_body():
    ruleset = povrules.load_ruleset(RULESETS / "cn-guizhou-qianxinan-town-plan7")
    rows = [
        povrules.parse_household(line)
        for line in (EXAMPLES / "cn-guizhou-qianxinan-town-plan7.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    decisions = [povrules.evaluate(h, ruleset, "monitoring_object", as_of=HUNAN_DAY) for h in rows]
    assert [d.outcome for d in decisions] == ["needs_deliberation", "not_monitored", "monitored"]
    pending, upheld, set_aside = (view(d.html("zh")) for d in decisions)
    label = ruleset.decisions["monitoring_object"].label("needs_deliberation", "zh")
    assert label in pending.find("span", "pv-badge").text() and "pv-open" in pending.find("span", "pv-badge").classes
    car = next(
        li
        for li in pending.find("details").find("ol").children_named("li")
        if li.attrs["data-rule"] == "neg_luxury_car"
    )
    assert "pv-unknown" in car.classes and "待评议（" in car.text()
    entry = next(
        li
        for li in set_aside.find("details").find("ol").children_named("li")
        if li.attrs["data-rule"] == "neg_luxury_car"
    )
    assert "已被评议排除（村民代表会议 2021-06-01）" in entry.text() and "pv-off" in entry.classes
    assert "村民代表会议 2021-06-01" in upheld.find("ul", "pv-reasons").text()


def test_untraced_decision_says_its_conditions_were_not_recorded(weishan, weishan_households):
    decision = identify(weishan, weishan_households["WS-0107"], trace=False)
    root = view(decision.html("en"))
    entries = root.find("details").find("ol").children_named("li")
    assert len(entries) == 8 and not root.find("details").find_all("table")
    assert all("not recorded" in li.text() for li in entries)


def test_ranking_item_lists_the_priorities_met(weishan, weishan_households):
    households = [povrules.parse_household(row) for row in weishan_households.values()]
    ranking = povrules.rank(households, weishan, "six_priorities", as_of=WEISHAN_DAY)
    entry = ranking.entries[0]
    root = view(entry.decision.html("zh"))
    assert "已排序" in root.find("span", "pv-badge").text()
    met = root.find("p", "pv-met").text()
    for rule_id in entry.met:
        assert weishan.rules[rule_id].title("zh") in met
    entries = root.find("details").find("ol").children_named("li")
    assert len(entries) == len(weishan.decisions["six_priorities"].criteria)


def test_repr_html_hooks_give_the_chinese_view(excluded, weishan):
    assert excluded._repr_html_() == str(decision_html(excluded, "zh"))
    assert weishan._repr_html_() == str(ruleset_html(weishan, "zh"))
    assert excluded.html("en") == decision_html(excluded, "en")


@pytest.fixture
def restore_display_language():
    before = povrules.display_language()
    yield
    povrules.display_language(before)


def test_display_language_sets_every_rich_display_and_html_without_a_language(
    excluded, weishan, hunan, restore_display_language
):
    swept = povrules.sweep(
        hunan, "monitoring_line", [6500, 7000], [_exited("E-6600", "6600.00")], "monitoring_type", as_of=HUNAN_DAY
    )
    compared = swept.comparisons[1]
    shown = (excluded, weishan, compared, swept)
    assert povrules.display_language() == "zh"
    zh = [value._repr_html_() for value in shown]
    assert povrules.display_language("en") == "en"
    for value, chinese in zip(shown, zh):
        english = value._repr_html_()
        assert english == str(value.html("en")) == str(value.html()) != chinese
        assert view(value.html()).attrs["lang"] == "en"
    assert "Decided by" in excluded._repr_html_() and "决定依据" not in excluded._repr_html_()
    assert str(decision_html(excluded, "zh")) == zh[0]  # a language given is kept
    povrules.display_language("zh")
    assert [value._repr_html_() for value in shown] == zh


def test_display_language_in_a_with_block_gives_way_to_the_one_before(excluded, restore_display_language):
    povrules.display_language("en")
    with povrules.display_language("zh") as lang:
        assert lang == "zh" and "决定依据" in excluded._repr_html_()
        with povrules.display_language("en"):
            assert "Decided by" in excluded._repr_html_()
        assert povrules.display_language() == "zh"
    assert povrules.display_language() == "en" and "Decided by" in excluded._repr_html_()


def test_an_unknown_display_language_is_refused_and_changes_nothing(restore_display_language):
    povrules.display_language("en")
    for wrong in ("fr", "EN", "zh-CN", "", 1):
        with pytest.raises(povrules.PovrulesError, match="'zh', 'en'"):
            povrules.display_language(wrong)  # type: ignore[arg-type]
        assert povrules.display_language() == "en"


# The stylesheet: the views keep their layout under a notebook's own styles (JupyterLab, classic notebook).


def _rules(css: str) -> dict[str, dict[str, str]]:
    """Each selector of the stylesheet with its declarations (a selector list gives each of its selectors)."""
    out: dict[str, dict[str, str]] = {}
    for block in css.replace("\n", "").split("}"):
        if "{" not in block:
            continue
        selectors, body = block.split("{", 1)
        declarations = {
            key.strip(): value.strip() for key, value in (d.split(":", 1) for d in body.split(";") if ":" in d)
        }
        for selector in selectors.split(","):
            out.setdefault(selector.strip(), {}).update(declarations)
    return out


def _specificity(selector: str) -> tuple[int, int]:
    """(classes and pseudo-classes, elements) of a simple selector chain, enough for the ones in CSS."""
    import re

    classes = len(re.findall(r"\.[\w-]+|:(?!:)[\w-]+", selector))
    elements = len(re.findall(r"(?:^|[\s>+~])([a-z][a-z0-9]*)", selector))
    return classes, elements


def test_the_stylesheet_overrides_what_notebook_styles_set_on_tables_lists_and_labels():
    rules = _rules(CSS)
    # Jupyter's output rules have one or two classes (".jp-RenderedHTMLCommon td", ".rendered_html table",
    # ":not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td"): every rule of the views starts with two, so it
    # outweighs them on the same element whichever stylesheet comes last ...
    for selector in rules:
        if selector != ".pv":
            assert selector.startswith(".pv.pv ") and _specificity(selector)[0] >= 2, selector
    # ... and the rows outweigh the strongest, ".jp-RenderedHTMLCommon tbody tr:nth-child(odd)" at (0,2,2)
    assert _specificity(".pv.pv table.pv-table>tbody>tr:hover") > (2, 2)
    assert _specificity(".jp-RenderedHTMLCommon tbody tr:nth-child(odd)") == (2, 2)
    table_rule = rules[".pv.pv table.pv-table"]
    assert table_rule["table-layout"] == "auto" and table_rule["width"] == "auto"  # Jupyter: fixed layout
    cell = rules[".pv.pv table.pv-table td"]
    assert cell["text-align"] == "left" and cell["white-space"] == "normal"  # Jupyter: right-aligned cells
    meta = rules[".pv.pv dl.pv-meta>dt"]
    assert meta["float"] == "none" and meta["width"] == "auto"  # JupyterLab: floated 20%-wide <dt>s
    assert rules[".pv.pv dl.pv-meta"]["grid-template-columns"].startswith("max-content")
    assert rules[".pv.pv table.pv-table .pv-label"]["white-space"] == "nowrap"
    assert rules[".pv.pv .pv-label"]["white-space"] == "nowrap"
    assert rules[".pv.pv table.pv-table th"]["white-space"] == "nowrap"
    assert "min-width" in rules[".pv.pv table.pv-table .pv-name"]
    assert rules[".pv.pv table.pv-table>tbody>tr:hover"]["background"] == "none"  # no zebra or hover over ours
    # more specific than the cells' white-space:normal, so the label cells do not wrap
    assert _specificity(".pv.pv table.pv-table .pv-label") > _specificity(".pv.pv table.pv-table td")


def test_label_cells_carry_the_classes_that_keep_them_whole(hunan, raised):
    decision = monitoring(hunan, "6400.00")
    root = view(decision.html("zh"))
    labels = root.find("dl", "pv-meta").children_named("dt")
    assert labels and all("pv-label" in dt.classes for dt in labels)
    assert "决定类型" in [dt.text() for dt in labels]
    params = root.find("table", "pv-params")
    head = params.find("thead").find_all("th")
    assert ["pv-name" in th.classes for th in head] == [True, False, False, False]
    assert ["pv-label" in th.classes for th in head] == [False, False, True, False]  # the start date
    for tr in params.find("tbody").children_named("tr"):
        name, _, start, _ = tr.children_named("td")
        assert "pv-name" in name.classes and "pv-label" in start.classes
    ruleset = view(hunan.html("en"))
    table_spec = next(
        s for s in ruleset.find_all("section", "pv-decision-spec") if s.attrs["data-decision"] == "monitoring_type"
    )
    assert {"Hit policy", "When no row matches"} <= {
        dt.text() for dt in table_spec.find("dl").children_named("dt") if "pv-label" in dt.classes
    }
    compared = view(raised.html("en"))
    for tr in compared.find("table", "pv-transitions").find("tbody").children_named("tr"):
        before, arrow, after, count = tr.children_named("td")
        assert {"pv-label"} <= before.classes & after.classes & arrow.classes and "pv-num" in count.classes


# HTML values and pages.


def test_page_is_a_whole_standalone_document(excluded, tmp_path):
    page = excluded.html("en").page("WS-0107 <review>")
    assert page.startswith("<!doctype html>\n")
    collector = Collector()
    collector.feed(page)
    assert collector.errors == [] and collector.declarations == ["doctype html"]
    (html_node,) = collector.root.children_named("html")
    assert html_node.attrs["lang"] == "en"
    head, body = html_node.children_named("head")[0], html_node.children_named("body")[0]
    assert head.find("meta").attrs == {"charset": "utf-8"}
    assert head.find("title").text() == "WS-0107 <review>"
    assert ".pv-badge" in head.find("style").text() and not body.find_all("style")
    assert body.find("div", "pv-decision")
    for external in ("<script", "<link", "http://", "https://", "@import", "url("):
        assert external not in page
    # without a title, the view's own
    default = excluded.html("zh").page()
    assert "<title>建档立卡贫困户识别 — WS-0107 — 2016-06-30</title>" in default
    saved = excluded.html("zh").save(tmp_path / "decision.html")
    assert saved.read_text(encoding="utf-8") == default


def test_fragment_carries_its_stylesheet_and_is_immutable(excluded):
    view_html = excluded.html("zh")
    assert str(view_html) == view_html._repr_html_() == view_html.fragment
    assert str(view_html).startswith("<style>") and str(view_html).count("<style>") == 1
    assert view_html.fragment.endswith(view_html.body)
    with pytest.raises(AttributeError):
        view_html.body = "<p>changed</p>"  # type: ignore[misc]


def test_css_is_scoped_to_the_prefix():
    from povrules.html import CSS

    selectors = [part.split("{")[0] for part in CSS.split("}") if "{" in part]
    for selector in selectors:
        for one in selector.split(","):
            assert one.strip().startswith(".pv"), one


# The building blocks.


def test_tag_escapes_text_and_attributes_but_not_markup():
    assert tag("td", "a<b") == "<td>a&lt;b</td>"
    assert tag("span", "x", cls="pv-id", title='say "hi"') == '<span class="pv-id" title="say &quot;hi&quot;">x</span>'
    assert tag("td", tag("code", "<i>")) == "<td><code>&lt;i&gt;</code></td>"
    assert tag("details", "s", open=True, hidden=False, data_rule="r") == '<details open data-rule="r">s</details>'
    assert tag("br") == "<br>"
    assert esc(esc("<")) == "&lt;"


def test_table_badge_and_citation_helpers(weishan):
    root = parse(table(["a", "b"], [["1", tag("b", "2")], ["<3>", "4"]], cls="pv-x", row_classes=["pv-fail", None]))
    (tbl,) = root.children_named("table")
    assert tbl.classes == {"pv-table", "pv-x"}
    rows = tbl.find("tbody").children_named("tr")
    assert [tr.classes for tr in rows] == [{"pv-fail"}, set()]
    assert rows[1].children_named("td")[0].text() == "<3>" and rows[0].find("b").text() == "2"
    (b,) = parse(badge("识别为贫困户", "yes", mark="✔")).children_named("span")
    assert b.classes == {"pv-badge", "pv-yes"} and b.text() == "✔ 识别为贫困户"
    rule = weishan.rules["wubulu_public_official"]
    cite = parse(citation(rule.citation, ruleset=weishan, block=True))
    assert cite.find("blockquote").text() == "「有公职人员的不录」"
    assert cite.find("cite").text() == "002_f25b4d77f22fc531.txt:293"
    # a trace's cite mapping gives the same; a range of lines shows both ends
    mapping = {"file": "x.txt", "line": 3, "end_line": 5, "quote": "<q>"}
    text = parse(citation(mapping)).text()
    assert text == "「<q>」 x.txt:3-5"
    assert citation(None) == ""


# The ruleset view.


def test_ruleset_view_shows_id_version_digest_and_title(weishan):
    root = view(weishan.html("en"))
    assert {"pv", "pv-ruleset"} <= root.classes and root.attrs["data-ruleset"] == "cn-yunnan-weishan"
    assert root.find("h3").text() == weishan.title.en
    meta = dict(zip((dt.text() for dt in root.find("dl").children_named("dt")), root.find("dl").children_named("dd")))
    assert meta["Ruleset"].text() == "cn-yunnan-weishan" and meta["Version"].text() == "2016.3"
    digest = meta["Digest"].find("code")
    assert digest.text() == weishan.digest[:19] and len(digest.text()) < len(weishan.digest)
    assert digest.attrs["title"] == weishan.digest
    zh = view(weishan.html("zh"))
    assert zh.find("h3").text() == weishan.title.zh


def test_ruleset_view_lists_decisions_with_kind_and_rules(weishan, hunan):
    for ruleset in (weishan, hunan):
        root = view(ruleset_html(ruleset, "zh"))
        sections = root.find("details", "pv-decisions").find_all("section", "pv-decision-spec")
        assert [s.attrs["data-decision"] for s in sections] == list(ruleset.decisions)
        for section, spec in zip(sections, ruleset.decisions.values()):
            assert spec.title.zh in section.find("h4").text()
            assert words("zh")[spec.kind] in section.find("dl").text()
            listed = [
                tr.find("code").text()
                for t in section.find_all("table", "pv-decision-rules")
                for tr in t.find("tbody").children_named("tr")
            ]
            assert listed == list(spec.rule_ids)
    table_spec = view(hunan.html("en")).find_all("section", "pv-decision-spec")
    monitoring_section = next(s for s in table_spec if s.attrs["data-decision"] == "monitoring_type")
    assert "UNIQUE" in monitoring_section.text() and "not a monitoring object" in monitoring_section.text()


def test_ruleset_view_lists_every_dated_parameter_value_with_its_citation(hunan):
    root = view(hunan.html("en"))
    body = root.find("details", "pv-parameters").find("tbody").children_named("tr")
    assert len(body) == sum(len(p.values) for p in hunan.parameters.values())
    line = next(tr for tr in body if "[monitoring_line]" in tr.text())
    cells = [td.text() for td in line.children_named("td")]
    assert cells[1] == "6,500 元" and cells[2] == "2021-01-01" and cells[3].endswith("003_e3e29ff1be94684a.txt:276")


def test_ruleset_view_gives_every_rule_with_condition_strength_outcome_and_clause(weishan):
    root = view(weishan.html("zh"))
    rows = root.find("details", "pv-rule-list").find("tbody").children_named("tr")
    assert len(rows) == len(weishan.rules)
    for tr, rule in zip(rows, weishan.rules.values()):
        name, condition, strength, outcome, source = tr.children_named("td")
        assert rule.id in name.text() and rule.title.zh in name.text()
        assert condition.text() == rule.when.text
        expected = words("zh")["hard"] if rule.strength == "hard" else words("zh")["default_strength"]
        assert strength.text().startswith(expected)
        if rule.outcome:
            assert rule.outcome in outcome.text()
        if rule.citation:
            assert rule.citation.quote in source.find("blockquote").text()
            assert source.find("cite").text() == str(rule.citation)
    excluded_row = next(tr for tr in rows if "wubulu_public_official" in tr.text())
    assert "五不录排除" in excluded_row.text()


def test_ruleset_view_escapes_rule_text(weishan):
    markup = str(weishan.html("en"))
    assert "any(m.health == &quot;serious_illness&quot; for m in hh.members)" in markup
    assert "<script" not in markup


def test_a_collect_table_shows_every_label_given():
    ruleset = povrules.load_ruleset(RULESETS / "cn-guizhou-qianxinan-town-plan7")
    members = [
        {
            "id": "a",
            "lives_with_household": True,
            "age": 40,
            "health": "serious_illness",
            "disability_grade": 1,
            "adl_status": "independent",
        },
        {
            "id": "b",
            "lives_with_household": True,
            "age": 75,
            "health": "healthy",
            "disability_grade": 0,
            "adl_status": "independent",
        },
    ]
    household = povrules.parse_household({"id": "f-2", "rural_hukou": True, "members": members})
    decision = povrules.evaluate(household, ruleset, "focus_group", as_of=HUNAN_DAY)
    assert decision.labels == ("serious_illness", "severe_disability")
    spec = ruleset.decisions["focus_group"]
    for lang, sep in (("zh", "、"), ("en", "; ")):
        text = view(decision.html(lang)).find("span", "pv-badge").text()
        assert text == "✔ " + sep.join(spec.label(label, lang) for label in decision.labels)
    reasons = view(decision.html("en")).find("ul", "pv-reasons").children_named("li")
    assert [li.attrs["data-rule"] for li in reasons] == ["focus_serious_illness", "focus_severe_disability"]


# The comparison and sweep views.


def _exited(hid: str, income: str) -> povrules.Household:
    data = json.loads(json.dumps(HUNAN_EXITED))
    data["id"], data["income"]["per_capita_net"] = hid, income
    data["assessments"]["poverty_risk"] = {"value": False, "by": "村第一书记 王某", "on": "2021-05-10"}
    return povrules.parse_household(data)


@pytest.fixture(scope="module")
def raised(hunan):
    people = [
        _exited("<script>x</script>", "6800.00"),
        _exited("E-6400", "6400.00"),
        _exited("E-7200", "7200.00"),
        _exited("E-6900", "6900.00"),
    ]
    return povrules.compare(
        hunan, hunan.with_parameter("monitoring_line", 7000), people, "monitoring_type", as_of=HUNAN_DAY
    )


def test_comparison_view_counts_each_transition_and_lists_each_change(raised):
    assert raised.changed == 2  # 6800 and 6900 come into the range; 6400 was in it, 7200 stays out
    root = view(raised.html("en"))
    assert "pv-comparison" in root.classes
    transitions = root.find("table", "pv-transitions")
    rows = transitions.find("tbody").children_named("tr")
    assert len(rows) == len(raised.counts)  # one row per (before, after) pair
    changed_rows = [r for r in rows if "pv-changed" in r.classes]
    assert len(changed_rows) == len(raised.transitions()) == 1
    assert [td.text() for td in changed_rows[0].children_named("td")][-1] == "2"
    listed = root.find("table", "pv-changes").find("tbody").children_named("tr")
    assert len(listed) == raised.changed
    title = raised.baseline.parameters["monitoring_line"].title
    assert f"parameter {title('en')}: 6,500 → 7,000" in root.find("table", "pv-causes").text()
    assert all(f"parameter {title('en')}: 6,500 → 7,000" == tr.children_named("td")[-1].text() for tr in listed)
    assert "monitoring_line = 7000" in root.find("h3").text()


def test_comparison_view_escapes_ids_and_speaks_both_languages(raised):
    markup = str(raised.html("zh"))
    assert "<script>x" not in markup and "&lt;script&gt;x&lt;/script&gt;" in markup
    zh, en = view(raised.html("zh")), view(raised.html("en"))
    assert "结果变化" in zh.text() and "脱贫不稳定户" in zh.text()
    assert "参数 监测基准线（家庭人均纯收入）：6,500 → 7,000" in zh.find("table", "pv-causes").text()
    assert "参数 monitoring_line" not in zh.text()
    assert "Outcome changes" in en.text() and "unstably exited household" in en.text()
    assert raised._repr_html_() == str(raised.html("zh"))
    with pytest.raises(ValueError, match="lang"):
        raised.html("fr")


def test_comparison_view_lists_at_most_the_limit(raised):
    from povrules.html import comparison_html

    root = view(comparison_html(raised, "en", listed=1))
    assert len(root.find("table", "pv-changes").find("tbody").children_named("tr")) == 1
    assert "1 more not listed" in root.find("details", "pv-changed-list").text()


def test_sweep_view_has_a_row_per_value_and_the_baseline(hunan):
    people = [_exited(f"E-{n}", f"{n}.00") for n in (6000, 6600, 7100, 7600)]
    swept = povrules.sweep(hunan, "monitoring_line", [6500, 7000, 7500], people, "monitoring_type", as_of=HUNAN_DAY)
    root = view(swept.html("en"))
    rows = root.find("table", "pv-sweep").find("tbody").children_named("tr")
    assert [r.children_named("td")[0].text() for r in rows] == ["6500", "7000", "7500", "Baseline"]
    heads = [th.text() for th in root.find("table", "pv-sweep").find("thead").find_all("th")]
    column = heads.index("unstably exited household")
    assert [r.children_named("td")[column].text() for r in rows] == ["1", "2", "3", "1"]
