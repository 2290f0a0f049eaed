"""Residents' requests to delete their personal data (/data-requests), carried out by staff
through the same code as the retention run (:mod:`hotline.privacy.retention`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.csrf import verify_csrf
from console.deps import OperatorUser, SessionDep, SupervisorUser
from console.templating import flash, render
from hotline.config import load_settings
from hotline.errors import StorageUnavailableError, ValidationError
from hotline.models import Case, ConversationMessage, utcnow
from hotline.privacy import retention

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _counts(session: Session, sender: str) -> dict[str, int]:
    rows = session.execute(
        select(Case.status, func.count(Case.id))
        .where(Case.resident_ref == sender)
        .group_by(Case.status)
    )
    finished = kept = 0
    for status, count in rows:
        if status in retention.FINAL_VALUES:
            finished += int(count)
        else:
            kept += int(count)
    messages = session.scalar(
        select(func.count(ConversationMessage.id)).where(ConversationMessage.sender_id == sender)
    )
    return {"finished": finished, "open": kept, "messages": int(messages or 0)}


@router.get("/data-requests")
def data_requests(request: Request, user: OperatorUser, session: SessionDep) -> Response:
    """Open deletion requests with what carrying them out would do, and the recent ones."""
    days = load_settings().retention_days
    pending = [
        {
            "id": r.id,
            "sender": r.sender_id,
            "created_at": r.created_at,
            **_counts(session, r.sender_id),
        }
        for r in retention.open_requests(session)
    ]
    done = [
        {
            "id": r.id,
            "sender": r.sender_id,
            "created_at": r.created_at,
            "handled_by": r.handled_by,
            "handled_at": r.handled_at,
        }
        for r in retention.recent_requests(session)
    ]
    due = len(retention.due_cases(session, days, utcnow()))
    return render(
        request,
        "supervisor/data_requests.html",
        {"pending": pending, "done": done, "days": days, "due": due},
        active="data_requests",
    )


@router.post("/data-requests/{request_id}/carry-out")
def carry_out(request: Request, request_id: int, user: SupervisorUser) -> Response:
    """Anonymises the resident's finished cases and deletes their conversation everywhere
    (:func:`hotline.privacy.retention.forget`); audited.

    Irreversible, so supervisors only; operators see the requests but cannot carry them out.
    """
    try:
        report = retention.forget(request_id, user.actor)
    except ValidationError as exc:
        flash(request, exc.message, "error")
        return RedirectResponse("/data-requests", status_code=303)
    except StorageUnavailableError:
        flash(request, "会话记录库或工单库暂时无法连接，申请尚未办理，请稍后重试。", "error")
        return RedirectResponse("/data-requests", status_code=303)
    kept = f"，{len(report.kept_open)} 件在办工单办结后再匿名化" if report.kept_open else ""
    flash(
        request,
        f"已办理删除申请 #{report.request_id}：匿名化 {len(report.anonymised)} 件工单{kept}。",
    )
    return RedirectResponse("/data-requests", status_code=303)
