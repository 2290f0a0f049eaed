"""Runs the NLU components' unit cases in ``.venv-rasa``, where Rasa is installed."""

from __future__ import annotations

import os
import subprocess

from hotline.config import PROJECT_ROOT
from rasa_runtime.command import RASA_PYTHON


def test_component_cases_pass_under_rasa() -> None:
    result = subprocess.run(
        [str(RASA_PYTHON), "-m", "unittest", "-v", "tests.nlu_components.components_cases"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert " ... ok" in result.stderr and "FAIL" not in result.stderr
