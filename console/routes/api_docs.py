"""The API's OpenAPI document and a self-contained docs page (no CDN: rendered here)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from console.auth import CurrentUser, LoginRequired, bearer_user_of, operator_user, session_user
from console.templating import render

router = APIRouter(include_in_schema=False)
METHOD_ORDER = ("get", "post", "put", "patch", "delete")


def _schema_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, item in spec.get("paths", {}).items():
        for method in METHOD_ORDER:
            op = item.get(method)
            if not op:
                continue
            body_ref = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref", "")
            )
            out.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p.get("name"),
                            "in": p.get("in"),
                            "required": p.get("required", False),
                            "description": p.get("description")
                            or p.get("schema", {}).get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": _schema_name(body_ref) if body_ref else "",
                    "responses": sorted(op.get("responses", {}).items()),
                }
            )
    return out


def _schemas(spec: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        if name in ("HTTPValidationError", "ValidationError"):
            continue
        required = set(schema.get("required", []))
        fields = []
        for field_name, prop in schema.get("properties", {}).items():
            kinds = [prop.get("type")] if prop.get("type") else []
            kinds += [a.get("type") for a in prop.get("anyOf", []) if a.get("type")]
            fields.append(
                {
                    "name": field_name,
                    "type": " | ".join(k for k in kinds if k) or "any",
                    "required": field_name in required,
                    "description": prop.get("description", ""),
                    "default": json.dumps(prop["default"], ensure_ascii=False)
                    if "default" in prop
                    else "",
                }
            )
        out.append({"name": name, "description": schema.get("description", ""), "fields": fields})
    return out


@router.get("/api/openapi.json")
def openapi_json(request: Request) -> JSONResponse:
    """The OpenAPI document, for a signed-in user or a valid bearer token."""
    if session_user(request) is None and bearer_user_of(request) is None:
        raise LoginRequired()
    return JSONResponse(request.app.openapi())


@router.get("/api/docs")
def api_docs(request: Request, user: CurrentUser = Depends(operator_user)) -> Response:
    """A readable page of every API operation and body, generated from the OpenAPI document."""
    spec = request.app.openapi()
    return render(
        request,
        "api_docs.html",
        {
            "spec": spec,
            "operations": _operations(spec),
            "schemas": _schemas(spec),
        },
    )
