"""The hotline command line, end to end, as a subprocess in a temporary directory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HOTLINE = str(Path(sys.executable).parent / "hotline")


@pytest.fixture()
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'cli.db'}",
    }

    def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [HOTLINE, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )

    return _run


def test_cli_end_to_end(run) -> None:  # type: ignore[no-untyped-def]
    before = run("case", "list")
    assert before.returncode == 1 and "hotline db upgrade" in before.stderr
    assert run("db", "upgrade").returncode == 0
    created = run(
        "case",
        "create",
        "--category",
        "city_management",
        "--description",
        "我家楼下的路灯坏了好几天了",
        "--phone",
        "138 1234 5678",
        "--location",
        "幸福小区3栋",
        "--name",
        "王先生",
        "--type",
        "投诉",
    )
    assert created.returncode == 0, created.stderr
    number = created.stdout.strip()
    assert re.fullmatch(r"SQ\d{8}-0001", number)

    shown = json.loads(run("case", "show", number, "--json").stdout)
    assert shown["description"] == "我家楼下的路灯坏了好几天了"
    assert shown["phone"] == "138****5678" and shown["case_type"] == "complaint"
    assert shown["events"][0]["action"] == "create"

    for action in ("accept", "dispatch", "start"):
        result = run("case", "transition", number, action, "--actor", "operator:alice")
        assert result.returncode == 0, result.stderr
    assert run("case", "transition", number, "resolve", "--note", "已更换灯泡").returncode == 0
    bad = run("case", "transition", number, "dispatch")
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and number in bad.stderr and "resolved" in bad.stderr

    listed = json.loads(run("case", "list", "--status", "resolved", "--json").stdout)
    assert [c["number"] for c in listed] == [number]
    human = run("case", "show", number)
    assert "已办结" in human.stdout and "alice" in human.stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--category", "weather"], "category"),
        (["--phone", "12345"], "phone"),
        (["--type", "吐槽"], "type"),
        (["--urgency", "asap"], "urgency"),
        (["--location", " "], "location"),
    ],
)
def test_cli_invalid_input_exits_1_with_one_line(run, args: list[str], field: str) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    base = {
        "--category": "employment",
        "--description": "欠薪",
        "--phone": "13812345678",
        "--location": "光谷",
    }
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [x for pair in base.items() for x in pair]
    extra = [a for a in args if a not in base and a not in base.values()]
    result = run("case", "create", *flat, *extra)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {field}:")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_cli_unknown_case(run) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    result = run("case", "show", "SQ20000101-0001")
    assert result.returncode == 1 and "不存在" in result.stderr
