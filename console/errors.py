"""Exception handlers: every error becomes a clear Chinese page or a JSON error, never a trace.

JSON is answered to the API (``/api/…``) and to scripts (``Accept: application/json``);
pages get the error page, and a missing login on a page redirects to the login form.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.auth import Forbidden, LoginRequired
from console.csrf import CsrfError
from console.templating import render, render_plain
from hotline.access.accounts import ROLE_LABELS
from hotline.errors import (
    HotlineError,
    InvalidTransitionError,
    NotFoundError,
    StorageUnavailableError,
    ValidationError,
)

log = logging.getLogger(__name__)

FIELD_LABELS = {
    "category": "服务类别",
    "description": "问题描述",
    "location": "地点",
    "name": "联系人",
    "phone": "联系电话",
    "type": "类型",
    "case_type": "类型",
    "urgency": "紧急程度",
    "channel": "渠道",
    "note": "说明",
    "department": "承办单位",
    "assignee": "指派对象",
    "target": "目标工单",
    "days": "天数",
    "action": "操作",
    "username": "用户名",
    "password": "密码",
    "role": "角色",
    "title": "标题",
    "text": "内容",
    "q": "搜索",
    "view": "视图",
    "status": "状态",
    "overdue": "只看超时",
    "page": "页码",
    "limit": "条数",
    "offset": "偏移",
    "session": "会话",
    "active": "状态",
    "user": "账号",
}
STATUS_TITLES = {
    400: "请求有误",
    401: "需要登录",
    403: "没有权限",
    404: "找不到页面",
    405: "不支持的请求方式",
    409: "操作与工单状态不符",
    413: "内容过大",
    429: "请求过于频繁",
    500: "系统出错了",
    503: "服务暂不可用",
}


def wants_json(request: Request) -> bool:
    """Whether the caller is the API or a script rather than a browser page."""
    if request.url.path.startswith(("/api/v1/", "/api/openapi.json", "/chat/")):
        return True
    return "application/json" in request.headers.get("accept", "")


def describe(exc: HotlineError) -> str:
    """A core error as one Chinese sentence for the user."""
    if isinstance(exc, ValidationError):
        label = FIELD_LABELS.get(exc.field, exc.field)
        return f"{label}：{exc.message}"
    if isinstance(exc, StorageUnavailableError):
        return "工单数据库暂时无法访问，请稍后重试"
    return str(exc)


def status_of(exc: HotlineError) -> int:
    """The HTTP status of a core error (an ``http_status`` attribute wins)."""
    explicit = getattr(exc, "http_status", None)
    if isinstance(explicit, int):
        return explicit
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InvalidTransitionError):
        return 409
    if isinstance(exc, StorageUnavailableError):
        return 503
    return 400


def error_code(status: int) -> str:
    """A stable machine-readable code for an error status."""
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "invalid_transition",
        429: "rate_limited",
        500: "internal_error",
        503: "unavailable",
    }.get(status, "error")


def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    plain: bool = False,
) -> Response:
    """The error as JSON or as the error page, whichever the caller wants.

    Args:
        plain: Render the page without the user and navigation (touches no database).
    """
    if wants_json(request):
        body: dict[str, Any] = {"code": error_code(status), "message": message}
        if field:
            body["field"] = field
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    context = {"title": STATUS_TITLES.get(status, "出错了"), "message": message, "status": status}
    if plain:
        return render_plain(request, "error.html", context, status_code=status)
    return render(request, "error.html", context, status_code=status)


async def _hotline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HotlineError)
    field = exc.field if isinstance(exc, ValidationError) else None
    # With the database down, the page must not look up the signed-in user for its navigation.
    plain = isinstance(exc, StorageUnavailableError)
    return error_response(request, status_of(exc), describe(exc), field=field, plain=plain)


async def _login_required(request: Request, exc: Exception) -> Response:
    if wants_json(request):
        message = "需要有效的 API 令牌（Authorization: Bearer …）"
        if not request.url.path.startswith("/api/"):
            message = "登录已过期，请重新登录"
        return error_response(request, 401, message, headers={"WWW-Authenticate": "Bearer"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/cases"
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    required = exc.required if isinstance(exc, Forbidden) else "admin"
    return error_response(
        request, 403, f"此功能需要「{ROLE_LABELS.get(required, required)}」或更高权限"
    )


async def _csrf(request: Request, exc: Exception) -> Response:
    return error_response(request, 403, "表单已失效（缺少安全令牌），请刷新页面后重试")


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    parts = []
    field = None
    for error in errors[:5]:
        loc = [str(x) for x in error.get("loc", ()) if x not in ("body", "query", "path", "form")]
        name = loc[-1] if loc else ""
        field = field or name or None
        label = FIELD_LABELS.get(name, name)
        parts.append(f"{label}：{_pydantic_message(error)}" if label else _pydantic_message(error))
    return error_response(request, 400, "；".join(parts) or "请求格式有误", field=field)


def _pydantic_message(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "missing":
        return "缺少此项"
    if kind == "extra_forbidden":
        return "不认识的字段"
    if kind.startswith(("int_", "float_")):
        return "须为数字"
    bound = error.get("ctx") or {}
    if kind == "greater_than_equal" and "ge" in bound:
        return f"须不小于 {bound['ge']}"
    if kind == "less_than_equal" and "le" in bound:
        return f"须不大于 {bound['le']}"
    if kind.startswith("string_too_long"):
        return "内容过长"
    if kind.startswith("bool"):
        return "须为 true 或 false"
    if kind in ("model_attributes_type", "dict_type", "json_invalid"):
        return "须为 JSON 对象"
    return "取值无效"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        message = "您访问的页面不存在"
    elif status == 405:
        message = "不支持此请求方式"
    else:
        detail = exc.detail if isinstance(exc.detail, str) else ""
        message = detail if detail and not detail.isascii() else STATUS_TITLES.get(status, "出错了")
    return error_response(request, status, message, headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        request, 500, "系统出错了，请稍后重试；如问题持续，请联系管理员", plain=True
    )


def install(app: FastAPI) -> None:
    """Registers every handler on the app."""
    app.add_exception_handler(HotlineError, _hotline_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfError, _csrf)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
