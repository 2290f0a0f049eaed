"""Logging for the bot: no phone numbers in the logs, and no bot token in request URLs."""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(
    r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)"  # mobile
    r"|(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"  # landline with area code
)
_TOKEN = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


def mask_personal_data(text: str) -> str:
    """Masks phone numbers and bot tokens in a log line."""
    text = _PHONE.sub(lambda m: "*" * (len(m.group()) - 4) + m.group()[-4:], text)
    return _TOKEN.sub("/bot<token>", text)


class PersonalDataFilter(logging.Filter):
    """Rewrites every record, including exception text, with phone numbers masked."""

    def __init__(self) -> None:
        super().__init__()
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Masks the message and the traceback of a record; never drops it."""
        record.msg = mask_personal_data(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Logs to stderr with personal data masked; quietens the HTTP client's request lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
