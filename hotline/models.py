"""The ORM models (SQLAlchemy 2 typed declarative). Alembic migrations mirror these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every hotline table."""

    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class User(Base):
    """An operator, supervisor or admin account of the console."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token of the JSON API, stored hashed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(64), default="")
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class ApiKey(Base):
    """An Open311 api_key of a partner system, stored hashed."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Department(Base):
    """A responsible office (承办单位)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CategoryDepartment(Base):
    """An admin's override of a category's default department."""

    __tablename__ = "category_departments"

    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    department: Mapped[str] = mapped_column(String(64))


class CannedReply(Base):
    """A reply text operators can pick when messaging a resident."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CaseSequence(Base):
    """The last number handed out for one prefix and day."""

    __tablename__ = "case_sequences"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Case(Base):
    """A case (工单)."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_due", "status", "due_at"),
        Index("ix_cases_resident", "resident_ref"),
        Index("ix_cases_created", "created_at"),
        # The similar-case matcher's candidate filter reads only these indexes (covering):
        # open cases by category and state, recently resolved ones by resolution time.
        Index(
            "ix_cases_category_status",
            "category",
            "status",
            "created_at",
            "merged_into",
            "faq_topic",
            "latitude",
            "longitude",
        ),
        Index(
            "ix_cases_resolved",
            "resolved_at",
            "category",
            "status",
            "merged_into",
            "faq_topic",
            "latitude",
            "longitude",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    resident_ref: Mapped[str | None] = mapped_column(String(128))
    contact_name: Mapped[str] = mapped_column(String(64), default="匿名")
    phone: Mapped[str | None] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32), index=True)
    original_category: Mapped[str] = mapped_column(String(32))
    case_type: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(64))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime]
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    merged_into: Mapped[str | None] = mapped_column(String(32))
    faq_topic: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    anonymised_at: Mapped[datetime | None]
    publish_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The resident agreed, during the report, that the case may be published (Open311)."""

    assignee: Mapped[User | None] = relationship()
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", viewonly=True
    )


class CaseEvent(Base):
    """One append-only audit row: who did what to a case, and when."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]

    case: Mapped[Case | None] = relationship(back_populates="events")


class OutboxMessage(Base):
    """A message waiting for, or done with, delivery to a resident (transactional outbox)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Conversation(Base):
    """A resident's conversation, and who answers it: the bot or an operator (handoff)."""

    __tablename__ = "conversations"

    sender_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16), default="bot")
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime | None]
    taken_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    handoff_count: Mapped[int] = mapped_column(Integer, default=0)
    metadata_json: Mapped[dict[str, Any] | None]

    operator: Mapped[User | None] = relationship()


class ConversationMessage(Base):
    """A message in a conversation kept by the hotline (handoff chats, stored fallbacks)."""

    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    author: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    source_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)


class Attachment(Base):
    """A photo a resident attached to a case."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    sender_id: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataRequest(Base):
    """A resident's request about their personal data (e.g. deletion), for an operator."""

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_by: Mapped[str | None] = mapped_column(String(64))
    handled_at: Mapped[datetime | None]


class ButtonPayload(Base):
    """A button payload too long for a channel's button data, kept under a short reference.

    Telegram allows 64 bytes of callback data; Rasa payloads such as survey ratings are longer.
    The reference is derived from the payload, so storing it again is harmless.
    """

    __tablename__ = "button_payloads"

    ref: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseAlert(Base):
    """A new urgent or emergency case posted to an operators' channel (e.g. a Telegram group)."""

    __tablename__ = "case_alerts"
    __table_args__ = (UniqueConstraint("case_id", "channel", name="uq_case_alerts_case_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_ref: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class CaseVector(Base):
    """A case's description embedding and normalised place, for the similar-case matcher.

    Written when the case is created (:mod:`hotline.casework.case_vectors`); a case whose
    encoding failed has none until ``hotline similar backfill``. Deleted when the case is
    anonymised: the vector is derived from the resident's words.
    """

    __tablename__ = "case_vectors"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    """int8, scaled to ±127 (384 bytes; :func:`hotline.casework.case_vectors.pack`); None when
    encoding failed (``hotline similar backfill`` retries)."""
    place_key: Mapped[str] = mapped_column(String(255), default="")
    """The location normalised for comparison (:func:`hotline.casework.places.place_key`)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseReporter(Base):
    """A resident who reported a case's problem after someone else did (a co-reporter).

    They get the case's progress notices and the satisfaction survey. Their rating is kept
    here; only the original reporter's rating (on the case) drives the workflow.
    """

    __tablename__ = "case_reporters"
    __table_args__ = (
        UniqueConstraint("case_id", "resident_ref", name="uq_case_reporters_case_resident"),
        Index("ix_case_reporters_resident", "resident_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    resident_ref: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    contact_name: Mapped[str] = mapped_column(String(64), default="匿名")
    phone: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None]
    merged_from: Mapped[str | None] = mapped_column(String(32))
    """The case number this reporter came from when that case was merged into this one."""


class HotspotAlert(Base):
    """A hotspot already alerted to operators at one size level, so it is alerted once."""

    __tablename__ = "hotspot_alerts"
    __table_args__ = (UniqueConstraint("key", "level", name="uq_hotspot_alerts_key_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    """The size reached: the alert size, then each doubling of it."""
    category: Mapped[str] = mapped_column(String(32))
    place: Mapped[str] = mapped_column(Text, default="")
    case_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The cluster's cases when it was alerted."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
