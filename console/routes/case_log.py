"""Case-log review for supervisors (/log): search every case, read one case's whole record,
and see everything one user did over a period (/log/audit)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from console import audit_labels
from console.deps import SessionDep, SupervisorUser
from console.errors import describe
from console.figures import topic_name
from console.routes.cases import OUTBOX_LABELS
from console.templating import render
from hotline.casework import outbox
from hotline.casework.cases import case_events, get_case, is_overdue
from hotline.casework.catalogue import get_catalogue
from hotline.casework.directory import department_names
from hotline.casework.phone import mask_phone
from hotline.casework.vocab import CaseType, Channel, Satisfaction, Urgency
from hotline.casework.workflow import CaseStatus
from hotline.config import load_settings
from hotline.errors import ValidationError
from hotline.models import Attachment, Case, utcnow
from hotline.privacy.redact import mask_name, mask_numbers
from hotline.reporting import case_log
from hotline.reporting.exports import timeliness

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100


def _row(case: Case, now: Any) -> dict[str, Any]:
    catalogue = get_catalogue()
    return {
        "number": case.number,
        "status": case.status,
        "status_label": CaseStatus.label_of(case.status),
        "category": catalogue.get(case.category).name
        if catalogue.has(case.category)
        else case.category,
        "case_type": CaseType.label_of(case.case_type),
        "channel": Channel.label_of(case.channel),
        "department": case.department or "",
        "assignee": case.assignee.display_name if case.assignee else "",
        "created_at": case.created_at,
        "due_at": case.due_at,
        "resolved_at": case.resolved_at,
        "timeliness": timeliness(case, now),
        "overdue": is_overdue(case, now),
        "satisfaction": Satisfaction.label_of(case.satisfaction),
        "contact": mask_name(case.contact_name),
        "phone": mask_phone(case.phone),
        "description": mask_numbers(case.description),
        "reopen_count": case.reopen_count,
        "anonymised": case.anonymised_at is not None,
    }


def _choices() -> dict[str, Any]:
    return {
        "date_fields": case_log.DATE_FIELDS,
        "flags": case_log.FLAGS,
        "statuses": [(s.value, s.label) for s in CaseStatus],
        "categories": get_catalogue().categories,
        "channels": [(c.value, c.label) for c in Channel],
        "urgencies": [(u.value, u.label) for u in Urgency],
        "case_types": [(t.value, t.label) for t in CaseType],
        "satisfactions": [(s.value, s.label) for s in Satisfaction] + [("none", "未评价")],
    }


def describe_filter(flt: case_log.LogFilter) -> list[str]:
    """The active filters as short Chinese phrases, for the chips above the results."""
    catalogue = get_catalogue()
    out = []
    if flt.q:
        out.append(f"包含「{flt.q}」")
    if flt.number:
        out.append(f"工单号 {flt.number}")
    if flt.phone4:
        out.append(f"电话尾号 {flt.phone4}")
    if flt.first or flt.last:
        span = f"{flt.first or '…'} 至 {flt.last or '…'}"
        out.append(f"{case_log.DATE_FIELDS[flt.date_field]} {span}")
    if flt.statuses:
        out.append("状态：" + "、".join(CaseStatus.label_of(s) for s in flt.statuses))
    for name, label in (("category", "类别"), ("original_category", "来件类别")):
        code = getattr(flt, name)
        if code:
            out.append(f"{label}：{catalogue.get(code).name if catalogue.has(code) else code}")
    if flt.department:
        out.append(f"承办单位：{flt.department}")
    for value, enum, label in (
        (flt.channel, Channel, "渠道"),
        (flt.urgency, Urgency, "紧急程度"),
        (flt.case_type, CaseType, "类型"),
    ):
        if value:
            out.append(f"{label}：{enum.label_of(value)}")
    if flt.assignee:
        out.append("未分配" if flt.assignee == "none" else f"经办人：{flt.assignee}")
    if flt.satisfactions:
        names = [("未评价" if s == "none" else Satisfaction.label_of(s)) for s in flt.satisfactions]
        out.append("评价：" + "、".join(names))
    if flt.topic:
        out.append(f"咨询主题：{topic_name(flt.topic)}")
    if flt.on_time is not None:
        out.append("按时办结" if flt.on_time else "超时办结")
    if flt.resident:
        out.append(f"居民 {flt.resident}")
    for name, wanted in flt.flags.items():
        out.append(case_log.FLAGS[name] if wanted else f"非「{case_log.FLAGS[name]}」")
    return out


@router.get("/log")
def case_log_page(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    page: int = Query(1, ge=1, le=10_000),
) -> Response:
    """Searches every case by number, text, phone's last 4 digits, dates and any field."""
    settings = load_settings()
    error = ""
    try:
        flt = case_log.parse_filter(request.query_params)
    except ValidationError as exc:
        error, flt = describe(exc), case_log.LogFilter()
    now = utcnow()
    cases, total = case_log.search(
        session,
        flt,
        now,
        settings.timezone,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    rows = [_row(c, now) for c in cases]
    departments = department_names(session)
    assignees = case_log.actors(session)
    params = flt.to_params()
    query = urlencode(params)
    return render(
        request,
        "supervisor/log.html",
        {
            "flt": flt,
            "values": params,
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "query": query,
            "chips": describe_filter(flt),
            "error": error,
            "departments": departments,
            "assignees": assignees,
            "max_export": 20_000,
            **_choices(),
        },
        status_code=400 if error else 200,
        active="log",
    )


@router.get("/log/audit")
def audit(request: Request, user: SupervisorUser, session: SessionDep) -> Response:
    """Every audit event of one user (or of everyone) over a period, newest first."""
    settings = load_settings()
    today = utcnow().astimezone(settings.timezone).date()
    error = ""
    try:
        query = case_log.parse_audit(request.query_params, today)
    except ValidationError as exc:
        error = describe(exc)
        query = case_log.parse_audit({}, today)
    events, total = case_log.audit_events(session, query, settings.timezone)
    rows = [
        {
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "actor_kind": audit_labels.ACTOR_KINDS.get(e.actor_kind, e.actor_kind),
            "action": e.action,
            "action_label": audit_labels.audit_label(e.action),
            "from": CaseStatus.label_of(e.from_status),
            "to": CaseStatus.label_of(e.to_status),
            "note": mask_numbers(e.note),
            "data": audit_labels.data_summary(e.data),
            "number": number,
        }
        for e, number in events
    ]
    actors = case_log.actors(session)
    counts: dict[str, int] = {}
    for row in rows:
        label = str(row["action_label"])
        counts[label] = counts.get(label, 0) + 1
    return render(
        request,
        "supervisor/audit.html",
        {
            "query": query,
            "rows": rows,
            "total": total,
            "actors": actors,
            "actions": sorted(
                {
                    *audit_labels.AUDIT_LABELS,
                    "reveal_phone",
                    "create",
                    "accept",
                    "dispatch",
                    "resolve",
                    "reply",
                    "note",
                    "return",
                    "extend",
                    "reroute",
                    "close",
                    "reopen",
                },
            ),
            "audit_label": audit_labels.audit_label,
            "counts": sorted(counts.items(), key=lambda kv: -kv[1]),
            "error": error,
        },
        status_code=400 if error else 200,
        active="log",
    )


@router.get("/log/{number}")
def case_record(
    request: Request, number: str, user: SupervisorUser, session: SessionDep
) -> Response:
    """One case's whole record: fields, audit trail, conversation, messages and rating."""
    now = utcnow()
    case = get_case(session, number)
    events = case_events(session, case)
    messages = outbox.messages_for_case(session, case.id)
    photos = session.scalar(select(Attachment.id).where(Attachment.case_id == case.id).limit(1))
    row = _row(case, now)
    catalogue = get_catalogue()
    detail = {
        "original_category": catalogue.get(case.original_category).name
        if catalogue.has(case.original_category)
        else case.original_category,
        "rerouted": case.original_category != case.category,
        "urgency": Urgency.label_of(case.urgency),
        "location": case.location,
        "resident_ref": case.resident_ref,
        "resolution": mask_numbers(case.resolution),
        "satisfaction_comment": mask_numbers(case.satisfaction_comment),
        "extended": case.extended,
        "extension_reason": mask_numbers(case.extension_reason),
        "merged_into": case.merged_into,
        "anonymised_at": case.anonymised_at,
        "flagged": case.flagged,
        "faq_topic": topic_name(case.faq_topic) if case.faq_topic else None,
        "times": [
            ("登记", case.created_at),
            ("受理", case.accepted_at),
            ("派单", case.dispatched_at),
            ("办结", case.resolved_at),
            ("归档", case.closed_at),
            ("办理时限", case.due_at),
        ],
    }
    trail = [
        {
            "at": e.at,
            "actor": e.actor,
            "actor_kind": e.actor_kind,
            "kind_label": audit_labels.ACTOR_KINDS.get(e.actor_kind, e.actor_kind),
            "action": e.action,
            "label": audit_labels.audit_label(e.action),
            "from": CaseStatus.label_of(e.from_status),
            "to": CaseStatus.label_of(e.to_status),
            "note": mask_numbers(e.note),
            "data": audit_labels.data_summary(e.data),
        }
        for e in events
    ]
    sent = [
        {
            "status": m.status,
            "status_label": OUTBOX_LABELS.get(m.status, m.status),
            "kind": m.kind,
            "created_at": m.created_at,
            "sent_at": m.sent_at,
            "attempts": m.attempts,
            "last_error": m.last_error,
            "text": mask_numbers(m.text),
        }
        for m in messages
    ]
    reveals = [t for t in trail if t["action"] == "reveal_phone"]
    delivery = {
        "sent": sum(1 for m in sent if m["status"] == "sent"),
        "failed": sum(1 for m in sent if m["status"] == "failed"),
        "waiting": sum(1 for m in sent if m["status"] in ("pending", "sending")),
    }
    return render(
        request,
        "supervisor/log_case.html",
        {
            "row": row,
            "detail": detail,
            "trail": trail,
            "reveals": reveals,
            "messages": sent,
            "delivery": delivery,
            "has_photos": photos is not None,
        },
        active="log",
    )
