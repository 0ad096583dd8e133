"""``povrules days FIRST LAST``: an inspector's check of a count, both conventions, in zh and en, and the
one-line error of a bad day or an uncovered year."""

from __future__ import annotations

import pytest

from povrules.cli import main


def run(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = main(["days", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_over_national_day_both_conventions_and_the_official_days(capsys):
    code, lines, err = run(capsys, "2021-09-30", "2021-10-09")
    assert code == 0 and err == ""
    assert lines[0] == "2021-09-30 to 2021-10-09"
    assert "both days counted" in lines[1] and "10 calendar days, 3 working days" in lines[1]
    assert "its day not counted" in lines[2] and "9 calendar days, 2 working days" in lines[2]
    assert lines[3] == "public holidays inside: 2021-10-01 to 2021-10-07 National Day (7 days)"
    assert lines[4] == "adjusted working days (调休) inside: 2021-10-09 (Sat, National Day)"
    assert "2004–2026" in lines[5]


def test_a_seven_day_posting_in_chinese(capsys):
    code, lines, _ = run(capsys, "2021-09-22", "2021-09-28", "--lang", "zh")
    assert code == 0
    assert lines[0] == "2021-09-22 至 2021-09-28"
    assert "日历日 7 天，工作日 6 天" in lines[1]  # 09-26 is a Sunday worked
    assert "日历日 6 天，工作日 5 天" in lines[2]
    assert lines[3] == "其间法定节假日：无"
    assert lines[4] == "其间调休上班日：2021-09-26（星期日，国庆节）"


def test_two_festivals_are_listed_apart(capsys):
    _, lines, _ = run(capsys, "2021-09-15", "2021-10-19", "--lang", "zh")
    assert "工作日 20 天" in lines[2]  # add_working_days(2021-09-15, 20) is 2021-10-19
    assert lines[3] == "其间法定节假日：2021-09-19 至 2021-09-21 中秋（3 天）；2021-10-01 至 2021-10-07 国庆节（7 天）"
    assert lines[4].count("；") == 2 and "2021-09-18（星期六，中秋）" in lines[4]


def test_a_plain_week_and_a_single_day(capsys):
    _, lines, _ = run(capsys, "2021-11-08", "2021-11-14")
    assert "7 calendar days, 5 working days" in lines[1] and "6 calendar days, 4 working days" in lines[2]
    assert lines[3].endswith("none") and lines[4].endswith("none")
    _, lines, _ = run(capsys, "2021-11-12", "2021-11-15")  # Friday to Monday
    assert "4 calendar days, 2 working days" in lines[1] and "3 calendar days, 1 working day" in lines[2]
    _, lines, _ = run(capsys, "2021-11-13", "2021-11-13")
    assert "1 calendar day, 0 working days" in lines[1] and "0 calendar days, 0 working days" in lines[2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("2021-9-30", "2021-10-09"), "FIRST: expected a date as YYYY-MM-DD, got '2021-9-30'"),
        (("2021-09-30", "2021-02-30"), "LAST: expected a date as YYYY-MM-DD, got '2021-02-30'"),
        (("2021-10-09", "2021-09-30"), "LAST: expected a day on or after FIRST (2021-10-09), got 2021-09-30"),
        (("2026-12-01", "2027-01-10"), "working days are known for 2004–2026"),
        (("2003-12-25", "2004-01-05"), "2003-12-25 is outside it"),
    ],
)
def test_bad_days_are_one_line_and_exit_2(capsys, argv, message):
    code, lines, err = run(capsys, *argv)
    assert code == 2 and lines == []
    assert err.count("\n") == 1 and err.startswith("povrules days: ") and message in err
