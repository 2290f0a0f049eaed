"""CLI subcommands for accounts: `hotline user …`, `hotline token …`, `hotline apikey …`."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from hotline.access import accounts
from hotline.casework.actors import Actor
from hotline.db import transaction
from hotline.errors import ValidationError

CLI_ACTOR = Actor.system("cli")


def read_password(prompt: str = "密码: ") -> str:
    """Reads one password line: hidden when typed at a terminal, else the first stdin line."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def _password_or_fail() -> str:
    password = read_password()
    try:
        return accounts.check_password(password)
    except ValidationError as exc:
        raise ValidationError("password", exc.message + "（从标准输入读取一行）") from exc


def cmd_user_add(args: argparse.Namespace) -> int:
    """Creates a console account; the password is read from stdin."""
    role = accounts.check_role(args.role)
    password = _password_or_fail()
    with transaction() as session:
        user = accounts.create_user(
            session,
            args.name,
            password,
            role,
            display_name=args.display_name or "",
            actor=CLI_ACTOR,
        )
        print(f"created {user.username} ({user.role})")
    return 0


def cmd_user_list(_args: argparse.Namespace) -> int:
    """Lists the accounts."""
    with transaction() as session:
        for user in accounts.list_users(session):
            state = "active" if user.active else "disabled"
            print(f"{user.id:4}  {user.username:20} {user.role:10} {state:8}  {user.display_name}")
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    """Sets an account's password (read from stdin) and lifts any lockout."""
    password = _password_or_fail()
    with transaction() as session:
        user = accounts.get_user(session, args.name)
        accounts.set_password(session, user, password, actor=CLI_ACTOR)
    print(f"password of {args.name} changed")
    return 0


def cmd_user_role(args: argparse.Namespace) -> int:
    """Changes an account's role."""
    with transaction() as session:
        user = accounts.set_role(
            session, accounts.get_user(session, args.name), args.role, actor=CLI_ACTOR
        )
        print(f"{user.username} is now {user.role}")
    return 0


def _set_active(name: str, active: bool) -> int:
    with transaction() as session:
        accounts.set_active(session, accounts.get_user(session, name), active, actor=CLI_ACTOR)
    print(f"{name} {'enabled' if active else 'disabled'}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    """Disables an account."""
    return _set_active(args.name, False)


def cmd_user_enable(args: argparse.Namespace) -> int:
    """Re-enables an account."""
    return _set_active(args.name, True)


def cmd_token_create(args: argparse.Namespace) -> int:
    """Creates an API token and prints it (the only time it is shown)."""
    with transaction() as session:
        user = accounts.get_user(session, args.user)
        token, clear = accounts.create_token(session, user, args.name or "", actor=CLI_ACTOR)
        print(clear)
        print(f"token #{token.id} for {user.username}; it is shown only once", file=sys.stderr)
    return 0


def cmd_token_list(_args: argparse.Namespace) -> int:
    """Lists API tokens (never their value)."""
    with transaction() as session:
        for token in accounts.list_tokens(session):
            state = "revoked" if token.revoked_at else "active"
            used = token.last_used_at.isoformat() if token.last_used_at else "never used"
            print(f"{token.id:4}  {token.user.username:20} {state:8} {used}  {token.name}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    """Revokes an API token by id."""
    with transaction() as session:
        accounts.revoke_token(session, args.id, actor=CLI_ACTOR)
    print(f"token #{args.id} revoked")
    return 0


def cmd_apikey_create(args: argparse.Namespace) -> int:
    """Creates an Open311 api_key and prints it (the only time it is shown)."""
    with transaction() as session:
        key, clear = accounts.create_api_key(session, args.name, actor=CLI_ACTOR)
        print(clear)
        print(f"api_key #{key.id} for {key.name}; it is shown only once", file=sys.stderr)
    return 0


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    """Revokes an Open311 api_key by id."""
    with transaction() as session:
        accounts.revoke_api_key(session, args.id, actor=CLI_ACTOR)
    print(f"api_key #{args.id} revoked")
    return 0


def register(sub: Any) -> None:
    """Adds this module's subcommands to the ``hotline`` parser."""
    user = sub.add_parser("user", help="console accounts").add_subparsers(
        dest="user_command", required=True
    )
    add = user.add_parser("add", help="create an account (password: one line on stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, help="operator, supervisor or admin")
    add.add_argument("--display-name", help="name shown to colleagues and residents")
    add.set_defaults(func=cmd_user_add)
    user.add_parser("list", help="list accounts").set_defaults(func=cmd_user_list)
    passwd = user.add_parser("passwd", help="set a password (stdin) and lift a lockout")
    passwd.add_argument("name")
    passwd.set_defaults(func=cmd_user_passwd)
    role = user.add_parser("role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role")
    role.set_defaults(func=cmd_user_role)
    for verb, func in (("disable", cmd_user_disable), ("enable", cmd_user_enable)):
        cmd = user.add_parser(verb, help=f"{verb} an account")
        cmd.add_argument("name")
        cmd.set_defaults(func=func)

    token = sub.add_parser("token", help="JSON API bearer tokens").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", help="create a token and print it")
    create.add_argument("--user", required=True)
    create.add_argument("--name", help="what the token is for")
    create.set_defaults(func=cmd_token_create)
    token.add_parser("list", help="list tokens").set_defaults(func=cmd_token_list)
    revoke = token.add_parser("revoke", help="revoke a token")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=cmd_token_revoke)

    apikey = sub.add_parser("apikey", help="Open311 api_keys").add_subparsers(
        dest="apikey_command", required=True
    )
    key_create = apikey.add_parser("create", help="create an api_key and print it")
    key_create.add_argument("name")
    key_create.set_defaults(func=cmd_apikey_create)
    key_revoke = apikey.add_parser("revoke", help="revoke an api_key")
    key_revoke.add_argument("id", type=int)
    key_revoke.set_defaults(func=cmd_apikey_revoke)
