"""Rate limits: cases per partner or account, and requests per client address.

Residents on Telegram and the web chat are limited per sender by :mod:`hotline.channels.gateway`
(20 messages a minute). Partners on Open311 and integrations on the JSON API create cases
directly; each is limited per sender (the api_key's partner, the token's account) by counting
the cases it created in the last minute. The count is read from the audit log, so every
console process and machine sees the same number.

A sender id lives in a cookie that anyone can drop, so the web chat, the login form and the
case lookup by the phone's last four digits are also limited per client address
(:class:`AddressLimiter`, over the ``limits`` library). The address is the TCP peer, or, when
the peer is one of ``HOTLINE_TRUSTED_PROXIES``, the nearest untrusted address of its
``X-Forwarded-For`` (:func:`client_address`). Counters live in ``HOTLINE_RATE_LIMIT_STORAGE``:
``memory://`` (one process, the default) or ``redis://…`` (shared by every process).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.config import load_settings
from hotline.errors import HotlineError
from hotline.models import CaseEvent, utcnow

WINDOW = timedelta(minutes=1)


class RateLimitedError(HotlineError):
    """A sender created too many cases in the last minute (HTTP 429)."""

    http_status = 429

    def __init__(self, limit: int) -> None:
        super().__init__(f"提交过于频繁（每分钟最多 {limit} 件），请稍后再试")
        self.limit = limit


def created_recently(session: Session, actor: Actor, now: datetime | None = None) -> int:
    """How many cases ``actor`` created in the last minute."""
    since = (now or utcnow()) - WINDOW
    count = session.scalar(
        select(func.count())
        .select_from(CaseEvent)
        .where(CaseEvent.action == "create")
        .where(CaseEvent.actor_kind == actor.kind.value)
        .where(CaseEvent.actor == actor.name)
        .where(CaseEvent.at >= since)
    )
    return int(count or 0)


def check_case_rate(session: Session, actor: Actor, now: datetime | None = None) -> None:
    """Refuses one more case from ``actor`` when it reached the limit.

    Raises:
        RateLimitedError: When ``actor`` created the limit's number of cases in the last minute.
    """
    limit = load_settings().cases_per_minute
    if created_recently(session, actor, now) >= limit:
        raise RateLimitedError(limit)


# Per client address -------------------------------------------------------------------------


class AddressLimitedError(HotlineError):
    """Too many requests from one client address (HTTP 429)."""

    http_status = 429

    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(f"您所在网络的{what}过于频繁，请稍后再试。{hint}".rstrip("。") + "。")
        self.what = what


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)
    except ValueError as exc:
        raise ValueError(f"HOTLINE_TRUSTED_PROXIES: {exc}") from exc


def _is_trusted(address: str, networks: tuple[IpNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str:
    """The client's address, believing ``X-Forwarded-For`` only from a trusted proxy.

    Args:
        peer: The TCP peer's address.
        forwarded_for: The ``X-Forwarded-For`` header, if any.
        trusted: Addresses or networks of the reverse proxies (``HOTLINE_TRUSTED_PROXIES``).

    Returns:
        The peer itself unless it is a trusted proxy; then, reading ``X-Forwarded-For`` from
        the right (each proxy appends the address it saw), the first address that is not a
        trusted proxy. What the client wrote into the header itself is never reached while a
        trusted proxy appended the real address after it.
    """
    address = (peer or "").strip() or "unknown"
    networks = _networks(tuple(trusted))
    if not networks or not _is_trusted(address, networks) or not forwarded_for:
        return address
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop if _valid_ip(hop) else address
    return hops[0] if hops and _valid_ip(hops[0]) else address


def _valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=32)
def rule(text: str) -> RateLimitItem:
    """A limit written the ``limits`` way: ``60/minute``, ``10 per hour``.

    Raises:
        ValueError: Naming the text, when it is not a limit.
    """
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(f"not a rate limit: {text!r} (e.g. 60/minute)") from exc


class AddressLimiter:
    """Moving-window counters per (bucket, key), in one ``limits`` storage."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, limit: str, bucket: str, key: str) -> bool:
        """Counts one request; False when it is over ``limit`` (and then it is not counted)."""
        return bool(self._limiter.hit(rule(limit), bucket, key))

    def allows(self, limit: str, bucket: str, key: str) -> bool:
        """Whether one more request would be within ``limit``, without counting it."""
        return bool(self._limiter.test(rule(limit), bucket, key))

    def check(self, limit: str, bucket: str, key: str, what: str, hint: str = "") -> None:
        """Counts one request.

        Raises:
            AddressLimitedError: When it is over ``limit``, with ``what`` and ``hint`` in it.
        """
        if not self.hit(limit, bucket, key):
            raise AddressLimitedError(what, hint)


@lru_cache(maxsize=4)
def shared_limiter(storage_uri: str) -> AddressLimiter:
    """The process's limiter for a storage (one per process for ``memory://``)."""
    return AddressLimiter(storage_uri)
