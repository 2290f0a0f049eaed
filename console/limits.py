"""Per-address limits of the console's anonymous doors: the web chat and failed logins.

The address is :func:`hotline.access.ratelimit.client_address` of the request (``X-Forwarded-For``
only from ``HOTLINE_TRUSTED_PROXIES``). Each app holds its own :class:`AddressLimiter`
(``app.state.address_limiter``), over ``HOTLINE_RATE_LIMIT_STORAGE``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from fastapi import Request

from console.secret import load_secret_key
from hotline.access.ratelimit import AddressLimitedError, AddressLimiter, client_address
from hotline.config import Settings, load_settings


def address_of(request: Request) -> str:
    """The client's address (see :func:`hotline.access.ratelimit.client_address`)."""
    peer = request.client.host if request.client else None
    return client_address(
        peer, request.headers.get("x-forwarded-for"), load_settings().trusted_proxies
    )


def client_key(request: Request) -> str:
    """An opaque, stable key for the client's address, safe to hand to other processes.

    The web chat passes it to Rasa (message metadata ``client``) so the action server can
    limit case lookups per address without the address itself being stored in the tracker.
    """
    digest = hmac.new(load_secret_key().encode(), address_of(request).encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def limiter_of(request: Request) -> AddressLimiter:
    """The app's limiter, made on first use."""
    state = request.app.state
    limiter: AddressLimiter | None = getattr(state, "address_limiter", None)
    if limiter is None:
        limiter = AddressLimiter(load_settings().rate_limit_storage)
        state.address_limiter = limiter
    return limiter


def per_address(
    bucket: str,
    limit_of: Callable[[Settings], str],
    what: str,
    hint_of: Callable[[Settings], str] = lambda _: "",
) -> Callable[[Request], None]:
    """A dependency that counts the request against its address's limit.

    Args:
        bucket: The counter's name (``chat``, ``login``).
        limit_of: Picks the limit from the settings, e.g. ``60/minute``.
        what: The request in Chinese, for the 429 answer (``消息发送``).
        hint_of: What else to tell the person refused, from the settings.

    Raises:
        AddressLimitedError: Past the limit (answered 429).
    """

    def dependency(request: Request) -> None:
        settings = load_settings()
        limiter_of(request).check(
            limit_of(settings), bucket, address_of(request), what, hint_of(settings)
        )

    dependency.__name__ = f"limit_{bucket}_per_address"
    return dependency


chat_limit = per_address(
    "chat",
    lambda s: s.chat_limit_per_ip,
    "消息发送",
    lambda s: f"如情况紧急，请直接拨打 110、119、120 或热线 {s.hotline_phone}",
)
LOGIN_BUCKET = "login-failures"


def login_guard(request: Request) -> None:
    """Refuses a login attempt from an address with too many recent failures.

    Only failures count (:func:`count_failed_login`): an office behind one address logs in
    many times a morning.

    Raises:
        AddressLimitedError: Past ``HOTLINE_LOGIN_LIMIT_PER_IP`` failures (answered 429).
    """
    limit = load_settings().login_limit_per_ip
    if not limiter_of(request).allows(limit, LOGIN_BUCKET, address_of(request)):
        raise AddressLimitedError("登录尝试")


def count_failed_login(request: Request) -> None:
    """Counts a failed login against the request's address."""
    limit = load_settings().login_limit_per_ip
    limiter_of(request).hit(limit, LOGIN_BUCKET, address_of(request))
