"""The operator console and its JSON API (FastAPI). Health check for now."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from hotline.config import load_settings
from hotline.db import get_engine

app = FastAPI(title="社区服务热线 操作台", docs_url="/api/docs", openapi_url="/api/openapi.json")


def _probe(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


@app.get("/healthz")
def healthz() -> JSONResponse:
    """Status of the database, Rasa and the action server: 200 when all are up, else 503."""
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
    return JSONResponse(
        {"status": "ok" if ok else "degraded", **checks}, status_code=200 if ok else 503
    )
