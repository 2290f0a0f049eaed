"""Settings read from the environment, with the embedded defaults."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEV_RASA_TOKEN = "hotline-development-rasa-token-not-for-production"
DEV_ACTION_TOKEN = "hotline-development-action-token-not-for-production"
ACTION_TOKEN_HEADER = "X-Hotline-Action-Token"
MIN_SECRET_LENGTH = 32
PRODUCTION = "production"
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class ConfigError(Exception):
    """A setting that must not be used; the message is one line naming the variable."""


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
    action_token: str = DEV_ACTION_TOKEN
    env: str = "development"
    secret_key: str = ""
    open311_public_reads: bool = False
    """Whether Open311 reads work without an api_key (published cases only, either way)."""
    open311_jurisdiction: str = "community-hotline"
    """The Open311 ``jurisdiction_id`` this endpoint serves."""
    console_url: str = "http://127.0.0.1:8000"
    """The console's address as operators open it, for links in alerts (``HOTLINE_CONSOLE_URL``)."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks of reverse proxies whose ``X-Forwarded-For`` is believed."""
    rate_limit_storage: str = "memory://"
    """Where per-IP counters live (``limits`` storage URI: ``memory://``, ``redis://…``)."""
    chat_limit_per_ip: str = "60/minute"
    login_limit_per_ip: str = "30/hour"
    """Failed logins per client address."""
    lookup_limit_per_ip: str = "10/hour"
    """Case lookups with the phone's last four digits, per client address."""
    lookup_limit_per_case: str = "10/hour"
    """Case lookups with the phone's last four digits, per case number (any address)."""
    holidays_path: Path = PROJECT_ROOT / "data" / "holidays.yml"
    calendar_horizon_days: int = 45
    on_time_target: float = 0.9
    """The dashboard's on-time completion target, a share in (0, 1]."""
    retention_days: int = 365
    """Days a closed case keeps its personal data, and an idle conversation is kept."""
    cases_per_minute: int = 60
    """Cases one JSON API account or Open311 partner may create a minute."""
    spool_flush_seconds: float = 30.0
    """How often spooled reports are logged; 0 turns the flusher off."""
    pg_admin_url: str = DEFAULT_PG_ADMIN_URL
    """A PostgreSQL database to connect to while creating others (scaled setup, benchmarks)."""
    action_server_host: str = "127.0.0.1"
    """The address the action server listens on."""
    similar_ask_threshold: float = 0.65
    """Score from which the assistant asks a resident whether their report is an open case's
    problem (:func:`hotline.similarity.likely_duplicate`)."""
    similar_show_threshold: float = 0.52
    """Score from which the console suggests a case as similar."""
    similar_window_days: int = 30
    """Resolved and closed cases this recent are still matched (open cases always are)."""
    hotspot_alert_size: int = 5
    """A hotspot with this many cases, grown within a day, is alerted to operators."""

    @property
    def is_sqlite(self) -> bool:
        """Whether the case database is SQLite."""
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        """Whether ``HOTLINE_ENV=production``: development defaults are refused."""
        return self.env == PRODUCTION


def load_settings() -> Settings:
    """Reads the settings from the environment.

    Every process calls it (through :func:`check_production_secrets`) before it serves, so a
    bad value stops the process at start with one line.

    Returns:
        The settings, with defaults for everything that is unset.

    Raises:
        ConfigError: Naming the first variable whose value is unusable.
    """
    var_dir = Path(os.environ.get("HOTLINE_VAR_DIR", PROJECT_ROOT / "var"))
    return Settings(
        database_url=os.environ.get("HOTLINE_DATABASE_URL", f"sqlite:///{var_dir / 'hotline.db'}"),
        case_prefix=os.environ.get("HOTLINE_CASE_PREFIX", "SQ"),
        timezone=_timezone("HOTLINE_TIMEZONE", "Asia/Shanghai"),
        catalogue_path=Path(
            os.environ.get("HOTLINE_CATALOGUE", PROJECT_ROOT / "data" / "catalogue.yml")
        ),
        var_dir=var_dir,
        rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
        rasa_token=os.environ.get("RASA_TOKEN", DEV_RASA_TOKEN),
        action_server_url=os.environ.get("ACTION_SERVER_URL", "http://127.0.0.1:5055").rstrip("/"),
        hotline_phone=os.environ.get("HOTLINE_PHONE", "12343"),
        spool_dir=Path(os.environ.get("HOTLINE_SPOOL_DIR", var_dir / "spool")),
        media_dir=Path(os.environ.get("HOTLINE_MEDIA_DIR", var_dir / "media")),
        tracker_store_url=os.environ.get(
            "HOTLINE_TRACKER_STORE_URL", f"sqlite:///{var_dir / 'rasa_tracker.db'}"
        ),
        open311_public_reads=_flag("HOTLINE_OPEN311_PUBLIC_READS"),
        open311_jurisdiction=os.environ.get("HOTLINE_OPEN311_JURISDICTION", "").strip()
        or "community-hotline",
        console_url=(
            os.environ.get("HOTLINE_CONSOLE_URL", "").strip()
            or f"http://127.0.0.1:{os.environ.get('CONSOLE_PORT', '').strip() or '8000'}"
        ).rstrip("/"),
        trusted_proxies=tuple(
            p.strip() for p in os.environ.get("HOTLINE_TRUSTED_PROXIES", "").split(",") if p.strip()
        ),
        rate_limit_storage=os.environ.get("HOTLINE_RATE_LIMIT_STORAGE", "").strip() or "memory://",
        chat_limit_per_ip=_text("HOTLINE_CHAT_LIMIT_PER_IP", "60/minute"),
        login_limit_per_ip=_text("HOTLINE_LOGIN_LIMIT_PER_IP", "30/hour"),
        lookup_limit_per_ip=_text("HOTLINE_LOOKUP_LIMIT_PER_IP", "10/hour"),
        lookup_limit_per_case=_text("HOTLINE_LOOKUP_LIMIT_PER_CASE", "10/hour"),
        action_token=os.environ.get("HOTLINE_ACTION_TOKEN", DEV_ACTION_TOKEN),
        env=os.environ.get("HOTLINE_ENV", "development").strip().lower(),
        secret_key=os.environ.get("HOTLINE_SECRET_KEY", "").strip(),
        holidays_path=Path(
            os.environ.get("HOTLINE_HOLIDAYS", PROJECT_ROOT / "data" / "holidays.yml")
        ),
        calendar_horizon_days=_positive_int("HOTLINE_CALENDAR_HORIZON_DAYS", 45),
        similar_ask_threshold=_number(
            "HOTLINE_SIMILAR_ASK_THRESHOLD",
            Settings.similar_ask_threshold,
            at_least=0.0,
            at_most=1.0,
        ),
        similar_show_threshold=_number(
            "HOTLINE_SIMILAR_SHOW_THRESHOLD",
            Settings.similar_show_threshold,
            at_least=0.0,
            at_most=1.0,
        ),
        similar_window_days=_positive_int("HOTLINE_SIMILAR_WINDOW_DAYS", 30),
        hotspot_alert_size=_positive_int("HOTLINE_HOTSPOT_ALERT_SIZE", 5),
        on_time_target=_number("HOTLINE_ON_TIME_TARGET", 0.9, above=0.0, at_most=1.0),
        retention_days=_positive_int("HOTLINE_RETENTION_DAYS", 365),
        cases_per_minute=_positive_int("HOTLINE_CASES_PER_MINUTE", 60),
        spool_flush_seconds=_number("HOTLINE_SPOOL_FLUSH_SECONDS", 30.0, at_least=0.0),
        pg_admin_url=_text("HOTLINE_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL),
        action_server_host=_text("ACTION_SERVER_HOST", "127.0.0.1"),
    )


def _flag(name: str) -> bool:
    """A yes/no variable: ``1``, ``true``, ``yes`` or ``on`` mean yes."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _text(name: str, default: str) -> str:
    """A text variable; unset or blank gives the default."""
    return os.environ.get(name, "").strip() or default


def _secrets(settings: Settings) -> list[tuple[str, str, str]]:
    """Each shared secret as (variable, value, development default)."""
    return [
        ("RASA_TOKEN", settings.rasa_token, DEV_RASA_TOKEN),
        ("HOTLINE_ACTION_TOKEN", settings.action_token, DEV_ACTION_TOKEN),
        ("HOTLINE_SECRET_KEY", settings.secret_key, ""),
    ]


def check_production_secrets(settings: Settings | None = None) -> None:
    """Refuses development defaults and short secrets when ``HOTLINE_ENV=production``.

    Every process calls this before it starts serving. Outside production it does nothing,
    so ``make run`` needs no configuration.

    Raises:
        ConfigError: Naming the first variable that is unset, the development default, or
            shorter than ``MIN_SECRET_LENGTH`` characters.
    """
    settings = settings or load_settings()
    if not settings.is_production:
        return
    for name, value, default in _secrets(settings):
        if not value:
            problem = "is not set"
        elif value == default:
            problem = "is the development default"
        elif len(value) < MIN_SECRET_LENGTH:
            problem = f"is shorter than {MIN_SECRET_LENGTH} characters"
        else:
            continue
        raise ConfigError(
            f"{name} {problem}; HOTLINE_ENV=production needs a random value of at least "
            f"{MIN_SECRET_LENGTH} characters (e.g. `openssl rand -hex 32`)"
        )


def _positive_int(name: str, default: int) -> int:
    """An environment variable holding a positive integer, or the default when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a positive whole number, not {raw!r}")
    return int(raw)


def _number(
    name: str,
    default: float,
    *,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
) -> float:
    """An environment variable holding a number within bounds, or the default when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    ok = math.isfinite(value)
    if at_least is not None:
        ok = ok and value >= at_least
    if above is not None:
        ok = ok and value > above
    if at_most is not None:
        ok = ok and value <= at_most
    if not ok:
        bounds = [
            f"{word} {bound:g}"
            for word, bound in (("at least", at_least), ("above", above), ("at most", at_most))
            if bound is not None
        ]
        raise ConfigError(f"{name} must be a number {' and '.join(bounds)}, not {raw!r}")
    return value


def _timezone(name: str, default: str) -> ZoneInfo:
    """An environment variable naming an IANA time zone (``Asia/Shanghai``)."""
    raw = _text(name, default)
    try:
        return ZoneInfo(raw)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigError(
            f"{name} must name a time zone such as Asia/Shanghai, not {raw!r}"
        ) from None
