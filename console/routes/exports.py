"""Exports of a case-log search as CSV or Excel.

``GET /log/export.csv`` and ``.xlsx`` give the list with phones and names masked, to any
signed-in staff. ``POST /log/export`` gives the full data to supervisors and admins only,
with a stated reason; both kinds are written to the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from console.auth import CurrentUser, operator_user, supervisor_user
from console.csrf import verify_csrf
from console.errors import describe
from console.routes.case_log import describe_filter
from console.templating import render
from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import ValidationError
from hotline.models import utcnow
from hotline.reporting import case_log, exports

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _export(
    params: Mapping[str, str], fmt: str, user: CurrentUser, *, full: bool, reason: str | None
) -> Response:
    settings = load_settings()
    flt = case_log.parse_filter(params)
    now = utcnow()
    with transaction() as session:
        cases, total = case_log.search(session, flt, now, settings.timezone, limit=exports.MAX_ROWS)
        rows = [exports.case_row(c, full=full, now=now, tz=settings.timezone) for c in cases]
        exports.record_export(
            session,
            user.actor,
            full=full,
            fmt=fmt,
            count=len(rows),
            filters=flt.to_params(),
            reason=reason,
        )
    stamp = now.astimezone(settings.timezone).strftime("%Y%m%d-%H%M")
    kind = "完整" if full else "脱敏"
    if fmt == "csv":
        body = exports.to_csv(rows)
    else:
        note = _note(flt, total, len(rows), full, now, settings.timezone)
        body = exports.to_xlsx(rows, f"社区服务热线 工单导出（{kind}）", note)
    ascii_name = f"cases-{'full' if full else 'masked'}-{stamp}.{fmt}"
    name = f"工单导出_{kind}_{stamp}.{fmt}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        body,
        media_type=CONTENT_TYPES[fmt],
        headers={"Content-Disposition": disposition, "X-Export-Rows": str(len(rows))},
    )


def _note(
    flt: case_log.LogFilter, total: int, count: int, full: bool, now: datetime, tz: object
) -> str:
    conditions = "；".join(describe_filter(flt)) or "全部工单"
    when = now.astimezone(tz).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]
    extra = f"（共 {total} 件，仅导出前 {count} 件）" if total > count else f"（共 {count} 件）"
    privacy = "含个人信息，请妥善保管" if full else "电话、姓名已脱敏"
    return f"条件：{conditions}{extra} · 导出于 {when} · {privacy}"


@router.get("/log/export.csv")
def export_csv(request: Request, user: CurrentUser = Depends(operator_user)) -> Response:
    """The search's cases as CSV, phones and names masked."""
    return _export(request.query_params, "csv", user, full=False, reason=None)


@router.get("/log/export.xlsx")
def export_xlsx(request: Request, user: CurrentUser = Depends(operator_user)) -> Response:
    """The search's cases as an Excel workbook, phones and names masked."""
    return _export(request.query_params, "xlsx", user, full=False, reason=None)


@router.post("/log/export")
async def export_full(request: Request, user: CurrentUser = Depends(supervisor_user)) -> Response:
    """The search's cases with personal data; needs a reason, and is audited."""
    form = await request.form()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    fmt = params.get("format", "xlsx")
    try:
        if fmt not in CONTENT_TYPES:
            raise ValidationError("format", "格式只能是 csv 或 xlsx")
        reason = exports.check_reason(params.get("reason"))
        case_log.parse_filter(params)
    except ValidationError as exc:
        return render(
            request,
            "error.html",
            {"title": "无法导出", "message": describe(exc), "status": 400},
            status_code=400,
        )
    return _export(params, fmt, user, full=True, reason=reason)
