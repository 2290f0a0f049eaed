"""Exports: CSV and XLSX contents, masking on and off, the role check and the audit event."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.db import transaction
from hotline.models import CaseEvent
from hotline.privacy.redact import mask_name, mask_numbers
from hotline.reporting.exports import COLUMNS, safe_cell
from tests.console.conftest import csrf_of
from tests.supervisor.seed import World

HEADERS = [c.header for c in COLUMNS]


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())  # Excel needs the BOM for UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    return [dict(zip(HEADERS, row, strict=True)) for row in rows[1:]]


def read_xlsx(body: bytes) -> tuple[list[dict[str, Any]], Any]:
    sheet = load_workbook(io.BytesIO(body)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[2]) == HEADERS
    return [dict(zip(HEADERS, row, strict=True)) for row in values[3:]], sheet


def export_events(action: str) -> list[CaseEvent]:
    with transaction() as session:
        return list(session.scalars(select(CaseEvent).where(CaseEvent.action == action)))


@pytest.fixture()
def supervisor(as_role: Callable[[str], TestClient]) -> TestClient:
    return as_role("supervisor")


def test_csv_is_masked_by_default(supervisor: TestClient, recent_world: World) -> None:
    response = supervisor.get("/log/export.csv", params={"phone4": "5678"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    (row,) = read_csv(response.content)
    assert row["工单号"] == recent_world.numbers["A"]
    assert row["联系电话"] == "138****5678"
    assert row["联系人"] == "张**"
    assert "13812345678" not in response.content.decode("utf-8-sig")
    assert row["问题描述"].endswith("联系电话138****5678")
    assert (row["服务类别"], row["状态"], row["回访评价"], row["时效"]) == (
        "城市管理",
        "已归档",
        "非常满意",
        "按时",
    )
    (event,) = export_events("export")
    assert event.actor == "sup" and event.case_id is None
    assert event.data == {
        "format": "csv",
        "count": 1,
        "filters": {"phone4": "5678"},
        "personal_data": False,
    }


def test_xlsx_is_masked_and_follows_the_filters(
    supervisor: TestClient, recent_world: World
) -> None:
    response = supervisor.get("/log/export.xlsx", params={"department": "劳动保障所"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    rows, sheet = read_xlsx(response.content)
    assert {r["工单号"] for r in rows} == {recent_world.numbers["D"], recent_world.numbers["E"]}
    phones = {r["工单号"]: r["联系电话"] for r in rows}
    assert phones[recent_world.numbers["D"]] == "027****1234"
    assert "承办单位：劳动保障所" in sheet["A2"].value and "已脱敏" in sheet["A2"].value
    assert {r["联系人"] for r in rows} == {"赵*", "钱*"}
    assert export_events("export")[0].data["format"] == "xlsx"


def test_full_export_needs_a_supervisor_and_a_reason_and_is_audited(
    as_role: Callable[[str], TestClient], recent_world: World
) -> None:
    operator = as_role("operator")
    # Operators may export the masked list, never the full data.
    assert operator.get("/log/export.csv").status_code == 200
    refused = operator.post(
        "/log/export",
        data={"csrf_token": csrf_of(operator), "format": "csv", "reason": "核实投诉情况"},
    )
    assert refused.status_code == 403 and "权限" in refused.text
    assert export_events("export_full") == []

    supervisor = as_role("supervisor")
    token = csrf_of(supervisor)
    for reason in ("", "  ", "核实"[:1]):
        response = supervisor.post(
            "/log/export", data={"csrf_token": token, "format": "csv", "reason": reason}
        )
        assert response.status_code == 400 and "事由" in response.text
    assert (
        supervisor.post(
            "/log/export", data={"csrf_token": token, "format": "pdf", "reason": "核实投诉情况"}
        ).status_code
        == 400
    )
    assert export_events("export_full") == []

    reason = "区督查组要求核实城管投诉件"
    response = supervisor.post(
        "/log/export",
        data={"csrf_token": token, "format": "csv", "reason": reason, "phone4": "5678"},
    )
    assert response.status_code == 200
    (row,) = read_csv(response.content)
    assert row["联系电话"] == "13812345678"
    assert row["联系人"] == "张三丰"
    assert row["问题描述"].endswith("13812345678")
    (event,) = export_events("export_full")
    assert (event.actor, event.note, event.case_id) == ("sup", reason, None)
    assert event.data == {
        "format": "csv",
        "count": 1,
        "filters": {"phone4": "5678"},
        "personal_data": True,
    }

    response = supervisor.post(
        "/log/export",
        data={"csrf_token": token, "format": "xlsx", "reason": reason, "department": "劳动保障所"},
    )
    rows, sheet = read_xlsx(response.content)
    assert {r["联系人"] for r in rows} == {"赵六", "钱七"}
    assert "含个人信息" in sheet["A2"].value
    assert len(export_events("export_full")) == 2
    # Without the CSRF token the form is refused.
    assert supervisor.post("/log/export", data={"reason": reason}).status_code == 403


def test_the_audit_view_shows_exports(supervisor: TestClient, recent_world: World) -> None:
    token = csrf_of(supervisor)
    supervisor.post(
        "/log/export", data={"csrf_token": token, "format": "csv", "reason": "年度审计抽查"}
    )
    page = supervisor.get("/log/audit", params={"action": "export_full"}).text
    assert "导出完整数据（含个人信息）" in page and "年度审计抽查" in page


def test_spreadsheet_formulas_are_neutralised(supervisor: TestClient, recent_world: World) -> None:
    with transaction() as session:
        create_case(
            session,
            NewCase(
                category="other",
                description='=HYPERLINK("http://evil.example","点我")',
                location="@SUM(A1)",
                channel="rest",
            ),
            Actor.system("test"),
        )
    csv_rows = read_csv(supervisor.get("/log/export.csv", params={"q": "HYPERLINK"}).content)
    assert csv_rows[0]["问题描述"].startswith("'=HYPERLINK")
    assert csv_rows[0]["地点"] == "'@SUM(A1)"
    body = supervisor.get("/log/export.xlsx", params={"q": "HYPERLINK"}).content
    _, sheet = read_xlsx(body)
    cell = sheet.cell(row=4, column=HEADERS.index("问题描述") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_masking_helpers() -> None:
    assert mask_name("张三丰") == "张**" and mask_name("李四") == "李*"
    assert mask_name("匿名") == "匿名" and mask_name("") == ""
    assert (
        mask_numbers("电话 138 1234 5678，座机027-85671234") == "电话 138****5678，座机027****1234"
    )
    assert mask_numbers("身份证420102199001011234") == "身份证420102********1234"
    assert mask_numbers("工单 SQ20261124-0001") == "工单 SQ20261124-0001"
    assert safe_cell("-1") == "'-1" and safe_cell(5) == 5 and safe_cell("正常") == "正常"
