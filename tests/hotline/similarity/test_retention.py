"""Retention and /forget leave nothing of a co-reporter behind, and vectors go with the words."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import retention
from hotline.actors import Actor
from hotline.handoff import IN, record_message
from hotline.models import Base, CaseReporter, CaseVector, ConversationMessage, OutboxMessage
from hotline.redact import ANONYMISED
from hotline.self_service import request_deletion
from hotline.similarity import co_reporters, join_as_co_reporter, notice_recipients
from tests.hotline.similarity.conftest import NOW, act, days, log

FIRST, SECOND = "tg:5550001", "web:co-reporter-5550002"
PHONE, NAME, WORDS = "13955550002", "欧阳晓岚", "紫藤巷7号的路灯杆被车撞歪了快倒了"


def holding(session: Session, *needles: str) -> list[str]:
    """Every table.column holding one of the needles (a full scan: the test database is small).

    Two tables are left out, as :mod:`hotline.retention` keeps a resident's conversation id
    there by design, for everyone alike: ``conversations`` (a purged conversation's id and
    nothing else) and ``data_requests`` (the record of the request itself).
    """
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in ("conversations", "data_requests"):
            continue
        for row in session.execute(select(table)):
            for column, value in zip(table.columns.keys(), row, strict=True):
                text = value if isinstance(value, str) else repr(value)
                found += [f"{table.name}.{column}" for n in needles if n in text]
    return sorted(set(found))


def co_report(session: Session, number: str) -> None:
    join_as_co_reporter(
        session,
        number,
        SECOND,
        "web",
        description=WORDS,
        phone=PHONE,
        contact_name=NAME,
        now=NOW - days(400),
    )
    record_message(session, SECOND, IN, "resident", WORDS, now=NOW - days(400))


def test_retention_anonymises_co_reporters_and_deletes_the_vector(db: Session) -> None:
    case = log(db, "路灯杆被撞歪了", "紫藤巷7号", resident=FIRST, at=NOW - days(401))
    co_report(db, case.number)
    act(db, case, "accept", "dispatch", "resolve", at=NOW - days(399))
    act(db, case, "close", at=NOW - days(398))
    assert db.get(CaseVector, case.id) is not None
    report = retention.run(db, 365, Actor.system("test"), now=NOW)
    assert case.number in report.numbers
    assert SECOND in report.conversations  # their conversation served only this case
    [row] = co_reporters(db, case)
    assert (row.resident_ref, row.phone, row.contact_name, row.description) == (
        None,
        None,
        ANONYMISED,
        ANONYMISED,
    )
    assert db.get(CaseVector, case.id) is None
    assert holding(db, SECOND, PHONE, NAME, WORDS, PHONE[-8:]) == []


def test_a_live_co_reported_case_keeps_the_co_reporters_conversation(db: Session) -> None:
    old = log(db, "路灯杆被撞歪了", "紫藤巷7号", resident=FIRST, at=NOW - days(401))
    act(db, old, "accept", "dispatch", "resolve", at=NOW - days(399))
    act(db, old, "close", at=NOW - days(398))
    live = log(db, "路灯又坏了", "紫藤巷7号", resident="tg:5550009", at=NOW - days(2))
    co_report(db, live.number)
    report = retention.run(db, 365, Actor.system("test"), now=NOW)
    assert SECOND not in report.conversations
    assert db.scalars(
        select(ConversationMessage).where(ConversationMessage.sender_id == SECOND)
    ).all()


def test_forget_erases_a_residents_co_reports_and_the_case_goes_on(db: Session) -> None:
    case = log(db, "路灯杆被撞歪了", "紫藤巷7号", resident=FIRST, at=NOW - days(3))
    co_report(db, case.number)
    act(db, case, "accept", at=NOW - days(2))
    assert db.scalars(select(OutboxMessage).where(OutboxMessage.recipient == SECOND)).all()
    request, _ = request_deletion(db, SECOND, now=NOW)
    report = retention.carry_out_deletion(db, request.id, Actor.operator("admin"), now=NOW)
    assert report.co_reports == [case.number] and report.kept_open == []
    assert case.status == "accepted" and case.resident_ref == FIRST
    assert notice_recipients(db, case) == [FIRST]
    assert holding(db, SECOND, PHONE, NAME, WORDS, PHONE[-8:]) == []
    # The row stays (it counts as a report), empty; the next notice goes to the reporter only.
    assert db.scalar(select(CaseReporter).where(CaseReporter.case_id == case.id)) is not None
    act(db, case, "dispatch", at=NOW)
    recipients: list[Any] = list(
        db.scalars(select(OutboxMessage.recipient).where(OutboxMessage.case_id == case.id))
    )
    assert recipients.count(FIRST) == 2 and SECOND not in recipients
