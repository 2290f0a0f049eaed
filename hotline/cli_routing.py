"""CLI subcommands for routing: `hotline route` and `hotline evaluate`."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Adds this module's subcommands to the ``hotline`` parser."""
    del sub


__all__ = ["argparse", "register"]
