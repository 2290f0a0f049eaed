"""Parses stdin lines with a trained Rasa model in-process; prints one JSON parse per line.

Runs in ``.venv-rasa`` (``python -m bench.nlu_parse MODEL``). The last line is a JSON summary
with the CPU seconds the parses took, so benchmarks can report NLU CPU per message.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

# As the Rasa server runs (rasa_runtime/__init__.py): one OpenMP thread for the encoder.
os.environ.setdefault("OMP_NUM_THREADS", "1")


async def _main(model: str) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    started = time.process_time()
    for text in texts:
        parsed = await agent.parse_message(text)
        print(json.dumps(parsed, ensure_ascii=False, default=str), flush=True)
    cpu = time.process_time() - started
    print(json.dumps({"summary": {"messages": len(texts), "cpu_seconds": cpu}}), flush=True)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
