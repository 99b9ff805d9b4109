"""The FastAPI application: services built from settings, routers, and the SPA."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from parley import __version__, workers
from parley.accounts.service import AccountService, claim_secret
from parley.accounts.throttle import LoginThrottle, SharedLoginThrottle
from parley.api.errors import ApiError, install_error_handlers
from parley.api.headers import SecurityHeadersMiddleware
from parley.api.hosts import AllowedHostsMiddleware, allowed_hosts
from parley.api.routes import (
    admin,
    auth,
    conversations,
    files,
    keys,
    models,
    openai,
    responses,
    search,
    simple,
    system,
    tools,
    transfer,
)
from parley.api.uploads import MEGABYTE
from parley.chat.completions import CompletionService
from parley.chat.conversations.service import ConversationService
from parley.chat.conversations.store import ChatStore
from parley.chat.live.channels import ChannelRegistry
from parley.chat.live.run import RunConfig
from parley.chat.live.service import ChatService
from parley.chat.prepare.fairness import Admission
from parley.chat.prepare.limits import MessageLimits
from parley.chat.responses import ResponseService
from parley.cluster.counters import SharedAnswerCount, SharedSocketCounts
from parley.cluster.keys import check_reachable
from parley.cluster.registry import SharedRegistry
from parley.config import Settings
from parley.db import Database
from parley.engine.selection.manager import EngineManager, ModelUnavailable
from parley.files.attachments import FileService, FileStore
from parley.library.archive import ArchiveService, ArchiveStore, OwnerCaps
from parley.library.search import search_index_for
from parley.library.transfer import ImportLimits
from parley.protocol.conversations import SYSTEM_PROMPT_MAX
from parley.realtime import socket
from parley.realtime.counts import LocalSocketCounts
from parley.security import PasswordHasher, TokenSigner, load_or_create_secret
from parley.telemetry import GpuProbe, HostSampler, Telemetry, TelemetryMiddleware
from parley.tools import ToolRegistry
from parley.workers import PerUserLimit

log = logging.getLogger(__name__)

REPO_FRONTEND_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"
PACKAGED_STATIC = Path(__file__).resolve().parent / "static"


def _static_dir(settings: Settings) -> Path | None:
    for candidate in (settings.static_dir, PACKAGED_STATIC, REPO_FRONTEND_DIST):
        if candidate is not None and (candidate / "index.html").is_file():
            return candidate
    return None


def _serves(engines: EngineManager, model: str) -> bool:
    try:
        engines.resolve(model)
    except ModelUnavailable:
        return False
    return True


def open_database(settings: Settings, secret: str) -> Database:
    """The configured database, upgraded to the newest schema and checked to be used with
    this secret (blocking); raises DatabaseError, one line for the operator."""
    db = Database(settings.resolved_database_url, pool_size=settings.database_pool_size)
    try:
        db.migrate()
        claim_secret(db, secret)
    except BaseException:
        db.close()
        raise
    return db


def _shared(settings: Settings, store: ChatStore) -> SharedRegistry | None:
    """Instances share channels and limits through Redis when configured (raises ValueError
    when it does not answer)."""
    if settings.redis_url is None:
        return None
    check_reachable(settings.redis_url)
    return SharedRegistry(settings.redis_url, store, settings.run_lease_s)


def create_app(settings: Settings) -> FastAPI:
    """The application on a database made ready (see `open_database`) before it serves."""
    secret = load_or_create_secret(settings.secret_key, settings.data_dir)
    db = open_database(settings, secret)
    workers.configure(settings.work_threads)
    engines = EngineManager(settings.engine_config())
    telemetry = Telemetry()
    file_store = FileStore(db)
    tool_registry = ToolRegistry(settings.tools_config())
    limits = MessageLimits(
        settings.max_message_chars,
        max_request_messages=settings.max_request_messages,
        max_request_chars=settings.max_request_chars,
        max_system_prompt_chars=SYSTEM_PROMPT_MAX,
    )
    store = ChatStore(db)
    shared = _shared(settings, store)
    channels = shared if shared is not None else ChannelRegistry()
    admission = Admission(
        settings.max_active_per_user,
        settings.max_concurrent_runs,
        SharedAnswerCount(shared.cluster) if shared is not None else None,
    )
    chat = ChatService(
        store,
        engines,
        RunConfig(
            flush_interval_s=settings.flush_interval_s,
            status_interval_s=settings.status_interval_s,
            default_max_tokens=settings.max_new_tokens,
            ignore_eos=settings.bench_ignore_eos,
            tool_max_steps=settings.tool_max_steps,
        ),
        limits,
        admission,
        file_store,
        tool_registry,
        channels,
        observer=telemetry,
    )
    completions = CompletionService(
        engines,
        admission,
        default_max_tokens=settings.max_new_tokens,
        limits=limits,
        observer=telemetry,
    )
    stored_responses = ResponseService(db, flush_interval_s=settings.flush_interval_s)
    archive = ArchiveService(
        ArchiveStore(db),
        search_index_for(db),
        ImportLimits(
            max_bytes=int(settings.max_import_mb * MEGABYTE),
            max_conversations=settings.max_import_conversations,
            max_messages=settings.max_import_messages,
            max_file_text_chars=settings.max_file_text_chars,
        ),
        model_served=lambda model: _serves(engines, model),
        imports=PerUserLimit("imports", settings.max_imports_per_user),
        caps=OwnerCaps(
            max_conversations=settings.max_conversations_per_user,
            max_stored_chars=int(settings.max_stored_mb_per_user * MEGABYTE),
        ),
    )
    gpus = GpuProbe()
    telemetry.watch(chat, engines, gpus)
    hasher = PasswordHasher(
        settings.bcrypt_rounds, settings.password_threads, settings.max_password_checks
    )
    accounts = AccountService(
        db,
        TokenSigner(secret, timedelta(minutes=settings.token_ttl_minutes)),
        SharedLoginThrottle(shared.redis, max_address_failures=settings.login_failures_per_address)
        if shared is not None
        else LoginThrottle(max_address_failures=settings.login_failures_per_address),
        hasher,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Before the first request is served (the store's work runs in a thread).
        recovered = await chat.start()
        if recovered:
            log.warning("marked %d answer(s) cut by a previous crash as interrupted", recovered)
        # Instances sharing a database may be running the others' background responses.
        if shared is None and (failed := await asyncio.to_thread(stored_responses.recover)):
            log.warning("marked %d background response(s) cut by a crash as failed", failed)
        engines.start()
        tool_registry.start()
        yield
        await chat.shutdown(settings.shutdown_grace_s)
        await stored_responses.shutdown()
        await chat.close()
        await tool_registry.close()
        await engines.close()
        hasher.close()
        gpus.close()
        workers.close()
        db.close()

    app = FastAPI(
        title="Parley",
        version=__version__,
        description="Self-hosted realtime LLM chat server.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.engines = engines
    app.state.chat = chat
    app.state.conversations = ConversationService(store, engines, channels, tool_registry)
    app.state.completions = completions
    app.state.responses = stored_responses
    app.state.archive = archive
    app.state.files = FileService(
        file_store,
        settings.max_file_text_chars,
        PerUserLimit("uploads", settings.max_uploads_per_user),
        int(settings.max_stored_mb_per_user * MEGABYTE),
    )
    app.state.accounts = accounts
    app.state.telemetry = telemetry
    app.state.host = HostSampler(settings.data_dir, gpus)
    app.state.socket_counts = (
        SharedSocketCounts(shared.cluster, settings.run_lease_s)
        if shared is not None
        else LocalSocketCounts()
    )
    install_error_handlers(app)
    app.add_middleware(TelemetryMiddleware, telemetry=telemetry)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    hosts = allowed_hosts(settings.allowed_hosts, settings.host, settings.allowed_origins)
    if hosts is not None:
        app.add_middleware(AllowedHostsMiddleware, allowed=hosts)
    # Outermost, so that every response, errors from the layers inside included, carries them.
    docs_paths = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(
        SecurityHeadersMiddleware, docs_paths=frozenset(p for p in docs_paths if p is not None)
    )
    for module in (
        auth,
        keys,
        conversations,
        transfer,
        search,
        files,
        models,
        tools,
        admin,
        system,
        simple,
        openai,
        responses,
        socket,
    ):
        app.include_router(module.router)
    app.include_router(openai.unknown_routes(openai.router, responses.router))
    _mount_spa(app, settings)
    return app


def _mount_spa(app: FastAPI, settings: Settings) -> None:
    static = _static_dir(settings)
    if static is None:
        log.info("no built frontend found; serving the API only")

        @app.get("/", include_in_schema=False)
        async def no_frontend() -> dict[str, str]:
            return {"name": "Parley", "api": "/api/v1", "docs": "/docs", "openai": "/v1"}

        return
    index = static / "index.html"
    if (static / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=static / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str) -> FileResponse:
        if path.startswith(("api/", "v1/", "ws/")):
            raise ApiError(404, "not_found", "No such route.")
        candidate = (static / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(static.resolve()):
            return FileResponse(candidate)
        return FileResponse(index)


def openapi_schema_json() -> str:
    """The REST API's OpenAPI document, the same on every machine (the SPA's types come from it).

    Built from an app on the scripted engine and a throwaway data directory: nothing is started,
    no model is loaded and nothing outside the temporary directory is touched.
    """
    with TemporaryDirectory(prefix="parley-openapi-") as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            model="scripted",
            secret_key="openapi-" + "0" * 32,
        )
        app = create_app(settings)
        schema = app.openapi()
        app.state.db.close()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
