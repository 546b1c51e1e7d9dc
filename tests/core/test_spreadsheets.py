"""Values written for Excel never run as formulas."""

import pytest

from core.spreadsheets import excel_safe, excel_safe_row


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://example.invalid","点我")', "=cmd|' /C calc'!A0", "+86 138", "-1", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_anything_that_could_start_a_formula_becomes_text(value):
    assert excel_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["无锡测试科技有限公司", "13812345678", "", "a=b", " =1", 42, -3, None])
def test_everything_else_is_written_as_it_is(value):
    assert excel_safe(value) == value


def test_a_whole_row():
    assert excel_safe_row([2, "联系电话", "=1+1", "不是有效的大陆手机号码"]) == [
        2,
        "联系电话",
        "'=1+1",
        "不是有效的大陆手机号码",
    ]
