from decimal import Decimal

import pytest

from core.numbers import thousands, wan_yuan


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("765076.11", "76.51 亿元"),
        (Decimal("200"), "200 万元"),
        (Decimal("200.00"), "200 万元"),
        ("1234.5", "1,234.5 万元"),
        ("9999.99", "9,999.99 万元"),
        (10000, "1 亿元"),
        ("1234567", "123.46 亿元"),
        ("0.5", "0.5 万元"),
        (None, ""),
    ],
)
def test_amounts_in_wan_yuan_read_with_separators_and_units(value, words):
    assert wan_yuan(value) == words


def test_counts_get_thousands_separators():
    assert thousands(1110000) == "1,110,000"
