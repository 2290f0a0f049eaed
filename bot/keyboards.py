"""Keyboards: the resident's menu, and inline buttons whose callback data fits Telegram's limit.

Callback data is at most 64 bytes. A button's payload is carried in one of three forms:

- ``r:<payload>``: the Rasa payload itself, when it fits;
- ``p:<ref>``: a reference to a longer payload stored in the database
(``hotline.channels.buttons``),
  so buttons keep working after a restart;
- ``acc:<case number>``: the operators' 受理 button.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot import texts
from hotline.channels import buttons

MAX_CALLBACK_BYTES = 64
RAW = "r:"
STORED = "p:"
ACCEPT = "acc:"
SHORT_TITLE = 6
"""Buttons whose titles are all this short go two to a row."""


@dataclass(frozen=True)
class Callback:
    """A decoded callback: ``kind`` is ``payload``, ``accept`` or ``unknown``."""

    kind: str
    value: str


def main_menu() -> ReplyKeyboardMarkup:
    """The resident's menu under the input field, with the phone and location buttons."""
    return ReplyKeyboardMarkup(
        [
            [texts.MENU_REPORT, texts.MENU_STATUS],
            [texts.MENU_POLICY, texts.MENU_HUMAN],
            [
                KeyboardButton(texts.BUTTON_PHONE, request_contact=True),
                KeyboardButton(texts.BUTTON_LOCATION, request_location=True),
            ],
        ],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder="请描述您遇到的问题",
    )


def fits(payload: str) -> bool:
    """Whether a payload fits into callback data as it is (no stored reference needed)."""
    return len((RAW + payload).encode("utf-8")) <= MAX_CALLBACK_BYTES


def callback_data(session: Session | None, payload: str) -> str:
    """The callback data for a button payload, storing long payloads (needs a session then)."""
    if fits(payload):
        return RAW + payload
    if session is None:
        raise ValueError("a session is needed to store a long button payload")
    return STORED + buttons.store(session, payload)


def decode(session: Session, data: str | None) -> Callback:
    """Reads callback data back into a payload (looking up stored ones) or an accept."""
    data = data or ""
    if data.startswith(RAW):
        return Callback("payload", data[len(RAW) :])
    if data.startswith(STORED):
        payload = buttons.lookup(session, data[len(STORED) :])
        return Callback("payload", payload) if payload is not None else Callback("unknown", data)
    if data.startswith(ACCEPT):
        return Callback("accept", data[len(ACCEPT) :])
    return Callback("unknown", data)


def inline_keyboard(
    session: Session | None, items: Sequence[dict[str, str]]
) -> InlineKeyboardMarkup | None:
    """An inline keyboard for buttons given as ``{"title": ..., "payload": ...}``.

    Returns:
        The keyboard, or None when there are no usable buttons.
    """
    row_buttons = [
        InlineKeyboardButton(
            str(b.get("title") or b.get("payload"))[:64],
            callback_data=callback_data(session, str(b.get("payload") or b.get("title"))),
        )
        for b in items
        if b.get("payload") or b.get("title")
    ]
    if not row_buttons:
        return None
    per_row = 2 if all(len(b.text) <= SHORT_TITLE for b in row_buttons) else 1
    rows = [row_buttons[i : i + per_row] for i in range(0, len(row_buttons), per_row)]
    return InlineKeyboardMarkup(rows)


def accept_keyboard(case_number: str) -> InlineKeyboardMarkup:
    """The 受理 button under an operators' alert."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.ALERT_ACCEPT, callback_data=ACCEPT + case_number)]]
    )


def button_title(markup: InlineKeyboardMarkup | None, data: str | None) -> str | None:
    """The title of the pressed button, found in the message's keyboard."""
    if markup is None or data is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
