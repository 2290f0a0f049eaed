"""Conversation load: N simulated residents talk to the REST channel at once (asyncio + httpx).

Loopback only. Every loop is bounded: each resident runs a fixed number of conversations of a
fixed number of turns, every request has a timeout, and each phase has a deadline after which
unfinished residents are cancelled and counted as errors.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.report_texts import place_text, report_text

_CONVERSATIONS = itertools.count()
CASE_NUMBER = re.compile(r"SQ\d{8}-\d{4}")
REQUEST_TIMEOUT = 60.0

Say = Callable[[str], Awaitable[str]]
"""Sends one message for a resident and returns the text of every reply, joined."""


class ConversationFailed(Exception):
    """The assistant answered something the script did not expect."""


async def hotline_report(say: Say) -> str | None:
    """The resident's full report: describe, place, (not the same problem,) phone, name, confirm.

    Returns:
        The case number the assistant gave.

    Raises:
        ConversationFailed: When a reply is not the expected next question.
    """
    n = next(_CONVERSATIONS)
    await say("你好")
    first = await say(report_text(n))
    if "哪一类" in first:
        first = await say('/choose_category{"category": "city_management"}')
    if "在哪里" not in first:
        raise ConversationFailed(f"no location question: {first[:200]!r}")
    after_place = await say(place_text(n))
    if "是否为同一问题" in after_place:
        # Residents report lamps at nearby places: the assistant may ask whether it is an
        # open case's problem (issue 14); each says no, so each logs a case.
        after_place = await say("/deny")
    if "电话" not in after_place:
        raise ConversationFailed("no phone question")
    await say("13812345678")
    summary = await say("王先生")
    if "138****5678" not in summary:
        raise ConversationFailed(f"no summary: {summary[:200]!r}")
    done = await say("/affirm")
    found = CASE_NUMBER.findall(done)
    if not found:
        raise ConversationFailed(f"no case number: {done[:200]!r}")
    return found[0]


async def stock_mood(say: Say) -> str | None:
    """The ``rasa init`` assistant's own flow: greet, sad, cheered up, bot check, goodbye."""
    if "How are you" not in await say("hi"):
        raise ConversationFailed("no greeting")
    if "did that help" not in (await say("I am sad")).lower():
        raise ConversationFailed("no cheer-up")
    await say("yes")
    await say("are you a bot?")
    await say("I am great")
    await say("bye")
    return None


Script = Callable[[Say], Awaitable[str | None]]


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of some values, by nearest rank (at least one value)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


@dataclass
class PhaseResult:
    """The measurements of one load phase (one N on one stack)."""

    stack: str
    residents: int
    conversations: int
    messages: int = 0
    errors: int = 0
    completed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    turn_latencies: dict[str, list[float]] = field(default_factory=dict)
    """Latencies by what the resident sent (:func:`turn_kind`)."""
    case_numbers: list[str] = field(default_factory=list)
    cases_in_db: int | None = None
    first_error: str = ""

    @property
    def failed_conversations(self) -> int:
        """Conversations that did not finish as scripted (errors, surprises, deadline)."""
        return self.conversations - self.completed

    @property
    def throughput(self) -> float:
        """Answered messages per second of wall time."""
        return self.messages / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        return nearest_rank(self.latencies, q) * 1000 if self.latencies else float("nan")

    def turn_percentiles(self, q: float) -> dict[str, tuple[int, float]]:
        """For each kind of turn: how many, and their latency percentile in milliseconds."""
        return {
            kind: (len(values), nearest_rank(values, q) * 1000)
            for kind, values in self.turn_latencies.items()
        }

    @property
    def median_ms(self) -> float:
        """Median latency in milliseconds."""
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def error_rate(self) -> float:
        """Failed requests over attempted requests."""
        attempted = self.messages + self.errors
        return self.errors / attempted if attempted else 0.0


def turn_kind(text: str) -> str:
    """What a scripted message is, for latency by turn: a button payload by its intent, a
    phone number, or a text by its length."""
    if text.startswith("/"):
        return text.split("{", 1)[0]
    if text.isdigit():
        return "digits"
    if len(text) <= 4:
        return "text of 1–4 characters"
    return "text of 5–15 characters" if len(text) <= 15 else "text of 16+ characters"


async def _resident(
    client: httpx.AsyncClient,
    url: str,
    senders: Sequence[str],
    script: Script,
    result: PhaseResult,
) -> None:
    for sender in senders:

        async def say(text: str, sender: str = sender) -> str:
            started = time.perf_counter()
            try:
                response = await client.post(url, json={"sender": sender, "message": text})
                response.raise_for_status()
                replies: list[dict[str, Any]] = response.json()
            except (httpx.HTTPError, json.JSONDecodeError) as exc:
                result.errors += 1
                result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                raise
            elapsed = time.perf_counter() - started
            result.latencies.append(elapsed)
            result.turn_latencies.setdefault(turn_kind(text), []).append(elapsed)
            result.messages += 1
            return "\n".join(str(r.get("text", "")) for r in replies)

        try:
            number = await script(say)
        except ConversationFailed as exc:
            result.first_error = result.first_error or f"{sender}: {exc}"
            continue
        except (httpx.HTTPError, json.JSONDecodeError):
            continue
        result.completed += 1
        if number:
            result.case_numbers.append(number)


async def run_phase(
    stack: str,
    rasa_url: str,
    script: Script,
    sender_prefix: str,
    residents: int,
    rounds: int,
    deadline_seconds: float,
) -> PhaseResult:
    """Runs ``residents`` concurrent residents, each through ``rounds`` conversations.

    Sender ids are ``{sender_prefix}-{resident}-{round}``, all new.
    """
    result = PhaseResult(stack=stack, residents=residents, conversations=residents * rounds)
    url = f"{rasa_url}/webhooks/rest/webhook"
    limits = httpx.Limits(max_connections=residents + 5, max_keepalive_connections=residents + 5)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits) as client:
        tasks = [
            asyncio.create_task(
                _resident(
                    client,
                    url,
                    [f"{sender_prefix}-{i}-{r}" for r in range(rounds)],
                    script,
                    result,
                )
            )
            for i in range(residents)
        ]
        started = time.perf_counter()
        done, pending = await asyncio.wait(tasks, timeout=deadline_seconds)
        result.seconds = time.perf_counter() - started
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            result.first_error = result.first_error or f"deadline {deadline_seconds}s passed"
        for task in done:
            error = task.exception()
            if error is not None:
                raise error
    return result


def goal_verdict(project: PhaseResult, stock: PhaseResult) -> str:
    """The issue's goal at one N: ≥2× the stock assistant's msgs/s and p95 under 300 ms."""
    ratio = project.throughput / stock.throughput if stock.throughput else float("nan")
    p95 = project.percentile(95)
    met = ratio >= 2.0 and p95 < 300 and project.error_rate == 0
    return (
        f"{'MET' if met else 'NOT MET'}: {project.throughput:.1f} msgs/s = {ratio:.2f}× stock "
        f"({stock.throughput:.1f} msgs/s; goal ≥ 2×), p95 {p95:.0f} ms (goal < 300 ms), "
        f"errors {project.error_rate:.1%}"
    )
