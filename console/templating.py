"""Jinja2 templates (autoescaped) and the page context every template gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from console import formatting
from console.auth import session_user
from console.csrf import csrf_token
from console.nav import NAV_ITEMS
from hotline.casework.phone import mask_phone
from hotline.casework.vocab import channel_of_sender
from hotline.privacy.redact import mask_numbers

TEMPLATE_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
templates.env.filters["local_time"] = formatting.local_time
templates.env.filters["duration"] = formatting.duration
templates.env.filters["time_left"] = formatting.time_left
templates.env.filters["waited"] = formatting.waited
templates.env.filters["action_label"] = formatting.action_label
templates.env.filters["mask_phone"] = mask_phone
templates.env.filters["mask_numbers"] = mask_numbers
templates.env.filters["channel_label"] = lambda sender: channel_of_sender(sender).label
FLASH_KEY = "flash"


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Keeps a message for the next page the user sees (``ok`` or ``error``)."""
    messages = list(request.session.get(FLASH_KEY, []))
    messages.append([kind, message])
    request.session[FLASH_KEY] = messages[-5:]


def _take_flashes(request: Request) -> list[list[str]]:
    messages = request.session.pop(FLASH_KEY, None)
    return list(messages) if isinstance(messages, list) else []


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    *,
    active: str = "",
) -> HTMLResponse:
    """Renders a page with the user, the navigation, the CSRF token and pending messages."""
    user = session_user(request)
    ctx: dict[str, Any] = {
        "user": user,
        "nav": [item for item in NAV_ITEMS if user is not None and user.has(item.role)],
        "active": active,
        "csrf_token": csrf_token(request),
        "flashes": _take_flashes(request),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def render_plain(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Renders a page without user, navigation or session (for failures of those)."""
    ctx: dict[str, Any] = {"user": None, "nav": [], "active": "", "csrf_token": "", "flashes": []}
    ctx.update(context)
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
