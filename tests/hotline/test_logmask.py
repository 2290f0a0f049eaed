"""No phone numbers, ID numbers or api keys in the logs; no statement values in SQL errors."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hotline.config import PROJECT_ROOT
from hotline.db import make_engine
from hotline.privacy import logmask
from rasa_runtime.command import RASA_PYTHON

PHONE, E164, ID_NUMBER = "13812345678", "+8613812345678", "420102199001011234"


@pytest.fixture()
def masked_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing to a buffer, with masking installed; the factory restored after."""
    before = logging.getLogRecordFactory()
    logmask.install()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logger = logging.getLogger("tests.logmask")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, buffer
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(before)


def test_every_record_is_masked(masked_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = masked_log
    logger.info("resident %s said: call %s", "tg:1", PHONE)
    logger.info("stored %(phone)s for %(id)s", {"phone": E164, "id": ID_NUMBER})
    logger.warning(f"plain message with {PHONE} and GET /open311?api_key=o311_secret&x=1")
    try:
        raise ValueError(f"bad phone {E164}")
    except ValueError:
        logger.exception("failed for %s", PHONE)
    logged = buffer.getvalue()
    for secret in (PHONE, E164, ID_NUMBER, "o311_secret", "12345678"):
        assert secret not in logged, secret
    assert logged.count("138****5678") == 5 and "420102********1234" in logged
    assert "ValueError: bad phone 138****5678" in logged and "api_key=<hidden>" in logged


@pytest.mark.usefixtures("masked_log")
def test_arguments_keep_their_shape_for_formatters() -> None:
    """uvicorn's access formatter takes the request line apart from the record's arguments."""
    record = logging.getLogRecordFactory()(
        "uvicorn.access",
        logging.INFO,
        "x",
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", f"/chat?phone={PHONE}", "1.1", 200),
        None,
    )
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert record.args[4] == 200 and PHONE not in record.getMessage()


def test_sql_errors_carry_no_values(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert engine.hide_parameters
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (phone TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (:p)"), {"p": PHONE})
    with pytest.raises(IntegrityError) as error, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:p)"), {"p": PHONE})
    assert PHONE not in str(error.value) and "parameters hidden" in str(error.value)
    engine.dispose()


@pytest.mark.parametrize(
    ("python", "code"),
    [
        (sys.executable, "import actions"),
        (sys.executable, "from console.app import create_app; create_app()"),
        (sys.executable, "from bot.logs import configure_logging; configure_logging()"),
        (sys.executable, "from hotline.cli import main; main(['case', 'list', '--json'])"),
        (
            str(RASA_PYTHON),
            "from hotline.privacy import logmask; logmask.install()",
        ),
    ],
    ids=["action server", "console", "bot", "cli", "rasa environment"],
)
def test_each_process_installs_the_masking(python: str, code: str, tmp_path: Path) -> None:
    if not Path(python).exists():
        pytest.skip(f"{python} is not built")
    probe = (
        f"{code}\n"
        "import logging\n"
        "print('MASKING', getattr(logging.getLogRecordFactory(), 'hotline_masking', False))\n"
    )
    done = subprocess.run(
        [python, "-c", probe],  # run from the project, as ``python -m rasa_runtime`` is
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "HOTLINE_VAR_DIR": str(tmp_path),
            "HOTLINE_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        },
    )
    assert "MASKING True" in done.stdout, done.stdout + done.stderr
