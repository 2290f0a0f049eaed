"""The dashboard's figures as the pages show them: labels, links and charts.

Shared by the dashboard (/dashboard) and the monthly report (/reports/monthly). Every
number carries the link to the case list behind it (/log with the matching filters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from console import charts
from console.charts import Chart
from console.formatting import duration
from hotline.casework.catalogue import get_catalogue
from hotline.casework.routing import faq_topics
from hotline.casework.vocab import Channel, Satisfaction
from hotline.casework.workflow import CaseStatus
from hotline.reporting.stats import (
    COMPLETED_STATUSES,
    NO_DEPARTMENT,
    OPEN_VALUES,
    SATISFIED_VALUES,
    Dashboard,
    Median,
    Ratio,
)

TOP_CATEGORIES_PER_DAY = 7
NARROW = 440
"""Chart width (SVG units) for a third of the page, so text keeps its size on screen."""
WIDE = 680
"""Chart width for half of the page."""
OTHERS = "其他类别"


@dataclass(frozen=True)
class Kpi:
    """A headline figure."""

    key: str
    label: str
    value: str
    link: str
    detail: str = ""
    detail_link: str = ""
    tone: str = ""


@dataclass
class Figures:
    """Everything the figure templates need."""

    kpis: list[Kpi]
    charts: dict[str, Chart]
    tables: dict[str, Any] = field(default_factory=dict)

    @property
    def kpi(self) -> dict[str, Kpi]:
        """The headline figures by key."""
        return {k.key: k for k in self.kpis}

    @property
    def chart_list(self) -> list[Chart]:
        """Every chart, for the page's Content-Security-Policy."""
        return list(self.charts.values())


def category_name(code: str) -> str:
    """The Chinese name of a category code (the code itself when unknown)."""
    catalogue = get_catalogue()
    return catalogue.get(code).name if catalogue.has(code) else code


def topic_name(code: str) -> str:
    """The title of a consultation topic (the code itself when unknown)."""
    topic = faq_topics().get(code)
    return topic.title if topic else code


def channel_name(code: str) -> str:
    """The Chinese name of a channel."""
    try:
        return Channel(code).label
    except ValueError:
        return code


def status_name(code: str) -> str:
    """The Chinese name of a case status."""
    try:
        return CaseStatus(code).label
    except ValueError:
        return code


def percent(value: float | None) -> str:
    """``87.5%``, or a dash when there is nothing to divide."""
    return "—" if value is None else f"{value * 100:.1f}%"


def median_text(median: Median) -> str:
    """A median duration in words, or a dash."""
    return "—" if median.seconds is None else duration(median.seconds)


class Links:
    """Builds /log links for one dashboard's period and filters."""

    def __init__(self, dash: Dashboard) -> None:
        self.first = dash.period.first.isoformat()
        self.last = dash.period.last.isoformat()
        self.base: dict[str, str] = {}
        if dash.filter.category:
            self.base["category"] = dash.filter.category
        if dash.filter.department:
            self.base["department"] = dash.filter.department

    def log(self, date: str | None = "created", **params: str | None) -> str:
        """The case list: cases whose ``date`` falls in the period (None: any date)."""
        query: dict[str, str] = dict(self.base)
        if date:
            query.update({"date": date, "from": self.first, "to": self.last})
        for key, value in params.items():
            if value is None:
                query.pop(key, None)
            else:
                query[key] = value
        return "/log?" + urlencode(query)

    def department(self, name: str) -> str | None:
        """The department filter value, or None for cases without one."""
        return None if name == NO_DEPARTMENT else name

    def completed(self, **params: str | None) -> str:
        """Cases resolved in the period and still completed."""
        return self.log("resolved", status=",".join(COMPLETED_STATUSES), **params)

    def day(self, day: str, **params: str | None) -> str:
        """Cases registered on one day."""
        return self.log("created", **{"from": day, "to": day, **params})

    def audit(self, actor: str, action: str = "") -> str:
        """What one user did in the period (optionally only one kind of action)."""
        query = {"actor": actor, "from": self.first, "to": self.last}
        if action:
            query["action"] = action
        return "/log/audit?" + urlencode(query)


def _ratio_detail(ratio: Ratio, unit: str = "件") -> str:
    return f"{ratio.part} / {ratio.whole} {unit}" if ratio.whole else "本期无数据"


def kpis(dash: Dashboard, links: Links) -> list[Kpi]:
    """The headline figures."""
    sat = dash.satisfaction
    on_time_tone = ""
    if dash.on_time.rate is not None:
        on_time_tone = "good" if dash.on_time.rate >= dash.target else "bad"
    return [
        Kpi("registered", "登记工单", str(dash.registered), links.log()),
        Kpi(
            "open",
            "当前在办",
            str(dash.open_now),
            links.log(None, status=",".join(OPEN_VALUES)),
        ),
        Kpi(
            "overdue",
            "超时未办结",
            str(dash.overdue_total),
            links.log(None, overdue="1"),
            tone="bad" if dash.overdue_total else "good",
        ),
        Kpi(
            "on_time",
            "按时办结率",
            percent(dash.on_time.rate),
            links.completed(),
            f"按时 {dash.on_time.part} / 办结 {dash.on_time.whole} · 目标 {dash.target:.0%}",
            links.completed(on_time="1"),
            on_time_tone,
        ),
        Kpi(
            "accept",
            "受理时长（中位数）",
            median_text(dash.time_to_accept),
            links.log("accepted"),
            f"{dash.time_to_accept.count} 件已受理",
        ),
        Kpi(
            "resolve",
            "办结时长（中位数）",
            median_text(dash.time_to_resolve),
            links.completed(),
            f"{dash.time_to_resolve.count} 件已办结",
        ),
        Kpi(
            "satisfaction",
            "满意率",
            percent(sat.rate),
            links.log("resolved", satisfaction=",".join(SATISFIED_VALUES)),
            f"参评 {sat.answered} / 办结 {sat.resolved} 件",
            links.log("resolved", satisfaction=",".join(s.value for s in Satisfaction)),
        ),
        Kpi(
            "reopen",
            "重办率",
            percent(dash.reopen.rate),
            links.log("resolved", reopened="1"),
            _ratio_detail(dash.reopen),
            links.log("resolved"),
        ),
        Kpi(
            "rerouted",
            "改派率",
            percent(dash.routing.rate),
            links.log(rerouted="1"),
            f"{dash.routing.changed} / {dash.routing.total} 件改过类别",
        ),
        Kpi(
            "handoff",
            "转人工率",
            percent(dash.handoff.rate),
            links.log(handoff="1"),
            f"{dash.handoff.handed_off} / {dash.handoff.conversations} 个对话 · 等待中位 "
            f"{median_text(dash.handoff.median_wait)}",
            links.log(handoff="1"),
        ),
    ]


def _daily(dash: Dashboard, links: Links) -> Chart:
    totals: dict[str, int] = {}
    for counts in dash.by_day.values():
        for code, count in counts.items():
            totals[code] = totals.get(code, 0) + count
    ranked = sorted(totals, key=lambda c: (-totals[c], c))
    top, rest = ranked[:TOP_CATEGORIES_PER_DAY], ranked[TOP_CATEGORIES_PER_DAY:]
    days = sorted(dash.by_day)
    labels = [d.strftime("%m-%d") for d in days]
    series = []
    for code in top:
        series.append(
            (
                category_name(code),
                [dash.by_day[d].get(code, 0) for d in days],
                [links.day(d.isoformat(), category=code) for d in days],
            )
        )
    if rest:
        series.append(
            (
                OTHERS,
                [sum(dash.by_day[d].get(c, 0) for c in rest) for d in days],
                [links.day(d.isoformat()) for d in days],
            )
        )
    return charts.stacked_days(labels, series, "每日登记工单（按类别）")


def build(dash: Dashboard) -> Figures:
    """Every figure, chart and table of a dashboard."""
    links = Links(dash)
    sat = dash.satisfaction
    satisfaction_rows = [
        (
            Satisfaction(value).label,
            sat.counts.get(value, 0),
            links.log("resolved", satisfaction=value),
        )
        for value in (s.value for s in Satisfaction)
    ]
    timeliness_rows = [
        {
            "department": row.department,
            "completed": row.completed,
            "on_time": row.on_time,
            "late": row.late,
            "rate": percent(row.rate),
            "median": duration(row.median_resolve_seconds)
            if row.median_resolve_seconds is not None
            else "—",
            "below": row.rate is not None and row.rate < dash.target,
            "link": links.completed(department=links.department(row.department)),
            "on_time_link": links.completed(
                department=links.department(row.department), on_time="1"
            ),
            "late_link": links.completed(department=links.department(row.department), on_time="0"),
        }
        for row in dash.timeliness
    ]
    figures = Figures(
        kpis=kpis(dash, links),
        charts={
            "daily": _daily(dash, links),
            "category": charts.bars(
                [(category_name(c), n, links.log(category=c)) for c, n in dash.by_category],
                "按类别",
                width=NARROW,
            ),
            "channel": charts.donut(
                [(channel_name(c), n, links.log(channel=c)) for c, n in dash.by_channel],
                "按来件渠道",
                width=NARROW,
            ),
            "status": charts.bars(
                [(status_name(s), n, links.log(status=s)) for s, n in dash.by_status],
                "按当前状态",
                colour=4,
                width=NARROW,
            ),
            "department": charts.bars(
                [(d, n, links.log(department=links.department(d))) for d, n in dash.by_department],
                "按承办单位",
                colour=5,
                width=WIDE,
            ),
            "on_time": charts.rate_bars(
                [
                    (
                        row.department,
                        row.rate,
                        links.completed(department=links.department(row.department)),
                    )
                    for row in dash.timeliness
                ],
                dash.target,
                "各承办单位按时办结率",
                width=WIDE,
            ),
            "satisfaction": charts.donut(
                [(label, count, link) for label, count, link in satisfaction_rows],
                "回访满意度分布",
                colours=charts.SATISFACTION_COLOURS,
                width=NARROW,
            ),
            "topics": charts.bars(
                [(topic_name(t), n, links.log(topic=t)) for t, n in dash.topics],
                "咨询热点",
                colour=2,
                width=WIDE,
            ),
            "workload": charts.bars(
                [(w.display_name, w.actions, links.audit(w.username)) for w in dash.workload],
                "话务员操作次数",
                colour=6,
                width=WIDE,
            ),
        },
    )
    figures.tables = {
        "links": links,
        "timeliness": timeliness_rows,
        "satisfaction": satisfaction_rows,
        "overdue": [
            {
                "number": o.number,
                "status": status_name(o.status),
                "category": category_name(o.category),
                "department": o.department,
                "assignee": o.assignee,
                "due_at": o.due_at,
                "overdue": duration(o.overdue_seconds),
                "extended": o.extended,
                "extension_reason": o.extension_reason,
                "reason": o.reason,
                "reason_label": REASON_LABELS.get(o.reason_action or "", ""),
            }
            for o in dash.overdue
        ],
        "routing": _matrix(dash, links),
        "extended_link": links.log(extended="1"),
        "workload": [
            {
                "name": w.display_name,
                "username": w.username,
                "assigned": w.assigned,
                "open_now": w.open_now,
                "actions": w.actions,
                "resolved": w.resolved,
                "assigned_link": links.log(assignee=w.username),
                "open_link": links.log(None, assignee=w.username, status=",".join(OPEN_VALUES)),
                "actions_link": links.audit(w.username),
                "resolved_link": links.audit(w.username, "resolve"),
            }
            for w in dash.workload
        ],
        "topics": [(topic_name(t), n, links.log(topic=t)) for t, n in dash.topics],
    }
    return figures


REASON_LABELS = {"return": "退单", "extend": "延期", "reroute": "改派", "note": "备注"}


def _matrix(dash: Dashboard, links: Links) -> dict[str, Any]:
    sources = sorted({a for a, _ in dash.routing.matrix}, key=category_name)
    targets = sorted({b for _, b in dash.routing.matrix}, key=category_name)
    peak = max(dash.routing.matrix.values(), default=0)
    rows = []
    for a in sources:
        cells = []
        for b in targets:
            count = dash.routing.matrix.get((a, b), 0)
            level = 0 if not count else 1 + (3 * count - 1) // max(peak, 1)
            cells.append(
                {
                    "count": count,
                    "level": min(level, 3),
                    "link": links.log(original_category=a, category=b, rerouted="1"),
                }
            )
        rows.append({"name": category_name(a), "cells": cells})
    return {"targets": [category_name(b) for b in targets], "rows": rows}
