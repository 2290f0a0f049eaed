"""Accounts: password hashing, login lockout, roles, API tokens and api_keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.access import accounts
from hotline.errors import NotFoundError, ValidationError
from hotline.models import ApiToken, CaseEvent, User, utcnow


def test_password_is_hashed_with_argon2(session: Session) -> None:
    user = accounts.create_user(session, "wang", "correct horse", "operator")
    assert user.password_hash.startswith("$argon2")
    assert "correct horse" not in user.password_hash
    assert accounts.verify_password(user.password_hash, "correct horse")
    assert not accounts.verify_password(user.password_hash, "wrong horse")
    assert not accounts.verify_password("not a hash", "correct horse")


@pytest.mark.parametrize(
    ("name", "password", "role", "field"),
    [
        ("wang", "", "operator", "password"),
        ("wang", "short", "operator", "password"),
        ("wang", "long enough", "boss", "role"),
        ("", "long enough", "operator", "username"),
        ("a b", "long enough", "operator", "username"),
        ("<script>", "long enough", "operator", "username"),
    ],
)
def test_create_user_validates(
    session: Session, name: str, password: str, role: str, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        accounts.create_user(session, name, password, role)
    assert info.value.field == field


def test_duplicate_username_refused(session: Session) -> None:
    accounts.create_user(session, "wang", "long enough", "operator")
    with pytest.raises(ValidationError, match="已被使用"):
        accounts.create_user(session, "wang", "another one", "admin")


def test_role_labels_accepted_and_ranked() -> None:
    assert accounts.check_role("管理员") == "admin"
    assert accounts.has_role("admin", "supervisor")
    assert accounts.has_role("supervisor", "operator")
    assert not accounts.has_role("operator", "supervisor")
    assert not accounts.has_role("nobody", "operator")


def test_login_success_and_generic_failure(session: Session) -> None:
    accounts.create_user(session, "wang", "long enough", "operator")
    assert accounts.authenticate(session, "wang", "long enough").ok
    unknown = accounts.authenticate(session, "nobody", "long enough")
    wrong = accounts.authenticate(session, "wang", "not the one")
    assert not unknown.ok and not wrong.ok
    assert unknown.message == wrong.message == "用户名或密码错误"


def test_lockout_after_five_failures_for_fifteen_minutes(session: Session) -> None:
    user = accounts.create_user(session, "wang", "long enough", "operator")
    now = utcnow()
    for _ in range(4):
        assert accounts.authenticate(session, "wang", "bad password", now=now).locked_until is None
    fifth = accounts.authenticate(session, "wang", "bad password", now=now)
    assert fifth.locked_until == now + timedelta(minutes=15)
    assert "锁定" in fifth.message
    # Even the right password is refused while locked.
    locked = accounts.authenticate(session, "wang", "long enough", now=now + timedelta(minutes=14))
    assert not locked.ok and "锁定" in locked.message
    assert accounts.authenticate(session, "wang", "long enough", now=now + timedelta(minutes=16)).ok
    assert user.failed_logins == 0
    locks = session.scalars(select(CaseEvent).where(CaseEvent.action == "account_locked")).all()
    assert len(locks) == 1


def test_success_resets_the_failure_count(session: Session) -> None:
    user = accounts.create_user(session, "wang", "long enough", "operator")
    for _ in range(4):
        accounts.authenticate(session, "wang", "bad password")
    assert accounts.authenticate(session, "wang", "long enough").ok
    for _ in range(4):
        accounts.authenticate(session, "wang", "bad password")
    assert user.locked_until is None


def test_password_reset_lifts_the_lock(session: Session) -> None:
    user = accounts.create_user(session, "wang", "long enough", "operator")
    for _ in range(5):
        accounts.authenticate(session, "wang", "bad password")
    marker = accounts.session_marker(user)
    accounts.set_password(session, user, "a new password")
    assert accounts.session_marker(user) != marker
    assert accounts.authenticate(session, "wang", "a new password").ok


def test_disabled_account_cannot_log_in(session: Session) -> None:
    user = accounts.create_user(session, "wang", "long enough", "operator")
    accounts.set_active(session, user, False)
    result = accounts.authenticate(session, "wang", "long enough")
    assert not result.ok and "停用" in result.message


def test_role_change_is_audited(session: Session) -> None:
    user = accounts.create_user(session, "wang", "long enough", "operator")
    accounts.set_role(session, user, "supervisor")
    assert user.role == "supervisor"
    event = session.scalars(select(CaseEvent).where(CaseEvent.action == "user_role")).one()
    assert event.data == {"user": "wang", "from": "operator", "to": "supervisor"}


def test_api_token_lifecycle(session: Session) -> None:
    user = accounts.create_user(session, "wang", "long enough", "operator")
    token, clear = accounts.create_token(session, user, "integration")
    stored = session.get(ApiToken, token.id)
    assert stored is not None and clear not in stored.token_hash
    assert len(stored.token_hash) == 64
    found = accounts.verify_token(session, clear)
    assert isinstance(found, User) and found.id == user.id
    assert stored.last_used_at is not None
    assert accounts.verify_token(session, clear + "x") is None
    assert accounts.verify_token(session, "") is None
    accounts.set_active(session, user, False)
    assert accounts.verify_token(session, clear) is None
    accounts.set_active(session, user, True)
    accounts.revoke_token(session, token.id)
    assert accounts.verify_token(session, clear) is None
    with pytest.raises(NotFoundError):
        accounts.revoke_token(session, 999)


def test_api_key_lifecycle(session: Session) -> None:
    key, clear = accounts.create_api_key(session, "city platform")
    assert accounts.verify_api_key(session, clear) is key
    assert accounts.verify_api_key(session, "nope") is None
    accounts.revoke_api_key(session, key.id)
    assert accounts.verify_api_key(session, clear) is None
    with pytest.raises(ValidationError):
        accounts.create_api_key(session, " ")
