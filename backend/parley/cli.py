"""`parley serve | user create | secret adopt | chat | schema | openapi`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from parley.config import Settings
from parley.logs import configure_logging

if TYPE_CHECKING:
    from parley.accounts.service import AccountService
    from parley.models import User


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting, so `--help` lists them all with their PARLEY_* variable."""
    for name, field in Settings.model_fields.items():
        env = f"PARLEY_{name.upper()}"
        default = field.get_default(call_default_factory=True)
        help_text = f"{field.description or name} [env {env}; default {default}]"
        if field.annotation is bool:
            parser.add_argument(
                _flag(name), dest=name, action=argparse.BooleanOptionalAction, help=help_text
            )
        else:
            parser.add_argument(_flag(name), dest=name, metavar="VALUE", help=help_text)


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def serve(settings: Settings) -> int:
    import uvicorn

    from parley.app import create_app
    from parley.db import DatabaseError
    from parley.realtime.socket import WS_MAX_FRAME_BYTES

    configure_logging(settings.log_level, settings.log_json)
    try:
        app = create_app(settings)
    except (ValueError, DatabaseError) as exc:  # a secret key too short, a database unusable
        print(f"parley: {exc}", file=sys.stderr)
        return 2
    print(f"Parley is starting at http://{settings.host}:{settings.port}", flush=True)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws_max_size=WS_MAX_FRAME_BYTES,
        # X-Forwarded-For/-Proto only from the configured proxies; by default from nobody,
        # or anyone could pick the address the login throttle counts.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # Frames are small JSON deltas: compressing each costs more CPU than it saves bytes.
        ws_per_message_deflate=False,
        # Logging, levels included, is set up by parley.logs (given no log_level, uvicorn leaves
        # the levels alone); uvicorn's access log is replaced by ours.
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )
    uvicorn.Server(config).run()
    return 0


@contextmanager
def _accounts(settings: Settings) -> Iterator[AccountService]:
    """The account service on the configured database, migrated and checked to go with this
    secret key, for one command."""
    from parley.accounts.service import AccountService, claim_secret
    from parley.accounts.throttle import LoginThrottle
    from parley.db import Database
    from parley.security import PasswordHasher, TokenSigner, load_or_create_secret

    secret = load_or_create_secret(settings.secret_key, settings.data_dir)
    db = Database(settings.resolved_database_url, pool_size=1)
    hasher = PasswordHasher(settings.bcrypt_rounds, threads=1)
    try:
        db.migrate()
        claim_secret(db, secret)
        yield AccountService(db, TokenSigner(secret, timedelta(minutes=1)), LoginThrottle(), hasher)
    finally:
        hasher.close()
        db.close()


def adopt_secret(settings: Settings) -> int:
    """Record this secret key as the one the database is used with."""
    from parley.accounts.service import adopt_secret as adopt
    from parley.db import Database
    from parley.security import load_or_create_secret

    secret = load_or_create_secret(settings.secret_key, settings.data_dir)
    db = Database(settings.resolved_database_url, pool_size=1)
    try:
        db.migrate()
        adopt(db, secret)
    finally:
        db.close()
    print("the database now goes with this secret key; tokens signed with the old one are void")
    return 0


def create_user(settings: Settings, username: str, admin: bool, password_stdin: bool) -> int:
    from parley.accounts.service import UsernameTaken
    from parley.models import UserCreate

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
    try:
        data = UserCreate(username=username, password=password)
    except ValidationError as exc:
        print(f"parley: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    with _accounts(settings) as accounts:
        try:
            user = asyncio.run(accounts.register(data, is_admin=admin))
        except UsernameTaken:
            print(f"parley: the username {username!r} is taken", file=sys.stderr)
            return 1
    role = "administrator" if admin else "user"
    print(f"created {role} {user.username} ({user.id})")
    return 0


def _describe_user(user: User) -> str:
    flags = [name for name, on in (("admin", user.is_admin), ("disabled", user.disabled)) if on]
    return f"{user.username}\t{user.id}\t{','.join(flags) or '-'}\t{user.created_at.isoformat()}"


def list_users(settings: Settings) -> int:
    with _accounts(settings) as accounts:
        users = asyncio.run(accounts.users())
    print("username\tid\tflags\tcreated_at")
    for user in users:
        print(_describe_user(user))
    return 0


def update_user(
    settings: Settings, username: str, disabled: bool | None, is_admin: bool | None
) -> int:
    """The same change as PATCH /api/admin/users/{id}; a running server sees it at the next
    request, and its open sockets of that user close within PARLEY_CREDENTIAL_CHECK_INTERVAL_S."""
    from parley.accounts.service import LastAdmin
    from parley.models import UserAdminUpdate

    changes = UserAdminUpdate(disabled=disabled, is_admin=is_admin)

    with _accounts(settings) as accounts:
        user = asyncio.run(accounts.user_by_name(username))
        if user is None:
            print(f"parley: no user {username!r}", file=sys.stderr)
            return 1
        try:
            updated = asyncio.run(accounts.update_user(user.id, changes))
        except LastAdmin:
            print("parley: at least one enabled administrator must remain", file=sys.stderr)
            return 1
    print(_describe_user(updated))
    return 0


def write_schema(output: Path | None) -> int:
    from parley.protocol.frames import protocol_schema_json

    return _write_text(protocol_schema_json(), output)


def write_openapi(output: Path | None) -> int:
    from parley.app import openapi_schema_json

    return _write_text(openapi_schema_json(), output)


def _write_text(text: str, output: Path | None) -> int:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
    return 0


def terminal_chat(args: argparse.Namespace) -> int:
    from parley.terminal_chat import run_terminal_chat

    password = None
    if args.api_key is None and args.username is not None:
        password = os.environ.get("PARLEY_PASSWORD") or getpass.getpass("Password: ")
    return asyncio.run(
        run_terminal_chat(
            args.url,
            api_key=args.api_key,
            username=args.username,
            password=password,
            conversation_id=args.conversation,
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parley", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the server")
    _add_settings_flags(serve_parser)

    user_parser = commands.add_parser("user", help="manage users")
    user_commands = user_parser.add_subparsers(dest="user_command", required=True)
    create_parser = user_commands.add_parser("create", help="create a user")
    create_parser.add_argument("username")
    create_parser.add_argument("--admin", action="store_true", help="may load and unload models")
    create_parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    _add_settings_flags(create_parser)
    list_parser = user_commands.add_parser("list", help="list the users")
    _add_settings_flags(list_parser)
    update_parser = user_commands.add_parser(
        "update", help="disable or enable a user, make or unmake an administrator"
    )
    update_parser.add_argument("username")
    update_parser.add_argument(
        "--disabled",
        action=argparse.BooleanOptionalAction,
        dest="user_disabled",
        help="--disabled: the user's tokens and keys stop working; --no-disabled enables again",
    )
    update_parser.add_argument(
        "--admin", action=argparse.BooleanOptionalAction, dest="user_admin", help="administrator"
    )
    _add_settings_flags(update_parser)

    secret_parser = commands.add_parser("secret", help="the secret key that signs tokens")
    secret_commands = secret_parser.add_subparsers(dest="secret_command", required=True)
    adopt_parser = secret_commands.add_parser(
        "adopt",
        help="after changing PARLEY_SECRET_KEY on purpose (every instance stopped): make the "
        "new key the database's; tokens signed with the old one stop working",
    )
    _add_settings_flags(adopt_parser)

    chat_parser = commands.add_parser("chat", help="chat with a server from the terminal")
    chat_parser.add_argument(
        "--url",
        default=os.environ.get("PARLEY_URL", "http://127.0.0.1:8000"),
        help="the server [env PARLEY_URL; default http://127.0.0.1:8000]",
    )
    chat_parser.add_argument(
        "--api-key",
        default=os.environ.get("PARLEY_API_KEY"),
        help="an API key from POST /api/keys [env PARLEY_API_KEY]",
    )
    chat_parser.add_argument(
        "--username", help="log in as this user instead (password asked, or PARLEY_PASSWORD)"
    )
    chat_parser.add_argument("--conversation", help="open this conversation id")

    schema_parser = commands.add_parser("schema", help="print the WebSocket protocol's schema")
    schema_parser.add_argument("--output", type=Path, help="write to this file instead")
    openapi_parser = commands.add_parser("openapi", help="print the REST API's OpenAPI schema")
    openapi_parser.add_argument("--output", type=Path, help="write to this file instead")

    args = parser.parse_args(argv)
    if args.command == "schema":
        return write_schema(args.output)
    if args.command == "openapi":
        return write_openapi(args.output)
    if args.command == "chat":
        return terminal_chat(args)
    try:
        settings = _settings(args)
    except ValidationError as exc:
        print(f"parley: bad setting: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return serve(settings)
    from parley.db import DatabaseError

    try:
        if args.command == "secret":
            return adopt_secret(settings)
        if args.user_command == "list":
            return list_users(settings)
        if args.user_command == "update":
            return update_user(settings, args.username, args.user_disabled, args.user_admin)
        return create_user(settings, args.username, args.admin, args.password_stdin)
    except (ValueError, DatabaseError) as exc:  # a secret key too short, a database unusable
        print(f"parley: {exc}", file=sys.stderr)
        return 2
