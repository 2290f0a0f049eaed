"""No phone numbers, ID numbers or api keys in our processes' logs.

:func:`install` wraps the process's log record factory, so every record, whichever logger
or handler it goes through (uvicorn's, Rasa's, the SDK's, ours), is masked as it is created:
its message and arguments, and the text of its exception. Each process entry point calls it
(the console app, the action server's ``actions`` package, the bot, ``rasa_runtime``).
Imports nothing outside the standard library and :mod:`hotline.privacy.redact`, so the Rasa
environment can use it too.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from hotline.privacy.redact import mask_numbers

_SECRET_PARAMETER = re.compile(r"(?i)(api_key=|token=)[^&\s\"']+")


def mask_text(text: str) -> str:
    """A log text with phone and ID numbers masked and api keys or tokens in URLs hidden."""
    return _SECRET_PARAMETER.sub(r"\1<hidden>", mask_numbers(text))


def _masked(value: Any) -> Any:
    return mask_text(value) if isinstance(value, str) else value


class PersonalDataFilter(logging.Filter):
    """Masks a record in place: message, arguments and exception text; never drops it.

    The arguments keep their shape (a tuple stays a tuple of the same length), since some
    formatters read them: uvicorn's access log takes the request line apart from them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Masks the record; returns True."""
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _masked(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


_FILTER = PersonalDataFilter()


def install() -> None:
    """Masks every log record this process creates from now on (calling it again is a no-op)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "hotline_masking", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        _FILTER.filter(record)
        return record

    factory.hotline_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
