"""`make run` keeps the console readable: TensorFlow's C++ notes and the deprecation warnings of
Rasa's pinned libraries are silenced by the runner's defaults (``runner.processes.QUIET_LOGS``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rasa_runtime.command import RASA_PYTHON
from runner.processes import QUIET_LOGS

ROOT = Path(__file__).resolve().parents[2]
# What Rasa's start-up imports, in the order `python -m rasa_runtime run` does.
STARTUP = (
    "from rasa_runtime.__main__ import keep_deprecations_quiet; keep_deprecations_quiet();"
    "import rasa_runtime.patches, tensorflow, rasa_runtime.tracker_store, rasa.server;"
    "from rasa.utils.common import configure_logging_and_warnings as c; c(20);"
    'import matplotlib.font_manager as f; f.FontProperties("sans")'
)
NOISE = ("tensorflow/", "DeprecationWarning", "MovedIn20Warning", "declare_namespace")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not RASA_PYTHON.exists(), reason=".venv-rasa is not built"),
]


def startup_stderr(quiet: bool) -> list[str]:
    """The lines Rasa's imports print, with or without the runner's quiet defaults."""
    env = {k: v for k, v in os.environ.items() if k not in QUIET_LOGS}
    if quiet:
        env |= QUIET_LOGS
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", STARTUP],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr.splitlines()


def test_the_quiet_settings_remove_tensorflow_and_deprecation_noise() -> None:
    loud = [line for line in startup_stderr(quiet=False) if any(n in line for n in NOISE)]
    assert len(loud) >= 5  # what the console showed before (the check can see it)
    quiet = startup_stderr(quiet=True)
    assert [line for line in quiet if any(n in line for n in NOISE)] == []
