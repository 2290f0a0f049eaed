"""Phone validation, normalising and masking."""

from __future__ import annotations

import pytest

from hotline.casework.phone import last_four, mask_phone, national_format, normalise_phone
from hotline.errors import ValidationError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("027-85671234", "+862785671234"),
        ("(010) 6552 9988", "+861065529988"),
    ],
)
def test_mobile_and_landline_accepted(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1381234", "不是有效"),
        ("138abc45678", "非数字"),
        ("+1 415 555 2671", "不是中国大陆"),
        ("+44 20 7946 0958", "不是中国大陆"),
        ("", "请提供"),
        ("12345678901234567", "不是有效"),
    ],
)
def test_invalid_numbers_rejected(raw: str, reason: str) -> None:
    with pytest.raises(ValidationError) as err:
        normalise_phone(raw)
    assert err.value.field == "phone"
    assert reason in err.value.message


def test_masking_and_display() -> None:
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("+862785671234") == "027****1234"
    assert mask_phone(None) == ""
    assert national_format("+8613812345678") == "13812345678"
    assert national_format("+862785671234") == "027-85671234"
    assert last_four("+8613812345678") == "5678"
