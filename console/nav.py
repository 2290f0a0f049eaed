"""The console's navigation bar. Later features add their entries to :data:`NAV_ITEMS`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    """One link of the top bar.

    Attributes:
        key: Identifies the item; pages name their active item with it.
        label: The Chinese text.
        path: Where it goes.
        role: The least role that sees it.
    """

    key: str
    label: str
    path: str
    role: str = "operator"


NAV_ITEMS: list[NavItem] = [
    NavItem("cases", "工单队列", "/cases"),
    NavItem("new", "新建工单", "/cases/new"),
    NavItem("handoff", "人工接待", "/handoff"),
    NavItem("chat", "网页咨询", "/chat"),
    NavItem("hotspots", "热点问题", "/hotspots"),
    NavItem("dashboard", "督办看板", "/dashboard", "supervisor"),
    NavItem("log", "工单日志", "/log", "supervisor"),
    NavItem("data_requests", "删除申请", "/data-requests"),
    NavItem("admin", "系统管理", "/admin", "admin"),
]
