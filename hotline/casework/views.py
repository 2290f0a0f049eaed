"""Plain-data views of cases and events, shared by the CLI, the API and the actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hotline.casework.cases import is_overdue
from hotline.casework.catalogue import get_catalogue
from hotline.casework.phone import mask_phone, national_format
from hotline.casework.vocab import CaseType, Urgency
from hotline.casework.workflow import CaseStatus
from hotline.models import Case, CaseEvent


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def case_to_dict(
    case: Case, *, reveal: bool = False, now: datetime | None = None
) -> dict[str, Any]:
    """A case as JSON-ready data. The phone is masked unless ``reveal``."""
    catalogue = get_catalogue()
    category_name = catalogue.get(case.category).name if catalogue.has(case.category) else ""
    phone = (
        (national_format(case.phone) if reveal else mask_phone(case.phone)) if case.phone else None
    )
    return {
        "number": case.number,
        "status": case.status,
        "status_label": CaseStatus(case.status).label,
        "category": case.category,
        "category_name": category_name,
        "original_category": case.original_category,
        "case_type": case.case_type,
        "case_type_label": CaseType(case.case_type).label,
        "urgency": case.urgency,
        "urgency_label": Urgency(case.urgency).label,
        "channel": case.channel,
        "resident_ref": case.resident_ref,
        "contact_name": case.contact_name,
        "phone": phone,
        "location": case.location,
        "latitude": case.latitude,
        "longitude": case.longitude,
        "description": case.description,
        "department": case.department,
        "assignee": case.assignee.username if case.assignee else None,
        "due_at": _iso(case.due_at),
        "overdue": is_overdue(case, now),
        "extended": case.extended,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "accepted_at": _iso(case.accepted_at),
        "dispatched_at": _iso(case.dispatched_at),
        "resolved_at": _iso(case.resolved_at),
        "closed_at": _iso(case.closed_at),
        "resolution": case.resolution,
        "satisfaction": case.satisfaction,
        "reopen_count": case.reopen_count,
        "merged_into": case.merged_into,
        "flagged": case.flagged,
        "publish_consent": case.publish_consent,
    }


def event_to_dict(event: CaseEvent) -> dict[str, Any]:
    """An audit event as JSON-ready data."""
    return {
        "at": _iso(event.at),
        "actor_kind": event.actor_kind,
        "actor": event.actor,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
        "data": event.data,
    }
