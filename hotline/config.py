"""Settings read from the environment, with the embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Runtime settings; see the README for every variable and its default."""

    database_url: str
    case_prefix: str
    timezone: ZoneInfo
    catalogue_path: Path
    var_dir: Path
    rasa_url: str
    rasa_token: str
    action_server_url: str
    hotline_phone: str
    spool_dir: Path
    media_dir: Path
    tracker_store_url: str

    @property
    def is_sqlite(self) -> bool:
        """Whether the case database is SQLite."""
        return self.database_url.startswith("sqlite")


def load_settings() -> Settings:
    """Reads the settings from the environment.

    Returns:
        The settings, with defaults for everything that is unset.
    """
    var_dir = Path(os.environ.get("HOTLINE_VAR_DIR", PROJECT_ROOT / "var"))
    return Settings(
        database_url=os.environ.get("HOTLINE_DATABASE_URL", f"sqlite:///{var_dir / 'hotline.db'}"),
        case_prefix=os.environ.get("HOTLINE_CASE_PREFIX", "SQ"),
        timezone=ZoneInfo(os.environ.get("HOTLINE_TIMEZONE", "Asia/Shanghai")),
        catalogue_path=Path(
            os.environ.get("HOTLINE_CATALOGUE", PROJECT_ROOT / "data" / "catalogue.yml")
        ),
        var_dir=var_dir,
        rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
        rasa_token=os.environ.get("RASA_TOKEN", "hotline-dev-token"),
        action_server_url=os.environ.get("ACTION_SERVER_URL", "http://127.0.0.1:5055").rstrip("/"),
        hotline_phone=os.environ.get("HOTLINE_PHONE", "12343"),
        spool_dir=Path(os.environ.get("HOTLINE_SPOOL_DIR", var_dir / "spool")),
        media_dir=Path(os.environ.get("HOTLINE_MEDIA_DIR", var_dir / "media")),
        tracker_store_url=os.environ.get(
            "HOTLINE_TRACKER_STORE_URL", f"sqlite:///{var_dir / 'rasa_tracker.db'}"
        ),
    )
