"""The hotspots page (/hotspots, 热点问题): clusters of cases about one place and topic."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from console.auth import CurrentUser, operator_user
from console.hotspot_views import (
    MAX_DAYS,
    MIN_DAYS,
    PAGE_CLUSTERS,
    WINDOWS,
    alerting_numbers,
    build_views,
)
from console.templating import render
from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import ValidationError
from hotline.models import utcnow
from hotline.similarity.hotspots import scan_hotspots

router = APIRouter(include_in_schema=False)
DEFAULT_DAYS = 7


def parse_days(raw: str | None) -> int:
    """The window in days from the query string (``7`` when absent).

    Raises:
        ValidationError: When it is not a whole number from 1 to 90.
    """
    text = (raw or "").strip()
    if not text:
        return DEFAULT_DAYS
    if not text.isdigit() or not MIN_DAYS <= int(text) <= MAX_DAYS:
        raise ValidationError("days", f"须为 {MIN_DAYS}～{MAX_DAYS} 的整数")
    return int(text)


@router.get("/hotspots")
def hotspots_page(request: Request, user: CurrentUser = Depends(operator_user)) -> Response:
    """Clusters of the window, biggest and newest first, each with its cases."""
    days = parse_days(request.query_params.get("days"))
    now = utcnow()
    with transaction() as session:
        found = scan_hotspots(session, days=days, now=now)
        alerts = alerting_numbers(found.growing)
        views = build_views(session, found.hotspots, alerts=alerts, limit=PAGE_CLUSTERS)
    return render(
        request,
        "hotspots.html",
        {
            "days": days,
            "windows": WINDOWS,
            "views": views,
            "total": len(found.hotspots),
            "shown": len(views),
            "alert_size": load_settings().hotspot_alert_size,
            "now": now,
        },
        active="hotspots",
    )
