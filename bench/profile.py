"""Profiles the Rasa server and the action server under conversation load with py-spy.

Usage: .venv/bin/python -m bench.profile [RESIDENTS] [SECONDS] [plain]
(py-spy: ``.venv/bin/pip install py-spy``; it is not a project dependency.)

Starts the ``single`` stack (with ``plain``: the plain ``rasa`` command, no rasa_runtime
patches), warms it up, then runs RESIDENTS (default 10) concurrent report
conversations again and again while py-spy samples both servers for SECONDS (default 40).
Prints the functions with the most samples (own and cumulative) for each server, and leaves
the collapsed stacks in var/profile/ for a flame graph.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from bench.common import MODEL, ROOT
from bench.conversation import fresh_case_db, single_endpoints
from bench.load import hotline_report, run_phase
from bench.stack import Servers


def top_functions(collapsed: Path, limit: int = 25) -> str:
    """The hottest frames of a py-spy ``--format raw`` file, own and cumulative share."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    if not samples:
        return "no samples"
    lines = [f"{samples} samples", "own%   function"]
    lines += [f"{100 * n / samples:5.1f}  {f}" for f, n in own.most_common(limit)]
    lines += ["", "cum%   function"]
    lines += [f"{100 * n / samples:5.1f}  {f}" for f, n in total.most_common(limit)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Runs the profile; see the module docstring."""
    residents = int(argv[0]) if argv else 10
    seconds = int(argv[1]) if len(argv) > 1 else 40
    py_spy = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    out_dir = ROOT / "var" / "profile"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hotline-profile-") as tmp:
        work = Path(tmp)
        env = fresh_case_db(work)
        with Servers(work, env=env) as servers:
            actions = servers.start_actions()
            endpoints = single_endpoints(work, actions.port)
            rasa = servers.start_rasa(MODEL, endpoints, patched="plain" not in argv[2:])
            url = servers.url("rasa")
            asyncio.run(run_phase("warm", url, hotline_report, "rest:prof-warm", 2, 1, 120))
            spies = {
                name: subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        "--pid",
                        str(server.proc.pid),
                        "--subprocesses",
                        "--duration",
                        str(seconds),
                        "--rate",
                        "50",
                        "--format",
                        "raw",
                        "--output",
                        str(out_dir / f"{name}.txt"),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for name, server in (("rasa", rasa), ("actions", actions))
            }
            deadline = time.monotonic() + seconds
            messages = 0
            elapsed = 0.0
            while time.monotonic() < deadline - 5:
                prefix = f"rest:prof-{uuid.uuid4().hex[:6]}"
                result = asyncio.run(
                    run_phase("prof", url, hotline_report, prefix, residents, 1, 60)
                )
                messages += result.messages
                elapsed += result.seconds
            for spy in spies.values():
                spy.wait(timeout=seconds + 60)
            print(f"{messages} messages in {elapsed:.1f} s = {messages / elapsed:.1f} msgs/s")
    for name in ("rasa", "actions"):
        path = out_dir / f"{name}.txt"
        print(f"\n== {name} ({path})")
        print(top_functions(path) if path.exists() else "py-spy wrote nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
