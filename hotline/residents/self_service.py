"""What a resident can do on any channel without the assistant: progress, privacy, deletion.

These answers come straight from the case database, so they work even when the assistant is
down. A resident only ever sees their own cases; someone else's number gets the same answer as
a number that does not exist.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.cases import get_case, resident_cases
from hotline.casework.co_reporters import co_reported_cases, co_reporter
from hotline.casework.messages import case_summary
from hotline.casework.workflow import OPEN_STATUSES, CaseStatus
from hotline.config import load_settings
from hotline.errors import NotFoundError
from hotline.models import Case, DataRequest, utcnow

MAX_LISTED = 5
DELETE = "delete"
OPEN = "open"


def status_text(session: Session, sender_id: str, number: str | None = None) -> str:
    """The progress of one of the resident's cases, or of all their open ones.

    Args:
        session: A session.
        sender_id: The resident's conversation id.
        number: A case number, or None for every open case of the resident.

    Returns:
        The answer, in Chinese.
    """
    if number:
        cleaned = number.strip().upper()
        try:
            case = get_case(session, cleaned)
        except NotFoundError:
            case = None
        if case is None or not _reported_by(session, case, sender_id):
            return f"没有找到工单 {cleaned}，请核对工单号。只能查询您本人反映的工单。"
        return case_summary(case)
    cases = _current_cases(session, sender_id)
    if not cases:
        return "您目前没有正在办理的工单。如需反映问题，直接告诉我即可。"
    shown = cases[:MAX_LISTED]
    text = "您的工单：\n\n" + "\n\n".join(case_summary(c) for c in shown)
    if len(cases) > MAX_LISTED:
        text += f"\n\n另有 {len(cases) - MAX_LISTED} 个工单未列出，可发送「/status 工单号」查询。"
    return text


def _reported_by(session: Session, case: Case, sender_id: str) -> bool:
    """Whether the sender reported the case or joined it as a co-reporter."""
    return case.resident_ref == sender_id or co_reporter(session, case, sender_id) is not None


def _current_cases(session: Session, sender_id: str) -> list[Case]:
    """The resident's open or resolved cases, their own and co-reported ones, newest first."""
    current = OPEN_STATUSES | {CaseStatus.RESOLVED}
    cases = {c.id: c for c in resident_cases(session, sender_id, open_only=True)}
    cases.update(
        {c.id: c for c in co_reported_cases(session, sender_id) if CaseStatus(c.status) in current}
    )
    return [c for _, c in sorted(cases.items(), reverse=True)]


def privacy_notice() -> str:
    """What is stored about a resident, for how long, and who sees it."""
    settings = load_settings()
    phone, days = settings.hotline_phone, settings.retention_days
    return (
        "【个人信息说明】\n"
        "保存的内容：您发送的消息、手机号、位置、照片和称呼，以及工单的办理记录。\n"
        "用途：只用于受理、转办和回访您反映的问题。\n"
        "谁能看到：热线工作人员和负责办理的单位。手机号默认隐去中间四位，"
        "工作人员查看完整号码时会留下记录。\n"
        "公开：只有您登记时同意公开、且属于路灯道路等公共事务的工单，才会向城市平台公开"
        "办理进度；公开内容不含电话、证件号、姓名和详细地址。紧急求助和政策咨询从不公开。\n"
        f"保存多久：工单办结归档后保存 {days} 天，之后删除手机号、称呼、详细地址、"
        "您反映问题的原话和照片，并删除您的会话记录（包括与智能助手的对话）；"
        "只保留不含个人信息的统计数据（类别、承办单位、时间、满意度）。"
        f"没有形成工单的会话，最后一次消息 {days} 天后删除。\n"
        "删除：发送 /forget 可申请删除您的个人信息，由工作人员办理。已办结的工单立即匿名化，"
        "会话记录和照片一并删除；正在办理的工单会保留到办结为止（会话中的电话和证件号先行删除），"
        "办结后再删除。\n"
        f"如有疑问，请拨打热线 {phone}。"
    )


FORGET_CONFIRM = "/forget_confirm"
FORGET_CANCEL = "/forget_cancel"


def deletion_confirmation() -> tuple[str, list[dict[str, str]]]:
    """What a resident is asked before a deletion request is recorded, with the two buttons
    (their payloads are :data:`FORGET_CONFIRM` and :data:`FORGET_CANCEL`)."""
    text = (
        "您要申请删除您的个人信息吗？\n"
        "工作人员办理后，将删除您的手机号、称呼、您说过的话、照片和会话记录；"
        "已办结的工单只保留不含个人信息的统计数据。"
        "正在办理的工单会保留到办结为止，办结后再删除。\n"
        "删除后无法恢复，也无法再通过本会话查询这些工单。"
    )
    buttons = [
        {"title": "确认申请删除", "payload": FORGET_CONFIRM},
        {"title": "取消", "payload": FORGET_CANCEL},
    ]
    return text, buttons


DELETION_CANCELLED = "已取消，您的个人信息不会被删除。"


def request_deletion(
    session: Session, sender_id: str, now: datetime | None = None
) -> tuple[DataRequest, bool]:
    """Records a resident's request to delete their personal data, for an operator.

    Open cases are kept; an operator carries the request out. A second request while one is
    open returns the open one.

    Returns:
        The request, and whether this call created it.
    """
    existing = session.scalar(
        select(DataRequest)
        .where(DataRequest.sender_id == sender_id)
        .where(DataRequest.kind == DELETE)
        .where(DataRequest.status == OPEN)
    )
    if existing is not None:
        return existing, False
    request = DataRequest(sender_id=sender_id, kind=DELETE, status=OPEN, created_at=now or utcnow())
    session.add(request)
    session.flush()
    return request, True


def deletion_reply(created: bool, open_cases: int) -> str:
    """What the resident is told after asking for deletion."""
    head = (
        "已收到您删除个人信息的申请，已转交工作人员尽快处理。"
        if created
        else "您之前的删除申请正在处理中，请耐心等待。"
    )
    if open_cases:
        head += f"\n您还有 {open_cases} 个工单正在办理，这些工单会保留到办结后再删除个人信息。"
    return head


def open_case_count(session: Session, sender_id: str) -> int:
    """How many of the resident's cases are still being handled."""
    return sum(
        1 for c in resident_cases(session, sender_id) if CaseStatus(c.status) in OPEN_STATUSES
    )
