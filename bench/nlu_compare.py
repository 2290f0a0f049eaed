"""Trains NLU-only models for several pipeline configs and scores each on the held-out set.

Usage: .venv/bin/python -m bench.nlu_compare [CONFIG.yml ...]   (default: bench/nlu_configs/*.yml)
Prints one row per config: training seconds, intent accuracy, macro-F1, weighted-F1, and the
share of held-out messages that fell below the fallback threshold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
TEST = ROOT / "tests" / "nlu" / "test_nlu.yml"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_config(config: Path, workdir: Path) -> dict[str, float | str]:
    """Trains an NLU model with ``config`` and evaluates it on the held-out test set."""
    out = workdir / config.stem
    started = time.monotonic()
    subprocess.run(
        [
            str(RASA),
            "train",
            "nlu",
            "-c",
            str(config),
            "--nlu",
            str(ROOT / "data" / "nlu"),
            "--out",
            str(out),
            "--fixed-model-name",
            "nlu",
        ],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
    )
    seconds = time.monotonic() - started
    subprocess.run(
        [
            str(RASA),
            "test",
            "nlu",
            "--nlu",
            str(TEST),
            "-m",
            str(out / "nlu.tar.gz"),
            "--out",
            str(out / "results"),
        ],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
    )
    report = json.loads((out / "results" / "intent_report.json").read_text(encoding="utf-8"))
    errors = json.loads((out / "results" / "intent_errors.json").read_text(encoding="utf-8"))
    total = sum(
        v["support"]
        for k, v in report.items()
        if isinstance(v, dict) and "support" in v and not k.endswith("avg")
    )
    fallback = sum(e["intent_prediction"]["name"] == "nlu_fallback" for e in errors)
    return {
        "config": config.stem,
        "train_s": round(seconds),
        "accuracy": round(report["accuracy"], 3),
        "macro_f1": round(report["macro avg"]["f1-score"], 3),
        "weighted_f1": round(report["weighted avg"]["f1-score"], 3),
        "fallback_share": round(fallback / total, 3) if total else 0.0,
    }


def main(argv: list[str]) -> int:
    """Runs every config given (or all in bench/nlu_configs) and prints a table."""
    configs = [Path(a) for a in argv] or sorted((ROOT / "bench" / "nlu_configs").glob("*.yml"))
    print(
        f"{'config':28} {'train_s':>7} {'accuracy':>8} {'macro_f1':>8} {'weighted':>8} "
        f"{'fallback':>8}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            row = run_config(config, Path(tmp))
            print(
                f"{row['config']:28} {row['train_s']:>7} {row['accuracy']:>8} "
                f"{row['macro_f1']:>8} {row['weighted_f1']:>8} {row['fallback_share']:>8}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
