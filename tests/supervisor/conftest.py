"""Supervisor fixtures: the console's logged-in clients, and the seeded world."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hotline.db import transaction
from hotline.models import utcnow
from tests.console.conftest import (  # noqa: F401  (fixtures shared with the console tests)
    as_role,
    cheap_hashing,
    client,
    console_env,
    operator,
    role_users,
)
from tests.supervisor.seed import TZ, World, seed


@pytest.fixture()
def recent_world(role_users: dict[str, int]) -> World:  # noqa: F811
    """The seeded world, with its 7-day period ending today (what ``/dashboard`` shows)."""
    today = utcnow().astimezone(TZ).date()
    with transaction() as session:
        return seed(session, today - timedelta(days=6))
