"""`parley serve | user create | chat | schema | openapi`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from parley.config import Settings
from parley.logs import configure_logging


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

    configure_logging(settings.log_level, settings.log_json)
    try:
        app = create_app(settings)
    except ValueError as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return 2
    print(f"Parley is starting at http://{settings.host}:{settings.port}", flush=True)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws_max_size=64 * 1024,
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


def create_user(settings: Settings, username: str, admin: bool, password_stdin: bool) -> int:
    from parley.accounts import AccountService, UsernameTaken
    from parley.db import Database
    from parley.models import UserCreate
    from parley.security import LoginThrottle, TokenSigner, load_or_create_secret

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
    try:
        data = UserCreate(username=username, password=password)
    except ValidationError as exc:
        print(f"parley: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    try:
        secret = load_or_create_secret(settings.secret_key, settings.data_dir)
    except ValueError as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return 2
    db = Database(settings.resolved_database_url)
    db.migrate()
    accounts = AccountService(
        db,
        TokenSigner(secret, timedelta(minutes=1)),
        LoginThrottle(),
        settings.bcrypt_rounds,
    )
    try:
        user = asyncio.run(accounts.register(data, is_admin=admin))
    except UsernameTaken:
        print(f"parley: the username {username!r} is taken", file=sys.stderr)
        return 1
    finally:
        db.close()
    role = "administrator" if admin else "user"
    print(f"created {role} {user.username} ({user.id})")
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
    return create_user(settings, args.username, args.admin, args.password_stdin)
