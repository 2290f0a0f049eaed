"""The patch-step benchmark's same-run baseline: ``rasa_runtime`` as it was before the move."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.common import ROOT
from bench.patch_steps import BEFORE_MOVE, runtime_at


def _has_commit(rev: str) -> bool:
    found = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{rev}^{{commit}}"], capture_output=True
    )
    return found.returncode == 0


@pytest.mark.skipif(not _has_commit(BEFORE_MOVE), reason="a shallow clone: no history")
def test_the_baseline_runtime_comes_from_the_repositorys_history(tmp_path: Path) -> None:
    runtime = runtime_at(BEFORE_MOVE, tmp_path)
    assert runtime == tmp_path
    patches = (tmp_path / "rasa_runtime" / "patches.py").read_text(encoding="utf-8")
    # Before the move the tracker store was patched and action-server sessions kept alive.
    assert '"sqlite_tracker": _patch_sql_tracker_store' in patches
    assert '"endpoint_sessions": _patch_endpoint_sessions' in patches


def test_an_unknown_commit_gives_no_baseline(tmp_path: Path) -> None:
    assert runtime_at("0" * 40, tmp_path) is None
