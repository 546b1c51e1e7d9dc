import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from enterprises.models import Enterprise
from enterprises.validators import (
    USCC_CHARSET,
    mask_mobile,
    normalize_industry,
    normalize_mobile,
    normalize_uscc,
    uscc_check_char,
)
from tests.factories import EnterpriseFactory

KNOWN_VALID = ["91310110666007217T", "91350200MA2YJ1XR9G", "91440101MA5CJQ4N59", "913502000728319549"]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_valid_codes_pass(code):
    assert normalize_uscc(code) == code


def test_lowercase_and_spaces_are_normalised():
    assert normalize_uscc("  91350200ma2yj1xr9g ") == "91350200MA2YJ1XR9G"


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91310110666007217X", "校验位错误：第 18 位应为 T"),
        ("9131011066600721", "应为 18 位，实际为 16 位"),
        ("91310110666007217TT", "应为 18 位，实际为 19 位"),
        ("91310110666OO7217T", "不允许的字符"),  # letter O is not in the character set
        ("913101106660072I7T", "不允许的字符"),  # nor is I
        ("91AB0110666007217T", "不允许的字符"),  # the region part must be digits
        ("", "不能为空"),
    ],
)
def test_invalid_codes_are_refused_with_reason(code, fragment):
    with pytest.raises(ValidationError) as err:
        normalize_uscc(code)
    assert fragment in err.value.messages[0]


@given(st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17).map(lambda s: "91" + "320214" + s[8:]))
def test_any_single_character_change_is_caught(first17):
    code = first17 + uscc_check_char(first17)
    assert normalize_uscc(code) == code
    for i in range(18):
        mutated = code[:i] + ("1" if code[i] == "0" else "0") + code[i + 1 :]
        with pytest.raises(ValidationError):
            normalize_uscc(mutated)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"), ("8619912345678", "19912345678")],
)
def test_mobiles_are_normalised_to_eleven_digits(raw, normalised):
    assert normalize_mobile(raw) == normalised


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "0510-85551234", "abc", ""])
def test_invalid_mobiles_are_refused_naming_the_field(raw):
    with pytest.raises(ValidationError) as err:
        normalize_mobile(raw)
    assert "联系电话" in err.value.messages[0]


def test_mask_mobile_hides_the_middle():
    assert mask_mobile("13812345678") == "138****5678"


@pytest.mark.parametrize("code", ["C", "C39", "C3971", "I65", "T97", "A01"])
def test_industry_codes_accept_sections_and_divisions(code):
    assert normalize_industry(code) == code


@pytest.mark.parametrize(("code", "fragment"), [("C63", "不属于门类 C"), ("Z01", "格式不正确"), ("C3", "格式不正确")])
def test_industry_codes_refuse_wrong_divisions(code, fragment):
    with pytest.raises(ValidationError) as err:
        normalize_industry(code)
    assert fragment in err.value.messages[0]


@pytest.mark.django_db
def test_model_validation_names_each_bad_field():
    firm = EnterpriseFactory.build(uscc="91310110666007217X", contact_mobile="12345", industry="C99")
    with pytest.raises(ValidationError) as err:
        firm.full_clean(exclude=["region"])
    assert set(err.value.message_dict) >= {"uscc", "contact_mobile", "industry"}
    assert "校验位错误" in err.value.message_dict["uscc"][0]


@pytest.mark.django_db
def test_negative_amounts_are_refused_by_the_database_too():
    firm = EnterpriseFactory.build(registered_capital=-1)
    with pytest.raises(ValidationError) as err:
        firm.full_clean(exclude=["region"])
    assert "注册资本不能为负数" in str(err.value)
    assert Enterprise.objects.count() == 0
