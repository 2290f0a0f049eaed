"""Login, logout and changing one's own password."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from console.auth import SESSION_USER, CurrentUser, log_in, log_out, operator_user, session_user
from console.csrf import verify_csrf
from console.errors import describe
from console.limits import count_failed_login, login_guard
from console.templating import flash, render
from hotline.access import accounts
from hotline.db import transaction
from hotline.errors import ValidationError

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
logout_router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (no open redirect)."""
    text = (target or "").strip()
    if not text.startswith("/") or text.startswith("//") or "\\" in text or "\n" in text:
        return "/cases"
    if text.startswith(("/login", "/logout")):
        return "/cases"
    return text


@router.get("/login")
def login_form(request: Request, next: str = "/cases") -> Response:
    """The login page; a signed-in user goes straight on."""
    if session_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": "", "username": ""})


@router.post("/login", dependencies=[Depends(login_guard)])
def login_submit(
    request: Request,
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=256),
    next: str = Form("/cases", max_length=2000),
) -> Response:
    """Checks the password; five failures in a row lock the account for 15 minutes, and one
    address may fail ``HOTLINE_LOGIN_LIMIT_PER_IP`` times (every account, any cookie)."""
    with transaction() as session:
        result = accounts.authenticate(session, username, password)
        if result.user is not None:
            log_in(request, result.user)
    if not result.ok:
        count_failed_login(request)
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "error": result.message, "username": username},
            status_code=401,
        )
    return RedirectResponse(safe_next(next), status_code=303)


@logout_router.post("/logout")
async def logout(request: Request) -> Response:
    """Ends the session. A live session needs the CSRF token; an expired one just goes."""
    if request.session.get(SESSION_USER) is not None:
        await verify_csrf(request)
    log_out(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password")
def password_form(request: Request, user: CurrentUser = Depends(operator_user)) -> Response:
    """The form to change one's own password."""
    return render(request, "password.html", {"error": ""})


@router.post("/account/password")
def password_submit(
    request: Request,
    current: str = Form("", max_length=256),
    new: str = Form("", max_length=256),
    confirm: str = Form("", max_length=256),
    user: CurrentUser = Depends(operator_user),
) -> Response:
    """Changes one's own password after checking the current one; other sessions end."""
    error = ""
    try:
        if new != confirm:
            raise ValidationError("password", "两次输入的新密码不一致")
        with transaction() as session:
            account = accounts.get_user_by_id(session, user.id)
            if not accounts.verify_password(account.password_hash, current):
                raise ValidationError("password", "当前密码不正确")
            accounts.set_password(session, account, new, actor=user.actor)
            log_in(request, account)
    except ValidationError as exc:
        error = describe(exc)
    if error:
        return render(request, "password.html", {"error": error}, status_code=400)
    flash(request, "密码已修改")
    return RedirectResponse("/cases", status_code=303)
