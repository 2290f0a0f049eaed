"""The JSON API (/api/v1): cases for integrations and scripts, with bearer tokens.

Errors are JSON ``{"error": {"code", "message", "field"?}}`` with status 400 (bad input),
401 (no or bad token), 403 (role too low), 404 (unknown case), 409 (invalid transition) or
429 (too many cases created by the account in the last minute).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from console.deps import ApiOperator, ApiSupervisor, SessionDep
from console.filters import parse_queue
from hotline.access.accounts import list_users
from hotline.access.ratelimit import check_case_rate
from hotline.casework.cases import (
    ActionInput,
    NewCase,
    apply_action,
    case_events,
    count_by_status,
    create_case,
    find_by_idempotency_key,
    get_case,
    list_cases,
)
from hotline.casework.views import case_to_dict, event_to_dict
from hotline.casework.vocab import Channel
from hotline.casework.workflow import OPERATOR_ACTIONS
from hotline.errors import ValidationError

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "输入有误（JSON 错误信息，含出错字段）"},
    401: {"description": "缺少或无效的 API 令牌"},
    403: {"description": "账号角色权限不足"},
    404: {"description": "工单不存在"},
    409: {"description": "当前状态不允许此操作"},
    429: {"description": "登记过于频繁（每个账号每分钟最多 60 件，HOTLINE_CASES_PER_MINUTE）"},
}

router = APIRouter(prefix="/api/v1", tags=["工单 API"], responses=ERROR_RESPONSES)
INTAKE_CHANNELS = (Channel.PHONE.value, Channel.REST.value)


class NewCaseIn(BaseModel):
    """A case to register (phone intake or an integration)."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(description="服务类别代码，如 city_management", max_length=32)
    description: str = Field(description="居民原话描述", max_length=10_000)
    phone: str | None = Field(None, description="联系电话（电话来件必填）", max_length=32)
    location: str = Field("", description="地点（电话来件必填）", max_length=500)
    contact_name: str | None = Field(None, description="联系人，默认「匿名」", max_length=64)
    case_type: str = Field("help", description="consultation/help/complaint/suggestion/praise")
    urgency: str = Field("normal", description="normal/urgent/emergency")
    channel: str = Field("phone", description="phone（电话来件）或 rest（系统对接）")
    latitude: float | None = None
    longitude: float | None = None
    idempotency_key: str | None = Field(None, description="重复提交时返回同一工单", max_length=128)
    publish_consent: bool = Field(
        False, description="居民同意公开（Open311 只公开同意且类别可公开的工单；默认不公开）"
    )


class ActionIn(BaseModel):
    """One workflow action on a case."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(description="、".join(OPERATOR_ACTIONS), max_length=32)
    note: str | None = Field(None, description="说明、原因、回复或办结内容", max_length=10_000)
    department: str | None = Field(None, description="dispatch：承办单位，缺省为类别默认单位")
    category: str | None = Field(None, description="reroute：新的服务类别代码")
    urgency: str | None = Field(None, description="set_urgency：normal/urgent/emergency")
    assignee: str | None = Field(None, description="assign：用户名")
    target: str | None = Field(None, description="merge：合并到的工单号")
    days: int | None = Field(None, description="extend：延期工作日数，缺省为类别时限", ge=1, le=60)


class CaseOut(BaseModel):
    """A case as the API shows it (``hotline.casework.views.case_to_dict``); times in ISO 8601."""

    number: str = Field(description="工单编号，如 SQ20261123-0007")
    status: str = Field(description="状态代码，如 new、dispatched")
    status_label: str
    category: str
    category_name: str
    original_category: str = Field(description="首次分类（改派前）")
    case_type: str
    case_type_label: str
    urgency: str
    urgency_label: str
    channel: str
    resident_ref: str | None
    contact_name: str
    phone: str | None = Field(description="联系电话（已打码）")
    location: str
    latitude: float | None
    longitude: float | None
    description: str
    department: str | None
    assignee: str | None = Field(description="承办人用户名")
    due_at: str | None
    overdue: bool
    extended: bool
    created_at: str | None
    updated_at: str | None
    accepted_at: str | None
    dispatched_at: str | None
    resolved_at: str | None
    closed_at: str | None
    resolution: str | None
    satisfaction: str | None
    reopen_count: int
    merged_into: str | None
    flagged: bool
    publish_consent: bool


class EventOut(BaseModel):
    """One audit event (``hotline.casework.views.event_to_dict``)."""

    at: str | None
    actor_kind: str
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None
    data: dict[str, Any] | None


class CaseWithEventsOut(CaseOut):
    """A case with its audit events, oldest first."""

    events: list[EventOut]


class CaseListOut(BaseModel):
    """A page of cases, with the counts per status of the view before paging."""

    cases: list[CaseOut]
    counts: dict[str, int] = Field(description="各状态的工单数")
    limit: int
    offset: int


class UserOut(BaseModel):
    """A console account, without any secret."""

    username: str
    display_name: str
    role: str
    active: bool


class UserListOut(BaseModel):
    """The console accounts."""

    users: list[UserOut]


def _case_with_events(session: Session, number: str) -> dict[str, Any]:
    case = get_case(session, number)
    data = case_to_dict(case)
    data["events"] = [event_to_dict(e) for e in case_events(session, case)]
    return data


@router.get("/cases", summary="工单列表（与队列相同的筛选）", response_model=CaseListOut)
def api_list_cases(
    request: Request,
    user: ApiOperator,
    session: SessionDep,
    view: str = Query("all", description="open/mine/unassigned/followup/all"),
    status: str | None = Query(None, description="状态代码，如 new、dispatched"),
    category: str | None = Query(None),
    urgency: str | None = Query(None),
    department: str | None = Query(None),
    assignee: str | None = Query(None, description="用户名、me 或 none"),
    overdue: bool = Query(False, description="只看超时"),
    q: str | None = Query(None, description="工单号、描述或电话后四位", max_length=100),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """Cases matching the filters, most urgent first then by deadline; phones masked."""
    params = {
        "view": view,
        "status": status or "",
        "category": category or "",
        "urgency": urgency or "",
        "department": department or "",
        "assignee": assignee or "",
        "overdue": "1" if overdue else "",
        "q": q or "",
    }
    query = parse_queue(session, params, user.id, limit=limit, offset=offset)
    cases = [case_to_dict(c) for c in list_cases(session, query.filter)]
    counts = count_by_status(session, query.base)
    return {"cases": cases, "counts": counts, "limit": limit, "offset": offset}


@router.get("/cases/{number}", summary="一个工单及其全部事件", response_model=CaseWithEventsOut)
def api_get_case(number: str, user: ApiOperator, session: SessionDep) -> dict[str, Any]:
    """One case with its audit events, oldest first; the phone is masked."""
    return _case_with_events(session, number)


@router.post(
    "/cases",
    status_code=201,
    summary="登记工单",
    response_model=CaseWithEventsOut,
    responses={200: {"description": "重复的幂等键：返回第一次登记的工单"}},
)
def api_create_case(
    body: NewCaseIn,
    response: Response,
    user: ApiOperator,
    session: SessionDep,
    idempotency_key: str | None = Header(None, max_length=128),
) -> dict[str, Any]:
    """Registers a case (201); with a repeated idempotency key, the first case (200)."""
    if body.channel not in INTAKE_CHANNELS:
        raise ValidationError("channel", "接口登记的渠道须为 phone 或 rest")
    key = body.idempotency_key or idempotency_key
    new = NewCase(
        category=body.category,
        description=body.description,
        phone=body.phone,
        location=body.location,
        contact_name=body.contact_name,
        case_type=body.case_type,
        urgency=body.urgency,
        channel=body.channel,
        latitude=body.latitude,
        longitude=body.longitude,
        idempotency_key=f"api:{user.id}:{key}" if key else None,
        require_phone=body.channel == Channel.PHONE.value,
        require_location=body.channel == Channel.PHONE.value,
        publish_consent=body.publish_consent,
    )
    replay_of = new.idempotency_key
    if not (replay_of and find_by_idempotency_key(session, replay_of)):  # a replay is free
        check_case_rate(session, user.actor)
    case, created = create_case(session, new, user.actor)
    if not created:
        response.status_code = 200
    return _case_with_events(session, case.number)


@router.post("/cases/{number}/actions", summary="办理操作", response_model=CaseWithEventsOut)
def api_case_action(
    number: str, body: ActionIn, user: ApiOperator, session: SessionDep
) -> dict[str, Any]:
    """Performs one action (accept, claim, assign, reroute, set_urgency, dispatch, start,
    return, extend, note, reply, resolve, merge, reopen, close) and returns the case."""
    if body.action not in OPERATOR_ACTIONS:
        raise ValidationError(
            "action", f"未知的操作「{body.action}」，可选：{', '.join(OPERATOR_ACTIONS)}"
        )
    case = get_case(session, number)
    apply_action(
        session,
        case,
        body.action,
        user.actor,
        ActionInput(
            note=body.note,
            department=body.department,
            category=body.category,
            urgency=body.urgency,
            assignee=body.assignee,
            target=body.target,
            days=body.days,
        ),
    )
    return _case_with_events(session, case.number)


@router.get("/users", summary="账号列表（督办员及以上）", response_model=UserListOut)
def api_list_users(user: ApiSupervisor, session: SessionDep) -> dict[str, Any]:
    """The console accounts (for assigning and workload), without any secret."""
    return {
        "users": [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "active": u.active,
            }
            for u in list_users(session)
        ]
    }
