"""The effect of each ``rasa_runtime`` change on Rasa's cost per message (``BENCH_ONLY=patches``).

Starts the project's action server on a fresh case database, then, for each step of ``STEPS``
(every step adds to the one before), runs ``bench.agent_cpu`` in Rasa's environment with
``HOTLINE_RASA_PATCHES`` and the tracker store of that step: one resident after the other
completes the report conversation through Rasa's ``Agent``, in process, on a SQLite tracker
store. The steps are measured ``BENCH_PATCH_ROUNDS`` times (default 2), interleaved, so that a
slow minute of the machine does not land on one step only; the table shows the median of the
rounds.

Usage on its own: .venv/bin/python -m bench.patch_steps
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.agent_cpu import MEASURING
from bench.common import MODEL, ROOT, env_int, markdown_table, rasa_env
from bench.conversation import fresh_case_db, single_endpoints
from bench.stack import Servers, cpu_seconds
from rasa_runtime.command import RASA_PYTHON


@dataclass(frozen=True)
class Step:
    """One configuration: its label, ``HOTLINE_RASA_PATCHES`` ("" is every patch) and whether
    Rasa's own SQL tracker store stands in for the one endpoints.yml names."""

    label: str
    patches: str
    stock_store: bool = False
    runtime_rev: str | None = None
    """A commit whose ``rasa_runtime`` is run instead of the working tree's (a baseline)."""


STEPS: list[Step] = [
    Step("plain Rasa 3.6 (no patch, Rasa's SQL tracker store)", "none", stock_store=True),
    Step(
        "+ action response validator built once, checked per event kind",
        "action_validation",
        stock_store=True,
    ),
    Step(
        "+ HotlineSQLTrackerStore (SQLite in WAL on pooled connections, SQL text)",
        "action_validation",
    ),
    Step("+ event classes from a table", "action_validation,event_types"),
    Step("+ prediction graph run in a fixed order, without dask (all patches)", ""),
]
BEFORE_MOVE = "92df027"
"""The last commit before issue 13 moved ``rasa_runtime`` to Rasa's extension points: its
patches replaced the SQL tracker store's internals and kept action-server connections alive."""
BASELINE = Step(
    f"baseline: `rasa_runtime` as of {BEFORE_MOVE}, before the move (all of its patches)",
    "",
    stock_store=True,
    runtime_rev=BEFORE_MOVE,
)
"""Measured in the same rounds, so that "after the move" is compared with "before" on one
machine in one run (docs/benchmarks.md)."""


def runtime_at(rev: str, into: Path) -> Path | None:
    """Extracts ``rasa_runtime/`` as of a commit of this repository into ``into``; None when
    git or the commit is not there (a tarball without history)."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "rasa_runtime"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def measure_step(
    setting: str,
    model: Path,
    endpoints: Path,
    conversations: int,
    actions_pid: int,
    runtime: Path | None = None,
    node_times: bool = False,
) -> dict[str, Any]:
    """One run of ``bench.agent_cpu`` with the given patch setting.

    Args:
        node_times: Also clock each node of Rasa's graph (``nodes`` in the result).

    Returns:
        Its figures, plus ``actions_cpu_ms``: the action server's CPU time per message
        (``actions_pid`` and its children) over the same measured conversations.
    """
    path = str(ROOT) if runtime is None else f"{runtime}{os.pathsep}{ROOT}"
    env = rasa_env(
        HOTLINE_RASA_PATCHES=setting, PYTHONPATH=path, BENCH_NODE_TIMES="1" if node_times else "0"
    )
    args = [str(RASA_PYTHON), "-m", "bench.agent_cpu", str(model), str(endpoints)]
    with subprocess.Popen(
        [*args, str(conversations)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        lines, started = [], 0.0
        for line in proc.stdout:
            if line.strip() == MEASURING:
                started = cpu_seconds(actions_pid)
            lines.append(line)
        actions_cpu = cpu_seconds(actions_pid) - started
        stderr = proc.stderr.read()
        proc.wait(timeout=1800)
    found = [line for line in lines if line.startswith("{")]
    if proc.returncode != 0 or not found or not started:
        raise RuntimeError(f"bench.agent_cpu failed ({setting!r}):\n{stderr[-3000:]}")
    result = dict(json.loads(found[-1]))
    result["actions_cpu_ms"] = 1000 * actions_cpu / result["messages"]
    return result


def run(workdir: Path) -> str:
    """Measures every step and returns the markdown section."""
    rounds = env_int("BENCH_PATCH_ROUNDS", 2)
    conversations = env_int("BENCH_PATCH_CONVERSATIONS", 30)
    rev = BASELINE.runtime_rev
    baseline = runtime_at(rev, workdir / "baseline-runtime") if rev else None
    steps = [*STEPS, BASELINE] if baseline is not None else list(STEPS)
    results: dict[Step, list[dict[str, Any]]] = {step: [] for step in steps}
    with Servers(workdir, env=fresh_case_db(workdir)) as servers:
        actions = servers.start_actions()
        for round_number in range(rounds):
            for index, step in enumerate(steps):
                tracker = f"tracker-{round_number}-{index}.db"
                endpoints = single_endpoints(workdir, actions.port, tracker, step.stock_store)
                print(f"  round {round_number + 1}: {step.label}", flush=True)
                runtime = baseline if step.runtime_rev else None
                results[step].append(
                    measure_step(
                        step.patches, MODEL, endpoints, conversations, actions.proc.pid, runtime
                    )
                )
        print("  per component: every patch, graph nodes clocked", flush=True)
        endpoints = single_endpoints(workdir, actions.port, "tracker-nodes.db", False)
        clocked = measure_step(
            STEPS[-1].patches, MODEL, endpoints, conversations, actions.proc.pid, node_times=True
        )
    rows = []
    first_cpu = statistics.median(r["cpu_ms"] for r in results[STEPS[0]])
    for step in steps:
        cpu = statistics.median(r["cpu_ms"] for r in results[step])
        wall = statistics.median(r["wall_ms"] for r in results[step])
        runs = ", ".join(f"{r['cpu_ms']:.1f}" for r in results[step])
        actions_cpu = statistics.median(r["actions_cpu_ms"] for r in results[step])
        rows.append(
            [
                step.label,
                f"{cpu:.1f}",
                runs,
                f"{actions_cpu:.1f}",
                f"{wall:.1f}",
                f"{first_cpu / cpu:.2f}×",
            ]
        )
    return "\n".join(
        [
            "### Rasa's cost per message, patch by patch",
            "",
            f"One resident at a time, {conversations} report conversations (6 messages) per run "
            "through Rasa's `Agent` in process (`bench/agent_cpu.py`), SQLite tracker store, "
            f"the action server in its own process; {rounds} interleaved rounds, median shown. "
            "CPU = the Rasa process's user + system time (all threads, TensorFlow's included) "
            "per message; action server CPU = the same for the action server over the same "
            "conversations; wall = time per message including the action server's replies.",
            "",
            markdown_table(
                [
                    "step",
                    "Rasa CPU ms/msg",
                    "each round",
                    "action server CPU ms/msg",
                    "wall ms/msg",
                    "CPU vs plain",
                ],
                rows,
            ),
            "",
            move_verdict(results, steps),
            "",
            component_section(clocked),
        ]
    )


def component_name(node: str) -> str:
    """A graph node's component (``run_JiebaTokenizer1`` → ``JiebaTokenizer``)."""
    name = node.removeprefix("run_").rstrip("0123456789")
    return name.rsplit(".", 1)[-1]


def component_section(clocked: dict[str, Any]) -> str:
    """The per-component table of one clocked run (every patch)."""
    total = clocked["cpu_ms"]
    nodes = sorted(clocked["nodes"].items(), key=lambda item: -item[1])
    in_graph = sum(ms for _, ms in nodes)
    rows = [
        [f"`{component_name(node)}` ({node})", f"{ms:.2f}", f"{ms / total:.0%}"]
        for node, ms in nodes
        if ms >= 0.05
    ]
    small = [ms for _, ms in nodes if ms < 0.05]
    if small:
        rows.append([f"{len(small)} other nodes", f"{sum(small):.2f}", f"{sum(small) / total:.0%}"])
    rows.append(
        [
            "outside the graph (tracker store, action calls, events, message handling)",
            f"{total - in_graph:.2f}",
            f"{(total - in_graph) / total:.0%}",
        ]
    )
    rows.append(["**all of Rasa's CPU**", f"**{total:.2f}**", "100%"])
    return "\n".join(
        [
            "#### Rasa's CPU per message, component by component",
            "",
            "Every patch; one more run of the same conversations with each node of Rasa's "
            "graph clocked by a `GraphNodeHook` (`BENCH_NODE_TIMES=1` in `bench/agent_cpu.py`): "
            "the process's CPU time between the node's start and end, summed per message. "
            "Policies run once per predicted action, NLU components once per message.",
            "",
            markdown_table(["node", "CPU ms/msg", "share"], rows),
        ]
    )


def move_verdict(results: dict[Step, list[dict[str, Any]]], steps: list[Step]) -> str:
    """Whether Rasa's CPU per message with every patch is no worse than the baseline's
    (issue 13: the move to extension points must not cost CPU)."""
    if BASELINE not in steps:
        return f"Baseline ({BEFORE_MOVE}) not measured: this checkout has no git history."
    after = statistics.median(r["cpu_ms"] for r in results[STEPS[-1]])
    before = statistics.median(r["cpu_ms"] for r in results[BASELINE])
    verdict = "no worse" if after <= before else "WORSE"
    return (
        f"After the move: {after:.1f} ms of Rasa CPU per message with every patch, against "
        f"{before:.1f} ms with `rasa_runtime` as of {BEFORE_MOVE} ({after / before - 1:+.1%}): "
        f"{verdict}."
    )


def main() -> int:
    """Runs the steps on their own and prints the table."""
    with tempfile.TemporaryDirectory(prefix="hotline-patches-") as tmp:
        print(run(Path(tmp) / "patches"))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
