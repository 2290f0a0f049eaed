"""The operator console and its JSON API (FastAPI, server-rendered Jinja2 pages in Chinese).

Anonymous requests reach only ``/login``, ``/healthz``, the resident web chat (``/chat``) and
``/static``; every other route checks the signed-in user's role (operator < supervisor < admin).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.middleware.sessions import SessionMiddleware

from console import errors
from console.routes import (
    admin,
    api,
    api_docs,
    api_similarity,
    case_log,
    chat,
    dashboard,
    data_requests,
    exports,
    handoff,
    hotspots,
    open311,
)
from console.routes import auth as routes_auth
from console.routes import cases as routes_cases
from console.secret import load_secret_key
from console.security import SecurityHeadersMiddleware
from hotline.casework.spool import SpoolFlusher
from hotline.casework.workcalendar import calendar_status
from hotline.config import ConfigError, check_production_secrets, load_settings
from hotline.db import get_engine
from hotline.models import utcnow
from hotline.privacy import logmask

SESSION_COOKIE = "hotline_session"
SESSION_MAX_AGE = 12 * 3600
STATIC_DIR = Path(__file__).parent / "static"

ROUTERS: list[APIRouter] = [
    routes_auth.router,
    routes_auth.logout_router,
    routes_cases.router,
    handoff.router,
    admin.router,
    chat.router,
    api.router,
    api_similarity.router,
    api_docs.router,
    dashboard.router,
    exports.router,
    case_log.router,
    data_requests.router,
    open311.router,
    hotspots.router,
]
"""Every router of the console, in the order they are matched. Later features append theirs."""

health_router = APIRouter()


def _probe(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


@health_router.get("/healthz", tags=["运行状态"])
def healthz() -> JSONResponse:
    """Status of the database, Rasa and the action server: 200 when all are up, else 503.

    ``calendar`` and ``warnings`` report days ahead without an official holiday calendar; they
    do not change the status code (the hotline works, but those deadlines count Monday–Friday).
    """
    settings = load_settings()
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        database = True
    except Exception:
        database = False
    checks: dict[str, Any] = {
        "database": database,
        "rasa": _probe(f"{settings.rasa_url}/"),
        "action_server": _probe(f"{settings.action_server_url}/health"),
    }
    ok = all(checks.values())
    calendar = calendar_status(utcnow().astimezone(settings.timezone).date())
    warnings = [] if calendar.ok else [calendar.message()]
    return JSONResponse(
        {
            "status": "ok" if ok else "degraded",
            **checks,
            "calendar": calendar.as_json(),
            "warnings": warnings,
        },
        status_code=200 if ok else 503,
    )


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Logs reports spooled while the case database was down, from start until shutdown."""
    settings = load_settings()
    # Bound at start: a flusher must never follow a later change of the environment into
    # another spool or database (tests run many apps in one process).
    flusher = SpoolFlusher(spool_dir=settings.spool_dir, database_url=settings.database_url).start()
    try:
        yield
    finally:
        flusher.stop()


def create_app(extra_routers: list[APIRouter] | None = None) -> FastAPI:
    """Builds the console application (and masks personal data in the process's logs).

    Args:
        extra_routers: Routers added after the built-in ones (later features, tests).

    Raises:
        ConfigError: With ``HOTLINE_ENV=production``, when a shared secret is a development
            default or too short.
    """
    logmask.install()
    settings = load_settings()
    check_production_secrets(settings)
    application = FastAPI(
        title="社区服务热线 操作台 API",
        description="工单的查询、登记与办理。请求需携带 `Authorization: Bearer <令牌>`，"
        "令牌由 `hotline token create --user 用户名` 生成。",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        # No route ends in "/": a redirect would only answer an API client without JSON
        # (``/api/v1/cases/%2F`` became ``/api/v1/cases//`` and a bare 307).
        redirect_slashes=False,
    )
    application.add_middleware(SecurityHeadersMiddleware)
    application.add_middleware(
        SessionMiddleware,
        secret_key=load_secret_key(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.is_production,
    )
    errors.install(application)
    application.include_router(health_router)
    for router in [*ROUTERS, *(extra_routers or [])]:
        application.include_router(router)
    application.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return application


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    """``console.app:app`` for uvicorn, built on first use (importing has no side effects)."""
    global _app
    if name == "app":
        if _app is None:
            try:
                _app = create_app()
            except ConfigError as exc:
                # uvicorn would print a traceback; one line naming the variable is enough.
                print(f"console: {exc}", file=sys.stderr)
                raise SystemExit(2) from None
        return _app
    raise AttributeError(name)
