"""The console's signing secret: ``HOTLINE_SECRET_KEY``, else one generated into var/secret_key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from hotline.config import MIN_SECRET_LENGTH, load_settings


def load_secret_key() -> str:
    """Returns the secret that signs session and chat cookies.

    ``HOTLINE_SECRET_KEY`` wins when set. Otherwise a random key is created once in
    ``var/secret_key`` (readable by the owner only) and reused, so sessions survive restarts.
    """
    settings = load_settings()
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.var_dir / "secret_key"
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if len(existing) >= MIN_SECRET_LENGTH:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key
