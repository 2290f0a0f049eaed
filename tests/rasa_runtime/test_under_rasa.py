"""Runs the ``*_cases.py`` modules of this directory in Rasa's environment, one process each (a
patch, once applied, stays applied in its process), and type-checks them there.

The cases test ``rasa_runtime`` against the Rasa that ``requirements-rasa.txt`` pins: each
patch against the Rasa code it replaces, the tracker store against Rasa's own SQL store.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hotline.config import PROJECT_ROOT
from rasa_runtime.command import RASA_PYTHON
from tests.services import fresh_postgres_database, in_ci

HERE = Path(__file__).resolve().parent
CASES = sorted(path.stem for path in HERE.glob("*_cases.py"))
NEEDS_POSTGRESQL = {"tracker_store_cases"}

pytestmark = pytest.mark.slow


def require_rasa() -> None:
    """Fails in CI, skips elsewhere, when Rasa's environment is not built."""
    if RASA_PYTHON.exists():
        return
    if in_ci():
        pytest.fail(f"{RASA_PYTHON} is missing: run `make setup`")
    pytest.skip(f"{RASA_PYTHON} is missing: run `make setup`")


@contextmanager
def postgres_for(module: str) -> Iterator[dict[str, str]]:
    """``HOTLINE_CASES_PG_URL``, an empty database for the module's PostgreSQL cases."""
    if module not in NEEDS_POSTGRESQL:
        yield {}
        return
    with fresh_postgres_database() as url:
        # Rasa's environment has psycopg2, SQLAlchemy's default PostgreSQL driver.
        yield {"HOTLINE_CASES_PG_URL": url.replace("postgresql+psycopg://", "postgresql://")}


def test_every_cases_module_is_run() -> None:
    assert CASES == [
        "action_validation_cases",
        "event_types_cases",
        "graph_runner_cases",
        "tracker_store_cases",
        "version_guard_cases",
    ]


@pytest.mark.parametrize("module", CASES)
def test_cases_pass_under_rasa(module: str) -> None:
    require_rasa()
    with postgres_for(module) as extra:
        result = subprocess.run(
            [str(RASA_PYTHON), "-m", "unittest", "-v", f"tests.rasa_runtime.{module}"],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                **extra,
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "RASA_TELEMETRY_ENABLED": "false",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            },
            capture_output=True,
            text=True,
            timeout=600,
        )
    # "OK" alone: every case ran, none failed and none was skipped.
    assert result.returncode == 0, result.stderr[-6000:]
    assert result.stderr.rstrip().splitlines()[-1:] == ["OK"], result.stderr[-6000:]
    assert re.search(r"^Ran [1-9]\d* tests? in", result.stderr, re.MULTILINE), result.stderr


def test_rasa_side_type_checks() -> None:
    # `make lint-rasa`: mypy with Rasa's environment, so Rasa's own annotations are checked.
    require_rasa()
    result = subprocess.run(
        ["make", "-s", "lint-rasa"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
