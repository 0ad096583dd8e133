"""The policy sources by title and section: the outline found in a text, the package data kept
in step with the source files (when they are present), and citations as a reader reads them."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from povrules import sources
from povrules.errors import LanguageError
from povrules.sources import ITEM, PART, PIECE, Heading, citation_text, outline, section, section_label, source_title

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
PACKAGED = json.loads(files("povrules").joinpath("data/sources.json").read_text(encoding="utf-8"))
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="the policy source files are not beside the project")

TEXT = """关于某项工作的方案 篇1
前言。
一、总体要求
（一）指导思想。坚持……
说明
(二)目标任务:到年底
二、主要措施,分三步
某某方案篇二
第一篇:十年成果
一、帮扶内容
"""


def test_an_outline_finds_pieces_parts_and_items_with_the_lines_they_span():
    assert outline(TEXT) == [
        Heading(PIECE, 1, "关于某项工作的方案", 1, 7),
        Heading(PART, 1, "总体要求", 3, 6),
        Heading(ITEM, 1, "指导思想", 4, 5),
        Heading(ITEM, 2, "目标任务", 6, 6),
        Heading(PART, 2, "主要措施", 7, 7),
        Heading(PIECE, 2, "某某方案", 8, 8),
        Heading(PIECE, 1, "十年成果", 9, 10),
        Heading(PART, 1, "帮扶内容", 10, 10),
    ]


def test_an_outline_reads_headings_through_pinyin_and_numbers_past_ten():
    text = "  十二、實(shí)施對(duì)象\n（二十三）監(jiān)測(cè)方法。\n脫貧戶幫扶措施方案 12\n對全縣年滿60\n"
    assert outline(text) == [
        Heading(PART, 12, "實施對象", 1, 2),
        Heading(ITEM, 23, "監測方法", 2, 2),
        Heading(PIECE, 12, "脫貧戶幫扶措施方案", 3, 4),
    ]


def test_a_piece_heading_run_on_after_a_paragraph_is_found():
    assert outline("正文。评优资格。精准扶贫工作实施方案篇二\n下文\n") == [
        Heading(PIECE, 2, "精准扶贫工作实施方案", 1, 2)
    ]


@needs_seeds
def test_the_packaged_outlines_are_those_of_the_source_files():
    assert sources.generate(SEEDS) == PACKAGED


@needs_seeds
def test_every_source_file_has_a_title():
    assert {p.name for p in SEEDS.glob("*.txt")} == set(sources.TITLES) == set(PACKAGED)


def test_every_source_title_is_in_both_languages():
    for file in sources.TITLES:
        zh, en = source_title(file, "zh"), source_title(file, "en")
        assert zh and en and zh != en
        assert not any(c.isascii() and c.isalpha() for c in zh), zh
    assert source_title("999_unknown.txt", "zh") is None
    with pytest.raises(LanguageError):
        source_title("002_f25b4d77f22fc531.txt", "fr")


def test_every_packaged_outline_is_ordered_and_nested():
    for file, entry in PACKAGED.items():
        headings = [Heading(**h) for h in entry["outline"]]
        assert headings, file
        assert [h.start for h in headings] == sorted(h.start for h in headings)
        for h in headings:
            assert 1 <= h.start <= h.end <= entry["lines"] and h.title and h.number >= 1, (file, h)


REPORTS = "002_f25b4d77f22fc531.txt"


def test_a_section_is_the_headings_that_hold_the_line():
    # 篇2 of the reports: part 三 (实施精准扶贫方略) holds item (五) (发展特色产业脱贫) at lines 105-108.
    found = section(REPORTS, 107)
    assert [(h.level, h.number) for h in found] == [(PIECE, 2), (PART, 3), (ITEM, 5)]
    assert found[-1].title == "发展特色产业脱贫"
    assert section(REPORTS, 1) == ()  # before the first piece
    assert section("999_unknown.txt", 5) == ()


def test_a_section_label_says_the_numbers_in_the_readers_language():
    found = section(REPORTS, 107)
    assert section_label(found, "zh") == "第2篇第三部分（五）"
    assert section_label(found, "en") == "piece 2, part 3, item 5"
    assert section_label((), "zh") == ""


def test_a_citation_names_the_document_and_section_then_the_file_and_line():
    assert citation_text(REPORTS, 107, "zh") == f"《关于脱贫攻坚行动报告（六篇）》第2篇第三部分（五）（{REPORTS}:107）"
    assert (
        citation_text(REPORTS, 107, "en", end_line=108)
        == f"“Reports on the campaign against poverty (six pieces)”, piece 2, part 3, item 5 ({REPORTS}:107-108)"
    )
    sanming = "001_75e9794d5161ca6f.txt"
    assert (
        citation_text(sanming, 16, "zh") == f"《三明市深化精准扶贫2015-2018年行动计划》第二部分（一）（{sanming}:16）"
    )
    assert citation_text("999_unknown.txt", 3, "zh") == "999_unknown.txt:3"
    with pytest.raises(LanguageError):
        citation_text(REPORTS, 107, "EN")


def test_the_generating_command_writes_the_data(tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    for name in sources.TITLES:
        (folder / name).write_text(TEXT, encoding="utf-8")
    out = tmp_path / "sources.json"
    assert sources.main([str(folder), "-o", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) == set(sources.TITLES)
    assert data[REPORTS]["outline"][0] == {"level": 1, "number": 1, "title": "关于某项工作的方案", "start": 1, "end": 7}


def test_the_generating_command_names_a_missing_file(tmp_path, capsys):
    assert sources.main([str(tmp_path)]) == 1
    assert "000_db37dc96bf620943.txt" in capsys.readouterr().err
