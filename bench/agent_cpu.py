"""Rasa's own cost per message, in process: run inside ``.venv-rasa`` by ``bench.patch_steps``.

Usage: .venv-rasa/bin/python -m bench.agent_cpu MODEL ENDPOINTS CONVERSATIONS

Applies the ``rasa_runtime`` patches that ``HOTLINE_RASA_PATCHES`` selects, loads the model
with the endpoints file (its tracker store; its action server must be running), then has one
resident after the other complete the report conversation through ``Agent.handle_message``,
without HTTP in front of Rasa. Prints ``measuring`` after a warm-up of three conversations,
then one JSON line: wall time and this process's CPU time (all threads, TensorFlow's included)
per message. With ``BENCH_NODE_TIMES=1`` the line also holds ``nodes``: the CPU time per message
spent in each node of Rasa's graph (NLU components, policies, …), clocked by a
:class:`rasa.engine.graph.GraphNodeHook` (a separate run: the clock costs a little itself).

Imports only the standard library, Rasa, ``rasa_runtime`` and ``bench.report_texts`` (standard
library only): it runs in Rasa's environment.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import resource
import sys
import time
import uuid
from typing import Any

from bench.report_texts import place_text, report_text

CHOOSE_CATEGORY = '/choose_category{"category": "city_management"}'
"""The button a resident taps when the assistant asks which category (哪一类) it is."""
SAME_PROBLEM = "是否为同一问题"
"""Asked from the second conversation on (every one reports the same lamp, issue 14)."""

WARM_UP = 3
MEASURING = "measuring"
"""The line printed when the warm-up is over and the measured conversations start."""


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def node_clock() -> Any:
    """A graph node hook that adds up this process's CPU time per node (``spent``, seconds).

    Built in a function so that Rasa is imported only when the bench runs.
    """
    from rasa.engine.graph import ExecutionContext, GraphNodeHook

    class NodeClock(GraphNodeHook):
        def __init__(self) -> None:
            self.spent: dict[str, float] = {}

        def on_before_node(
            self,
            node_name: str,
            execution_context: ExecutionContext,
            config: dict[str, Any],
            received_inputs: dict[str, Any],
        ) -> dict[str, Any]:
            return {"started": time.process_time()}

        def on_after_node(
            self,
            node_name: str,
            execution_context: ExecutionContext,
            config: dict[str, Any],
            output: Any,
            input_hook_data: dict[str, Any],
        ) -> None:
            spent = time.process_time() - input_hook_data["started"]
            self.spent[node_name] = self.spent.get(node_name, 0.0) + spent

    return NodeClock()


def attach(agent: Any, hook: Any) -> None:
    """Adds ``hook`` to every node of the agent's prediction graph.

    Rasa's loader builds the graph runner without hooks, so they are added to its nodes here
    (bench only: the served assistant runs without them).
    """
    runner = agent.processor.graph_runner
    for node in runner._instantiated_nodes.values():
        node._hooks.append(hook)


async def measure(model: str, endpoints_file: str, conversations: int) -> dict[str, Any]:
    """Runs the conversations and returns the per-message figures."""
    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    agent = await load_agent(
        model_path=model, endpoints=AvailableEndpoints.read_endpoints(endpoints_file)
    )

    clock = node_clock() if os.environ.get("BENCH_NODE_TIMES") == "1" else None
    if clock is not None:
        attach(agent, clock)
    sent = 0

    async def say(text: str, sender: str) -> str:
        nonlocal sent
        output = CollectingOutputChannel()
        await agent.handle_message(UserMessage(text, output, sender, input_channel="rest"))
        sent += 1
        return " ".join(str(m.get("text", "")) for m in output.messages)

    count = itertools.count()

    async def conversation() -> str:
        """The report conversation of ``bench.load.hotline_report``, with its varied texts."""
        n = next(count)
        sender = f"cpu-{uuid.uuid4().hex[:10]}"
        reply = ""
        for text in ("你好", report_text(n), place_text(n), "13812345678", "王先生", "/affirm"):
            reply = await say(text, sender)
            if "哪一类" in reply:
                reply = await say(CHOOSE_CATEGORY, sender)
            if SAME_PROBLEM in reply:
                # Not the open case's problem: each conversation logs its own case.
                reply = await say("/deny", sender)
        return reply

    for _ in range(WARM_UP):
        last = await conversation()
    if "SQ" not in last:
        raise RuntimeError(f"the conversation did not end with a case number: {last[:200]!r}")
    print(MEASURING, flush=True)  # bench.patch_steps reads the action server's CPU time here
    if clock is not None:
        clock.spent.clear()
    cpu, wall, sent = _cpu_seconds(), time.perf_counter(), 0
    for _ in range(conversations):
        await conversation()
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    messages = sent
    result: dict[str, Any] = {
        "messages": messages,
        "wall_ms": 1000 * wall / messages,
        "cpu_ms": 1000 * cpu / messages,
    }
    if clock is not None:
        result["nodes"] = {name: 1000 * s / messages for name, s in clock.spent.items()}
    return result


def main(argv: list[str]) -> int:
    """Applies the selected patches, measures, prints the JSON line."""
    from rasa_runtime.patches import apply

    applied = apply()
    result = asyncio.run(measure(argv[0], argv[1], int(argv[2])))
    print(json.dumps({"patches": applied, **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
