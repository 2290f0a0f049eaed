"""Hiding personal data in text: phone numbers residents typed, and names (PIPL)."""

from __future__ import annotations

import re

ANONYMISED = "（已匿名）"
"""What replaces a name or a location once a case is anonymised."""
_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")
"""A mainland mobile number, also in international form (``+86 138…``, as stored)."""
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?\d{3,4}(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
UNNAMED = frozenset({"", "匿名", ANONYMISED})
REDACTED_NAME = "某某"
"""What replaces a person's name in published text."""
_SELF_NAMED = re.compile(
    r"(我叫|我名叫|名字叫|名字是|本人叫|本人姓名|姓名[:：]?|联系人[:：]?)\s*[\u4e00-\u9fff·]{2,4}"
)
"""A name a resident introduces in their own words: 我叫张三, 姓名：李四, 联系人王五."""


def mask_numbers(text: str | None) -> str:
    """Masks phone numbers (``138****5678``) and ID card numbers inside free text."""
    if not text:
        return text or ""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def phone_numbers_in(text: str | None) -> list[str]:
    """The mobile and landline numbers written in free text, in order (as written)."""
    found = [(m.start(), m.group(0)) for m in _MOBILE.finditer(text or "")]
    found += [(m.start(), m.group(0)) for m in _LANDLINE.finditer(text or "")]
    return [number for _, number in sorted(found)]


def remove_numbers(text: str | None) -> str:
    """Removes phone and ID card numbers from free text entirely (for anonymisation)."""
    if not text:
        return text or ""
    text = _ID_CARD.sub("[证件号已删除]", text)
    text = _MOBILE.sub("[电话已删除]", text)
    return _LANDLINE.sub("[电话已删除]", text)


def mask_name(name: str | None) -> str:
    """Keeps the first character of a name: ``张三丰`` → ``张**``; ``匿名`` stays."""
    cleaned = (name or "").strip()
    if cleaned in UNNAMED:
        return cleaned
    return cleaned[0] + "*" * max(len(cleaned) - 1, 1)


def redact_for_publication(text: str | None, names: tuple[str | None, ...] = ()) -> str:
    """Text fit to publish: phone and ID numbers removed, names replaced by ``某某``.

    Args:
        text: Free text a resident or operator wrote.
        names: Names known to belong to the case (its contact name); each is replaced
            wherever it occurs, besides the names residents introduce themselves with.
    """
    cleaned = remove_numbers(text)
    for name in names:
        known = (name or "").strip()
        if known not in UNNAMED and len(known) >= 2:
            cleaned = cleaned.replace(known, REDACTED_NAME)
    return _SELF_NAMED.sub(lambda m: m.group(1) + REDACTED_NAME, cleaned)
