"""Errors raised by the hotline core. Each carries a message fit to show a user."""

from __future__ import annotations


class HotlineError(Exception):
    """Base class for every error the core raises on purpose."""


class ValidationError(HotlineError):
    """Input that the core refuses, naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CatalogueError(HotlineError):
    """The catalogue file is missing a field, repeats a code or has a bad time limit."""


class NotFoundError(HotlineError):
    """The case (or other record) does not exist."""


class InvalidTransitionError(HotlineError):
    """An action that the case's current state does not allow."""

    def __init__(self, case_number: str, status: str, action: str, reason: str = "") -> None:
        message = f"工单 {case_number} 当前状态为 {status}，不能执行操作 {action}"
        if reason:
            message += f"：{reason}"
        super().__init__(message)
        self.case_number = case_number
        self.status = status
        self.action = action


class StorageUnavailableError(HotlineError):
    """The case database could not be reached."""
