"""The tracker store the hotline cleans (settings) is the one Rasa writes (endpoints*.yml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.config import PROJECT_ROOT, load_settings


def rasa_tracker_url(endpoints: Path) -> str:
    """The database URL of an endpoints file's SQL tracker store, as Rasa 3.6 builds it
    (``db`` relative to Rasa's working directory, the project root, with ``${HOTLINE_VAR_DIR}``
    as the runner sets it)."""
    store: dict[str, Any] = yaml.safe_load(endpoints.read_text(encoding="utf-8"))["tracker_store"]
    # Rasa's SQL store or its subclass, which takes the same keys (rasa_runtime/tracker_store.py).
    assert store["type"] in ("SQL", "rasa_runtime.tracker_store.HotlineSQLTrackerStore")
    if store["dialect"] == "sqlite":
        db = str(store["db"]).replace("${HOTLINE_VAR_DIR}", str(load_settings().var_dir))
        return f"sqlite:///{(PROJECT_ROOT / db).resolve()}"
    user = store.get("username", "")
    return f"{store['dialect']}://{user}@{store['url']}:{store.get('port', 5432)}/{store['db']}"


def test_the_default_is_the_sqlite_tracker_store_of_endpoints_yml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HOTLINE_TRACKER_STORE_URL", "HOTLINE_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings().tracker_store_url == rasa_tracker_url(PROJECT_ROOT / "endpoints.yml")


def test_make_run_scaled_names_the_postgresql_tracker_store_of_endpoints_scaled_yml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^SCALED_TRACKER_STORE_URL \?= (\S+)$", makefile, re.MULTILINE)
    assert match and "export HOTLINE_TRACKER_STORE_URL := $(SCALED_TRACKER_STORE_URL)" in makefile
    monkeypatch.setenv("HOTLINE_TRACKER_STORE_URL", match.group(1))
    assert load_settings().tracker_store_url == rasa_tracker_url(
        PROJECT_ROOT / "endpoints.scaled.yml"
    )


def test_var_dir_moves_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HOTLINE_TRACKER_STORE_URL", raising=False)
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path))
    assert load_settings().tracker_store_url == f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
