"""The supervisor dashboard (/dashboard) and the monthly report (/reports/monthly)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from console import figures
from console.charts import content_security_policy
from console.deps import SessionDep, SupervisorUser
from console.hotspot_views import dashboard_panel
from console.templating import render
from hotline.casework.catalogue import get_catalogue
from hotline.casework.directory import department_names
from hotline.casework.workcalendar import calendar_status
from hotline.config import load_settings
from hotline.errors import ValidationError
from hotline.models import utcnow
from hotline.reporting import stats
from hotline.reporting.periods import PERIOD_KINDS, month_period, parse_month, parse_period

router = APIRouter(include_in_schema=False)
MAX_FILTER = 64


def _filter(request: Request) -> stats.StatsFilter:
    category = (request.query_params.get("category") or "").strip()
    department = (request.query_params.get("department") or "").strip()
    if category and not get_catalogue().has(category):
        raise ValidationError("category", f"未知的服务类别「{category[:40]}」")
    if len(department) > MAX_FILTER:
        raise ValidationError("department", f"最多 {MAX_FILTER} 字")
    return stats.StatsFilter(category=category or None, department=department or None)


def _page(
    request: Request,
    session: Session,
    template: str,
    dash: stats.Dashboard,
    context: dict[str, Any],
) -> Response:
    built = figures.build(dash)
    departments = department_names(session)
    response = render(
        request,
        template,
        {
            "dash": dash,
            "fig": built,
            "categories": get_catalogue().categories,
            "departments": departments,
            "percent": figures.percent,
            "category_name": figures.category_name,
            **context,
        },
        active="dashboard",
    )
    response.headers["Content-Security-Policy"] = content_security_policy(built.chart_list)
    return response


@router.get("/dashboard")
def dashboard(request: Request, user: SupervisorUser, session: SessionDep) -> Response:
    """Figures and charts for a period (today, 7 or 30 days, or custom) and filters."""
    params = request.query_params
    tz = load_settings().timezone
    now = utcnow()
    today = now.astimezone(tz).date()
    kind, period = parse_period(
        params.get("period", ""), params.get("from", ""), params.get("to", ""), today, tz
    )
    flt = _filter(request)
    dash = stats.dashboard(session, period, flt, now)
    hot = dashboard_panel(session, now)
    return _page(
        request,
        session,
        "supervisor/dashboard.html",
        dash,
        {
            "hot": hot,
            "kind": kind,
            "kinds": PERIOD_KINDS,
            "params": params,
            "calendar": calendar_status(today),
        },
    )


@router.get("/reports/monthly")
def monthly_report(request: Request, user: SupervisorUser, session: SessionDep) -> Response:
    """The month's figures and charts, laid out for printing to PDF from the browser."""
    tz = load_settings().timezone
    now = utcnow()
    today = now.astimezone(tz).date()
    year, month = parse_month(request.query_params.get("month", ""), today)
    period = month_period(year, month, tz)
    before = month_period(*_previous(year, month), tz)
    flt = _filter(request)
    dash = stats.dashboard(session, period, flt, now)
    previous = stats.registered_count(session, before, flt)
    previous_on_time = stats.timeliness(session, before, flt)[1]
    months = [_shift(today.year, today.month, -i) for i in range(0, 13)]
    return _page(
        request,
        session,
        "supervisor/report.html",
        dash,
        {
            "year": year,
            "month": month,
            "month_value": f"{year:04d}-{month:02d}",
            "months": [f"{y:04d}-{m:02d}" for y, m in months],
            "previous": previous,
            "previous_on_time": previous_on_time,
            "change": _change(dash.registered, previous),
            "generated_at": now,
            "in_progress": period.last >= today,
            "next_day": period.last + timedelta(days=1),
        },
    )


def _previous(year: int, month: int) -> tuple[int, int]:
    return _shift(year, month, -1)


def _shift(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _change(current: int, previous: int) -> str:
    if not previous:
        return "上月无工单" if not current else "上月无工单，无法比较"
    diff = current - previous
    if diff == 0:
        return "与上月持平"
    word = "增加" if diff > 0 else "减少"
    return f"较上月{word} {abs(diff)} 件（{abs(diff) / previous * 100:.1f}%）"
