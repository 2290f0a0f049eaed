"""The resident web chat (/chat): anonymous, through the same gateway as the Telegram bot.

``/privacy`` and ``/forget`` (with a confirmation) are answered here, as the bot answers them.

The resident's sender id (``web:<random>``) lives in a signed cookie. Messages go through
:func:`hotline.channels.gateway.relay` (to Rasa, or to the operator during a handoff); operator
replies and case notices arrive from the outbox, which the page polls.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ConfigDict, Field

from console.csrf import verify_csrf
from console.limits import chat_limit, client_key
from console.secret import load_secret_key
from console.templating import render
from hotline.casework import outbox
from hotline.casework.vocab import Channel
from hotline.channels import gateway, handoff
from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import ValidationError
from hotline.residents import self_service

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
COOKIE = "hotline_chat"
COOKIE_MAX_AGE = 30 * 24 * 3600
HISTORY = 50
MAX_TEXT = 4000


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(load_secret_key(), salt="hotline-web-chat")


def sender_of(request: Request) -> str | None:
    """The web chat sender id from the signed cookie, or None."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) and value.startswith("web:") else None


def _set_cookie(response: Response, sender_id: str) -> None:
    response.set_cookie(
        COOKIE,
        _serializer().dumps(sender_id),
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        path="/chat",
        secure=load_settings().is_production,
    )


def _history(sender_id: str) -> list[dict[str, Any]]:
    with transaction() as session:
        rows = handoff.messages(session, sender_id)[-HISTORY:]
        return [
            {
                "who": "me" if row.direction == handoff.IN else "them",
                "text": row.text,
                "operator": row.author.startswith("operator:"),
            }
            for row in rows
            if not row.text.startswith("/")
        ]


@router.get("/chat")
def chat_page(request: Request) -> Response:
    """The chat page; a first visit gets a new sender id."""
    sender_id = sender_of(request)
    fresh = sender_id is None
    if sender_id is None:
        sender_id = "web:" + secrets.token_urlsafe(16)
    response = render(
        request,
        "chat.html",
        {"history": [] if fresh else _history(sender_id), "sender_id": sender_id},
    )
    if fresh:
        _set_cookie(response, sender_id)
    return response


class ChatMessage(BaseModel):
    """A message from the resident's page."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT)
    id: str | None = Field(None, max_length=64, description="the page's id of this message")


def _reply_json(reply: gateway.Reply) -> dict[str, Any]:
    return {"text": reply.text, "buttons": reply.buttons}


@router.post("/chat/send", dependencies=[Depends(chat_limit)])
async def chat_send(request: Request, message: ChatMessage) -> JSONResponse:
    """Relays one message through the gateway and returns the assistant's replies.

    Limited per sender by the gateway, and per client address (``HOTLINE_CHAT_LIMIT_PER_IP``),
    since a new cookie makes a new sender.
    """
    sender_id = sender_of(request)
    if sender_id is None:
        raise ValidationError("session", "会话已过期，请刷新页面")
    text = message.text.replace("\x00", "").strip()
    if not text:
        raise ValidationError("text", "消息不能为空")
    command = await _command(sender_id, text)
    if command is not None:
        return JSONResponse({"replies": [_reply_json(command)]})
    source_id = f"{sender_id}:{message.id}" if message.id else None
    metadata = {"channel": "web", "client": client_key(request)}
    replies = await gateway.relay(sender_id, text, metadata=metadata, source_id=source_id)
    return JSONResponse({"replies": [_reply_json(r) for r in replies]})


def _record_deletion(sender_id: str) -> str:
    with transaction() as session:
        _, created = self_service.request_deletion(session, sender_id)
        return self_service.deletion_reply(
            created, self_service.open_case_count(session, sender_id)
        )


async def _command(sender_id: str, text: str) -> gateway.Reply | None:
    """The web chat's own commands, answered without the assistant (as the Telegram bot's):
    ``/privacy``, and ``/forget`` with a confirmation. None for anything else."""
    command = text.split(maxsplit=1)[0].lower() if text.startswith("/") else ""
    if command == "/privacy":
        return gateway.Reply(self_service.privacy_notice())
    if command == "/forget":
        question, buttons = self_service.deletion_confirmation()
        return gateway.Reply(question, buttons=buttons)
    if command == self_service.FORGET_CONFIRM:
        return gateway.Reply(await asyncio.to_thread(_record_deletion, sender_id))
    if command == self_service.FORGET_CANCEL:
        return gateway.Reply(self_service.DELETION_CANCELLED)
    return None


def _claim(sender_id: str) -> list[dict[str, Any]]:
    with transaction() as session:
        rows = outbox.claim_due(session, Channel.WEB, recipient=sender_id, limit=50)
        out = []
        for row in rows:
            buttons = (row.payload or {}).get("buttons") or []
            out.append(
                {
                    "id": row.id,
                    "kind": row.kind,
                    "text": row.text,
                    "buttons": [
                        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                        for b in buttons
                        if isinstance(b, dict)
                    ],
                }
            )
            outbox.mark_sent(session, row.id)
        mode = handoff.mode_of(session, sender_id)
    return [{"mode": mode}, *out]


@router.post("/chat/poll")
async def chat_poll(request: Request) -> JSONResponse:
    """Delivers the operator's messages and case notices waiting for this resident.

    A POST with the chat's CSRF token (``X-CSRF-Token``): it marks the messages delivered, so
    another site must not be able to trigger it (a GET answers 405).
    """
    sender_id = sender_of(request)
    if sender_id is None:
        return JSONResponse({"messages": [], "mode": handoff.BOT})
    head, *messages = await asyncio.to_thread(_claim, sender_id)
    return JSONResponse({"messages": messages, "mode": head["mode"]})
