"""A missing Chromium is treated like a missing PostgreSQL: skipped outside CI, failed in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_browser_tests(ci: bool) -> subprocess.CompletedProcess[str]:
    """Runs the browser tests with Chromium pointed at a path that does not exist."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["TEST_CHROMIUM"] = str(ROOT / "var" / "no-such-chromium")
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/console/test_browser.py", "tests/supervisor/test_browser.py"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_missing_chromium_skips_outside_ci_with_one_clear_line() -> None:
    result = run_browser_tests(ci=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert " passed" not in result.stdout and " failed" not in result.stdout
    assert "skipped" in result.stdout
    reasons = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert reasons and all("Debian's Chromium is missing" in line for line in reasons)
    assert "apt-get install chromium" in reasons[0]


@pytest.mark.slow
def test_missing_chromium_fails_in_ci() -> None:
    result = run_browser_tests(ci=True)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "CI=true: browser tests must run" in result.stdout and " passed" not in result.stdout
