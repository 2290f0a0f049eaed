"""Administration (/admin, admins only): accounts, departments and routing, canned replies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from console.auth import CurrentUser, admin_user
from console.csrf import verify_csrf
from console.deps import AdminUser, SessionDep
from console.errors import describe
from console.templating import flash, render
from hotline.access import accounts
from hotline.casework import canned, directory
from hotline.db import transaction
from hotline.errors import ValidationError
from hotline.models import utcnow

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _back(request: Request, path: str, message: str) -> RedirectResponse:
    flash(request, message)
    return RedirectResponse(path, status_code=303)


@router.get("/admin")
def admin_home(request: Request, user: AdminUser, session: SessionDep) -> Response:
    """The admin overview."""
    counts = {
        "users": len(accounts.list_users(session)),
        "departments": len(directory.department_names(session)),
        "replies": len(canned.list_replies(session)),
    }
    return render(request, "admin/home.html", {"counts": counts}, active="admin")


# Accounts ---------------------------------------------------------------------------------


def _users_page(
    request: Request,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    new_token: str = "",
    status_code: int = 200,
) -> Response:
    with transaction() as session:
        users = accounts.list_users(session)
        tokens = accounts.list_tokens(session)
        context: dict[str, Any] = {
            "users": users,
            "tokens": [
                {
                    "id": t.id,
                    "user": t.user.username,
                    "name": t.name,
                    "created_at": t.created_at,
                    "last_used_at": t.last_used_at,
                    "revoked": t.revoked_at is not None,
                }
                for t in tokens
            ],
        }
    context.update(
        {
            "roles": list(accounts.ROLE_LABELS.items()),
            "error": error,
            "form": form or {},
            "new_token": new_token,
            "min_password": accounts.MIN_PASSWORD_LENGTH,
            "now": utcnow(),
        }
    )
    return render(request, "admin/users.html", context, status_code=status_code, active="admin")


@router.get("/admin/users")
def users(request: Request, user: CurrentUser = Depends(admin_user)) -> Response:
    """Accounts and API tokens."""
    return _users_page(request)


@router.post("/admin/users")
def create_user(
    request: Request,
    username: str = Form(""),
    display_name: str = Form(""),
    role: str = Form("operator"),
    password: str = Form(""),
    user: CurrentUser = Depends(admin_user),
) -> Response:
    """Creates an account."""
    try:
        with transaction() as session:
            accounts.create_user(
                session, username, password, role, display_name=display_name, actor=user.actor
            )
    except ValidationError as exc:
        form = {"username": username, "display_name": display_name, "role": role}
        return _users_page(request, error=describe(exc), form=form, status_code=400)
    return _back(request, "/admin/users", f"已创建账号 {username.strip()}")


def _not_self(user: CurrentUser, user_id: int, what: str) -> None:
    if user.id == user_id:
        raise ValidationError("user", f"不能{what}自己的账号，请让其他管理员操作")


@router.post("/admin/users/{user_id}/role")
def change_role(
    request: Request, user_id: int, role: str = Form(""), user: CurrentUser = Depends(admin_user)
) -> Response:
    """Changes an account's role (not one's own, so the last admin cannot lock admins out)."""
    try:
        _not_self(user, user_id, "修改")
        with transaction() as session:
            target = accounts.get_user_by_id(session, user_id)
            accounts.set_role(session, target, role, actor=user.actor)
            name = target.username
    except ValidationError as exc:
        return _users_page(request, error=describe(exc), status_code=400)
    return _back(request, "/admin/users", f"已修改 {name} 的角色")


@router.post("/admin/users/{user_id}/active")
def change_active(
    request: Request,
    user_id: int,
    active: str = Form(""),
    user: CurrentUser = Depends(admin_user),
) -> Response:
    """Disables (``active=0``) or re-enables (``active=1``) an account."""
    try:
        if active not in ("0", "1"):
            raise ValidationError("active", "取值须为 0 或 1")
        _not_self(user, user_id, "停用")
        with transaction() as session:
            target = accounts.get_user_by_id(session, user_id)
            accounts.set_active(session, target, active == "1", actor=user.actor)
            name = target.username
    except ValidationError as exc:
        return _users_page(request, error=describe(exc), status_code=400)
    return _back(request, "/admin/users", f"已{'启用' if active == '1' else '停用'}账号 {name}")


@router.post("/admin/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: int,
    password: str = Form(""),
    user: CurrentUser = Depends(admin_user),
) -> Response:
    """Sets a new password for an account and lifts its lockout; its sessions end."""
    try:
        with transaction() as session:
            target = accounts.get_user_by_id(session, user_id)
            accounts.set_password(session, target, password, actor=user.actor)
            name = target.username
    except ValidationError as exc:
        return _users_page(request, error=describe(exc), status_code=400)
    return _back(request, "/admin/users", f"已重置 {name} 的密码，并解除锁定")


@router.post("/admin/users/{user_id}/token")
def create_token(
    request: Request,
    user_id: int,
    name: str = Form(""),
    user: CurrentUser = Depends(admin_user),
) -> Response:
    """Creates an API token for an account; the page shows it once."""
    try:
        with transaction() as session:
            target = accounts.get_user_by_id(session, user_id)
            _, clear = accounts.create_token(session, target, name, actor=user.actor)
    except ValidationError as exc:
        return _users_page(request, error=describe(exc), status_code=400)
    return _users_page(request, new_token=clear)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: int, user: CurrentUser = Depends(admin_user)
) -> Response:
    """Revokes an API token."""
    with transaction() as session:
        accounts.revoke_token(session, token_id, actor=user.actor)
    return _back(request, "/admin/users", f"已吊销 API 令牌 #{token_id}")


# Departments and routing ------------------------------------------------------------------


def _departments_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    with transaction() as session:
        context = {
            "departments": directory.list_departments(session),
            "names": directory.department_names(session),
            "routes": directory.category_routes(session),
            "error": error,
        }
    return render(
        request, "admin/departments.html", context, status_code=status_code, active="admin"
    )


@router.get("/admin/departments")
def departments(request: Request, user: CurrentUser = Depends(admin_user)) -> Response:
    """Departments (承办单位) and each category's default department."""
    return _departments_page(request)


@router.post("/admin/departments")
def add_department(
    request: Request, name: str = Form(""), user: CurrentUser = Depends(admin_user)
) -> Response:
    """Adds a department."""
    try:
        with transaction() as session:
            department = directory.add_department(session, name, actor=user.actor)
            added = department.name
    except ValidationError as exc:
        return _departments_page(request, describe(exc), 400)
    return _back(request, "/admin/departments", f"已添加承办单位「{added}」")


@router.post("/admin/departments/{department_id}/active")
def department_active(
    request: Request,
    department_id: int,
    active: str = Form(""),
    user: CurrentUser = Depends(admin_user),
) -> Response:
    """Disables (``active=0``) or re-enables (``active=1``) a department."""
    if active not in ("0", "1"):
        raise ValidationError("active", "取值须为 0 或 1")
    with transaction() as session:
        department = directory.set_department_active(
            session, department_id, active == "1", actor=user.actor
        )
        name = department.name
    return _back(
        request, "/admin/departments", f"已{'启用' if active == '1' else '停用'}「{name}」"
    )


@router.post("/admin/routing")
def set_routing(
    request: Request,
    category: str = Form(""),
    department: str = Form(""),
    user: CurrentUser = Depends(admin_user),
) -> Response:
    """Sets a category's default department (empty: back to the catalogue's)."""
    try:
        with transaction() as session:
            route = directory.set_category_department(
                session, category, department, actor=user.actor
            )
            message = f"「{route.category.name}」默认派往「{route.department}」"
    except ValidationError as exc:
        return _departments_page(request, describe(exc), 400)
    return _back(request, "/admin/departments", message)


# Canned replies ---------------------------------------------------------------------------


def _replies_page(
    request: Request, error: str = "", form: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    with transaction() as session:
        replies = canned.list_replies(session, active_only=False)
    return render(
        request,
        "admin/replies.html",
        {"replies": replies, "error": error, "form": form or {}},
        status_code=status_code,
        active="admin",
    )


@router.get("/admin/replies")
def replies(request: Request, user: CurrentUser = Depends(admin_user)) -> Response:
    """Canned replies."""
    return _replies_page(request)


@router.post("/admin/replies")
def add_reply(
    request: Request,
    title: str = Form(""),
    text: str = Form(""),
    user: CurrentUser = Depends(admin_user),
) -> Response:
    """Adds a canned reply."""
    try:
        with transaction() as session:
            canned.add_reply(session, title, text, actor=user.actor)
    except ValidationError as exc:
        return _replies_page(request, describe(exc), {"title": title, "text": text}, 400)
    return _back(request, "/admin/replies", f"已添加常用回复「{title.strip()}」")


@router.post("/admin/replies/{reply_id}")
def edit_reply(
    request: Request,
    reply_id: int,
    title: str = Form(""),
    text: str = Form(""),
    active: str = Form(""),
    user: CurrentUser = Depends(admin_user),
) -> Response:
    """Edits, disables (``active`` unset) or re-enables (``active=1``) a canned reply."""
    try:
        with transaction() as session:
            canned.update_reply(session, reply_id, title, text, active == "1", actor=user.actor)
    except ValidationError as exc:
        return _replies_page(request, describe(exc), status_code=400)
    return _back(request, "/admin/replies", f"已保存常用回复「{title.strip()}」")
