"""Open311 GeoReport v2: the hotline's services and cases for city platforms and apps.

Reading needs a partner's ``api_key`` unless ``HOTLINE_OPEN311_PUBLIC_READS`` is on, and shows
only what may be published (:func:`published`): cases of a category the catalogue marks
``public: true``, never an emergency or a consultation, and from any channel but Open311 only
when the resident agreed during the report (``publish_consent``). A partner also reads the
requests it created itself. No answer holds personal data: no phone, no name, no exact address
(``address`` is left out and coordinates are rounded to about 100 m), and descriptions pass
through :func:`hotline.privacy.redact.redact_for_publication`. Creating a request needs an
``api_key`` (``hotline apikey create NAME``) and registers a case with channel ``open311``.

Errors are :class:`Open311Error`, which carry the HTTP status the spec asks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from hotline.access import accounts
from hotline.access.ratelimit import RateLimitedError, check_case_rate
from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.casework.catalogue import Catalogue, Category, get_catalogue
from hotline.casework.vocab import ActorKind, CaseType, Channel, Urgency
from hotline.casework.workflow import OPEN_STATUSES, CaseStatus
from hotline.config import load_settings
from hotline.errors import HotlineError, ValidationError
from hotline.models import Case, CaseEvent
from hotline.privacy.redact import redact_for_publication

MAX_WINDOW = timedelta(days=90)
"""The default and the longest date range of a request search (GeoReport v2)."""
MAX_PAGE_SIZE = 200
"""The most requests one page of a search holds (``page_size``)."""
DEFAULT_PAGE_SIZE = 50
MAX_IDS = 100
CONSENT_FREE_CHANNELS = (Channel.OPEN311.value,)
"""Channels whose reports were made to a public platform; every other channel (Telegram, web
chat, phone, integrations) is published only with the resident's ``publish_consent``."""
NEVER_PUBLISHED_TYPES = (CaseType.CONSULTATION.value,)
NEVER_PUBLISHED_URGENCIES = (Urgency.EMERGENCY.value,)
COORDINATE_DECIMALS = 3
OPEN_VALUES = tuple(s.value for s in CaseStatus if s in OPEN_STATUSES)
CLOSED_VALUES = tuple(s.value for s in CaseStatus if s not in OPEN_STATUSES)
FIELD_ERRORS = {
    "phone": "phone 不是有效的中国大陆手机号或固定电话",
    "description": "description 不能为空且最多 10000 字",
    "location": "address_string 最多 500 字",
    "name": "first_name 与 last_name 合计最多 64 字",
    "latitude": "lat 超出范围 -90～90",
    "longitude": "long 超出范围 -180～180",
}


class Open311Error(HotlineError):
    """A request the Open311 API refuses, with the spec's HTTP status (400, 403 or 404)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 in the hotline's time zone, with its offset: ``2026-11-24T09:30:00+08:00``."""
    if value is None:
        return None
    return value.astimezone(tz).replace(microsecond=0).isoformat()


# Services ---------------------------------------------------------------------------------

ATTRIBUTES: tuple[dict[str, Any], ...] = (
    {
        "code": "case_type",
        "description": "诉求类型（默认：求助）",
        "datatype_description": "咨询、求助、投诉、建议或表扬，填写代码",
        "values": [{"key": t.value, "name": t.label} for t in CaseType],
    },
    {
        "code": "urgency",
        "description": "紧急程度（默认：一般）。危及生命财产安全请先拨打 110/119/120",
        "datatype_description": "一般、加急或紧急，填写代码",
        "values": [{"key": u.value, "name": u.label} for u in Urgency],
    },
)
"""The extra fields the hotline needs, as Open311 attributes (``attribute[code]=key``)."""


def service_of(category: Category) -> dict[str, Any]:
    """A catalogue category as an Open311 service."""
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(category.keywords),
        "group": category.department,
    }


def services(catalogue: Catalogue | None = None) -> list[dict[str, Any]]:
    """Every service (the catalogue's categories), in catalogue order."""
    return [service_of(c) for c in (catalogue or get_catalogue()).categories]


def check_jurisdiction(params: Mapping[str, str]) -> None:
    """Accepts a request without ``jurisdiction_id`` or with the one this endpoint serves.

    Raises:
        Open311Error: 404 for another jurisdiction.
    """
    given = (params.get("jurisdiction_id") or "").strip()
    served = load_settings().open311_jurisdiction
    if given and given != served:
        raise Open311Error(
            404, f"jurisdiction_id {given[:40]} is not served here (this is {served}) / 辖区不符"
        )


# Who reads ------------------------------------------------------------------------------------


def api_key_of(params: Mapping[str, str], header: str | None = None) -> str:
    """The api_key of a request: the ``X-Api-Key`` header, else the ``api_key`` parameter."""
    return (header or params.get("api_key") or "").strip()


def reader(session: Session, key: str) -> str | None:
    """Who reads: the partner's name for a valid api_key, None for an anonymous reader.

    Raises:
        Open311Error: 403 for an invalid key, or for no key while reads are not public
            (``HOTLINE_OPEN311_PUBLIC_READS``).
    """
    if key:
        found = accounts.verify_api_key(session, key)
        if found is None:
            raise Open311Error(403, "api_key invalid / api_key 无效")
        return found.name
    if not load_settings().open311_public_reads:
        raise Open311Error(403, "api_key required to read requests / 查询工单须提供 api_key")
    return None


def asks_publish_consent(catalogue: Catalogue, category: str | None, case_type: str | None) -> bool:
    """Whether a report could be published, so the resident is asked whether they agree.

    Only reports in a ``public: true`` category that are not consultations; emergencies go
    through their own form and are never published.
    """
    if not category or not catalogue.has(category):
        return False
    return catalogue.get(category).public and case_type not in NEVER_PUBLISHED_TYPES


def published(catalogue: Catalogue) -> ColumnElement[bool]:
    """The cases anyone who may read Open311 may see (an SQL condition).

    A case is published when its category is ``public: true`` in the catalogue, it is not an
    emergency nor a consultation, it was not anonymised, and it came through Open311 or the
    resident agreed to publication during the report.
    """
    public_codes = [c.code for c in catalogue.categories if c.public]
    if not public_codes:
        return false()
    return and_(
        Case.category.in_(public_codes),
        Case.case_type.not_in(NEVER_PUBLISHED_TYPES),
        Case.urgency.not_in(NEVER_PUBLISHED_URGENCIES),
        Case.anonymised_at.is_(None),
        or_(Case.channel.in_(CONSENT_FREE_CHANNELS), Case.publish_consent.is_(True)),
    )


def visible_to(partner: str | None, catalogue: Catalogue) -> ColumnElement[bool]:
    """What a reader sees: published cases, and for a partner also the cases it created."""
    if partner is None:
        return published(catalogue)
    own = select(CaseEvent.case_id).where(
        CaseEvent.action == "create",
        CaseEvent.actor_kind == ActorKind.SYSTEM.value,
        CaseEvent.actor == f"open311:{partner}",
    )
    return or_(published(catalogue), Case.id.in_(own))


def _category(code: str, catalogue: Catalogue) -> Category:
    if not code:
        raise Open311Error(400, "service_code is required / 缺少 service_code")
    if not catalogue.has(code):
        raise Open311Error(404, f"service_code {code[:40]} not found / 没有这个服务")
    return catalogue.get(code)


def service_definition(code: str, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """A service's definition: the attributes a request may carry.

    Raises:
        Open311Error: 404 for an unknown service code.
    """
    category = _category(code, catalogue or get_catalogue())
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": attribute["code"],
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": attribute["datatype_description"],
                "order": order,
                "description": attribute["description"],
                "values": attribute["values"],
            }
            for order, attribute in enumerate(ATTRIBUTES, start=1)
        ],
    }


# Creating requests ------------------------------------------------------------------------


def _float(params: Mapping[str, str], name: str) -> float | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a number / {name} 须为数字") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise Open311Error(400, f"{name} must be a number / {name} 须为数字")
    return value


def _attribute(params: Mapping[str, str], code: str) -> str | None:
    value = (params.get(f"attribute[{code}]") or "").strip()
    if not value:
        return None
    allowed = next(a for a in ATTRIBUTES if a["code"] == code)["values"]
    if value not in [v["key"] for v in allowed]:
        keys = ", ".join(v["key"] for v in allowed)
        raise Open311Error(400, f"attribute[{code}] must be one of {keys}")
    return value


def create_request(
    session: Session,
    params: Mapping[str, str],
    *,
    now: datetime | None = None,
    catalogue: Catalogue | None = None,
) -> tuple[Case, str]:
    """Registers a case from a partner's POST requests.

    Args:
        params: The POST fields: ``api_key``, ``service_code``, ``description``,
            ``address_string`` or ``lat``/``long`` (or ``address_id``), ``phone``,
            ``first_name``, ``last_name``, ``media_url`` and ``attribute[...]``.

    Returns:
        The case and the partner's name.

    Raises:
        Open311Error: 403 without a valid api_key; 400 for bad input; 404 for an unknown
            service code; 429 when the partner created too many cases in the last minute
            (:mod:`hotline.access.ratelimit`).
    """
    catalogue = catalogue or get_catalogue()
    check_jurisdiction(params)
    key = accounts.verify_api_key(session, (params.get("api_key") or "").strip())
    if key is None:
        raise Open311Error(403, "api_key missing or invalid / api_key 无效")
    code = (params.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code is required / 缺少 service_code")
    if not catalogue.has(code):
        raise Open311Error(400, f"service_code {code[:40]} not found / 没有这个服务")
    latitude, longitude = _float(params, "lat"), _float(params, "long")
    address = (params.get("address_string") or "").strip()
    address_id = (params.get("address_id") or "").strip()[:100]
    if (latitude is None) != (longitude is None):
        raise Open311Error(400, "lat and long must be given together / lat 与 long 须同时提供")
    if latitude is None and not address and not address_id:
        raise Open311Error(
            400, "a location is required: lat & long, address_string or address_id / 缺少位置"
        )
    description = (params.get("description") or "").strip()
    if not description:
        raise Open311Error(400, "description is required / 缺少问题描述")
    media_url = (params.get("media_url") or "").strip()
    if media_url:
        description += f"\n（附件：{media_url[:500]}）"
    name = (params.get("last_name") or "").strip() + (params.get("first_name") or "").strip()
    new = NewCase(
        category=code,
        description=description,
        phone=(params.get("phone") or "").strip() or None,
        location=address or (f"地址编号 {address_id}" if address_id else ""),
        contact_name=name or None,
        case_type=_attribute(params, "case_type") or CaseType.HELP.value,
        urgency=_attribute(params, "urgency") or Urgency.NORMAL.value,
        channel=Channel.OPEN311.value,
        latitude=latitude,
        longitude=longitude,
    )
    actor = Actor.system(f"open311:{key.name}")
    try:
        check_case_rate(session, actor, now)
    except RateLimitedError as exc:
        raise Open311Error(429, f"too many requests / {exc}") from exc
    try:
        case, _ = create_case(session, new, actor, now=now, catalogue=catalogue)
    except ValidationError as exc:
        raise Open311Error(400, FIELD_ERRORS.get(exc.field, exc.message)) from exc
    return case, key.name


def service_notice(case: Case, tz: ZoneInfo) -> str:
    """What the partner tells the resident after creating a request."""
    due = case.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return (
        f"已受理登记，工单号 {case.number}，承办单位 {case.department or '待定'}，办理时限 {due}。"
    )


# Reading requests -------------------------------------------------------------------------


def status_of(case: Case) -> str:
    """``open`` while the case is being handled, else ``closed``."""
    return "open" if case.status in OPEN_VALUES else "closed"


def status_notes(case: Case) -> str:
    """The case's state in words, without personal data."""
    status = CaseStatus(case.status)
    department = case.department or "承办单位"
    if case.merged_into:
        return f"与工单 {case.merged_into} 反映同一问题，已合并办理"
    notes = {
        CaseStatus.NEW: "已登记，等待受理",
        CaseStatus.ACCEPTED: "已受理，正在派单",
        CaseStatus.DISPATCHED: f"已派至{department}办理",
        CaseStatus.IN_PROGRESS: f"{department}正在办理",
        CaseStatus.RETURNED: "承办单位退回，正在重新派单",
        CaseStatus.CANCELLED: "已撤回",
    }
    if status in notes:
        return notes[status]
    resolution = redact_for_publication(case.resolution, (case.contact_name,)).strip()
    return resolution or "已办结"


def _round(value: float | None) -> float | None:
    return round(value, COORDINATE_DECIMALS) if value is not None else None


def request_of(case: Case, tz: ZoneInfo, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """A case as a public Open311 service request (no personal data)."""
    catalogue = catalogue or get_catalogue()
    name = catalogue.get(case.category).name if catalogue.has(case.category) else case.category
    return {
        "service_request_id": case.number,
        "status": status_of(case),
        "status_notes": status_notes(case),
        "service_name": name,
        "service_code": case.category,
        "description": redact_for_publication(case.description, (case.contact_name,)),
        "agency_responsible": case.department,
        "service_notice": None,
        "requested_datetime": iso(case.created_at, tz),
        "updated_datetime": iso(case.updated_at, tz),
        "expected_datetime": iso(case.due_at, tz),
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": _round(case.latitude),
        "long": _round(case.longitude),
        "media_url": None,
    }


def parse_datetime(text: str, name: str, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """Reads a W3C / ISO 8601 date-time (``2026-11-24T09:30:00+08:00`` or ``…Z``).

    A date alone is a whole local day (its start, or with ``end`` its end); a date-time
    without an offset is local time.

    Raises:
        Open311Error: 400 when the text is not such a date.
    """
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            day = date.fromisoformat(cleaned)
            local = datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=tz)
            return local
        value = datetime.fromisoformat(
            cleaned[:-1] + "+00:00" if cleaned.endswith(("Z", "z")) else cleaned
        )
    except ValueError as exc:
        raise Open311Error(
            400, f"{name} must be an ISO 8601 date-time, e.g. 2026-11-01T00:00:00+08:00"
        ) from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def date_window(
    params: Mapping[str, str], now: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """The search's ``start_date``/``end_date``: the last 90 days by default, at most 90.

    Raises:
        Open311Error: 400 for a bad date, an inverted or too long range.
    """
    start_text = (params.get("start_date") or "").strip()
    end_text = (params.get("end_date") or "").strip()
    start = parse_datetime(start_text, "start_date", tz) if start_text else None
    end = parse_datetime(end_text, "end_date", tz, end=True) if end_text else None
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - MAX_WINDOW
    if end is None:
        end = min(start + MAX_WINDOW, max(now, start))
    if end < start:
        raise Open311Error(400, "end_date is before start_date / 结束时间早于开始时间")
    if end - start > MAX_WINDOW:
        raise Open311Error(
            400, "the date range may not span more than 90 days / 时间范围最长 90 天"
        )
    return start, end


def _codes(value: str, name: str, limit: int) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if len(items) > limit:
        raise Open311Error(400, f"at most {limit} values of {name} / {name} 最多 {limit} 个")
    return list(dict.fromkeys(items))


def _whole(params: Mapping[str, str], name: str, default: int, high: int | None) -> int:
    text = (params.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1 or (high is not None and int(text) > high):
        bound = f"1 to {high}" if high is not None else "1 or more"
        raise Open311Error(400, f"{name} must be a whole number from {bound} / {name} 取值有误")
    return int(text)


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    """``page`` (from 1) and ``page_size`` (default 50, at most :data:`MAX_PAGE_SIZE`).

    Raises:
        Open311Error: 400 for a value that is not a whole number in range.
    """
    page_size = _whole(params, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    return _whole(params, "page", 1, 1_000_000), page_size


def find_requests(
    session: Session,
    params: Mapping[str, str],
    *,
    now: datetime,
    tz: ZoneInfo,
    partner: str | None = None,
    catalogue: Catalogue | None = None,
) -> list[dict[str, Any]]:
    """GET requests: by ``service_request_id`` (comma-separated; the other filters are then
    ignored), or by ``service_code``, ``start_date``/``end_date`` and ``status``; newest first,
    one ``page`` of ``page_size``; only what ``partner`` (None: anyone) may see.

    Raises:
        Open311Error: 400 for an unknown service code or status, bad dates or paging.
    """
    catalogue = catalogue or get_catalogue()
    check_jurisdiction(params)
    page, page_size = paging(params)
    ids = _codes(params.get("service_request_id") or "", "service_request_id", MAX_IDS)
    stmt = select(Case).where(visible_to(partner, catalogue))
    if ids:
        stmt = stmt.where(Case.number.in_([i.upper() for i in ids]))
    else:
        codes = _codes(params.get("service_code") or "", "service_code", 50)
        unknown = [c for c in codes if not catalogue.has(c)]
        if unknown:
            raise Open311Error(400, f"service_code {unknown[0][:40]} not found / 没有这个服务")
        statuses = _codes((params.get("status") or "").lower(), "status", 2)
        if any(s not in ("open", "closed") for s in statuses):
            raise Open311Error(400, "status must be open or closed / status 只能是 open 或 closed")
        start, end = date_window(params, now, tz)
        stmt = stmt.where(Case.created_at >= start, Case.created_at <= end)
        if codes:
            stmt = stmt.where(Case.category.in_(codes))
        if statuses == ["open"]:
            stmt = stmt.where(Case.status.in_(OPEN_VALUES))
        elif statuses == ["closed"]:
            stmt = stmt.where(Case.status.in_(CLOSED_VALUES))
    stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc())
    stmt = stmt.offset((page - 1) * page_size).limit(page_size)
    return [request_of(c, tz, catalogue) for c in session.scalars(stmt)]


def get_request(
    session: Session,
    request_id: str,
    tz: ZoneInfo,
    catalogue: Catalogue | None = None,
    *,
    partner: str | None = None,
) -> dict[str, Any]:
    """One request by its id (the case number), if ``partner`` (None: anyone) may see it.

    Raises:
        Open311Error: 404 when there is none, or it is not published (the same answer, so
            nothing tells that an unpublished case exists).
    """
    catalogue = catalogue or get_catalogue()
    cleaned = (request_id or "").strip().upper()
    case = (
        session.scalar(select(Case).where(Case.number == cleaned, visible_to(partner, catalogue)))
        if cleaned
        else None
    )
    if case is None:
        raise Open311Error(404, f"service_request_id {cleaned[:40]} not found / 没有这个工单")
    return request_of(case, tz, catalogue)
