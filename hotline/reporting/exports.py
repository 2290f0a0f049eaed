"""Exports of case lists as CSV and Excel (XLSX).

Phones and names are masked by default, and phone numbers typed into free text too. A full
export with personal data needs a stated reason and is written to the audit log (PIPL).
Cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import is_overdue, record_event
from hotline.casework.catalogue import get_catalogue
from hotline.casework.phone import mask_phone, national_format
from hotline.casework.vocab import CaseType, Channel, Satisfaction, Urgency
from hotline.casework.workflow import CaseStatus
from hotline.errors import ValidationError
from hotline.models import Case, CaseEvent
from hotline.privacy.redact import mask_name, mask_numbers

MAX_ROWS = 20_000
MIN_REASON = 4
MAX_REASON = 200
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column of an export."""

    key: str
    header: str
    width: int = 14


COLUMNS = (
    Column("number", "工单号", 18),
    Column("status", "状态", 8),
    Column("category", "服务类别", 12),
    Column("original_category", "来件类别", 12),
    Column("case_type", "类型", 6),
    Column("urgency", "紧急程度", 8),
    Column("channel", "来件渠道", 8),
    Column("contact_name", "联系人", 10),
    Column("phone", "联系电话", 14),
    Column("location", "地点", 24),
    Column("description", "问题描述", 40),
    Column("department", "承办单位", 18),
    Column("assignee", "经办人", 10),
    Column("created_at", "登记时间", 17),
    Column("accepted_at", "受理时间", 17),
    Column("dispatched_at", "派单时间", 17),
    Column("resolved_at", "办结时间", 17),
    Column("closed_at", "归档时间", 17),
    Column("due_at", "办理时限", 17),
    Column("timeliness", "时效", 8),
    Column("extended", "延期", 6),
    Column("extension_reason", "延期原因", 20),
    Column("resolution", "办结结果", 30),
    Column("satisfaction", "回访评价", 10),
    Column("satisfaction_comment", "评价意见", 20),
    Column("reopen_count", "重办次数", 8),
)
"""The columns of every export, in order."""


def _time(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def timeliness(case: Case, now: datetime) -> str:
    """按时 / 超时 for a completed case, 超时未办 / 办理中 for an open one."""
    if case.resolved_at is not None and case.status in (
        CaseStatus.RESOLVED.value,
        CaseStatus.CLOSED.value,
    ):
        return "按时" if case.resolved_at <= case.due_at else "超时"
    if is_overdue(case, now):
        return "超时未办"
    return ""


def case_row(case: Case, *, full: bool, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """One case as export cells; personal data masked unless ``full``."""
    catalogue = get_catalogue()

    def name_of(code: str) -> str:
        return catalogue.get(code).name if catalogue.has(code) else code

    text = (lambda value: value or "") if full else mask_numbers
    phone = ""
    if case.phone:
        phone = national_format(case.phone) if full else mask_phone(case.phone)
    return {
        "number": case.number,
        "status": CaseStatus.label_of(case.status),
        "category": name_of(case.category),
        "original_category": name_of(case.original_category),
        "case_type": CaseType.label_of(case.case_type),
        "urgency": Urgency.label_of(case.urgency),
        "channel": Channel.label_of(case.channel),
        "contact_name": case.contact_name if full else mask_name(case.contact_name),
        "phone": phone,
        "location": case.location or "",
        "description": text(case.description),
        "department": case.department or "",
        "assignee": (case.assignee.display_name or case.assignee.username) if case.assignee else "",
        "created_at": _time(case.created_at, tz),
        "accepted_at": _time(case.accepted_at, tz),
        "dispatched_at": _time(case.dispatched_at, tz),
        "resolved_at": _time(case.resolved_at, tz),
        "closed_at": _time(case.closed_at, tz),
        "due_at": _time(case.due_at, tz),
        "timeliness": timeliness(case, now),
        "extended": "是" if case.extended else "",
        "extension_reason": text(case.extension_reason),
        "resolution": text(case.resolution),
        "satisfaction": Satisfaction.label_of(case.satisfaction),
        "satisfaction_comment": text(case.satisfaction_comment),
        "reopen_count": case.reopen_count,
    }


def safe_cell(value: Any) -> Any:
    """Neutralises text a spreadsheet would run as a formula (``=…``, ``+…``, ``@…``)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """UTF-8 CSV with a byte-order mark, so that Excel opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    for row in rows:
        writer.writerow([safe_cell(row[c.key]) for c in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[dict[str, Any]], title: str, note: str) -> bytes:
    """An Excel workbook: a title line, a note line (the filters), the header and the rows.

    Text cells are always stored as text, never as formulas.
    """
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "工单"
    sheet.append([title])
    sheet.append([note])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"].font = Font(color="677380")
    sheet.append([c.header for c in COLUMNS])
    header_fill = PatternFill("solid", fgColor="E8EDF3")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=3, column=index)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    for row_index, row in enumerate(rows, start=4):
        for col_index, column in enumerate(COLUMNS, start=1):
            value = row[column.key]
            cell = sheet.cell(row=row_index, column=col_index)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
                if column.width >= 24:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B4"
    sheet.auto_filter.ref = f"A3:{get_column_letter(len(COLUMNS))}{max(3, len(rows) + 3)}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def check_reason(reason: str | None) -> str:
    """Validates the stated reason of a full export.

    Raises:
        ValidationError: When it is missing, too short or too long.
    """
    cleaned = " ".join((reason or "").split())
    if len(cleaned) < MIN_REASON:
        raise ValidationError(
            "reason", f"导出含个人信息的完整数据须填写事由（至少 {MIN_REASON} 个字）"
        )
    if len(cleaned) > MAX_REASON:
        raise ValidationError("reason", f"事由最多 {MAX_REASON} 字")
    return cleaned


def record_export(
    session: Session,
    actor: Actor,
    *,
    full: bool,
    fmt: str,
    count: int,
    filters: dict[str, str],
    reason: str | None = None,
) -> CaseEvent:
    """Writes the export to the audit log (``export`` or ``export_full``, about no case)."""
    return record_event(
        session,
        None,
        actor,
        "export_full" if full else "export",
        note=reason if full else None,
        data={"format": fmt, "count": count, "filters": filters, "personal_data": full},
    )
