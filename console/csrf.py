"""CSRF protection: a random token per session, required on every unsafe request of the pages.

Forms carry it in a hidden ``csrf_token`` field; scripts send it in the ``X-CSRF-Token``
header. The JSON API does not use cookies (bearer tokens), so it needs none.
"""

from __future__ import annotations

import secrets

from fastapi import Request

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(Exception):
    """An unsafe request without the session's CSRF token."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


async def verify_csrf(request: Request) -> None:
    """A dependency that refuses an unsafe request whose CSRF token is missing or wrong.

    Raises:
        CsrfError: When the token does not match the session's.
    """
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(SESSION_KEY)
    given = request.headers.get(HEADER, "")
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(FORM_FIELD)
            given = value if isinstance(value, str) else ""
    if not isinstance(expected, str) or not given or not secrets.compare_digest(expected, given):
        raise CsrfError()
