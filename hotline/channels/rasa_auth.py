"""How our processes authenticate to Rasa's HTTP API: a short-lived JWT in a header.

Rasa 3.6 offers two ways (``rasa/server.py``, ``requires_auth``): ``--auth-token``, which it
reads only from the ``?token=`` query parameter (so the secret lands in access logs and
proxies' logs), and ``--jwt-secret``, which it reads from ``Authorization: Bearer`` and
verifies with sanic-jwt. Rasa is started with ``--jwt-secret "$RASA_TOKEN"`` (HS256) and no
``--auth-token``, so no query-parameter token is accepted at all; the console and the CLI
sign a token valid for a few minutes with the same secret.
"""

from __future__ import annotations

import time

import jwt

from hotline.config import Settings, load_settings

JWT_ALGORITHM = "HS256"
JWT_LIFETIME_SECONDS = 300
JWT_USERNAME = "hotline"


def rasa_jwt(secret: str, *, now: float | None = None) -> str:
    """A token Rasa accepts for every HTTP API route (role ``admin``) until it expires."""
    issued = int(time.time() if now is None else now)
    payload = {
        "user": {"username": JWT_USERNAME, "role": "admin"},
        "iat": issued,
        "exp": issued + JWT_LIFETIME_SECONDS,
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM)


def rasa_auth_headers(settings: Settings | None = None) -> dict[str, str]:
    """The ``Authorization`` header for a call to Rasa's HTTP API."""
    settings = settings or load_settings()
    return {"Authorization": f"Bearer {rasa_jwt(settings.rasa_token)}"}
