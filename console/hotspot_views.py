"""What the console shows of hotspots (热点): the page, the dashboard panel and the JSON API.

The core (``hotline.similarity``) finds the clusters; this module adds what people read (the
category's name, each case's status, place and co-reporters) with two queries for every case
on the page, however many hotspots it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.figures import category_name
from hotline.casework.workflow import OPEN_STATUSES, CaseStatus
from hotline.channels.operator_alerts import hotspot_title
from hotline.config import load_settings
from hotline.models import Case, CaseReporter, utcnow
from hotline.privacy.redact import mask_numbers
from hotline.similarity.hotspots import Hotspot, scan_hotspots

WINDOWS = {1: "今天（24 小时）", 7: "近 7 天", 30: "近 30 天"}
"""The page's window selector: days → label."""
MIN_DAYS, MAX_DAYS = 1, 90
PAGE_CLUSTERS = 50
"""Clusters the page shows at most (the biggest and newest first)."""
PANEL_CLUSTERS = 5
"""Clusters the dashboard panel shows."""
PANEL_DAYS = 7
"""The panel's window: the window in which hotspots are alerted."""
CASES_PER_CLUSTER = 20
"""Cases listed under one cluster; the rest are counted."""
MAX_SNIPPET = 60


@dataclass(frozen=True)
class ClusterCase:
    """One case listed under a hotspot."""

    number: str
    status: str
    status_label: str
    open: bool
    created_at: datetime
    location: str
    snippet: str
    co_reporters: int = 0


@dataclass(frozen=True)
class HotspotView:
    """A hotspot with the names and cases the page shows."""

    hotspot: Hotspot
    category_name: str
    title: str
    alert: bool
    cases: list[ClusterCase] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)
    """Numbers of the cases past the listed ones."""

    @property
    def open_count(self) -> int:
        """How many of the listed cases still need work."""
        return sum(1 for c in self.cases if c.open)

    @property
    def case_count(self) -> int:
        """How many cases the hotspot has (its count is reports: cases and co-reporters)."""
        return len(self.hotspot.case_numbers)


def ranked(found: list[Hotspot]) -> list[Hotspot]:
    """Biggest first, then the most recent (the core's order, made explicit)."""
    return sorted(found, key=lambda h: (-h.count, -h.latest_at.timestamp(), h.key))


def alerting_numbers(growing: list[tuple[Hotspot, int]]) -> set[str]:
    """Case numbers of the growing hotspots (:func:`hotline.similarity.growing_hotspots`).

    Clusters of another window have other keys, so a cluster is matched by its cases.
    """
    return {n for spot, _ in growing for n in spot.case_numbers}


def build_views(
    session: Session,
    found: list[Hotspot],
    *,
    alerts: set[str],
    limit: int,
    with_cases: bool = True,
) -> list[HotspotView]:
    """The first ``limit`` hotspots with names, and (optionally) their cases in one query.

    Args:
        alerts: Case numbers of growing hotspots (:func:`alerting_numbers`); a hotspot with
            one of them is marked.
    """
    chosen = ranked(found)[:limit]
    rows: dict[str, Case] = {}
    joined: dict[int, int] = {}
    if with_cases:
        numbers = [n for h in chosen for n in h.case_numbers[:CASES_PER_CLUSTER]]
        if numbers:
            rows = {
                c.number: c for c in session.scalars(select(Case).where(Case.number.in_(numbers)))
            }
            joined = {
                case_id: int(count)
                for case_id, count in session.execute(
                    select(CaseReporter.case_id, func.count())
                    .where(CaseReporter.case_id.in_([c.id for c in rows.values()]))
                    .group_by(CaseReporter.case_id)
                )
            }
    views = []
    for h in chosen:
        listed = [
            _cluster_case(rows[n], joined.get(rows[n].id, 0))
            for n in h.case_numbers[:CASES_PER_CLUSTER]
            if n in rows
        ]
        views.append(
            HotspotView(
                hotspot=h,
                category_name=category_name(h.category),
                title=hotspot_title(h),
                alert=not alerts.isdisjoint(h.case_numbers),
                cases=listed,
                rest=list(h.case_numbers[CASES_PER_CLUSTER:]),
            )
        )
    return views


def _cluster_case(case: Case, co_reporters: int) -> ClusterCase:
    description = mask_numbers(case.description)
    if len(description) > MAX_SNIPPET:
        description = description[:MAX_SNIPPET] + "…"
    status = CaseStatus(case.status)
    return ClusterCase(
        number=case.number,
        status=case.status,
        status_label=status.label,
        open=status in OPEN_STATUSES,
        created_at=case.created_at,
        location=mask_numbers(case.location),
        snippet=description,
        co_reporters=co_reporters,
    )


@dataclass(frozen=True)
class Panel:
    """The dashboard's hotspot panel: the top clusters of the week and today's alerts."""

    days: int
    views: list[HotspotView]
    alerts: list[HotspotView]
    alert_size: int


def dashboard_panel(session: Session, now: datetime | None = None) -> Panel:
    """The top clusters of the last 7 days, and those that grew past the alert size today."""
    found = scan_hotspots(session, days=PANEL_DAYS, now=now or utcnow())
    growing = [spot for spot, _ in found.growing]
    numbers = alerting_numbers(found.growing)
    return Panel(
        days=PANEL_DAYS,
        views=build_views(
            session, found.hotspots, alerts=numbers, limit=PANEL_CLUSTERS, with_cases=False
        ),
        alerts=build_views(
            session, growing, alerts=numbers, limit=PANEL_CLUSTERS, with_cases=False
        ),
        alert_size=load_settings().hotspot_alert_size,
    )
