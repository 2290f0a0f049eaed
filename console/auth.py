"""Who is asking: the session user of the pages, the bearer-token user of the API, and roles.

Pages keep the user id in Starlette's signed session cookie (HttpOnly, SameSite=Lax). Each
request reloads the account, so a disabled account or a changed password ends its sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from hotline.access import accounts
from hotline.casework.actors import Actor
from hotline.db import transaction
from hotline.models import User

SESSION_USER = "uid"
SESSION_MARKER = "marker"


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in account, detached from any database session."""

    id: int
    username: str
    display_name: str
    role: str

    @property
    def actor(self) -> Actor:
        """The audit actor for this user."""
        return Actor.operator(self.username, self.id)

    @property
    def role_label(self) -> str:
        """The role in Chinese."""
        return accounts.ROLE_LABELS.get(self.role, self.role)

    def has(self, role: str) -> bool:
        """Whether this user may do what needs ``role``."""
        return accounts.has_role(self.role, role)

    @classmethod
    def of(cls, user: User) -> CurrentUser:
        """Copies the fields of an account row."""
        return cls(user.id, user.username, user.display_name or user.username, user.role)


class LoginRequired(Exception):
    """No valid session (pages redirect to the login page) or token (the API answers 401)."""


class Forbidden(Exception):
    """The user's role is below what the route needs."""

    def __init__(self, required: str) -> None:
        super().__init__(required)
        self.required = required


def log_in(request: Request, user: User) -> None:
    """Starts a session for the user (a fresh session: nothing from before login is kept)."""
    request.session.clear()
    request.session[SESSION_USER] = user.id
    request.session[SESSION_MARKER] = accounts.session_marker(user)


def log_out(request: Request) -> None:
    """Ends the session."""
    request.session.clear()


def session_user(request: Request) -> CurrentUser | None:
    """The user of the request's session, or None (no session, account disabled or changed)."""
    if hasattr(request.state, "user"):
        cached: CurrentUser | None = request.state.user
        return cached
    found: CurrentUser | None = None
    user_id = request.session.get(SESSION_USER)
    if isinstance(user_id, int):
        with transaction() as session:
            user = session.get(User, user_id)
            if (
                user is not None
                and user.active
                and request.session.get(SESSION_MARKER) == accounts.session_marker(user)
            ):
                found = CurrentUser.of(user)
    if found is None and SESSION_USER in request.session:
        request.session.clear()
    request.state.user = found
    return found


def require(role: str) -> Callable[[Request], CurrentUser]:
    """A dependency that returns the session user, who must hold at least ``role``."""

    def dependency(request: Request) -> CurrentUser:
        user = session_user(request)
        if user is None:
            raise LoginRequired()
        if not user.has(role):
            raise Forbidden(role)
        return user

    dependency.__name__ = f"require_{role}"
    return dependency


operator_user = require("operator")
supervisor_user = require("supervisor")
admin_user = require("admin")


def bearer_user_of(request: Request) -> CurrentUser | None:
    """The user of the request's ``Authorization: Bearer`` token, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    with transaction() as session:
        user = accounts.verify_token(session, token.strip())
        return CurrentUser.of(user) if user is not None else None


def require_bearer(role: str) -> Callable[[Request], CurrentUser]:
    """A dependency for the JSON API: a valid bearer token of a user holding ``role``."""

    def dependency(request: Request) -> CurrentUser:
        user = bearer_user_of(request)
        if user is None:
            raise LoginRequired()
        if not user.has(role):
            raise Forbidden(role)
        return user

    dependency.__name__ = f"require_bearer_{role}"
    return dependency
