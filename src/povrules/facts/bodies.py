"""The bodies that may decide on a default-strength rule: one vocabulary, in Simplified and Traditional forms.

A policy text names the body that may set a rule aside (村民代表会议, 民主评议 …), and a household's
facts record what that body decided. Both must use the same names, or a rule could never be set
aside; the texts come in both scripts, so each body has a Simplified form, which is canonical, and
a Traditional one. Facts and rulesets are normalised to the canonical form when they are read.
"""

from __future__ import annotations

from typing import Literal, get_args

# A school decides on student aid (资助): seed 003's 方案10 gives the school 困难认定、审核、公示 and seed 000's
# 篇十四 its 教育扶贫工作领导小组 and 评审小组; one name stands for the school's body, whichever the text calls it.
OverrideBody = Literal["村民代表会议", "村民主评议", "村两委", "乡镇审核", "县级审定", "学校学生资助工作领导小组"]

# Each canonical (Simplified) name and its Traditional form.
TRADITIONAL: dict[str, str] = {
    "村民代表会议": "村民代表會議",
    "村民主评议": "村民主評議",
    "村两委": "村兩委",
    "乡镇审核": "鄉鎮審核",
    "县级审定": "縣級審定",
    "学校学生资助工作领导小组": "學校學生資助工作領導小組",
}
BODIES: tuple[str, ...] = get_args(OverrideBody)
assert set(BODIES) == set(TRADITIONAL)  # one vocabulary: every canonical name has its other form
FORMS: tuple[str, ...] = BODIES + tuple(TRADITIONAL[name] for name in BODIES)
_CANONICAL = {**{name: name for name in BODIES}, **{form: name for name, form in TRADITIONAL.items()}}


def canonical_body(name: str) -> str | None:
    """The canonical (Simplified) name of a body written in either form; None for a name outside the vocabulary."""
    return _CANONICAL.get(name)
