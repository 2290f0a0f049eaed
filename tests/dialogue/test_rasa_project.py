"""The Rasa project itself: data validation, conversation tests and held-out NLU quality."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from hotline.catalogue import get_catalogue
from hotline.config import PROJECT_ROOT
from tests.servers import MODEL, RASA

pytestmark = pytest.mark.slow
MIN_MACRO_F1 = 0.90
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _rasa(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RASA), *args],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_domain_report_intents_are_the_catalogue_intents() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    report_intents = {i for i in domain["intents"] if str(i).startswith("report_")} - {
        "report_start"
    }
    assert report_intents == {c.intent for c in get_catalogue().categories}


def test_data_validates_without_warnings() -> None:
    result = _rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_conversation_stories(tmp_path: Path) -> None:
    stories = (PROJECT_ROOT / "tests" / "test_stories.yml").read_text(encoding="utf-8")
    assert stories.count("- story:") >= 25
    result = _rasa(
        "test",
        "core",
        "--stories",
        "tests/test_stories.yml",
        "-m",
        str(MODEL),
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path),
    )
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert result.returncode == 0, detail[-4000:] + result.stderr[-3000:]
    assert (
        "None of the test stories failed" in detail or not detail.strip() or "stories: []" in detail
    )


def test_held_out_nlu_macro_f1(tmp_path: Path) -> None:
    result = _rasa(
        "test", "nlu", "--nlu", "tests/nlu/test_nlu.yml", "-m", str(MODEL), "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text(encoding="utf-8"))
    macro = report["macro avg"]["f1-score"]
    categories = {c.intent for c in get_catalogue().categories}
    per_category = {k: v["f1-score"] for k, v in report.items() if k in categories}
    assert len(per_category) == len(categories)
    assert macro >= MIN_MACRO_F1, f"macro-F1 {macro:.3f} < {MIN_MACRO_F1}: {per_category}"
