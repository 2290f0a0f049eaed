"""``make bench``: runs every benchmark and appends a dated section to docs/benchmarks.md.

Settings (environment variables, all optional):

- ``BENCH_ONLY``: comma-separated subset of ``routing,patches,load,resources,similarity``
  (default: all).
- ``BENCH_DEFAULT_EPOCHS`` (default: Rasa's 100) for the ``rasa init`` pipeline baseline of
  the routing benchmark (``bench/routing.py``: the dev set, every candidate in
  ``bench/nlu_configs/``, the keyword router). ``BENCH_ROUTING_CONFIGS``: comma-separated
  candidate names to train (default: all); ``BENCH_ROUTING_INIT=0`` skips the ``rasa init``
  pipeline; ``BENCH_BASELINE_MODEL``: a model trained before this design (one intent per
  category), scored as it is.
- ``BENCH_RESIDENTS`` (default ``1,10,50``), ``BENCH_LOAD_ROUNDS`` (conversations per
  resident, default 1), ``BENCH_PHASE_SECONDS`` (deadline per phase, default 600),
  ``BENCH_STACKS`` (default ``single,single-no-ask,single-unpatched,scaled,stock``; also
  ``single-no-share``),
  ``BENCH_SANIC_WORKERS`` and ``BENCH_ACTION_WORKERS`` (scaled stack, default 2 each).
- ``BENCH_CASES`` (cases per case-creation run, default 200); ``BENCH_FULL_TRAIN=0`` skips
  timing a full ``rasa train`` of the project.
- ``BENCH_PATCH_ROUNDS`` (default 2) and ``BENCH_PATCH_CONVERSATIONS`` (default 30): the
  patch-by-patch measurement of Rasa's cost per message (``bench/patch_steps.py``).
- ``BENCH_SIMILAR_CASES`` (100000), ``BENCH_SIMILAR_QUERIES`` (200), ``BENCH_SIMILAR_ONLY``
  (``quality,speed``): similar cases and hotspots (``bench/similarity.py``).
- ``BENCH_NOTE``: free text recorded with the results (what else was running).
- ``BENCH_OUTPUT``: the results file (default docs/benchmarks.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import conversation, patch_steps, resources, routing, similarity, stock
from bench.common import RESULTS, busy_processes, env_int, load_average, machine


def _header() -> list[str]:
    m = machine()
    lines = [
        f"## {m.date} — commit {m.commit}{' (with uncommitted changes)' if m.dirty else ''}",
        "",
        f"- Machine: `{m.uname}`",
        f"- CPU: {m.cpu}, {m.cores} cores; RAM {m.ram_gib:.1f} GiB",
        f"- Load average at start (1/5/15 min): {load_average()}",
    ]
    busy = busy_processes()
    if busy:
        lines.append("- Busy processes at start:")
        lines += [f"  - `{b}`" for b in busy]
    note = os.environ.get("BENCH_NOTE", "").strip()
    if note:
        lines.append(f"- Note: {note}")
    settings = {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith("BENCH_") and k not in ("BENCH_NOTE", "BENCH_OUTPUT")
    }
    if settings:
        lines.append("- Settings: " + ", ".join(f"`{k}={v}`" for k, v in settings.items()))
    return lines


def _failed(title: str) -> str:
    return f"### {title}\n\nFailed in this run:\n\n```\n{traceback.format_exc()[-3000:]}```"


def main() -> int:
    """Runs the benchmarks selected by ``BENCH_ONLY`` and appends their tables."""
    only = {x.strip() for x in os.environ.get("BENCH_ONLY", "").split(",") if x.strip()}
    wanted = only or {"routing", "patches", "load", "resources", "similarity"}
    output = Path(os.environ.get("BENCH_OUTPUT", str(RESULTS)))
    started = time.monotonic()
    sections = ["", *_header(), ""]
    print("\n".join(sections), flush=True)
    trainings: list[tuple[str, float]] = []
    stacks: list[conversation.StackReport] = []
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        work = Path(tmp)
        assistant: stock.StockAssistant | None = None
        # The routing benchmark compares against the stock pipeline; the load one serves it.
        routing_init = "routing" in wanted and env_int("BENCH_ROUTING_INIT", 1) == 1
        if routing_init or ("load" in wanted and "stock" in conversation.wanted_stacks()):
            print("==> rasa init (stock assistant, trains its model)", flush=True)
            try:
                assistant = stock.create(work)
                trainings.append(
                    ("stock `rasa init` (create + full train)", assistant.init_seconds)
                )
            except Exception:
                sections += [_failed("Stock assistant"), ""]
        if "routing" in wanted:
            print("==> routing quality", flush=True)
            try:
                text, routing_trainings = routing.run_with_trainings(
                    work / "routing", assistant.config if assistant and routing_init else None
                )
                trainings += routing_trainings
            except Exception:
                text = _failed("Routing quality")
            print(text, flush=True)
            sections += [text, ""]
        if "patches" in wanted:
            print("==> Rasa's cost per message, patch by patch", flush=True)
            try:
                text = patch_steps.run(work / "patches")
            except Exception:
                text = _failed("Patch by patch")
            print(text, flush=True)
            sections += [text, ""]
        if "load" in wanted:
            print("==> conversation load", flush=True)
            try:
                stacks = conversation.run(
                    work / "load",
                    assistant.project if assistant else None,
                    assistant.model if assistant else None,
                )
                text = conversation.section(stacks)
            except Exception:
                text = _failed("Conversation load")
            print(text, flush=True)
            sections += [text, ""]
        if "resources" in wanted:
            print("==> resources", flush=True)
            try:
                cases = resources.case_benchmarks(work)
                if env_int("BENCH_FULL_TRAIN", 1):
                    print("  full rasa train of the project", flush=True)
                    seconds = resources.train_project(work)
                    trainings.insert(0, ("project `rasa train` (NLU + dialogue)", seconds))
                text = resources.section(stacks, trainings, cases)
            except Exception:
                text = _failed("Resources")
            print(text, flush=True)
            sections += [text, ""]
        if "similarity" in wanted:
            print("==> similar cases and hotspots", flush=True)
            try:
                text = similarity.section(work / "similarity")
            except Exception:
                text = _failed("Similar cases and hotspots")
            print(text, flush=True)
            sections += [text, ""]
    minutes = (time.monotonic() - started) / 60
    sections += [f"Run took {minutes:.0f} min; load average at end: {load_average()}.", ""]
    with output.open("a", encoding="utf-8") as out:
        out.write("\n".join(sections))
    print(f"==> appended to {output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
