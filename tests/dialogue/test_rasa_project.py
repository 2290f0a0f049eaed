"""The Rasa project itself: data validation, conversation tests and held-out NLU quality."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from hotline.casework.catalogue import get_catalogue
from hotline.casework.routing import category_for_parse
from hotline.cli.routing import parse_text
from hotline.config import PROJECT_ROOT
from hotline.reporting.evaluation import parse_out_of_scope, parse_tsv, two_stage_summary
from rasa_runtime.command import RASA
from tests.servers import MODEL, TOKEN, Stack

pytestmark = pytest.mark.slow
MIN_CIVIC_ACCURACY = 0.80
MAX_OUT_OF_SCOPE_ROUTED = 0.05
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


def test_reports_are_one_intent_whose_blocks_name_catalogue_categories() -> None:
    """Two stages: one ``report`` intent; each training block names its category."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert "report" in domain["intents"]
    codes = set(get_catalogue().codes)
    assert not {i for i in domain["intents"] if str(i).removeprefix("report_") in codes}
    named = set()
    for path in (PROJECT_ROOT / "data").rglob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if block.get("intent") == "report":
                category = (block.get("metadata") or {}).get("category")
                assert category in codes, f"{path}: report block with category {category!r}"
                named.add(category)
    assert named == codes


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


@pytest.mark.timeout(1800)  # 1,100 parses; minutes when other work shares the CPU
def test_routing_on_the_real_register_dev_set(rasa_stack: Stack) -> None:
    """Routing floors on tests/nlu's dev set, which is never trained on (docs/nlu.md).

    A regression guard, not the measurement: ``make bench`` reports the figures.
    """
    known = set(get_catalogue().codes)
    examples = parse_tsv(_lines("dev_civic.tsv"), known) + parse_out_of_scope(_lines("dev_oos.tsv"))
    pairs = []
    with httpx.Client(timeout=60) as client:
        for example in examples:
            parsed = parse_text(client, rasa_stack.rasa_url, TOKEN, example.text)
            pairs.append((example, category_for_parse(parsed)))
    summary = two_stage_summary(pairs)
    assert summary["civic_accuracy"] >= MIN_CIVIC_ACCURACY, summary
    assert summary["out_of_scope_routed"] <= MAX_OUT_OF_SCOPE_ROUTED, summary


def _lines(name: str) -> list[str]:
    return (PROJECT_ROOT / "tests" / "nlu" / name).read_text(encoding="utf-8").splitlines()
