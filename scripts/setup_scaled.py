"""Prepares what ``make run-scaled`` needs: PostgreSQL databases, migrations, Redis.

Creates the case database (``HOTLINE_DATABASE_URL``) and the tracker database named in
endpoints.scaled.yml when they are missing, applies the case database's migrations, and
checks that the Redis lock store answers. Exits non-zero with a plain message otherwise.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline import pgadmin  # noqa: E402
from hotline.config import ConfigError, load_settings  # noqa: E402
from hotline.db import dispose_engines, upgrade  # noqa: E402


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def main() -> int:
    """Creates the databases, migrates, checks Redis; see the module docstring."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    url = settings.database_url
    if not url.startswith("postgresql"):
        print(f"HOTLINE_DATABASE_URL must name a PostgreSQL database, not {url!r}", file=sys.stderr)
        return 2
    endpoints = yaml.safe_load((ROOT / "endpoints.scaled.yml").read_text(encoding="utf-8"))
    tracker, lock = endpoints["tracker_store"], endpoints["lock_store"]
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    if not _reachable(host, port):
        print(f"PostgreSQL is not answering on {host}:{port}", file=sys.stderr)
        return 1
    if not _reachable(str(lock["url"]), int(lock.get("port", 6379))):
        print(f"Redis is not answering on {lock['url']}:{lock.get('port', 6379)}", file=sys.stderr)
        return 1
    admin = settings.pg_admin_url
    for name in (parts.path.lstrip("/"), str(tracker["db"])):
        created = pgadmin.ensure_database(admin, name)
        print(f"PostgreSQL database {name}: {'created' if created else 'exists'}")
    upgrade(url)
    dispose_engines()
    print("case database migrated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
