"""`hotline user …`, `hotline token …` and `hotline apikey …`, run in-process."""

from __future__ import annotations

import io

import pytest

from hotline.access import accounts
from hotline.cli import main
from hotline.db import transaction


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_user_add_reads_the_password_from_stdin(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        monkeypatch, capsys, "user", "add", "wang", "--role", "operator", stdin="s3cret-pass\n"
    )
    assert code == 0 and "wang" in out
    with transaction() as session:
        assert accounts.authenticate(session, "wang", "s3cret-pass").ok
    code, out, _ = run(monkeypatch, capsys, "user", "list")
    assert code == 0 and "wang" in out and "operator" in out


@pytest.mark.parametrize("stdin", ["", "\n", "short\n"])
def test_user_add_refuses_empty_or_short_password(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str
) -> None:
    code, _, err = run(monkeypatch, capsys, "user", "add", "wang", "--role", "admin", stdin=stdin)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: password")


def test_user_add_refuses_a_bad_role(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        monkeypatch, capsys, "user", "add", "wang", "--role", "boss", stdin="long enough\n"
    )
    assert code == 1 and "role" in err


def test_token_create_and_revoke(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run(monkeypatch, capsys, "user", "add", "li", "--role", "supervisor", stdin="long enough\n")
    code, out, _ = run(monkeypatch, capsys, "token", "create", "--user", "li")
    token = out.strip()
    assert code == 0 and token.startswith("hlt_")
    with transaction() as session:
        user = accounts.verify_token(session, token)
        assert user is not None and user.username == "li"
        token_id = accounts.list_tokens(session)[0].id
    code, out, _ = run(monkeypatch, capsys, "token", "list")
    assert token not in out and "li" in out
    assert run(monkeypatch, capsys, "token", "revoke", str(token_id))[0] == 0
    with transaction() as session:
        assert accounts.verify_token(session, token) is None
    code, _, err = run(monkeypatch, capsys, "token", "revoke", "999")
    assert code == 1 and "不存在" in err
    code, _, err = run(monkeypatch, capsys, "token", "create", "--user", "nobody")
    assert code == 1 and "不存在" in err


def test_user_admin_commands(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run(monkeypatch, capsys, "user", "add", "wang", "--role", "operator", stdin="long enough\n")
    assert run(monkeypatch, capsys, "user", "role", "wang", "admin")[0] == 0
    assert run(monkeypatch, capsys, "user", "disable", "wang")[0] == 0
    with transaction() as session:
        assert not accounts.authenticate(session, "wang", "long enough").ok
    assert run(monkeypatch, capsys, "user", "enable", "wang")[0] == 0
    assert run(monkeypatch, capsys, "user", "passwd", "wang", stdin="brand new pw\n")[0] == 0
    with transaction() as session:
        result = accounts.authenticate(session, "wang", "brand new pw")
        assert result.user is not None and result.user.role == "admin"


def test_apikey_create(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "apikey", "create", "city app")
    assert code == 0
    with transaction() as session:
        assert accounts.verify_api_key(session, out.strip()) is not None
    assert run(monkeypatch, capsys, "apikey", "revoke", "1")[0] == 0
