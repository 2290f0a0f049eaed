"""Open311 GeoReport v2 endpoints (/open311/v2/…), in JSON and XML.

Discovery and services are public (CORS ``*``). Reading requests needs an ``api_key``
(parameter, or the ``X-Api-Key`` header) unless ``HOTLINE_OPEN311_PUBLIC_READS`` is on, and
shows published cases only (:mod:`hotline.channels.open311`); request answers carry CORS ``*`` only
for an anonymous read of public data. ``POST requests`` needs an ``api_key``; its body is read
with a limit (:data:`MAX_BODY`), whatever ``Content-Length`` says. Every error, including bad
input, answers in the spec's format ``[{"code": 400, "description": "…"}]`` with the same
HTTP status; nothing here needs a session or a CSRF token.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hotline.channels import open311
from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import StorageUnavailableError
from hotline.models import utcnow

router = APIRouter(prefix="/open311", include_in_schema=False)
log = logging.getLogger(__name__)
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
PUBLIC = {"Access-Control-Allow-Origin": "*"}
"""For answers anyone may read from any web page: discovery, services, public reads."""
PRIVATE: dict[str, str] = {}
MAX_BODY = 256 * 1024
"""The largest POST body (a 10 000-character Chinese description is about 90 KB encoded)."""
TOO_LARGE = (
    f"request body larger than {MAX_BODY} bytes ({MAX_BODY // 1024} KB) / "
    f"请求内容超过 {MAX_BODY // 1024} KB"
)
API_KEY_HEADER = "x-api-key"
XML_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/FFFF)."""


def _xml_text(value: Any) -> str:
    """Text for an XML element: what XML cannot carry becomes U+FFFD, so the answer parses."""
    return XML_INVALID.sub("\ufffd", str(value))


def _xml_fill(parent: ET.Element, value: Any, item: str = "item") -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            child = ET.SubElement(parent, key)
            _xml_fill(child, inner, XML_ITEMS.get(key, "item"))
    elif isinstance(value, list):
        for inner in value:
            child = ET.SubElement(parent, item)
            _xml_fill(child, inner, XML_ITEMS.get(item, "item"))
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    elif value is not None:
        parent.text = _xml_text(value)


def _xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _xml_fill(element, data, XML_ITEMS.get(root, "item"))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8")


def _answer(
    data: Any, fmt: str, root: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    if fmt == "xml":
        body = _xml(root, data)
    else:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(
        body,
        status_code=status,
        media_type=FORMATS[fmt],
        headers=PRIVATE if headers is None else headers,
    )


def _error(
    code: int, description: str, fmt: str, headers: dict[str, str] | None = None
) -> Response:
    return _answer([{"code": code, "description": description}], fmt, "errors", code, headers)


def _guarded(
    fmt: str,
    root: str,
    work: Callable[[], tuple[Any, int]],
    headers: Callable[[], dict[str, str]] = lambda: PRIVATE,
) -> Response:
    """Runs the work; every failure becomes an Open311 error in the asked format.

    Args:
        headers: The answer's extra headers, asked after the work ran (CORS for public data).
    """
    if fmt not in FORMATS:
        return _error(400, "format must be json or xml / 格式只能是 json 或 xml", "json")
    try:
        data, status = work()
    except open311.Open311Error as exc:
        return _error(exc.code, exc.description, fmt)
    except StorageUnavailableError:
        return _error(503, "service temporarily unavailable / 服务暂不可用", fmt)
    except Exception:
        log.exception("Open311 request failed")
        return _error(500, "internal error / 系统出错了", fmt)
    return _answer(data, fmt, root, status, headers())


@router.get("/discovery.{fmt}")
def discovery(request: Request, fmt: str) -> Response:
    """Service discovery: where this endpoint is and what it speaks."""
    base = str(request.base_url).rstrip("/") + "/open311/v2/"

    def work() -> tuple[Any, int]:
        return {
            "changeset": "2026-11-24T00:00:00+08:00",
            "contact": f"社区服务热线 {load_settings().hotline_phone}",
            "key_service": "api_key 由热线管理员发放（hotline apikey create NAME）",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base,
                    "changeset": "2026-11-24T00:00:00+08:00",
                    "type": "production",
                    "formats": ["application/json", "text/xml"],
                }
            ],
        }, 200

    return _guarded(fmt, "discovery", work, lambda: PUBLIC)


@router.get("/v2/services.{fmt}")
def services(request: Request, fmt: str) -> Response:
    """Every service (category of the catalogue)."""

    def work() -> tuple[Any, int]:
        open311.check_jurisdiction(request.query_params)
        return open311.services(), 200

    return _guarded(fmt, "services", work, lambda: PUBLIC)


@router.get("/v2/services/{service_code}.{fmt}")
def service_definition(request: Request, service_code: str, fmt: str) -> Response:
    """A service's definition: the attributes the hotline needs."""

    def work() -> tuple[Any, int]:
        open311.check_jurisdiction(request.query_params)
        return open311.service_definition(service_code), 200

    return _guarded(fmt, "service_definition", work, lambda: PUBLIC)


class _Reader:
    """Who read, once the work ran: a partner's name, or None for an anonymous reader."""

    partner: str | None = "?"

    def headers(self) -> dict[str, str]:
        """CORS ``*`` only for an anonymous read (published data, and reads are public)."""
        return PUBLIC if self.partner is None else PRIVATE


@router.get("/v2/requests.{fmt}")
def find_requests(request: Request, fmt: str) -> Response:
    """Requests by id, service code, dates and status, a page at a time; published data only."""
    tz = load_settings().timezone
    who = _Reader()

    def work() -> tuple[Any, int]:
        params = request.query_params
        with transaction() as session:
            who.partner = open311.reader(
                session, open311.api_key_of(params, request.headers.get(API_KEY_HEADER))
            )
            found = open311.find_requests(session, params, now=utcnow(), tz=tz, partner=who.partner)
        return found, 200

    return _guarded(fmt, "service_requests", work, who.headers)


@router.get("/v2/requests/{request_id}.{fmt}")
def get_request(request: Request, request_id: str, fmt: str) -> Response:
    """One request, as a list of one (the spec's shape)."""
    tz = load_settings().timezone
    who = _Reader()

    def work() -> tuple[Any, int]:
        params = request.query_params
        open311.check_jurisdiction(params)
        with transaction() as session:
            who.partner = open311.reader(
                session, open311.api_key_of(params, request.headers.get(API_KEY_HEADER))
            )
            return [open311.get_request(session, request_id, tz, partner=who.partner)], 200

    return _guarded(fmt, "service_requests", work, who.headers)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, read from the stream and refused as soon as it passes ``limit``.

    ``Content-Length`` is only used to refuse early: a chunked body has none, and a client
    may send more than it announced.

    Raises:
        Open311Error: 413 naming the limit.
    """
    length = request.headers.get("content-length") or ""
    if length.isdigit() and int(length) > limit:
        raise open311.Open311Error(413, TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise open311.Open311Error(413, TOO_LARGE)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's form() and json() read the kept body, not the stream.
    return body


async def _fields(request: Request) -> dict[str, str]:
    body_bytes = await read_body(request)
    fields: dict[str, str] = {k: v for k, v in request.query_params.items()}
    header_key = request.headers.get(API_KEY_HEADER)
    if header_key:
        fields["api_key"] = header_key
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            body = json.loads(body_bytes or b"{}")
        except ValueError as exc:
            raise open311.Open311Error(400, "body is not valid JSON / JSON 格式有误") from exc
        if not isinstance(body, dict):
            raise open311.Open311Error(400, "body must be a JSON object / 须为 JSON 对象")
        attributes = body.pop("attribute", None)
        if isinstance(attributes, dict):
            body.update({f"attribute[{k}]": v for k, v in attributes.items()})
        fields.update({k: str(v) for k, v in body.items() if v is not None})
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        fields.update({k: v for k, v in form.items() if isinstance(v, str)})
    return fields


@router.post("/v2/requests.{fmt}")
async def create_request(request: Request, fmt: str) -> Response:
    """Creates a case (channel ``open311``) for a partner holding an ``api_key``."""
    if fmt not in FORMATS:
        return _error(400, "format must be json or xml / 格式只能是 json 或 xml", "json")
    try:
        fields = await _fields(request)
    except open311.Open311Error as exc:
        return _error(exc.code, exc.description, fmt)
    tz = load_settings().timezone

    def work() -> tuple[Any, int]:
        with transaction() as session:
            case, _ = open311.create_request(session, fields)
            answer = {
                "service_request_id": case.number,
                "service_notice": open311.service_notice(case, tz),
                "account_id": None,
            }
        return [answer], 201

    return _guarded(fmt, "service_requests", work)
