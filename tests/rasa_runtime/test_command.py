"""How the project starts Rasa: the one path to Rasa's environment, the endpoints files Rasa
reads, the secret, and how the patches are chosen and refused (what runs without Rasa; the
patches themselves are tested under Rasa by ``test_under_rasa.py``)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from hotline.config import ACTION_TOKEN_HEADER, PROJECT_ROOT
from rasa_runtime.command import RASA_PYTHON, RASA_VENV
from rasa_runtime.patches import (
    PATCHES,
    RasaVersionError,
    check_rasa_version,
    pinned_rasa_version,
    selected,
)


@pytest.mark.parametrize("name", ["endpoints.yml", "endpoints.scaled.yml"])
def test_rasa_reads_the_action_port_and_token_from_the_environment(name: str) -> None:
    # make run sets ACTION_PORT, HOTLINE_ACTION_TOKEN and HOTLINE_VAR_DIR (runner/processes.py);
    # Rasa must send action calls there, with the token in a header (not a query parameter,
    # which access logs keep), and keep the SQLite tracker store in the var directory.
    if not RASA_PYTHON.exists():
        pytest.fail(f"no {RASA_VENV.name}: run `make setup`")
    read = (
        "import sys; from rasa.core.utils import AvailableEndpoints; "
        "e = AvailableEndpoints.read_endpoints(sys.argv[1]); a = e.action; "
        "print(e.tracker_store.kwargs.get('db')); print(a.url, a.headers, a.token, a.params)"
    )
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", read, str(PROJECT_ROOT / name)],
        env={
            "ACTION_PORT": "6123",
            "HOTLINE_VAR_DIR": "/srv/hotline/var",
            "HOTLINE_ACTION_TOKEN": "tok-en:42#x",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    db = "/srv/hotline/var/rasa_tracker.db" if name == "endpoints.yml" else "hotline_tracker"
    expected = f"http://127.0.0.1:6123/webhook {{'{ACTION_TOKEN_HEADER}': 'tok-en:42#x'}} None {{}}"
    assert result.stdout.strip().splitlines()[-2:] == [db, expected], (
        result.stdout[-2000:] + result.stderr[-2000:]
    )


def test_rasa_gets_the_api_secret_from_the_settings_not_the_command_line() -> None:
    # make run (runner/processes.py) starts `python -m rasa_runtime run ...` without the
    # secret, so it never appears in the process list; rasa_runtime adds it for Rasa's parser.
    from rasa_runtime.__main__ import with_api_secret
    from runner.processes import prepare_environment, processes

    for scaled in (False, True):
        env = {"RASA_TOKEN": "s" * 32, "HOTLINE_VAR_DIR": "/srv/hotline/var"}
        prepare_environment(env)
        [rasa] = [p for p in processes(env, scaled=scaled) if p.name == "rasa"]
        assert "s" * 32 not in rasa.argv and "--auth-token" not in rasa.argv
        assert "--jwt-secret" not in rasa.argv
    argv = ["rasa", "run", "--enable-api", "-p", "5005"]
    assert with_api_secret(argv, "s" * 32) == [
        *argv,
        "--jwt-secret",
        "s" * 32,
        "--jwt-method",
        "HS256",
    ]
    explicit = ["rasa", "run", "--jwt-secret", "other"]
    assert with_api_secret(explicit, "s" * 32) == explicit
    assert with_api_secret(["rasa", "train"], "s" * 32) == ["rasa", "train"]


def test_the_makefile_builds_the_environment_the_code_starts_rasa_from() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^RASA_VENV := (\S+)$", makefile, re.MULTILINE)
    assert match and PROJECT_ROOT / match.group(1) == RASA_VENV


def test_nothing_else_names_rasas_environment() -> None:
    # The path is spelled once in code (rasa_runtime/command.py) and once in the Makefile.
    found = subprocess.run(
        [
            "git",
            "grep",
            "-l",
            "-e",
            f'"{RASA_VENV.name}"',
            "-e",
            f"'{RASA_VENV.name}'",
            "--",
            "*.py",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert found == ["rasa_runtime/command.py"]


def test_the_pin_is_read_from_requirements_rasa(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "requirements-rasa.txt").read_text(encoding="utf-8")
    assert f"rasa[jieba]=={pinned_rasa_version()}\n" in text
    pins = tmp_path / "requirements.txt"
    pins.write_text("# rasa==1.0 in a comment\nrasa-sdk==3.6.2\nrasa==3.6.9  # why\n")
    assert pinned_rasa_version(pins) == "3.6.9"
    pins.write_text("rasa>=3.6\n")
    with pytest.raises(RasaVersionError, match="pins no exact version of rasa"):
        pinned_rasa_version(pins)
    with pytest.raises(RasaVersionError, match="cannot read the Rasa pin"):
        pinned_rasa_version(tmp_path / "missing.txt")


def test_another_rasa_version_is_refused_with_what_to_do() -> None:
    check_rasa_version("3.6.21", "3.6.21")
    for other in ("3.6.20", "3.6.21.post1", "3.7.0"):
        with pytest.raises(RasaVersionError) as raised:
            check_rasa_version(other, "3.6.21")
        assert f"Rasa 3.6.21 (pinned in requirements-rasa.txt), but Rasa {other} is installed" in (
            str(raised.value)
        )


def test_the_patches_are_chosen_by_name() -> None:
    assert selected("none") == [] and selected("") == selected(" ") == list(PATCHES)
    assert selected("event_types, action_validation") == ["action_validation", "event_types"]
    with pytest.raises(ValueError, match="unknown patch faster; known: action_validation"):
        selected("faster")
