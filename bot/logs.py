"""Logging for the bot: no phone numbers in the logs, and no bot token in request URLs."""

from __future__ import annotations

import logging
import re

from hotline.privacy import logmask

_TOKEN = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


def mask_personal_data(text: str) -> str:
    """Masks phone and ID numbers (:mod:`hotline.privacy.logmask`) and bot tokens in a log line."""
    return _TOKEN.sub("/bot<token>", logmask.mask_text(text))


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
    logmask.install()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
