"""The processes' logs on the console, one line at a time, each with its process's name.

supervisord writes each process's output to its own file (``var/log/NAME.log``) and its own
events to ``supervisord.log``. :class:`Follower` reads the new lines of all of them, like
``tail -F`` (it follows a file across supervisord's log rotation), and prints them as
``12:03:04 actions    | line``.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

COLOURS = (36, 33, 32, 35, 34, 31, 96)
MAX_PARTIAL = 64 * 1024


@dataclass
class _Tail:
    """One followed file: where we are in which version of it."""

    path: Path
    label: str
    inode: int | None = None
    offset: int = 0
    partial: bytes = b""

    def read_new(self) -> list[str]:
        """The complete lines added since the last call (or since the file was replaced)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        if stat.st_ino != self.inode or stat.st_size < self.offset:
            # A new file (first look, or rotated by supervisord): read it from the start.
            self.inode, self.offset = stat.st_ino, 0
        if stat.st_size == self.offset:
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        self.offset += len(data)
        return self._lines(data)

    def _lines(self, data: bytes) -> list[str]:
        chunks = (self.partial + data).split(b"\n")
        self.partial = chunks.pop()
        if len(self.partial) > MAX_PARTIAL:  # a very long line without an end: print it now
            chunks.append(self.partial)
            self.partial = b""
        return [c.decode("utf-8", "replace").rstrip("\r") for c in chunks]

    def flush(self) -> list[str]:
        """The last, unterminated line, if any."""
        rest, self.partial = self.partial, b""
        return [rest.decode("utf-8", "replace")] if rest else []


class Follower:
    """Prints new lines of several log files, each prefixed with a label."""

    def __init__(self, files: dict[str, Path], out: TextIO = sys.stdout) -> None:
        """Starts at the end of files that exist already (earlier runs' lines are skipped).

        Args:
            files: Label (the process name) to log file.
            out: Where to print.
        """
        self.out = out
        self.width = max([len(label) for label in [*files, "runner"]])
        self.colour = out.isatty() and not os.environ.get("NO_COLOR")
        self._tails = [_Tail(path, label) for label, path in files.items()]
        self._colours = {label: COLOURS[i % len(COLOURS)] for i, label in enumerate(files)}
        for tail in self._tails:
            if tail.path.exists():
                stat = tail.path.stat()
                tail.inode, tail.offset = stat.st_ino, stat.st_size

    def say(self, label: str, line: str) -> None:
        """Prints one line with its prefix."""
        prefix = f"{time.strftime('%H:%M:%S')} {label:<{self.width}} |"
        if self.colour:
            prefix = f"\x1b[{self._colours.get(label, 0)}m{prefix}\x1b[0m"
        self.out.write(f"{prefix} {line}\n")

    def poll(self) -> int:
        """Prints every complete line written since the last poll; returns how many."""
        count = 0
        for tail in self._tails:
            for line in tail.read_new():
                self.say(tail.label, line)
                count += 1
        if count:
            self.out.flush()
        return count

    def drain(self) -> None:
        """Prints what is left, unfinished last lines included (at shutdown)."""
        self.poll()
        for tail in self._tails:
            for line in tail.flush():
                self.say(tail.label, line)
        self.out.flush()
