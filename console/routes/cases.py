"""The queue (/cases), the case page with its actions, phone intake and case photos."""

from __future__ import annotations

import mimetypes
import re
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from console import duplicates, formatting
from console.auth import CurrentUser, operator_user
from console.csrf import verify_csrf
from console.deps import OperatorUser, SessionDep
from console.errors import describe, status_of
from console.filters import VIEWS, parse_queue, queue_url
from console.templating import flash, render, templates
from console.transcript import load_transcript
from hotline.access.accounts import list_users
from hotline.casework import canned, outbox
from hotline.casework.cases import (
    ActionInput,
    NewCase,
    apply_action,
    case_events,
    count_by_status,
    create_case,
    default_department,
    get_case,
    is_overdue,
    list_cases,
    record_event,
)
from hotline.casework.catalogue import get_catalogue
from hotline.casework.directory import department_names
from hotline.casework.phone import mask_phone
from hotline.casework.views import case_to_dict
from hotline.casework.vocab import CaseType, Channel, Satisfaction, Urgency
from hotline.casework.workflow import OPERATOR_ACTIONS, TRANSITIONS, CaseStatus, allowed_actions
from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import HotlineError, NotFoundError, ValidationError
from hotline.models import Attachment, Case, utcnow
from hotline.privacy.redact import mask_numbers

router = APIRouter(dependencies=[Depends(verify_csrf)])
PAGE_SIZE = 100
STATUS_ORDER = [s.value for s in CaseStatus]
CASE_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")
OUTBOX_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已送达", "failed": "发送失败"}


def row_view(case: Case, now: Any = None) -> dict[str, Any]:
    """What a queue row shows of a case."""
    now = now or utcnow()
    catalogue = get_catalogue()
    overdue = is_overdue(case, now)
    open_case = CaseStatus(case.status) not in (
        CaseStatus.RESOLVED,
        CaseStatus.CLOSED,
        CaseStatus.CANCELLED,
    )
    return {
        "id": case.id,
        "number": case.number,
        "status": case.status,
        "status_label": CaseStatus(case.status).label,
        "urgency": case.urgency,
        "urgency_label": Urgency(case.urgency).label,
        "category_name": catalogue.get(case.category).name
        if catalogue.has(case.category)
        else case.category,
        "case_type_label": CaseType(case.case_type).label,
        "channel_label": Channel(case.channel).label,
        "description": mask_numbers(case.description),
        "location": mask_numbers(case.location),
        "department": case.department or "",
        "assignee": case.assignee.display_name if case.assignee else "",
        "created_at": case.created_at,
        "due_at": case.due_at,
        "overdue": overdue,
        "time_left": formatting.time_left(case.due_at, now) if open_case else "",
        "phone": mask_phone(case.phone),
        "flagged": case.flagged,
    }


def _queue_data(session: Session, request: Request, user: CurrentUser, page: int) -> dict[str, Any]:
    query = parse_queue(
        session,
        request.query_params,
        user.id,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    now = utcnow()
    rows = [row_view(c, now) for c in list_cases(session, query.filter, now)]
    counts = count_by_status(session, query.base, now)
    view_counts = {}
    for view in VIEWS:
        view_query = parse_queue(session, {"view": view}, user.id)
        view_counts[view] = sum(count_by_status(session, view_query.filter, now).values())
    base_url = queue_url(query.values)
    joiner = "&" if "?" in base_url else "?"

    def page_url(number: int) -> str:
        return f"{base_url}{joiner}page={number}" if number > 1 else base_url

    return {
        "query": query,
        "qurl": queue_url,
        "feed_url": "/cases/feed" + base_url[len("/cases") :] + f"{joiner}page={page}",
        "page_url": page_url,
        "rows": rows,
        "counts": [(s, CaseStatus(s).label, counts.get(s, 0)) for s in STATUS_ORDER if s in counts],
        "total": sum(counts.values()),
        "view_counts": view_counts,
        "page": page,
        "has_more": len(rows) == PAGE_SIZE,
    }


@router.get("/", include_in_schema=False)
def home(user: CurrentUser = Depends(operator_user)) -> RedirectResponse:
    """The start page is the queue."""
    return RedirectResponse("/cases", status_code=303)


@router.get("/cases", response_class=HTMLResponse, include_in_schema=False)
def queue(
    request: Request,
    user: OperatorUser,
    session: SessionDep,
    page: int = Query(1, ge=1, le=10_000),
) -> Response:
    """The case queue: filters, views, counts per status and the rows, most urgent first."""
    catalogue = get_catalogue()
    data = _queue_data(session, request, user, page)
    data.update(
        {
            "views": VIEWS,
            "categories": catalogue.categories,
            "statuses": [(s.value, s.label) for s in CaseStatus],
            "urgencies": [(u.value, u.label) for u in Urgency],
            "departments": department_names(session),
            "users": [(u.username, u.display_name) for u in list_users(session, True)],
        }
    )
    return render(request, "cases.html", data, active="cases")


@router.get("/cases/feed", include_in_schema=False)
def queue_feed(
    request: Request,
    user: OperatorUser,
    session: SessionDep,
    page: int = Query(1, ge=1, le=10_000),
) -> JSONResponse:
    """The queue's rows and counts as HTML fragments, polled by the page every few seconds."""
    data = _queue_data(session, request, user, page)
    env = templates.env
    rows_html = env.get_template("_case_rows.html").render(rows=data["rows"])
    counts_html = env.get_template("_status_counts.html").render(
        counts=data["counts"], total=data["total"], query=data["query"], qurl=queue_url
    )
    return JSONResponse(
        {
            "rows_html": rows_html,
            "counts_html": counts_html,
            "numbers": [r["number"] for r in data["rows"]],
            "view_counts": data["view_counts"],
            "total": data["total"],
        },
        headers={"Cache-Control": "no-store"},
    )


def _case_context(session: Session, number: str, *, reveal: bool = False) -> dict[str, Any]:
    case = get_case(session, number)
    catalogue = get_catalogue()
    now = utcnow()
    status = CaseStatus(case.status)
    events = case_events(session, case)
    attachments = list(
        session.scalars(
            select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)
        )
    )
    category = catalogue.get(case.category) if catalogue.has(case.category) else None
    data = case_to_dict(case, reveal=reveal, now=now)
    typed_numbers = mask_numbers(case.description) != case.description
    if not reveal:
        data["description"] = mask_numbers(case.description)
    return {
        "case": data,
        "description_masked": typed_numbers and not reveal,
        "row": row_view(case, now),
        "created_at": case.created_at,
        "due_at": case.due_at,
        "times": [
            ("登记时间", case.created_at),
            ("受理时间", case.accepted_at),
            ("派单时间", case.dispatched_at),
            ("办结时间", case.resolved_at),
            ("归档时间", case.closed_at),
            ("最近更新", case.updated_at),
        ],
        "revealed": reveal and bool(case.phone),
        "has_phone": bool(case.phone),
        "channel_label": Channel(case.channel).label,
        "original_category_name": catalogue.get(case.original_category).name
        if catalogue.has(case.original_category)
        else case.original_category,
        "satisfaction_label": _satisfaction_label(case.satisfaction),
        "extension_reason": case.extension_reason,
        "events": events,
        "notes": [e for e in events if e.action == "note"],
        "attachments": attachments,
        "messages": outbox.messages_for_case(session, case.id),
        "actions": allowed_actions(status),
        "labels": {a: TRANSITIONS[a].label for a in OPERATOR_ACTIONS},
        "canned": canned.list_replies(session),
        "users": [(u.username, u.display_name) for u in list_users(session, True)],
        "departments": department_names(session),
        "default_department": default_department(session, category) if category else "",
        "categories": catalogue.categories,
        "urgencies": [(u.value, u.label) for u in Urgency],
        "has_conversation": bool(case.resident_ref),
        "emergency_numbers": catalogue.emergency_numbers,
        "status_labels": {s.value: s.label for s in CaseStatus},
        "outbox_labels": OUTBOX_LABELS,
        "suggestions": duplicates.suggestion_rows(session, case, now),
        "reporters": duplicates.reporter_rows(session, case),
        "merged_from": [
            str(e.data["source"]) for e in events if e.action == "merged_from" and e.data
        ],
    }


def _satisfaction_label(value: str | None) -> str:
    if not value:
        return ""
    try:
        return Satisfaction(value).label
    except ValueError:
        return value


def render_case(
    request: Request,
    number: str,
    *,
    reveal: bool = False,
    error: str = "",
    status_code: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    """Renders the case page, optionally with the phone shown or an action's error."""
    with transaction() as session:
        context = _case_context(session, number, reveal=reveal)
    context.update({"error": error, "form": form or {}})
    response = render(request, "case.html", context, status_code=status_code, active="cases")
    return response


@router.get("/cases/new", response_class=HTMLResponse, include_in_schema=False)
def new_case_form(request: Request, user: CurrentUser = Depends(operator_user)) -> Response:
    """The phone intake form (新建工单)."""
    return _render_new(request, {}, "")


def _render_new(
    request: Request, form: dict[str, str], error: str, field: str = "", status_code: int = 200
) -> Response:
    catalogue = get_catalogue()
    values = {"case_type": CaseType.HELP.value, "urgency": Urgency.NORMAL.value, **form}
    values.setdefault("idempotency_key", str(uuid.uuid4()))
    return render(
        request,
        "case_new.html",
        {
            "form": values,
            "error": error,
            "error_field": field,
            "categories": catalogue.categories,
            "case_types": [(t.value, t.label) for t in CaseType],
            "urgencies": [(u.value, u.label) for u in Urgency],
            "emergency_numbers": catalogue.emergency_numbers,
        },
        status_code=status_code,
        active="new",
    )


@router.post("/cases/new", include_in_schema=False)
def new_case_submit(
    request: Request,
    category: str = Form(""),
    description: str = Form(""),
    phone: str = Form(""),
    location: str = Form(""),
    contact_name: str = Form(""),
    case_type: str = Form(CaseType.HELP.value),
    urgency: str = Form(Urgency.NORMAL.value),
    idempotency_key: str = Form(""),
    user: CurrentUser = Depends(operator_user),
) -> Response:
    """Registers a phone call as a case (channel ``phone``), with the CLI's validation."""
    form = {
        "category": category,
        "description": description,
        "phone": phone,
        "location": location,
        "contact_name": contact_name,
        "case_type": case_type,
        "urgency": urgency,
        "idempotency_key": idempotency_key,
    }
    key = idempotency_key.strip()
    new = NewCase(
        category=category,
        description=description,
        phone=phone,
        location=location,
        contact_name=contact_name,
        case_type=case_type,
        urgency=urgency,
        channel=Channel.PHONE.value,
        require_phone=True,
        require_location=True,
        idempotency_key=f"console:{key}" if key and len(key) <= 64 else None,
    )
    try:
        with transaction() as session:
            case, created = create_case(session, new, user.actor)
            number = case.number
    except ValidationError as exc:
        return _render_new(request, form, describe(exc), exc.field, status_code=400)
    if created:
        flash(request, f"已登记工单 {number}，请告知来电居民工单号。")
    return RedirectResponse(f"/cases/{number}", status_code=303)


@router.get("/cases/{number}", response_class=HTMLResponse, include_in_schema=False)
def case_page(
    request: Request, number: str, user: CurrentUser = Depends(operator_user)
) -> Response:
    """Every field of a case, its history, notes, photos, conversation and allowed actions."""
    return render_case(request, number)


def _parse_days(days: str) -> int | None:
    text = days.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationError("days", "须为 1～60 的整数")
    return int(text)


@router.post("/cases/{number}/actions", include_in_schema=False)
def case_action(
    request: Request,
    number: str,
    action: str = Form(""),
    note: str = Form(""),
    department: str = Form(""),
    category: str = Form(""),
    urgency: str = Form(""),
    assignee: str = Form(""),
    target: str = Form(""),
    days: str = Form(""),
    canned_id: str = Form(""),
    back: str = Form(""),
    user: CurrentUser = Depends(operator_user),
) -> Response:
    """Performs one workflow action; an action the state does not allow gets a clear 409.

    ``back`` names the case page to return to when the action was taken from another case's
    page (「并入本单」 merges a suggested case into the one on screen).
    """
    form = {"action": action, "note": note, "target": target, "days": days}
    back = back.strip().upper() if CASE_NUMBER.fullmatch(back.strip()) else ""
    try:
        if action not in OPERATOR_ACTIONS:
            raise ValidationError("action", f"未知的操作「{action}」")
        with transaction() as session:
            if action == "reply" and not note.strip() and canned_id.strip().isdigit():
                note = canned.get_reply(session, int(canned_id)).text
            case = get_case(session, number)
            apply_action(
                session,
                case,
                action,
                user.actor,
                ActionInput(
                    note=note,
                    department=department or None,
                    category=category or None,
                    urgency=urgency or None,
                    assignee=assignee or None,
                    target=target or None,
                    days=_parse_days(days),
                ),
            )
            number = case.number
    except NotFoundError:
        raise
    except HotlineError as exc:
        shown = back or number
        return render_case(
            request, shown, error=describe(exc), status_code=status_of(exc), form=form
        )
    flash(request, _done_message(action, number, target))
    return RedirectResponse(f"/cases/{back or number}", status_code=303)


def _done_message(action: str, number: str, target: str) -> str:
    done = f"已完成操作「{TRANSITIONS[action].label}」"
    if action == "merge":
        return f"{done}：工单 {number} 已合并到 {target.strip().upper()}"
    return done


@router.post("/cases/{number}/reveal", include_in_schema=False)
def reveal_phone(
    request: Request, number: str, user: CurrentUser = Depends(operator_user)
) -> Response:
    """Shows the full phone number, and numbers typed in the description, once, recording who
    looked (PIPL audit)."""
    with transaction() as session:
        case = get_case(session, number)
        if case.phone or mask_numbers(case.description) != case.description:
            record_event(session, case, user.actor, "reveal_phone", note="查看完整联系电话")
        number = case.number
    response = render_case(request, number, reveal=True)
    return response


@router.get("/cases/{number}/transcript", response_class=HTMLResponse, include_in_schema=False)
async def case_transcript(
    request: Request, number: str, user: CurrentUser = Depends(operator_user)
) -> Response:
    """The resident's conversation as chat bubbles (an HTML fragment the case page loads)."""
    import asyncio

    def _sender() -> str | None:
        with transaction() as session:
            return get_case(session, number).resident_ref

    sender = await asyncio.to_thread(_sender)
    transcript = await load_transcript(sender) if sender else None
    return templates.TemplateResponse(
        request, "_transcript.html", {"transcript": transcript, "sender": sender}
    )


@router.get("/media/{attachment_id}", include_in_schema=False)
def media(attachment_id: int, user: OperatorUser, session: SessionDep) -> Response:
    """A case photo, for signed-in users only."""
    media_dir = load_settings().media_dir.resolve()
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFoundError("照片不存在")
    path = (media_dir / attachment.path).resolve()
    content_type = attachment.content_type
    if not path.is_relative_to(media_dir) or not path.is_file():
        raise NotFoundError("照片文件不存在")
    if not content_type.startswith("image/"):
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(Path(path), media_type=content_type, headers={"Cache-Control": "private"})
