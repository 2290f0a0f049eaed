"""Retention: a dry run changes nothing; a real run anonymises exactly the cases it should;
a resident's /forget request is carried out through the same code, audited."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import (
    ActionInput,
    NewCase,
    apply_action,
    create_case,
    get_case,
    record_event,
)
from hotline.cli import main
from hotline.db import transaction
from hotline.errors import NotFoundError, ValidationError
from hotline.models import (
    Attachment,
    Case,
    CaseEvent,
    ConversationMessage,
    DataRequest,
    OutboxMessage,
    utcnow,
)
from hotline.privacy import retention
from hotline.privacy.redact import ANONYMISED
from hotline.residents.self_service import request_deletion
from tests.console.conftest import csrf_of

PATHS = {
    "closed": ("accept", "dispatch", "resolve", "close"),
    "cancelled": ("cancel",),
    "resolved": ("accept", "dispatch", "resolve"),
    "in_progress": ("accept", "dispatch", "start"),
    "new": (),
}


def make_case(
    session: Session,
    status: str,
    closed_days_ago: float,
    *,
    sender: str | None = None,
    media_dir: Path | None = None,
) -> str:
    """A case brought to ``status`` whose last step happened ``closed_days_ago`` days ago."""
    when = utcnow() - timedelta(days=closed_days_ago)
    case, _ = create_case(
        session,
        NewCase(
            category="city_management",
            description="路灯坏了，我的电话13812345678，身份证420102199001011234",
            phone="13812345678",
            contact_name="张三丰",
            location="武昌区幸福小区3栋2单元501",
            latitude=30.5431,
            longitude=114.3412,
            channel="web" if sender else "phone",
            resident_ref=sender,
        ),
        Actor.resident(sender) if sender else Actor.system("test"),
        now=when - timedelta(days=3),
    )
    record_event(
        session,
        case,
        Actor.resident(sender or "web:x"),
        "set_location",
        note=case.location,
        now=when - timedelta(days=3),
    )
    for action in PATHS[status]:
        apply_action(
            session,
            case,
            action,
            Actor.operator("wang"),
            ActionInput(note="已联系13900001111处理"),
            now=when,
        )
    if status == "resolved":
        apply_action(
            session,
            case,
            "rate",
            Actor.resident(sender or "r"),
            ActionInput(rating="satisfied", note="谢谢，电话13812345678"),
            now=when,
        )
        case.status = "resolved"  # rated but not archived, for the test
        case.closed_at = None
    if media_dir is not None:
        media_dir.mkdir(parents=True, exist_ok=True)
        photo = media_dir / f"{case.number}.jpg"
        photo.write_bytes(b"\xff\xd8\xff fake")
        session.add(
            Attachment(
                case_id=case.id,
                sender_id=sender or "x",
                path=photo.name,
                content_type="image/jpeg",
                size=9,
            )
        )
    session.flush()
    return case.number


def snapshot(session: Session) -> dict[str, Any]:
    """Every column of every case, event, outbox row and attachment."""

    def rows(model: Any) -> list[tuple[Any, ...]]:
        columns = model.__table__.columns
        return [tuple(getattr(r, c.key) for c in columns) for r in session.scalars(select(model))]

    return {m.__name__: rows(m) for m in (Case, CaseEvent, OutboxMessage, Attachment)}


@pytest.fixture()
def world(db_url: str, var_dir: Path) -> dict[str, str]:
    media = var_dir / "media"
    with transaction() as session:
        numbers = {
            "old_closed": make_case(session, "closed", 400, sender="web:r1", media_dir=media),
            "old_cancelled": make_case(session, "cancelled", 366),
            "recent_closed": make_case(session, "closed", 364),
            "old_resolved": make_case(session, "resolved", 400, sender="web:r2"),
            "old_open": make_case(session, "in_progress", 500),
        }
        already = make_case(session, "closed", 800)
        retention.anonymise_case(
            session, get_case(session, already), Actor.system("earlier"), reason="之前"
        )
        numbers["already"] = already
    return numbers


def test_dry_run_changes_nothing(world: dict[str, str]) -> None:
    with transaction() as session:
        before = snapshot(session)
        report = retention.run(session, 365, Actor.system("cli:test"), dry_run=True)
    assert report.dry_run and report.photos == 0
    assert report.numbers == [world["old_closed"], world["old_cancelled"]]
    with transaction() as session:
        assert snapshot(session) == before


def test_run_anonymises_exactly_the_cases_closed_long_ago(
    world: dict[str, str], var_dir: Path
) -> None:
    with transaction() as session:
        untouched = {
            k: snapshot_case(session, world[k])
            for k in ("recent_closed", "old_resolved", "old_open", "already")
        }
        kept_stats = stats_of(session, world["old_closed"])
        report = retention.run(session, 365, Actor.system("cli:test"))
    assert report.numbers == [world["old_closed"], world["old_cancelled"]]
    assert report.photos == 1
    assert not (var_dir / "media" / f"{world['old_closed']}.jpg").exists()
    with transaction() as session:
        for key in ("old_closed", "old_cancelled"):
            case = get_case(session, world[key])
            assert case.phone is None and case.resident_ref is None
            assert case.contact_name == ANONYMISED and case.location == ANONYMISED
            assert case.latitude is None and case.longitude is None
            assert case.anonymised_at is not None
            assert "13812345678" not in case.description
            assert "420102199001011234" not in case.description
            assert case.description == ANONYMISED  # the resident's own words go too
            events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)))
            assert events[-1].action == "anonymise" and events[-1].actor == "cli:test"
            text = " ".join(f"{e.actor} {e.note or ''}" for e in events)
            assert "幸福小区" not in text and "13900001111" not in text and "web:r1" not in text
        assert stats_of(session, world["old_closed"]) == kept_stats
        assert (
            session.scalar(
                select(func.count(Attachment.id)).where(
                    Attachment.path.like(f"{world['old_closed']}%")
                )
            )
            == 0
        )
        for key, before in untouched.items():
            assert snapshot_case(session, world[key]) == before, key
        run_event = session.scalar(select(CaseEvent).where(CaseEvent.action == "retention_run"))
        assert run_event is not None and run_event.case_id is None
        assert run_event.data["cases"] == 2 and run_event.data["days_kept"] == 365
        assert run_event.data["numbers"] == report.numbers
        # A second run finds nothing more.
        assert retention.run(session, 365, Actor.system("cli:test")).numbers == []


def snapshot_case(session: Session, number: str) -> tuple[Any, ...]:
    case = get_case(session, number)
    return tuple(getattr(case, c.key) for c in Case.__table__.columns)


def stats_of(session: Session, number: str) -> tuple[Any, ...]:
    case = get_case(session, number)
    return (
        case.category,
        case.original_category,
        case.department,
        case.channel,
        case.case_type,
        case.urgency,
        case.status,
        case.created_at,
        case.accepted_at,
        case.resolved_at,
        case.closed_at,
        case.due_at,
        case.satisfaction,
        case.reopen_count,
    )


def test_days_must_be_sensible(world: dict[str, str]) -> None:
    with transaction() as session, pytest.raises(ValidationError):
        retention.run(session, 0, Actor.system("cli:test"))


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli(
    world: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "retention", "run", "--days", "365", "--dry-run")
    assert code == 0 and "would anonymise 2 case(s)" in out and world["old_closed"] in out
    with transaction() as session:
        assert get_case(session, world["old_closed"]).anonymised_at is None
    code, out, _ = run_cli(
        monkeypatch, capsys, "retention", "run", "--days", "365", "--actor", "cli:ops"
    )
    assert code == 0 and "anonymised 2 case(s)" in out, _
    with transaction() as session:
        assert get_case(session, world["old_cancelled"]).anonymised_at is not None
        event = session.scalar(select(CaseEvent).where(CaseEvent.action == "retention_run"))
        assert event is not None and event.actor == "cli:ops"
    code, _, err = run_cli(monkeypatch, capsys, "retention", "run", "--days", "0")
    assert code == 1 and "保留天数" in err


def deletion_world(sender: str, *, with_open_case: bool) -> tuple[int, list[str]]:
    with transaction() as session:
        numbers = [make_case(session, "closed", 10, sender=sender)]
        if with_open_case:
            numbers.append(make_case(session, "in_progress", 1, sender=sender))
        for text in ("我家路灯坏了", "我的电话是13812345678"):
            session.add(
                ConversationMessage(sender_id=sender, direction="in", author="resident", text=text)
            )
        request, _ = request_deletion(session, sender)
        return request.id, numbers


def test_forget_request_through_the_console(
    as_role: Callable[[str], TestClient], role_users: dict[str, int]
) -> None:
    request_id, (closed, still_open) = deletion_world("tg:777", with_open_case=True)
    clerk = as_role("operator")  # sees the requests; carrying one out is irreversible
    listed = clerk.get("/data-requests").text
    assert "tg:777" in listed and "carry-out" not in listed and "由督办员办理" in listed
    refused = clerk.post(
        f"/data-requests/{request_id}/carry-out", data={"csrf_token": csrf_of(clerk)}
    )
    assert refused.status_code == 403
    operator = as_role("supervisor")
    page = operator.get("/data-requests").text
    assert "tg:777" in page and f"/data-requests/{request_id}/carry-out" in page
    token = csrf_of(operator)
    response = operator.post(f"/data-requests/{request_id}/carry-out", data={"csrf_token": token})
    assert response.status_code == 303
    page = operator.get("/data-requests").text
    assert "匿名化 1 件工单" in page and "1 件在办工单办结后再匿名化" in page
    with transaction() as session:
        assert get_case(session, closed).anonymised_at is not None
        kept = get_case(session, still_open)
        assert kept.anonymised_at is None and kept.phone == "+8613812345678"
        texts = [
            m.text
            for m in session.scalars(
                select(ConversationMessage).where(ConversationMessage.sender_id == "tg:777")
            )
        ]
        assert texts == ["我家路灯坏了", "我的电话是[电话已删除]"]  # kept for the open case
        request = session.get(DataRequest, request_id)
        assert request is not None and request.status == "done" and request.handled_by == "sup"
        event = session.scalar(select(CaseEvent).where(CaseEvent.action == "data_request_done"))
        assert event is not None and event.actor == "sup" and event.case_id is None
        assert event.data["open_kept"] == [still_open]
    # A request is carried out once.
    operator.post(f"/data-requests/{request_id}/carry-out", data={"csrf_token": token})
    assert "已于此前办理" in operator.get("/data-requests").text
    assert (
        operator.post("/data-requests/999/carry-out", data={"csrf_token": token}).status_code == 404
    )


def test_forget_without_open_cases_deletes_the_messages(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id, (closed,) = deletion_world("web:abc", with_open_case=False)
    code, out, _ = run_cli(monkeypatch, capsys, "retention", "requests")
    assert code == 0 and f"#{request_id}" in out and "web:abc" in out
    code, out, _ = run_cli(
        monkeypatch, capsys, "retention", "forget", str(request_id), "--actor", "wangfang"
    )
    assert code == 0 and "anonymised 1 case(s)" in out and "deleted 2 message(s)" in out
    with transaction() as session:
        assert get_case(session, closed).contact_name == ANONYMISED
        assert (
            session.scalar(
                select(func.count(ConversationMessage.id)).where(
                    ConversationMessage.sender_id == "web:abc"
                )
            )
            == 0
        )
        event = session.scalar(select(CaseEvent).where(CaseEvent.action == "data_request_done"))
        assert event is not None and event.actor == "wangfang"
        with pytest.raises(NotFoundError):
            retention.carry_out_deletion(session, 12345, Actor.system("x"))


def test_console_says_so_when_the_tracker_store_is_unreachable(
    as_role: Callable[[str], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id, (closed,) = deletion_world("tg:778", with_open_case=False)
    monkeypatch.setenv("HOTLINE_TRACKER_STORE_URL", "postgresql://postgres@127.0.0.1:1/tracker")
    supervisor = as_role("supervisor")
    response = supervisor.post(
        f"/data-requests/{request_id}/carry-out", data={"csrf_token": csrf_of(supervisor)}
    )
    assert response.status_code == 303
    assert "暂时无法连接" in supervisor.get("/data-requests").text
    with transaction() as session:
        assert get_case(session, closed).anonymised_at is None
        request = session.get(DataRequest, request_id)
        assert request is not None and request.status == "open"
