"""Live handoff (/handoff): conversations waiting for a human, taking one, chatting, handing
it back, and turning it into a case. The bot stays silent while an operator holds the chat
(the gateway checks the conversation's mode); operator messages go out through the outbox."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from console.auth import CurrentUser, operator_user
from console.csrf import csrf_token, verify_csrf
from console.deps import OperatorUser, SessionDep
from console.errors import describe, wants_json
from console.templating import flash, render, templates
from hotline.casework import canned
from hotline.casework.cases import NewCase, resident_cases
from hotline.casework.catalogue import get_catalogue
from hotline.casework.phone import mask_phone
from hotline.casework.vocab import CaseType, Urgency, channel_of_sender
from hotline.casework.workflow import CaseStatus
from hotline.channels import conversations, handoff
from hotline.db import transaction
from hotline.errors import HotlineError, NotFoundError, ValidationError
from hotline.models import Conversation, ConversationMessage, User, utcnow
from hotline.privacy.redact import mask_numbers

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
SENDER = re.compile(r"[a-z]{1,8}:[A-Za-z0-9_.:-]{1,100}")
MAX_CHAT_TEXT = 2000


class ConversationBusy(HotlineError):
    """The conversation is not the operator's to act on (answered with 409)."""

    http_status = 409


def _conversation(session: Session, sender_id: str) -> Conversation:
    if not SENDER.fullmatch(sender_id):
        raise NotFoundError("会话不存在")
    conversation = session.get(Conversation, sender_id)
    if conversation is None:
        raise NotFoundError("会话不存在")
    return conversation


def _holder(session: Session, conversation: Conversation) -> str:
    if conversation.operator_id is None:
        return ""
    user = session.get(User, conversation.operator_id)
    return user.display_name if user else ""


def _require_holder(conversation: Conversation, user: CurrentUser) -> None:
    if conversation.mode != handoff.OPERATOR or conversation.operator_id != user.id:
        raise ConversationBusy("您没有接待这个会话，请先接入")


def _message_view(row: ConversationMessage) -> dict[str, Any]:
    """A chat message for the operator: phone and ID numbers in it masked."""
    if row.author.startswith("operator:"):
        who, author = "operator", f"话务员 {row.author.split(':', 1)[1]}"
    elif row.direction == handoff.IN:
        who, author = "resident", "居民"
    else:
        who, author = "bot", "智能助手"
    text = mask_numbers(row.text)
    return {"id": row.id, "who": who, "author": author, "text": text, "at": row.created_at}


def _lists(session: Session, user: CurrentUser) -> dict[str, Any]:
    now = utcnow()
    waiting = conversations.summarise(session, handoff.waiting_conversations(session), now)
    held = conversations.summarise(session, conversations.held_conversations(session), now)
    return {
        "waiting": waiting,
        "mine": [s for s in held if s.conversation.operator_id == user.id],
        "others": [
            (s, _holder(session, s.conversation))
            for s in held
            if s.conversation.operator_id != user.id
        ],
        "now": now,
    }


@router.get("/handoff")
def handoff_list(request: Request, user: OperatorUser, session: SessionDep) -> Response:
    """Conversations waiting for a human (longest first), mine, and colleagues'."""
    data = _lists(session, user)
    data["can_take_over"] = user.has("supervisor")
    return render(request, "handoff.html", data, active="handoff")


@router.get("/handoff/feed")
def handoff_feed(request: Request, user: OperatorUser, session: SessionDep) -> JSONResponse:
    """How many residents wait, and the lists as HTML, polled by every console page."""
    data = _lists(session, user)
    data["can_take_over"] = user.has("supervisor")
    html = templates.env.get_template("_handoff_lists.html").render(
        csrf_token=csrf_token(request), **data
    )
    return JSONResponse({"waiting": len(data["waiting"]), "html": html})


@router.post("/handoff/{sender_id}/take")
def take(request: Request, sender_id: str, user: OperatorUser, session: SessionDep) -> Response:
    """Takes a waiting conversation (a supervisor may also take over a colleague's)."""
    conversation = _conversation(session, sender_id)
    if conversation.mode == handoff.OPERATOR and conversation.operator_id != user.id:
        if not user.has("supervisor"):
            raise ConversationBusy(f"该会话已由{_holder(session, conversation)}接待，不能重复接入")
    elif conversation.mode == handoff.BOT:
        raise ConversationBusy("该居民没有在等待人工服务（会话已交还智能助手）")
    if conversation.operator_id != user.id or conversation.mode != handoff.OPERATOR:
        account = session.get(User, user.id)
        assert account is not None
        handoff.take(session, sender_id, account)
    return RedirectResponse(f"/handoff/{sender_id}", status_code=303)


@router.get("/handoff/{sender_id}")
def chat_view(
    request: Request, sender_id: str, user: OperatorUser, session: SessionDep
) -> Response:
    """The conversation: its history, the chat box, hand back, and the new-case form."""
    catalogue = get_catalogue()
    conversation = _conversation(session, sender_id)
    rows = handoff.messages(session, sender_id)
    said = conversations.resident_text(session, sender_id)
    context = {
        "conversation": conversation,
        "sender_id": sender_id,
        "channel_label": channel_of_sender(sender_id).label,
        "messages": [_message_view(r) for r in rows],
        "last_id": rows[-1].id if rows else 0,
        "held_by_me": conversation.mode == handoff.OPERATOR and conversation.operator_id == user.id,
        "holder": _holder(session, conversation),
        "can_take_over": user.has("supervisor"),
        "canned": canned.list_replies(session),
        "cases": [
            (c.number, CaseStatus(c.status).label, mask_numbers(c.description))
            for c in resident_cases(session, sender_id, open_only=False)[:10]
        ],
        "phone_said": mask_phone(conversations.phone_said(session, sender_id)),
        "form": {
            "description": mask_numbers(said),
            "category": conversations.guess_category(said),
            "case_type": CaseType.HELP.value,
            "urgency": Urgency.NORMAL.value,
        },
        "categories": catalogue.categories,
        "case_types": [(t.value, t.label) for t in CaseType],
        "urgencies": [(u.value, u.label) for u in Urgency],
    }
    return render(request, "handoff_chat.html", context, active="handoff")


@router.get("/handoff/{sender_id}/messages")
def chat_messages(
    sender_id: str,
    user: OperatorUser,
    session: SessionDep,
    after: int = Query(0, ge=0),
) -> JSONResponse:
    """Messages after a given id, and who holds the conversation (polled by the chat view)."""
    conversation = _conversation(session, sender_id)
    rows = handoff.messages(session, sender_id, after)
    payload = {
        "messages": [
            {**m, "at": m["at"].isoformat() if m["at"] else None}
            for m in (_message_view(r) for r in rows)
        ],
        "mode": conversation.mode,
        "held_by_me": conversation.mode == handoff.OPERATOR and conversation.operator_id == user.id,
    }
    return JSONResponse(payload)


@router.post("/handoff/{sender_id}/say")
def say(
    request: Request,
    sender_id: str,
    user: OperatorUser,
    session: SessionDep,
    text: str = Form(""),
) -> Response:
    """Sends the operator's message to the resident (stored, and queued in the outbox)."""
    cleaned = text.replace("\x00", "").strip()
    if not cleaned:
        raise ValidationError("text", "消息不能为空")
    if len(cleaned) > MAX_CHAT_TEXT:
        raise ValidationError("text", f"消息最多 {MAX_CHAT_TEXT} 字")
    conversation = _conversation(session, sender_id)
    _require_holder(conversation, user)
    account = session.get(User, user.id)
    assert account is not None
    row = handoff.operator_says(session, sender_id, account, cleaned)
    message = _message_view(row)
    if wants_json(request):
        return JSONResponse({"message": {**message, "at": message["at"].isoformat()}})
    return RedirectResponse(f"/handoff/{sender_id}", status_code=303)


@router.post("/handoff/{sender_id}/release")
def release(
    request: Request, sender_id: str, user: CurrentUser = Depends(operator_user)
) -> Response:
    """Hands the conversation back to the assistant; the resident is told."""
    with transaction() as session:
        conversation = _conversation(session, sender_id)
        if not (
            conversation.operator_id == user.id
            or conversation.mode == handoff.WAITING
            or user.has("supervisor")
        ):
            raise ConversationBusy("只有接待该会话的话务员或督办员可以交还")
        handoff.release(session, sender_id)
    flash(request, "会话已交还智能助手")
    return RedirectResponse("/handoff", status_code=303)


@router.post("/handoff/{sender_id}/case")
def to_case(
    request: Request,
    sender_id: str,
    category: str = Form(""),
    description: str = Form(""),
    case_type: str = Form(CaseType.HELP.value),
    urgency: str = Form(Urgency.NORMAL.value),
    location: str = Form(""),
    phone: str = Form(""),
    contact_name: str = Form(""),
    user: CurrentUser = Depends(operator_user),
) -> Response:
    """Registers a case from the conversation in one click; the resident gets its number.

    Only the operator holding the conversation may. Without a phone in the form, the case takes
    the number the resident typed in the chat (the operator saw it masked).
    """
    try:
        with transaction() as session:
            _require_holder(_conversation(session, sender_id), user)
            phone = phone.strip() or conversations.phone_said(session, sender_id) or ""
            account = session.get(User, user.id)
            assert account is not None
            case = conversations.case_from_conversation(
                session,
                sender_id,
                NewCase(
                    category=category,
                    description=description,
                    case_type=case_type,
                    urgency=urgency,
                    location=location,
                    phone=phone or None,
                    contact_name=contact_name or None,
                ),
                account,
            )
            number = case.number
    except ValidationError as exc:
        flash(request, f"未能登记工单：{describe(exc)}", "error")
        return RedirectResponse(f"/handoff/{sender_id}", status_code=303)
    flash(request, f"已登记工单 {number}，并已告知居民工单号")
    return RedirectResponse(f"/handoff/{sender_id}", status_code=303)
