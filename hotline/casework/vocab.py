"""The closed vocabularies of a case: types, urgencies, channels, ratings and actors."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from hotline.errors import ValidationError

E = TypeVar("E", bound="LabelledEnum")
LABELS: dict[str, dict[str, str]] = {}
"""Chinese labels, by enum class name, then by value."""


class LabelledEnum(StrEnum):
    """A string enum whose members carry a Chinese label (registered with :func:`labels`)."""

    @property
    def label(self) -> str:
        """The Chinese label residents and operators see."""
        return LABELS[type(self).__name__][self.value]

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The label of a stored code: empty for none, the code itself when it is not a member
        (an old row, a code since removed)."""
        if not value:
            return ""
        try:
            return cls(value).label
        except ValueError:
            return value

    @classmethod
    def parse(cls: type[E], text: str, field: str) -> E:
        """Accepts the code or the Chinese label.

        Args:
            text: What the user gave.
            field: The field name, for the error message.

        Raises:
            ValidationError: When the text is neither a code nor a label.
        """
        cleaned = (text or "").strip()
        for member in cls:
            if cleaned in (member.value, member.label):
                return member
        allowed = "、".join(f"{m.value}({m.label})" for m in cls)
        raise ValidationError(field, f"无效的取值「{cleaned}」，可选：{allowed}")


class CaseType(LabelledEnum):
    """What the resident wants: 咨询, 求助, 投诉, 建议 or 表扬."""

    CONSULTATION = "consultation"
    HELP = "help"
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    PRAISE = "praise"


LABELS[CaseType.__name__] = {
    "consultation": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "suggestion": "建议",
    "praise": "表扬",
}


class Urgency(LabelledEnum):
    """How fast the case must be handled."""

    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


LABELS[Urgency.__name__] = {"normal": "一般", "urgent": "加急", "emergency": "紧急"}


class Channel(LabelledEnum):
    """Where the case came in."""

    TELEGRAM = "telegram"
    WEB = "web"
    REST = "rest"
    PHONE = "phone"
    OPEN311 = "open311"


LABELS[Channel.__name__] = {
    "telegram": "Telegram",
    "web": "网页",
    "rest": "接口",
    "phone": "电话",
    "open311": "Open311",
}


class Satisfaction(LabelledEnum):
    """The follow-up (回访) scale."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


LABELS[Satisfaction.__name__] = {
    "very_satisfied": "非常满意",
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}


class ActorKind(StrEnum):
    """Who did something to a case."""

    RESIDENT = "resident"
    OPERATOR = "operator"
    SYSTEM = "system"


def channel_of_sender(sender_id: str) -> Channel:
    """Derives the channel from a conversation's sender id (``tg:…``, ``web:…``).

    Args:
        sender_id: The Rasa sender id.

    Returns:
        The channel; anything unrecognised is the REST channel.
    """
    prefix = sender_id.split(":", 1)[0] if ":" in sender_id else ""
    return {"tg": Channel.TELEGRAM, "web": Channel.WEB}.get(prefix, Channel.REST)
