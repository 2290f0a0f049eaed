"""The JSON API of duplicate suggestions and hotspots (/api/v1/cases/{number}/similar,
/api/v1/hotspots), with bearer tokens and the errors of :mod:`console.routes.api`."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from console.deps import ApiOperator, SessionDep
from console.figures import category_name
from console.hotspot_views import MAX_DAYS, MIN_DAYS, ranked
from console.routes.api import ERROR_RESPONSES
from hotline.casework.cases import get_case
from hotline.casework.workflow import CaseStatus
from hotline.similarity.hotspots import hotspots
from hotline.similarity.matcher import similar_cases

router = APIRouter(prefix="/api/v1", tags=["重复工单与热点"], responses=ERROR_RESPONSES)


class SimilarCaseOut(BaseModel):
    """A case that is probably the same problem as the asked one."""

    number: str = Field(description="相似工单号")
    score: float = Field(description="相似度，越大越可能是同一问题")
    reason: str = Field(description="判断依据，如「同一地点 + 相似描述」")
    status: str = Field(description="相似工单的状态代码，如 dispatched")
    status_label: str = Field(description="状态的中文名，如「已派单」")


class HotspotOut(BaseModel):
    """A cluster of cases about one place and topic within the window (热点)."""

    key: str = Field(description="热点的稳定标识")
    category: str = Field(description="服务类别代码")
    category_name: str = Field(description="服务类别名称")
    place: str = Field(description="地点（规范化后）")
    topic: str = Field(description="问题主题")
    count: int = Field(description="窗口内的工单数")
    latest_at: datetime = Field(description="最近一件的登记时间（UTC）")
    case_numbers: list[str] = Field(description="该热点的工单号，最新在前")


@router.get(
    "/cases/{number}/similar",
    response_model=list[SimilarCaseOut],
    summary="可能重复的工单（最相似在前）",
)
def api_similar(number: str, user: ApiOperator, session: SessionDep) -> list[SimilarCaseOut]:
    """Open cases, and cases resolved in the last 30 days, that are probably the same problem
    as this one: same or neighbouring category, similar description, same or nearby place."""
    case = get_case(session, number)
    return [
        SimilarCaseOut(
            number=s.number,
            score=s.score,
            reason=s.reason,
            status=s.status,
            status_label=CaseStatus(s.status).label,
        )
        for s in similar_cases(session, case)
    ]


@router.get("/hotspots", response_model=list[HotspotOut], summary="热点问题（按件数与时间排序）")
def api_hotspots(
    user: ApiOperator,
    session: SessionDep,
    days: int = Query(
        7, ge=MIN_DAYS, le=MAX_DAYS, description=f"统计最近几天（{MIN_DAYS}～{MAX_DAYS}）"
    ),
) -> list[HotspotOut]:
    """Clusters of cases about one place and topic registered in the last ``days`` days,
    biggest first, then the most recent; each names its cases."""
    found = ranked(hotspots(session, days=days))
    return [
        HotspotOut(
            key=h.key,
            category=h.category,
            category_name=category_name(h.category),
            place=h.place,
            topic=h.topic,
            count=h.count,
            latest_at=h.latest_at,
            case_numbers=list(h.case_numbers),
        )
        for h in found
    ]
