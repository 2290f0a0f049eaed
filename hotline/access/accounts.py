"""Console accounts: users, roles, password login with lockout, API tokens and Open311 keys.

Passwords are hashed with argon2; API tokens and api_keys are random secrets of which only
the SHA-256 hash is stored, so the clear value is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import record_event
from hotline.errors import NotFoundError, ValidationError
from hotline.models import ApiKey, ApiToken, User, utcnow

ROLES = ("operator", "supervisor", "admin")
"""Console roles, least privileged first; each role may do everything the ones before it may."""
ROLE_LABELS = {"operator": "话务员", "supervisor": "督办员", "admin": "管理员"}
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TOKEN_PREFIX = "hlt_"
API_KEY_PREFIX = "o311_"
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
_hasher = PasswordHasher()


class AccountError(ValidationError):
    """An account operation refused (bad name, role or password)."""


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked against when the name is unknown, so that answers take the same time.
    return _hasher.hash(secrets.token_hex(16))


def role_rank(role: str) -> int:
    """The rank of a role (0 for operator); unknown roles rank below every real one."""
    return ROLES.index(role) if role in ROLES else -1


def has_role(user_role: str, required: str) -> bool:
    """Whether a user with ``user_role`` may do what needs ``required``."""
    return role_rank(user_role) >= role_rank(required) >= 0


def check_role(role: str) -> str:
    """Validates a role name.

    Raises:
        AccountError: When it is not one of :data:`ROLES`.
    """
    cleaned = (role or "").strip()
    for code, label in ROLE_LABELS.items():
        if cleaned in (code, label):
            return code
    raise AccountError("role", f"无效的角色「{cleaned}」，可选：operator、supervisor、admin")


def check_password(password: str) -> str:
    """Validates a new password.

    Raises:
        AccountError: When it is empty, shorter than 8 or longer than 256 characters.
    """
    if not password or not password.strip():
        raise AccountError("password", "密码不能为空")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"密码太短，至少 {MIN_PASSWORD_LENGTH} 个字符")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError("password", f"密码太长，最多 {MAX_PASSWORD_LENGTH} 个字符")
    return password


def hash_password(password: str) -> str:
    """The argon2 hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the stored argon2 hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_user(session: Session, username: str) -> User:
    """The user with this name.

    Raises:
        NotFoundError: When there is none.
    """
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise NotFoundError(f"账号「{username}」不存在")
    return user


def get_user_by_id(session: Session, user_id: int) -> User:
    """The user with this id.

    Raises:
        NotFoundError: When there is none.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"账号 #{user_id} 不存在")
    return user


def list_users(session: Session, active_only: bool = False) -> list[User]:
    """Every account, by name."""
    stmt = select(User).order_by(User.username)
    if active_only:
        stmt = stmt.where(User.active.is_(True))
    return list(session.scalars(stmt))


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    actor: Actor | None = None,
) -> User:
    """Creates an account.

    Args:
        username: 2–64 letters, digits, ``.``, ``_`` or ``-``, starting with a letter or digit.
        password: At least 8 characters.
        role: operator, supervisor or admin.
        display_name: The name residents and colleagues see (defaults to the username).
        actor: Who creates it, for the audit log.

    Raises:
        AccountError: For a bad name, role or password, or a name already taken.
    """
    name = (username or "").strip()
    if not _USERNAME.fullmatch(name):
        raise AccountError("username", "用户名须为 2～64 个字母、数字或 . _ -，并以字母或数字开头")
    role = check_role(role)
    check_password(password)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise AccountError("username", f"用户名「{name}」已被使用")
    display = (display_name or "").strip()[:64]
    user = User(
        username=name,
        display_name=display or name,
        role=role,
        password_hash=hash_password(password),
        active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    _audit(session, actor, "user_create", f"{name}（{ROLE_LABELS[role]}）", {"user": name})
    return user


def _audit(
    session: Session, actor: Actor | None, action: str, note: str, data: dict[str, object]
) -> None:
    record_event(session, None, actor or Actor.system("cli"), action, note=note, data=data)


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt.

    Attributes:
        user: The account, when the login succeeded.
        message: Why it failed, fit to show (the same for an unknown name and a wrong
            password, so that names cannot be probed).
        locked_until: When a locked account opens again.
    """

    user: User | None
    message: str = ""
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the login succeeded."""
        return self.user is not None


def authenticate(
    session: Session, username: str, password: str, *, now: datetime | None = None
) -> LoginResult:
    """Checks a login, counting failures; the 5th failure in a row locks the account.

    A locked account refuses even the right password until the lock ends (15 minutes).
    The caller must commit the session whatever the result, so failures are counted.
    """
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        verify_password(_dummy_hash(), password or "")
        return LoginResult(None, "用户名或密码错误")
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginResult(
            None,
            f"登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试，或联系管理员重置密码",
            user.locked_until,
        )
    if not verify_password(user.password_hash, password or ""):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.failed_logins = 0
            user.locked_until = now + LOCKOUT
            _audit(
                session,
                Actor.system("login"),
                "account_locked",
                f"{user.username} 连续 {MAX_FAILED_LOGINS} 次登录失败，锁定 15 分钟",
                {"user": user.username},
            )
            return LoginResult(
                None,
                "登录失败次数过多，账号已锁定，请 15 分钟后再试，或联系管理员重置密码",
                user.locked_until,
            )
        session.flush()
        return LoginResult(None, "用户名或密码错误")
    if not user.active:
        return LoginResult(None, "该账号已停用，请联系管理员")
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return LoginResult(user)


def set_role(session: Session, user: User, role: str, *, actor: Actor | None = None) -> User:
    """Changes an account's role.

    Raises:
        AccountError: For an unknown role.
    """
    new_role = check_role(role)
    if new_role != user.role:
        _audit(
            session,
            actor,
            "user_role",
            f"{user.username}：{ROLE_LABELS.get(user.role, user.role)} → {ROLE_LABELS[new_role]}",
            {"user": user.username, "from": user.role, "to": new_role},
        )
        user.role = new_role
        session.flush()
    return user


def set_active(session: Session, user: User, active: bool, *, actor: Actor | None = None) -> User:
    """Disables or re-enables an account. A disabled account cannot log in or use tokens."""
    if user.active != active:
        user.active = active
        _audit(
            session,
            actor,
            "user_enable" if active else "user_disable",
            f"{'启用' if active else '停用'}账号 {user.username}",
            {"user": user.username},
        )
        session.flush()
    return user


def set_password(
    session: Session, user: User, password: str, *, actor: Actor | None = None
) -> User:
    """Sets a new password (a reset by an admin, or the user's own change); lifts any lock.

    Raises:
        AccountError: When the password is too short or too long.
    """
    check_password(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    _audit(
        session, actor, "user_password", f"重置账号 {user.username} 的密码", {"user": user.username}
    )
    session.flush()
    return user


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def session_marker(user: User) -> str:
    """A short value that changes when the user's password changes (ends other sessions)."""
    return _digest(user.password_hash)[:16]


def create_token(
    session: Session, user: User, name: str = "", *, actor: Actor | None = None
) -> tuple[ApiToken, str]:
    """Creates an API token for a user.

    Returns:
        The stored row and the clear token, which is not kept and cannot be shown again.
    """
    if not user.active:
        raise AccountError("user", f"账号 {user.username} 已停用")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=(name or "").strip()[:64], token_hash=_digest(clear))
    session.add(token)
    session.flush()
    _audit(
        session,
        actor,
        "token_create",
        f"为 {user.username} 创建 API 令牌 #{token.id}",
        {"user": user.username, "token_id": token.id},
    )
    return token, clear


def verify_token(session: Session, clear: str, *, now: datetime | None = None) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, user disabled)."""
    if not clear or not clear.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(clear)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    token.last_used_at = now or utcnow()
    session.flush()
    return token.user


def list_tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    """API tokens, newest first, optionally of one user."""
    stmt = select(ApiToken).order_by(ApiToken.id.desc())
    if user is not None:
        stmt = stmt.where(ApiToken.user_id == user.id)
    return list(session.scalars(stmt))


def revoke_token(
    session: Session, token_id: int, *, actor: Actor | None = None, now: datetime | None = None
) -> ApiToken:
    """Revokes an API token; it stops working at once.

    Raises:
        NotFoundError: When there is no such token.
    """
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"API 令牌 #{token_id} 不存在")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        _audit(
            session,
            actor,
            "token_revoke",
            f"吊销 API 令牌 #{token.id}（{token.user.username}）",
            {"user": token.user.username, "token_id": token.id},
        )
        session.flush()
    return token


def create_api_key(
    session: Session, name: str, *, actor: Actor | None = None
) -> tuple[ApiKey, str]:
    """Creates an Open311 api_key for a partner system.

    Returns:
        The stored row and the clear key, which is not kept and cannot be shown again.

    Raises:
        AccountError: When the name is empty or too long.
    """
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 64:
        raise AccountError("name", "请填写 1～64 个字符的名称")
    clear = API_KEY_PREFIX + secrets.token_urlsafe(24)
    key = ApiKey(name=cleaned, key_hash=_digest(clear))
    session.add(key)
    session.flush()
    _audit(session, actor, "apikey_create", f"创建 Open311 api_key #{key.id}（{cleaned}）", {})
    return key, clear


def verify_api_key(session: Session, clear: str) -> ApiKey | None:
    """The live api_key matching this clear value, or None."""
    if not clear:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(clear)))
    if key is None or key.revoked_at is not None:
        return None
    return key


def revoke_api_key(
    session: Session, key_id: int, *, actor: Actor | None = None, now: datetime | None = None
) -> ApiKey:
    """Revokes an Open311 api_key.

    Raises:
        NotFoundError: When there is no such key.
    """
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError(f"api_key #{key_id} 不存在")
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
        _audit(session, actor, "apikey_revoke", f"吊销 Open311 api_key #{key.id}（{key.name}）", {})
        session.flush()
    return key
