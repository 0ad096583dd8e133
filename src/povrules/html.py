"""HTML views of decisions and rulesets, for notebooks and browsers, in Chinese and English.

Each view is an :class:`HTML` value: a fragment that Jupyter displays (``_repr_html_``)
and that :meth:`HTML.page` turns into a standalone document. A view asked for without a
language, as Jupyter asks, is in the :func:`display_language` (Chinese until set). The views
use no script, no font and nothing fetched from elsewhere; one small stylesheet with ``pv-``
classes, scoped to the view and outweighing the notebook's own output styles (see :data:`CSS`),
uses neutral colours that read on light and dark themes. Every outcome and result also carries
a textual mark (✔ ✘ ? –), so a view stays readable where styles are stripped (an untrusted
notebook, a text dump).

Building blocks shared by every view (and meant for further views, such as comparison
tables): :func:`words` (the fixed words, zh/en), :func:`tag` and :class:`Markup` (escaping),
:func:`table`, :func:`badge`, :func:`citation`, :func:`outcome_label`; :func:`view_language` resolves a
``lang`` of None to the display language.
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from povrules.lang import ast
from povrules.ruleset.model import AMOUNT_OUTCOMES, GRANTED
from povrules.text import (
    Reader,
    amount_lines,
    amount_summary,
    contradicting_text,
    say_condition,
    say_constraint,
    say_element,
    say_empty,
    say_first_last,
    say_group,
    say_money,
    say_not_checked,
    say_rounding,
    say_source,
    say_working,
    shown_elements,
)
from povrules.trace import outcome_titles, to_trace
from povrules.wording import (
    AMOUNT_WORDS,
    LANGS,
    PERIOD_WORDS,
    RESULT_MARKS,
    STATUS_WORDS,
    TIMELINE_WORDS,
    UNIT_WORDS,
    VIEW_WORDS,
    check_lang,
    format_value,
    phrase,
    punctuation,
)

if TYPE_CHECKING:
    from povrules.compare import Comparison, Sweep
    from povrules.engine import Decision, RuleResult
    from povrules.ruleset.model import Citation, DecisionSpec, Ruleset

# Notebook front ends style the elements of every output: JupyterLab (.jp-RenderedHTMLCommon, .jp-OutputArea-output)
# and the classic notebook (.rendered_html) set a fixed table layout, right-aligned cells, zebra rows, floated
# 20%-wide <dt>s and code backgrounds, with selectors up to (0,2,2). So every rule below that touches such an element
# starts with the root class twice (".pv.pv", specificity (0,2,0) before the rest), which outweighs them whichever
# stylesheet comes last, and states each property those front ends set. Label cells (.pv-label) never wrap and
# name cells (.pv-name) keep a minimum width, so a narrow output area cannot stack a label one character per line.
CSS = """
.pv{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
 line-height:1.45;color:inherit;max-width:72rem;margin:.25rem 0;text-align:left}
.pv.pv h3.pv-h,.pv.pv h4.pv-h{font-weight:600;font-style:normal;line-height:1.3;color:inherit}
.pv.pv h3.pv-h{font-size:1.15em;margin:.2em 0 .4em}
.pv.pv h4.pv-h{font-size:1em;margin:.9em 0 .3em}
.pv.pv p{margin:.3em 0;text-align:left}
.pv.pv .pv-id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;opacity:.75;
 white-space:nowrap}
.pv.pv code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em;color:inherit;border:0;
 background:rgba(127,127,127,.12);padding:0 .25em;border-radius:3px;white-space:pre-wrap;line-height:inherit}
.pv.pv dl.pv-meta{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1em 1em;margin:.3em 0;padding:0;
 width:auto;overflow:visible}
.pv.pv dl.pv-meta>dt,.pv.pv dl.pv-meta>dd{display:block;float:none;width:auto;margin:0;padding:0}
.pv.pv dl.pv-meta>dt{opacity:.7;font-weight:normal}
.pv.pv dl.pv-meta>dd{min-width:0}
.pv.pv table.pv-table{border-collapse:collapse;border-spacing:0;border:none;table-layout:auto;width:auto;
 margin:.3em 0;font-size:.92em;color:inherit}
.pv.pv table.pv-table>thead>tr,.pv.pv table.pv-table>tbody>tr,.pv.pv table.pv-table>tbody>tr:hover{background:none}
.pv.pv table.pv-table th,.pv.pv table.pv-table td{border:1px solid rgba(127,127,127,.35);padding:.2em .5em;
 text-align:left;vertical-align:top;white-space:normal;line-height:inherit;max-width:none}
.pv.pv table.pv-table th{background:rgba(127,127,127,.12);font-weight:600;white-space:nowrap}
.pv.pv .pv-label,.pv.pv table.pv-table .pv-label{white-space:nowrap}
.pv.pv table.pv-table .pv-name{min-width:12em}
.pv.pv table.pv-table .pv-num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.pv.pv .pv-badge{display:inline-block;padding:.05em .6em;border-radius:1em;border:1px solid rgba(127,127,127,.6);
 font-weight:600;margin-right:.3em;white-space:nowrap}
.pv.pv .pv-badge.pv-yes{border-color:rgba(40,150,80,.8);background:rgba(40,150,80,.15)}
.pv.pv .pv-badge.pv-no{border-color:rgba(200,60,50,.8);background:rgba(200,60,50,.13)}
.pv.pv .pv-badge.pv-open{border-style:dashed;border-color:rgba(210,150,20,.9);background:rgba(210,150,20,.15)}
.pv.pv .pv-fail{background:rgba(200,60,50,.12)}
.pv.pv li.pv-fail,.pv.pv tr.pv-fail>td:first-child{box-shadow:inset 3px 0 0 rgba(200,60,50,.75)}
.pv.pv .pv-unknown{background:rgba(210,150,20,.12)}
.pv.pv li.pv-unknown,.pv.pv tr.pv-unknown>td:first-child{box-shadow:inset 3px 0 0 rgba(210,150,20,.8)}
.pv.pv .pv-off{opacity:.6}
.pv.pv tr.pv-changed>td:first-child{box-shadow:inset 3px 0 0 rgba(60,120,210,.8)}
.pv.pv .pv-mark{font-weight:700;display:inline-block;min-width:1.1em}
.pv.pv blockquote.pv-quote{margin:.3em 0 .5em;padding:.2em .8em;border-left:3px solid rgba(127,127,127,.55);
 background:rgba(127,127,127,.08)}
.pv.pv .pv-cite{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;opacity:.85;
 white-space:nowrap}
.pv.pv .pv-note{font-size:.88em;opacity:.8;margin:.2em 0}
.pv.pv details.pv-details{margin:.6em 0;border:1px solid rgba(127,127,127,.35);border-radius:4px;padding:.2em .6em}
.pv.pv details.pv-details>summary{cursor:pointer;font-weight:600;display:list-item}
.pv.pv ol.pv-rules,.pv.pv ul.pv-list{margin:.2em 0;padding-left:1.4em}
.pv.pv ol.pv-rules{list-style:decimal;padding-left:1.2em;margin:.4em 0}
.pv.pv ul.pv-list{list-style:disc}
.pv.pv ol.pv-rules>li.pv-rule{margin:.4em 0;padding:.2em .4em;border-radius:3px}
.pv.pv .pv-decisive{outline:1px solid rgba(127,127,127,.6)}
.pv.pv ul.pv-cond{list-style:none;margin:.15em 0;padding:0 0 0 1.1em}
.pv.pv ul.pv-cond ul.pv-cond{border-left:1px dotted rgba(127,127,127,.5);margin-left:.35em;padding-left:.9em}
.pv.pv ul.pv-cond>li{margin:.1em 0;padding:0 .3em;list-style:none}
.pv.pv ul.pv-cond>li.pv-group,.pv.pv ul.pv-cond>li.pv-member{background:none;box-shadow:none}
.pv.pv .pv-group-head,.pv.pv .pv-element{font-weight:600}
.pv.pv ul.pv-cond>li.pv-skipped,.pv.pv ul.pv-cond>li.pv-empty{opacity:.6;font-style:italic}
""".strip()


def words(lang: str | None = None) -> Mapping[str, str]:
    """The fixed words of the views in ``lang`` (``"zh"`` or ``"en"``; None: the :func:`display_language`).

    Raises:
        LanguageError: for any other language (also a ``ValueError``).
    """
    return VIEW_WORDS[view_language(lang)]


# The display language: what a view is in when no language is given, as when Jupyter shows a value on its own.
# One setting for the process (as a notebook has one reader), kept in a module global rather than a ContextVar
# because a notebook kernel may run each cell in a fresh copy of the context, which would forget it.
_display: list[str] = ["zh"]


class DisplayLanguage(str):
    """The display language (a ``str``: ``"zh"`` or ``"en"``) that, used in a ``with`` block, is in force for
    the block only and gives way to the one before when the block ends."""

    __slots__ = ("previous",)
    previous: str

    def __enter__(self) -> str:
        return str(self)

    def __exit__(self, *exc: object) -> None:
        _display[0] = self.previous


def display_language(lang: str | None = None) -> DisplayLanguage:
    """Set the language of rich displays and of views asked for without one; with no argument, read it.

    ``povrules.display_language("en")`` makes every value that Jupyter displays (a decision, a ruleset, a
    comparison, a sweep) and every ``.html()`` without a language come out in English from then on;
    ``with povrules.display_language("en"): ...`` does so for the block only. Chinese until set.

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"`` (also a ``ValueError``); the setting
            stays as it was.
    """
    previous = _display[0]
    if lang is not None:
        _display[0] = check_lang(lang)
    setting = DisplayLanguage(_display[0])
    setting.previous = previous
    return setting


def view_language(lang: str | None) -> str:
    """``lang`` itself, or the :func:`display_language` when it is None.

    Raises:
        LanguageError: for a language other than ``"zh"`` or ``"en"`` (also a ``ValueError``).
    """
    return _display[0] if lang is None else check_lang(lang)


# Escaping: text is escaped unless it is Markup, i.e. built here from escaped parts.


class Markup(str):
    """A piece of HTML that is already safe: built by :func:`tag` or :func:`esc`, never from raw input."""

    __slots__ = ()


def esc(value: Any) -> Markup:
    """``value`` as HTML text: escaped, unless it is already :class:`Markup`."""
    if isinstance(value, Markup):
        return value
    return Markup(_html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Markup:
    """Escaped parts joined by ``sep`` (itself escaped)."""
    return Markup(esc(sep).join(esc(p) for p in parts))


_VOID = frozenset({"meta", "br", "hr", "img", "link", "wbr"})


def tag(name: str, *children: Any, cls: str | Sequence[str] | None = None, **attributes: Any) -> Markup:
    """An element: children are escaped unless Markup; attributes with value None or False are left out,
    True gives a bare attribute; a trailing underscore is dropped (``for_``) and ``_`` becomes ``-``."""
    names = [cls] if isinstance(cls, str) else [c for c in (cls or ()) if c]
    attrs_text = f' class="{esc(" ".join(names))}"' if names and any(names) else ""
    for key, value in attributes.items():
        if value is None or value is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        attrs_text += f" {key}" if value is True else f' {key}="{esc(value)}"'
    if name in _VOID:
        return Markup(f"<{name}{attrs_text}>")
    return Markup(f"<{name}{attrs_text}>{join(children)}</{name}>")


def table(
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    cls: str | None = None,
    row_classes: Iterable[str | None] | None = None,
    columns: Sequence[str | None] = (),
) -> Markup:
    """A table with one header row; cells are escaped unless Markup; ``row_classes`` gives a class per row and
    ``columns`` a class per column (its header and cells): ``pv-label`` for a label that must not wrap,
    ``pv-name`` for a title that keeps a minimum width, ``pv-num`` for a count."""
    column_of = list(columns) + [None] * (len(headers) - len(columns))
    head = tag("thead", tag("tr", *(tag("th", h, scope="col", cls=c) for h, c in zip(headers, column_of))))
    classes = iter(row_classes) if row_classes is not None else None
    body = []
    for row in rows:
        row_cls = next(classes, None) if classes is not None else None
        cells = (tag("td", cell, cls=column_of[i] if i < len(column_of) else None) for i, cell in enumerate(row))
        body.append(tag("tr", *cells, cls=row_cls))
    return tag("table", head, tag("tbody", *body), cls=["pv-table", cls] if cls else "pv-table")


def badge(text: Any, tone: str | None = None, *, mark: str | None = None, title: str | None = None) -> Markup:
    """An outcome as a badge; ``tone`` is ``yes``, ``no`` or ``open`` (colour only: ``mark`` carries the meaning
    in text as well)."""
    inner = [tag("span", mark, cls="pv-mark"), " "] if mark else []
    return tag("span", *inner, text, cls=["pv-badge", f"pv-{tone}" if tone else ""], title=title)


def citation(
    cite: Citation | Mapping[str, Any] | None,
    *,
    ruleset: Ruleset | None = None,
    quote: bool = True,
    block: bool = False,
) -> Markup:
    """A cited clause: the quote (as a block quote if ``block``) and ``file:line`` (the document's title, when the
    ruleset lists it, in a title attribute). Takes a ruleset ``Citation`` or a trace's ``cite`` mapping."""
    if cite is None:
        return Markup("")
    if isinstance(cite, Mapping):
        file, line, end, text = cite["file"], cite["line"], cite.get("end_line"), cite.get("quote", "")
    else:
        file, line, end, text = cite.file, cite.line, cite.end_line, cite.quote
    where = f"{file}:{line}" if end in (None, line) else f"{file}:{line}-{end}"
    document = None
    if ruleset is not None:
        document = next((s.title for s in ruleset.sources.values() if s.file == file), None)
    ref = tag("cite", where, cls="pv-cite", title=document)
    if not quote or not text:
        return ref
    if block:
        return join([tag("blockquote", "「", text, "」", cls="pv-quote"), ref])
    return join([tag("span", "「", text, "」", cls="pv-quote"), " ", ref])


def outcome_label(spec: DecisionSpec, outcome: str, lang: str) -> str:
    """An outcome in words: the ruleset's label, else the view's word for the engine's own outcomes."""
    if outcome in spec.labels:
        return spec.label(outcome, lang)
    if spec.kind == "amount" and outcome in AMOUNT_OUTCOMES:
        return outcome_titles(spec, outcome)[lang]
    if "+" in outcome and spec.kind == "table":  # several labels under a COLLECT table
        return punctuation("clauses", lang).join(outcome_label(spec, o, lang) for o in outcome.split("+"))
    return words(lang).get(outcome, outcome) if outcome in _ENGINE_OUTCOMES else outcome


_ENGINE_OUTCOMES = frozenset({"undetermined", "needs_deliberation", "conflict", "ranked"})


def outcome_tone(spec: DecisionSpec, outcome: str) -> str:
    """``open`` when not settled (undetermined, deliberation, conflict); ``yes`` for an eligibility's yes or a
    table's matched row or a ranked household; ``no`` otherwise."""
    if outcome in ("undetermined", "needs_deliberation", "conflict"):
        return "open"
    if spec.kind == "eligibility":
        return "yes" if outcome == spec.yes else "no"
    if spec.kind == "table":
        return "no" if outcome == spec.default else "yes"
    if spec.kind == "amount":
        return "yes" if outcome == GRANTED else "no"
    return "yes"


_TONE_MARK = {"yes": "✔", "no": "✘", "open": "?"}
_RESULT_CLASS = {"true": "pv-pass", "false": "pv-fail", "unknown": "pv-unknown", "not_in_force": "pv-off"}
# A rule's class follows its status: a criterion not met or a row not matched is a failure; an exception that
# does not apply is the ordinary case and is not highlighted.
_STATUS_CLASS = {
    "met": "pv-pass",
    "applied": "pv-pass",
    "selected": "pv-pass",
    "matched": "pv-pass",
    "not_met": "pv-fail",
    "not_matched": "pv-fail",
    "not_applicable": "pv-clear",
    "unknown": "pv-unknown",
    "awaiting_deliberation": "pv-unknown",
    "contradicted": "pv-unknown",
    "overridden": "pv-off",
    "superseded": "pv-off",
    "not_in_force": "pv-off",
}


def _meta(items: Iterable[tuple[Any, Any]]) -> Markup:
    return tag(
        "dl",
        *(join([tag("dt", k, cls="pv-label"), tag("dd", v)]) for k, v in items if v not in (None, "")),
        cls="pv-meta",
    )


def _h(level: int, *children: Any) -> Markup:
    return tag(f"h{level}", *children, cls="pv-h")


def _ident(text: Any) -> Markup:
    return tag("span", "[", text, "]", cls="pv-id")


def _digest(digest: str) -> Markup:
    return tag("code", digest[:19], title=digest)


def _lang_attr(lang: str) -> str:
    return punctuation("html_lang", lang)


@attrs.frozen
class HTML:
    """A rendered view. ``str()`` and ``_repr_html_()`` give the fragment with its stylesheet (what a notebook
    shows); :meth:`page` gives a whole HTML5 document to save and open in a browser."""

    body: str
    lang: str = "zh"
    title: str = ""

    @property
    def fragment(self) -> str:
        """The view with its stylesheet in front, ready to embed in a page or a notebook output."""
        return f"<style>{CSS}</style>{self.body}"

    def _repr_html_(self) -> str:
        return self.fragment

    def __html__(self) -> str:  # for template engines that honour the markup protocol
        return self.fragment

    def __str__(self) -> str:
        return self.fragment

    def page(self, title: str | None = None) -> str:
        """A standalone HTML5 document (UTF-8, stylesheet inline, nothing fetched): save it and open it anywhere."""
        heading = self.title if title is None else title
        return (
            "<!doctype html>\n"
            f'<html lang="{_lang_attr(self.lang)}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(heading)}</title>\n<style>\n{CSS}\n"
            "body{margin:1.5rem auto;max-width:76rem;padding:0 1rem}\n"
            "@media (prefers-color-scheme: dark){body{background:#1e1e1e;color:#ddd}}\n"
            f"</style>\n</head>\n<body>\n{self.body}\n</body>\n</html>\n"
        )

    def save(self, path: str | Path, title: str | None = None) -> Path:
        """Write :meth:`page` to ``path`` as UTF-8; returns the path."""
        path = Path(path)
        path.write_text(self.page(title), encoding="utf-8")
        return path


# The decision view.


def _status_text(result: RuleResult, rule_trace: Mapping[str, Any], lang: str) -> str:
    status = STATUS_WORDS[lang].get(result.status, result.status)
    override = rule_trace.get("override")
    if override:
        body, on = override.get("body"), override.get("decided_on")
        status += phrase("decided_by", lang, body=body, on=on)
    elif rule_trace.get("contradicting"):
        status += contradicting_text(rule_trace["contradicting"], lang)
    elif result.status == "awaiting_deliberation":
        bodies = "、".join(result.rule.override_by)
        status += phrase("awaiting", lang, bodies=bodies)
    return status


# The ops of a v2 condition tree that group other nodes; any other node is a leaf.
_GROUP_OPS = frozenset({"and", "or", "not", "derived", "any", "all", "count", "sum"})
_PICKS = frozenset({"first", "last"})  # said in one line: the element picked, or the element the list lacks


def _mark(result: Any) -> Markup:
    return tag("span", RESULT_MARKS.get(str(result), "?"), cls="pv-mark")


def _result_class(result: Any) -> str:
    return _RESULT_CLASS.get(str(result), "")


def _not_checked(count: int, reader: Reader) -> Markup:
    return tag("li", say_not_checked(count, reader), cls="pv-skipped")


def _condition_list(items: Any, reader: Reader, since: Mapping[str, str], skipped: int = 0) -> Markup:
    """The items of a condition group as a list, then a greyed line for the ``skipped`` items not checked; an item
    said exactly as one before it (a requirement two figures share, checked for each) is said once, as in text."""
    shown: list[Markup] = []
    for item in items if isinstance(items, list) else ():
        entry = _condition_item(item, reader, since)
        if entry and entry not in shown:
            shown.append(entry)
    if skipped:
        shown.append(_not_checked(skipped, reader))
    return tag("ul", *shown, cls="pv-cond") if shown else Markup("")


def _condition_item(node: Mapping[str, Any], reader: Reader, since: Mapping[str, str]) -> Markup:
    """One node of a v2 condition tree as a list item: a leaf as the text's sentence, a group as its heading
    (all of / any of / not, a derived figure, a quantifier) over a nested list; parts cut short greyed."""
    op = node.get("op")
    result = node.get("result")
    if op in _PICKS:
        value = node.get("value")
        if not (isinstance(value, Mapping) and "unknown" in value):
            return Markup("")  # the element picked: the comparison that reads it says its value
        return tag(
            "li",
            _mark("unknown"),
            " ",
            say_first_last(node, reader),
            cls=["pv-leaf", "pv-unknown"],
            title=node.get("expr"),
        )
    if op not in _GROUP_OPS:
        return tag(
            "li",
            _mark(result),
            " ",
            say_condition(node, reader, since),
            cls=["pv-leaf", _result_class(result)],
            title=node.get("expr"),
        )
    w = words(reader.lang)
    if op == "derived" and "value" in node:
        key = f"d.{node.get('derived')}"
        value = node["value"]
        if not (isinstance(value, Mapping) and "unknown" in value) or key in reader.expanded:
            return Markup("")  # a figure worked out: the comparison that reads it says its value
        reader.expanded.add(key)  # why a figure is unknown is said once per rule
    heading = w[f"group_{op}"] if op in ("and", "or", "not") else say_group(node, reader)
    head = tag(
        "span",
        _mark(result) if result is not None else "",
        " " if result is not None else "",
        heading,
        cls="pv-group-head",
    )
    body: list[Any] = [head]
    if op in ("and", "or", "not", "derived"):
        body.append(_condition_list(node.get("items"), reader, since, len(node.get("skipped") or ())))
    elif node.get("size") is not None:
        elements = []
        if not node.get("size"):
            elements.append(tag("li", say_empty(node, reader), cls="pv-empty"))
        shown, passed_over = shown_elements(node)
        if passed_over:
            elements.append(tag("li", reader.words["passed_over"].format(n=passed_over), cls="pv-skipped"))
        for element in shown:
            at = str(element.get("at"))
            reader.inside.append(at)
            elements.append(
                tag(
                    "li",
                    tag("span", say_element(at, reader), cls="pv-element"),
                    _condition_list(element.get("items"), reader, since),
                    cls="pv-member",
                    data_at=at,
                )
            )
            reader.inside.pop()
        if "visited" in node:
            elements.append(_not_checked(int(node["size"]) - int(node["visited"]), reader))
        if elements:
            body.append(tag("ul", *elements, cls="pv-cond"))
    return tag("li", *body, cls=["pv-group", f"pv-{op}", _result_class(result)], data_op=op)


def _rule_citation(cite: Mapping[str, Any], reader: Reader) -> Markup:
    """A rule's citation as the text names it: the document by title and section, then ``file:line``, then
    the quote."""
    source = say_source(cite, reader)
    quote = cite.get("quote")
    return join(
        [
            tag("span", source, cls="pv-source") if source else "",
            " " if source else "",
            citation(cite, quote=False),
            tag("span", " 「", quote, "」", cls="pv-quote") if quote else "",
        ]
    )


def _reason_source(rule_trace: Mapping[str, Any], reader: Reader) -> Markup:
    """The document a decisive rule cites, by title and section (its file and line follow the quote)."""
    cite = rule_trace.get("cite")
    source = say_source(cite, reader) if isinstance(cite, Mapping) else ""
    return tag("div", source, cls="pv-source") if source else Markup("")


def _rule_entry(
    decision: Decision, result: RuleResult, rule_trace: Mapping[str, Any], reader: Reader, decisive: bool
) -> Markup:
    lang = reader.lang
    w = words(lang)
    rule = result.rule
    outcome = rule_trace["result"]
    head = tag(
        "div",
        _mark(outcome),
        " ",
        tag("strong", rule.title(lang)),
        " ",
        _ident(rule.id),
        " — ",
        tag("span", _status_text(result, rule_trace, lang), cls="pv-status"),
        " ",
        tag("span", "(", w[result.role], ")", cls="pv-id"),
    )
    parts = [head]
    since = {str(p["name"]): str(p["from"]) for p in rule_trace.get("parameters", []) if p.get("from")}
    reader.expanded.clear()
    tree = _condition_list(rule_trace.get("condition"), reader, since)
    if tree:
        parts.append(tree)
    elif outcome != "not_in_force":
        parts.append(tag("p", w["not_traced"] if not decision.traced else w["no_conditions"], cls="pv-note"))
    if rule_trace.get("missing"):
        parts.append(
            tag(
                "p",
                w["missing"],
                punctuation("colon", lang),
                join(
                    (join([reader.fact(m), " ", tag("code", m)]) for m in rule_trace["missing"]),
                    "、" if lang == "zh" else "; ",
                ),
                cls="pv-note",
            )
        )
    if isinstance(rule_trace.get("cite"), Mapping):
        parts.append(
            tag("p", w["source"], punctuation("colon", lang), _rule_citation(rule_trace["cite"], reader), cls="pv-note")
        )
    if rule.note and result.status not in ("not_applicable", "not_met", "not_in_force"):
        parts.append(tag("p", w["note"], punctuation("colon", lang), " ".join(rule.note(lang).split()), cls="pv-note"))
    return tag(
        "li",
        *parts,
        cls=["pv-rule", _STATUS_CLASS.get(result.status, ""), "pv-decisive" if decisive else ""],
        data_rule=rule.id,
        data_status=result.status,
    )


def _parameters_used(decision: Decision, rules: Sequence[Mapping[str, Any]], lang: str) -> Markup:
    w = words(lang)
    seen: dict[str, Mapping[str, Any]] = {}
    for rule in rules:
        for parameter in rule["parameters"]:
            seen.setdefault(parameter["name"], parameter)
    if not seen:
        return Markup("")
    rows = []
    for name, entry in seen.items():
        parameter = decision.ruleset.parameters[name]
        pv = decision.parameters.get(name)
        value = format_value(pv.value, parameter.unit, lang) if pv is not None else w["none"]
        rows.append(
            [
                join([parameter.title(lang), " ", _ident(name)]),
                value,
                entry.get("from") or "",
                citation(pv.citation if pv is not None else None, ruleset=decision.ruleset),
            ]
        )
    return join(
        [
            _h(4, w["parameters_used"]),
            table(
                [w["parameter"], w["value"], w["from"], w["citation"]],
                rows,
                cls="pv-params",
                columns=_PARAMETER_COLUMNS,
            ),
        ]
    )


def decision_html(decision: Decision, lang: str | None = None) -> HTML:
    """A decision as HTML: its outcome in words, who and when, the decisive clauses quoted with ``file:line``,
    the facts still missing, the parameters used, and a collapsible trace of every rule tried."""
    lang = view_language(lang)
    w = words(lang)
    colon = punctuation("colon", lang)
    trace = to_trace(decision, version=2)
    reader = Reader(trace, lang)
    ruleset = decision.ruleset
    spec = ruleset.decisions[decision.decision]
    title = spec.title(lang)
    tone = outcome_tone(spec, decision.outcome)
    outcome = badge(outcome_label(spec, decision.outcome, lang), tone, mark=_TONE_MARK[tone], title=decision.outcome)

    parts = [_h(3, title, " ", _ident(decision.decision))]
    parts.append(tag("p", tag("span", w["outcome"], colon, cls="pv-id"), outcome, cls="pv-outcome"))
    parts.append(
        _meta(
            [
                (w["household"], tag("code", decision.facts_id)),
                (w["as_of"], decision.as_of.isoformat()),
                (
                    w["ruleset"],
                    join(
                        [
                            ruleset.title(lang),
                            " ",
                            _ident(f"{ruleset.id} {ruleset.version}"),
                            " ",
                            _digest(ruleset.digest),
                        ]
                    ),
                ),
                (w["variant"], ruleset.variant(lang) if ruleset.variant is not None else None),
                (w["decision_kind"], w[decision.kind]),
                (w["facts_digest"], _digest(trace["facts_digest"])),
            ]
        )
    )

    if decision.missing:
        parts.append(
            join(
                [
                    _h(4, w["missing"]),
                    tag(
                        "ul",
                        *(tag("li", reader.fact(m), " ", tag("code", m)) for m in decision.missing),
                        cls="pv-list missing",
                    ),
                ]
            )
        )
    if decision.possible:
        parts.append(
            tag(
                "p",
                w["possible"],
                colon,
                join((badge(outcome_label(spec, p, lang), outcome_tone(spec, p)) for p in decision.possible), " "),
                cls="pv-possible",
            )
        )

    if isinstance(trace.get("amount"), Mapping):
        parts.append(_amount_view(trace["amount"], reader, decision.outcome))
    if isinstance(trace.get("timeline"), Mapping):
        parts.append(timeline_view(trace["timeline"], reader))

    by_id = {r.rule.id: (r, t) for r, t in zip(decision.results, trace["rules"])}
    if decision.kind == "ranking":
        met = [ruleset.rules[r].title(lang) for r in decision.labels if r in ruleset.rules]
        listed = punctuation("clauses", lang).join(met) or w["none"]
        parts.append(tag("p", w["met_criteria"], colon, listed, cls="pv-met"))
    parts.append(_h(4, w["reasons"]))
    if decision.reasons:
        items = []
        for rule_id in decision.reasons:
            result, rule_trace = by_id[rule_id]
            rule = result.rule
            items.append(
                tag(
                    "li",
                    tag("strong", rule.title(lang)),
                    " ",
                    _ident(rule.id),
                    " — ",
                    _status_text(result, rule_trace, lang),
                    _reason_source(rule_trace, reader),
                    citation(rule.citation, ruleset=ruleset, block=True) if rule.citation else "",
                    cls="pv-reason",
                    data_rule=rule.id,
                )
            )
        parts.append(tag("ul", *items, cls="pv-list pv-reasons"))
    else:
        parts.append(tag("p", w["no_reasons"], cls="pv-note pv-reasons"))

    parts.append(_parameters_used(decision, trace["rules"], lang))

    decisive = set(decision.reasons)
    entries = [
        _rule_entry(decision, result, rule_trace, reader, result.rule.id in decisive)
        for result, rule_trace in zip(decision.results, trace["rules"])
    ]
    summary = tag("summary", w["trace"], phrase("rules_tried", lang, n=len(entries), rules_tried=w["rules_tried"]))
    parts.append(tag("details", summary, tag("ol", *entries, cls="pv-rules"), cls="pv-details pv-trace"))

    body = tag("div", *parts, cls=["pv", "pv-decision"], lang=_lang_attr(lang), data_outcome=decision.outcome)
    return HTML(body, lang, f"{title} — {decision.facts_id} — {decision.as_of.isoformat()}")


def timeline_view(timeline: Mapping[str, Any], reader: Reader) -> Markup:
    """A case's timeline as a table (date | step | who | people | posted days | constraints): each step
    with the constraints that read it marked ✔/✘/? and the days they counted; a row a broken constraint
    read is highlighted, one an unknown constraint read is marked, so the step where the case went wrong
    stands out. The constraints that lack a step follow, naming it."""
    lang = reader.lang
    tw = TIMELINE_WORDS[lang]
    colon = punctuation("colon", lang)
    constraints = [c for c in timeline.get("constraints", []) if isinstance(c, Mapping)]
    rows, classes = [], []
    for event in timeline.get("events", []):
        if not isinstance(event, Mapping):
            continue
        index = event.get("index")
        on = [c for c in constraints if index in c.get("events", [])]
        when = str(event.get("date"))
        if event.get("time"):
            when += f" {event['time']}"
        if event.get("end"):
            when += f"{tw['to']}{event['end']}" if lang == "zh" else f" {tw['to']} {event['end']}"
        step = event.get("step") or {}
        actor = event.get("actor")
        count = [tw["people"].format(n=event["people"])] if event.get("people") is not None else []
        if event.get("signatures") is not None:
            count.append(tw["signatures"].format(n=event["signatures"]))
        days = event.get("days")
        posted: Any = "—"
        if isinstance(days, Mapping) and days.get("calendar") is not None:
            posted = tw["span"].format(
                calendar=days["calendar"], working="?" if days.get("working") is None else days["working"]
            )
            posted = posted.strip().strip("（）()")
            place = event.get("place")
            if isinstance(place, Mapping):
                posted = f"{place.get(lang)}{colon}{posted}"
        marks = [
            tag("li", say_constraint(c, reader, index), cls=_result_class(c.get("result")), data_rule=c.get("rule"))
            for c in on
        ]
        rows.append(
            [
                when,
                tag("span", step.get(lang, step.get("code")), title=step.get("code")),
                actor.get(lang, actor.get("code")) if isinstance(actor, Mapping) else "—",
                punctuation("names", lang).join(count) or "—",
                posted,
                tag("ul", *marks, cls="pv-list") if marks else "—",
            ]
        )
        results = {str(c.get("result")) for c in on}
        classes.append("pv-fail" if "false" in results else "pv-unknown" if "unknown" in results else None)
    kind = timeline.get("kind")
    head = tw["timeline"] + (
        (f"（{kind.get(lang)}）" if lang == "zh" else f" ({kind.get(lang)})") if isinstance(kind, Mapping) else ""
    )
    body = table(
        [tw["date"], tw["step"], tw["who"], tw["count"], tw["posted"], tw["constraints"]],
        rows,
        cls="pv-timeline",
        columns=("pv-label", "pv-name", None, None, None, None),
        row_classes=classes,
    )
    lacking = []
    for c in constraints:
        missing = [str(m) for m in c.get("missing", [])]
        if missing:
            said = reader.words["names_sep"].join(reader.fact(m) for m in missing)
            lacking.append(tag("li", say_constraint(c, reader), " — ", said, cls="pv-unknown", data_rule=c.get("rule")))
    extra = tag("ul", *lacking, cls="pv-list pv-lacking") if lacking else Markup("")
    return join([_h(4, head), body, extra])


def _amount_view(amount: Mapping[str, Any], reader: Reader, outcome: str) -> Markup:
    """An amount decision's figures: the total with its period (or why there is none), and a table of
    each part: who it is for, the rows that gave it, the arithmetic, the figure."""
    lang = reader.lang
    aw = AMOUNT_WORDS[lang]
    colon = punctuation("colon", lang)
    lines = amount_lines(amount, reader, outcome)
    head = tag("p", tag("strong", lines[0]), cls="pv-total")
    parts = [p for p in amount.get("parts", []) if isinstance(p, Mapping)]
    if not parts:
        return head
    unit = amount.get("unit")
    rows = []
    for part in parts:
        element = part.get("element")
        who = say_element(str(element), reader) if element is not None else aw["household"]
        titles = [
            str((r.get("title") or {}).get(lang, r.get("id"))) for r in part.get("rows", []) if isinstance(r, Mapping)
        ]
        if part.get("value") is None:
            missing = reader.words["names_sep"].join(reader.fact(str(m)) for m in part.get("missing", []))
            figure: Any = tag("span", reader.words["missing"], colon, missing, cls="pv-unknown")
            status = "pv-unknown"
        else:
            figure = say_money(part["value"], unit, lang)
            status = "pv-pass" if titles else "pv-off"
        rows.append(
            (
                [
                    who,
                    punctuation("clauses", lang).join(titles) if titles else "—",
                    say_working(part, amount, reader) or "—",
                    figure,
                ],
                status,
            )
        )
    body = table(
        [aw["element"], aw["row"], aw["steps"], aw["amount"]],
        [r for r, _ in rows],
        cls="pv-amount",
        columns=("pv-label", "pv-name", None, "pv-num"),
        row_classes=[c for _, c in rows],
    )
    return join([head, body])


# The ruleset view.


def _outcome_labels(spec: DecisionSpec, lang: str) -> Markup:
    w = words(lang)
    rows = [[tag("code", name), label(lang)] for name, label in spec.labels.items()]
    return table([w["id"], w["outcome"]], rows, cls="pv-labels", columns=("pv-label",))


def _rule_list(ruleset: Ruleset, spec: DecisionSpec, ids: Sequence[str], lang: str) -> Markup:
    w = words(lang)
    rows = []
    for rule_id in ids:
        rule = ruleset.rules[rule_id]
        rows.append(
            [
                tag("code", rule.id),
                rule.title(lang),
                _strength(rule.strength, lang),
                rule_outcome(ruleset, rule.outcome, lang, spec) if rule.outcome else "",
            ]
        )
    return table(
        [w["id"], w["title"], w["strength"], w["outcome_of_rule"]],
        rows,
        cls="pv-decision-rules",
        columns=("pv-label", "pv-name", "pv-label"),
    )


def rule_outcome(ruleset: Ruleset, outcome: str, lang: str, spec: DecisionSpec | None = None) -> Markup:
    """What a rule gives, in words with its code: looked up in ``spec``'s labels, else in whichever of the
    ruleset's decisions labels it."""
    specs = ([spec] if spec is not None else []) + list(ruleset.decisions.values())
    for candidate in specs:
        if outcome in candidate.labels:
            return join([candidate.label(outcome, lang), " ", tag("code", outcome)])
    return tag("code", outcome)


def _strength(strength: str, lang: str) -> str:
    w = words(lang)
    return w["hard"] if strength == "hard" else w["default_strength"]


def _decision_section(ruleset: Ruleset, spec: DecisionSpec, lang: str) -> Markup:
    w = words(lang)
    meta: list[tuple[Any, Any]] = [(w["decision_kind"], w[spec.kind])]
    if spec.kind == "eligibility":
        meta.append((w["yes"], join([outcome_label(spec, spec.yes, lang), " ", tag("code", spec.yes)])))
        meta.append((w["no"], join([outcome_label(spec, spec.no, lang), " ", tag("code", spec.no)])))
    elif spec.kind == "table":
        meta.append((w["hit_policy"], tag("code", spec.hit_policy)))
        meta.append((w["default"], join([outcome_label(spec, spec.default, lang), " ", tag("code", spec.default)])))
    elif spec.kind == "amount" and spec.amount is not None:
        meta.extend(_amount_meta(ruleset, spec, lang))
    else:
        if spec.among_decision:
            among = ruleset.decisions.get(spec.among_decision)
            names = [outcome_label(among, o, lang) if among else o for o in spec.among_outcomes]
            meta.append((w["among"], join([tag("code", spec.among_decision), " → ", "、".join(names)])))
        meta.append((w["order"], w[spec.order]))
        if spec.tiebreak:
            meta.append(
                (
                    w["tiebreak"],
                    join(
                        (
                            join(
                                [
                                    tag("code", t.expr.text),
                                    " (",
                                    w["descending"] if t.descending else w["ascending"],
                                    ")",
                                ]
                            )
                            for t in spec.tiebreak
                        ),
                        "; ",
                    ),
                )
            )
    parts = [_h(4, spec.title(lang), " ", _ident(spec.name)), _meta(meta)]
    criteria = "priorities" if spec.kind == "ranking" else "criteria"
    for role, ids in ((criteria, spec.criteria), ("exceptions", spec.exceptions), ("rows", spec.rows)):
        if ids:
            parts.append(tag("div", tag("strong", w[role]), _rule_list(ruleset, spec, ids, lang), cls="pv-role"))
    if spec.labels:
        parts.append(tag("div", tag("strong", w["labels"]), _outcome_labels(spec, lang), cls="pv-role"))
    return tag("section", *parts, cls="pv-decision-spec", data_decision=spec.name)


def _amount_meta(ruleset: Ruleset, spec: DecisionSpec, lang: str) -> list[tuple[Any, Any]]:
    """What the ruleset view says of an amount decision: unit and period, what it is answered per, bands or
    components, cap, floor, rounding and gate."""
    figure = spec.amount
    assert figure is not None
    aw, w = AMOUNT_WORDS[lang], words(lang)
    unit = figure.unit if lang == "zh" else UNIT_WORDS["en"].get(figure.unit, figure.unit)
    period = PERIOD_WORDS[lang].get(figure.period) or w["none"]
    meta: list[tuple[Any, Any]] = [(aw["unit"], join([unit, " ", tag("code", figure.unit)])), (aw["period"], period)]
    if figure.per is not None:
        meta.append((aw["per"], tag("code", f"{figure.per.var} in {figure.per.path}")))
    meta.append((w["hit_policy"], tag("code", spec.hit_policy)))
    for key, expr in (("cap", figure.cap), ("floor", figure.floor)):
        if expr is not None:
            title = ruleset.parameters[expr.name].title(lang) if isinstance(expr, ast.ParamRef) else ""
            meta.append((aw[key], join([title, " ", tag("code", expr.text)]) if title else tag("code", expr.text)))
    if figure.rounding is not None:
        rounding = {"places": figure.rounding.places, "mode": figure.rounding.mode}
        meta.append((aw["round"], say_rounding(rounding, lang)))
    if figure.gate_decision is not None:
        gate = ruleset.decisions.get(figure.gate_decision)
        names = [outcome_label(gate, o, lang) if gate else o for o in figure.gate_outcomes]
        meta.append(
            (aw["gate"], join([tag("code", figure.gate_decision), " → ", punctuation("clauses", lang).join(names)]))
        )
    return meta


# A parameter's title keeps its width; its start date never wraps.
_PARAMETER_COLUMNS = ("pv-name", None, "pv-label")


def _parameters_table(ruleset: Ruleset, lang: str) -> Markup:
    w = words(lang)
    rows = []
    for name, parameter in ruleset.parameters.items():
        for index, pv in enumerate(parameter.values):
            rows.append(
                [
                    join([parameter.title(lang), " ", _ident(name)]) if index == 0 else "",
                    format_value(pv.value, parameter.unit, lang),
                    pv.start.isoformat(),
                    citation(pv.citation, ruleset=ruleset),
                ]
            )
    return table(
        [w["parameter"], w["value"], w["from"], w["citation"]], rows, cls="pv-params", columns=_PARAMETER_COLUMNS
    )


def _rules_table(ruleset: Ruleset, lang: str) -> Markup:
    w = words(lang)
    rows = []
    for rule in ruleset.rules.values():
        name = [tag("strong", rule.title(lang)), tag("br"), tag("code", rule.id)]
        if rule.valid_from or rule.valid_to:
            name += [
                tag("br"),
                tag(
                    "span",
                    w["valid"],
                    " ",
                    rule.valid_from or "…",
                    " ",
                    w["until"],
                    " ",
                    rule.valid_to or "…",
                    cls="pv-note",
                ),
            ]
        strength = _strength(rule.strength, lang)
        if rule.override_by:
            strength += phrase("in_parentheses", lang, text="、".join(rule.override_by))
        source = [citation(rule.citation, ruleset=ruleset, block=True)]
        if rule.note:
            source.append(
                tag("p", w["note"], punctuation("colon", lang), " ".join(rule.note(lang).split()), cls="pv-note")
            )
        rows.append(
            [
                join(name),
                tag("code", rule.when.text),
                strength,
                rule_outcome(ruleset, rule.outcome, lang) if rule.outcome else "",
                join(source),
            ]
        )
    return table(
        [w["rules"], w["condition"], w["strength"], w["outcome_of_rule"], w["source"]],
        rows,
        cls="pv-rules",
        columns=("pv-name",),
    )


def ruleset_html(ruleset: Ruleset, lang: str | None = None) -> HTML:
    """A ruleset as HTML: id, version and digest; its decisions with their rules; the parameters with their dated
    values; every rule with its condition, strength, outcome and the clause it encodes."""
    lang = view_language(lang)
    w = words(lang)
    title = ruleset.title(lang)
    parts = [_h(3, title)]
    sources = join(
        (tag("span", tag("code", s.file), " ", s.title, cls="pv-source") for s in ruleset.sources.values()), "; "
    )
    parts.append(
        _meta(
            [
                (w["ruleset"], tag("code", ruleset.id)),
                (w["version"], ruleset.version),
                (w["digest"], _digest(ruleset.digest)),
                (w["jurisdiction"], ruleset.jurisdiction),
                (w["subject"], ruleset.subject),
                (w["variant"], ruleset.variant(lang) if ruleset.variant is not None else None),
                (w["sources"], sources),
            ]
        )
    )
    parts.append(
        tag(
            "details",
            tag("summary", w["decisions"], f" ({len(ruleset.decisions)})"),
            *(_decision_section(ruleset, spec, lang) for spec in ruleset.decisions.values()),
            cls="pv-details pv-decisions",
            open=True,
        )
    )
    parts.append(
        tag(
            "details",
            tag("summary", w["parameters"], f" ({len(ruleset.parameters)})"),
            _parameters_table(ruleset, lang),
            cls="pv-details pv-parameters",
        )
    )
    if ruleset.derived:
        rows = [
            [
                join([d.title(lang), " ", _ident(d.name)]) if d.title.zh else tag("code", d.name),
                tag("code", d.expr.text),
            ]
            for d in ruleset.derived.values()
        ]
        parts.append(
            tag(
                "details",
                tag("summary", w["derived"], f" ({len(ruleset.derived)})"),
                table([w["title"], w["expression"]], rows, cls="pv-derived", columns=("pv-name",)),
                cls="pv-details pv-derived",
            )
        )
    parts.append(
        tag(
            "details",
            tag("summary", w["rules"], f" ({len(ruleset.rules)})"),
            _rules_table(ruleset, lang),
            cls="pv-details pv-rule-list",
        )
    )
    body = tag("div", *parts, cls=["pv", "pv-ruleset"], lang=_lang_attr(lang), data_ruleset=ruleset.id)
    return HTML(body, lang, f"{title} — {ruleset.id} {ruleset.version}")


# The comparison and sweep views.

MAX_LISTED = 200  # changed households listed in a comparison view; the frame has them all


def _outcome_badge(spec: DecisionSpec, outcome: str, lang: str) -> Markup:
    tone = outcome_tone(spec, outcome)
    return badge(outcome_label(spec, outcome, lang), tone, mark=_TONE_MARK[tone], title=outcome)


def comparison_html(comparison: Comparison, lang: str | None = None, *, listed: int = MAX_LISTED) -> HTML:
    """A what-if comparison as HTML: the change in words, households per (before, after) pair, the causes, and the
    households that change with the rules behind each (the first ``listed`` of them)."""
    lang = view_language(lang)
    w = words(lang)
    baseline, variant = comparison.baseline, comparison.variant
    spec = variant.decisions.get(comparison.decision) or baseline.decisions[comparison.decision]
    change = variant.variant(lang) if variant.variant is not None else _digest(variant.digest)
    title = spec.title(lang)
    parts = [_h(3, w["what_if"], punctuation("colon", lang), change)]
    parts.append(
        _meta(
            [
                (w["decision_kind"], join([title, " ", _ident(comparison.decision)])),
                (w["as_of"], comparison.as_of.isoformat()),
                (
                    w["baseline"],
                    join(
                        [
                            baseline.title(lang),
                            " ",
                            _ident(f"{baseline.id} {baseline.version}"),
                            " ",
                            _digest(baseline.digest),
                        ]
                    ),
                ),
                (w["variant"], _digest(variant.digest)),
                (w["changed"], f"{comparison.changed} / {comparison.total}"),
                (w["reevaluated"], join((tag("code", r) for r in comparison.reevaluated), ", ") or w["none"]),
            ]
        )
    )
    moved = comparison.transitions()
    stayed = sorted(((pair, n) for pair, n in comparison.counts.items() if pair[0] == pair[1]), key=lambda x: -x[1])
    rows = [[_outcome_badge(spec, b, lang), "→", _outcome_badge(spec, a, lang), n] for (b, a), n in moved.items()]
    rows += [[_outcome_badge(spec, b, lang), "=", w["unchanged"], n] for (b, _), n in stayed]
    parts.append(_h(4, w["transitions"]))
    parts.append(
        table(
            [w["before"], "", w["after"], w["households"]],
            rows,
            cls="pv-transitions",
            columns=("pv-label", "pv-label", "pv-label", "pv-num"),
            row_classes=["pv-changed"] * len(moved) + ["pv-off"] * len(stayed),
        )
    )
    if comparison.amounts is not None:
        parts.append(_amount_changes(comparison, lang, listed))
    causes = comparison.by_cause(lang)
    if causes:
        parts.append(_h(4, w["causes"]))
        parts.append(
            table(
                [w["causes"], w["households"]],
                [[c, n] for c, n in causes.items()],
                cls="pv-causes",
                columns=("pv-name", "pv-num"),
            )
        )
    if comparison.changes:
        shown = comparison.changes[:listed]
        rows = [
            [
                tag("code", c.id),
                _outcome_badge(spec, c.before, lang),
                _outcome_badge(spec, c.after, lang),
                join((tag("code", r) for r in c.rules), ", "),
                join((cause.describe(lang, variant, baseline) for cause in c.causes), "; "),
            ]
            for c in shown
        ]
        more = len(comparison.changes) - len(shown)
        summary = tag("summary", w["changed_households"], f" ({len(comparison.changes)})")
        note = tag("p", w["more"].format(n=more), cls="pv-note") if more else ""
        parts.append(
            tag(
                "details",
                summary,
                table(
                    [w["household"], w["before"], w["after"], w["rules_differ"], w["causes"]],
                    rows,
                    cls="pv-changes",
                    columns=("pv-label", "pv-label", "pv-label"),
                ),
                note,
                cls="pv-details pv-changed-list",
            )
        )
    body = tag("div", *parts, cls=["pv", "pv-comparison"], lang=_lang_attr(lang), data_decision=comparison.decision)
    return HTML(body, lang, f"{w['what_if']}: {variant.variant(lang) if variant.variant else variant.digest[:19]}")


def _money(value: Any, unit: str, lang: str, *, signed: bool = False) -> str:
    """An exact amount for a view's cell, with its unit in ``lang``; "—" when it cannot be worked out."""
    if value is None:
        return "—"
    text = say_money(format(value, "f"), unit, lang)
    return "+" + text if signed and value > 0 else text


def _amount_changes(comparison: Comparison, lang: str, listed: int) -> Markup:
    """An amount comparison's figures: the summed totals before and after and the change, then the households
    whose amount differs (the first ``listed``), each with its amounts and the change."""
    figures = comparison.amounts
    assert figures is not None
    w, aw = words(lang), AMOUNT_WORDS[lang]
    unit = figures.unit
    period = PERIOD_WORDS[lang].get(figures.period, "")
    totals = table(
        [aw["total_before"], aw["total_after"], aw["delta"], w["households"]],
        [
            [
                _money(figures.before, unit, lang),
                _money(figures.after, unit, lang),
                _money(figures.delta, unit, lang, signed=True),
                figures.changed,
            ]
        ],
        cls="pv-amount-totals",
        columns=("pv-num", "pv-num", "pv-num", "pv-num"),
    )
    head = _h(4, aw["amount"], f"（{period}）" if lang == "zh" and period else f" ({period})" if period else "")
    notes = [tag("p", line, cls="pv-note") for line in amount_summary(figures, lang)[1:]]
    if not figures.changes:
        return join([head, totals, *notes])
    shown = figures.changes[:listed]
    rows = [
        [
            tag("code", c.id),
            _money(c.before, unit, lang),
            _money(c.after, unit, lang),
            _money(c.delta, unit, lang, signed=True),
            join((cause.describe(lang, comparison.variant, comparison.baseline) for cause in c.causes), "; "),
        ]
        for c in shown
    ]
    more = len(figures.changes) - len(shown)
    details = tag(
        "details",
        tag("summary", aw["amount_households"], f" ({len(figures.changes)})"),
        table(
            [w["household"], w["before"], w["after"], aw["delta"], w["causes"]],
            rows,
            cls="pv-amount-changes",
            columns=("pv-label", "pv-num", "pv-num", "pv-num"),
        ),
        tag("p", w["more"].format(n=more), cls="pv-note") if more else "",
        cls="pv-details pv-amount-list",
    )
    return join([head, totals, *notes, details])


def sweep_html(sweep: Sweep, lang: str | None = None) -> HTML:
    """A parameter sweep as HTML: households per outcome for each value, and how many change from the baseline."""
    lang = view_language(lang)
    w = words(lang)
    ruleset = sweep.comparisons[0].baseline if sweep.comparisons else None
    spec = ruleset.decisions[sweep.decision] if ruleset is not None else None
    parameter = ruleset.parameters.get(sweep.parameter) if ruleset is not None else None
    name = join([parameter.title(lang), " ", _ident(sweep.parameter)]) if parameter is not None else sweep.parameter
    outcomes = sweep.outcomes
    heads = [w["value"], *(outcome_label(spec, o, lang) if spec else o for o in outcomes), w["changed"]]
    rows = [
        [str(value), *(counts.get(o, 0) for o in outcomes), c.changed]
        for value, counts, c in zip(sweep.values, sweep.counts(), sweep.comparisons)
    ]
    rows.append([w["baseline"], *(sweep.baseline.get(o, 0) for o in outcomes), 0])
    if sweep.is_amount:  # an amount decision: the summed total for each value, and its change
        aw = AMOUNT_WORDS[lang]
        heads += [aw["total"], aw["delta"]]
        for row, c in zip(rows, sweep.comparisons):
            figures = c.amounts
            assert figures is not None
            row += [_money(figures.after, figures.unit, lang), _money(figures.delta, figures.unit, lang, signed=True)]
        first = sweep.comparisons[0].amounts if sweep.comparisons else None
        rows[-1] += [_money(first.before, first.unit, lang) if first is not None else "—", ""]
    parts = [
        _h(3, w["sweep"], punctuation("colon", lang), name),
        _meta(
            [
                (w["decision_kind"], join([spec.title(lang) if spec else "", " ", _ident(sweep.decision)])),
                (w["as_of"], sweep.as_of.isoformat()),
                (w["households"], sweep.total),
            ]
        ),
        table(
            heads,
            rows,
            cls="pv-sweep",
            row_classes=[None] * len(sweep.values) + ["pv-off"],
            columns=("pv-label", *(["pv-num"] * (len(heads) - 1))),
        ),
    ]
    body = tag("div", *parts, cls=["pv", "pv-sweep"], lang=_lang_attr(lang), data_parameter=sweep.parameter)
    return HTML(body, lang, f"{w['sweep']}: {sweep.parameter}")


__all__ = [
    "CSS",
    "HTML",
    "LANGS",
    "DisplayLanguage",
    "Markup",
    "badge",
    "citation",
    "comparison_html",
    "decision_html",
    "display_language",
    "esc",
    "join",
    "outcome_label",
    "outcome_tone",
    "rule_outcome",
    "ruleset_html",
    "sweep_html",
    "table",
    "tag",
    "view_language",
    "words",
]
