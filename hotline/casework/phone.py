"""Phone numbers: validation as a Chinese mobile or landline, normalising and masking."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

from hotline.errors import ValidationError

_ACCEPTED_TYPES = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
_SEPARATORS = re.compile(r"[\s\-()（）]")


def normalise_phone(raw: str, field: str = "phone") -> str:
    """Validates a Chinese mobile or landline number and returns it in E.164 form.

    Args:
        raw: What the resident typed, e.g. ``138 1234 5678`` or ``027-85671234``.
        field: The field name, for the error.

    Returns:
        The number in E.164 form, e.g. ``+8613812345678``.

    Raises:
        ValidationError: When it is not a valid Chinese mobile or landline number.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError(field, "请提供联系电话")
    compact = _SEPARATORS.sub("", text)
    if not re.fullmatch(r"\+?\d+", compact):
        raise ValidationError(field, f"电话号码「{text}」含有非数字字符")
    try:
        number = phonenumbers.parse(compact, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(field, f"无法识别的电话号码「{text}」") from exc
    if number.country_code != 86:
        raise ValidationError(field, f"「{text}」不是中国大陆的电话号码")
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(field, f"「{text}」不是有效的手机号或固定电话")
    if phonenumbers.number_type(number) not in _ACCEPTED_TYPES:
        raise ValidationError(field, f"「{text}」不是手机号或固定电话")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_format(e164: str) -> str:
    """Shows a stored number the way residents write it: ``13812345678``, ``027-85671234``."""
    try:
        number = phonenumbers.parse(e164, "CN")
    except phonenumbers.NumberParseException:
        return e164
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return (
        national.replace(" ", "")
        if not national.startswith("0")
        else national.replace(" ", "-", 1).replace(" ", "")
    )


def mask_phone(e164: str | None) -> str:
    """Masks a number for display: ``138****5678``; landlines keep area code and last four."""
    if not e164:
        return ""
    digits = national_format(e164).replace("-", "")
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def last_four(e164: str | None) -> str:
    """The last four digits of a stored number (residents prove ownership with them)."""
    return re.sub(r"\D", "", e164 or "")[-4:]
