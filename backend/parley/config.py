"""Settings from PARLEY_* environment variables, overridable by `parley serve` flags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from parley.engine.config import EngineConfig, ScriptedConfig
from parley.files.attachments import FILE_TEXT_MAX_CHARS
from parley.tools import ToolsConfig
from parley.workers import DEFAULT_THREADS

LogLevel = Literal["debug", "info", "warning", "error"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", env_file=None, extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0 picks a free one).")
    data_dir: Path = Field(
        Path.home() / ".local" / "share" / "parley",
        description="Where the database, the secret key and the converted models live.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLite (sqlite:///path) or PostgreSQL (postgresql://user:password@host:port/db) "
            "database; defaults to SQLite in the data directory."
        ),
    )
    database_pool_size: int = Field(
        10,
        ge=1,
        description=(
            "Threads (and PostgreSQL connections) one instance reads the database with; "
            "writes use one thread and 2 connections more."
        ),
    )
    redis_url: str | None = Field(
        None,
        description=(
            "Redis URL (redis://host:6379/0) shared by instances that serve as one server; "
            "unset: this process alone, everything in memory."
        ),
    )
    run_lease_s: float = Field(
        10.0,
        gt=0,
        description=(
            "With Redis: how long an instance's hold on its runs and its open sockets lasts "
            "unless renewed (every third of it); a dead instance's runs are interrupted within "
            "4/3 of it, and its sockets stop counting against their users' cap within it."
        ),
    )
    model: str = Field(
        "smollm2",
        description=(
            "Default model: 'smollm2' (embedded SmolLM2-135M-Instruct), a local Hugging Face "
            "folder, a .gguf file, or 'scripted' (deterministic test engine)."
        ),
    )
    models_file: Path | None = Field(
        None, description="JSON file listing several models (see docs/models.md)."
    )
    device: str = Field(
        "auto", description="'auto' (GPU with most free memory, else CPU), 'cpu' or 'cuda:N'."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weight precision; 'auto' picks per device."
    )
    secret_key: str | None = Field(
        None, description="JWT signing secret (>= 32 bytes); generated and kept if unset."
    )
    bcrypt_rounds: int = Field(
        12, ge=4, le=16, description="bcrypt cost of new password hashes (tests lower it)."
    )
    token_ttl_minutes: int = Field(60 * 24, ge=1, description="Access token lifetime.")
    password_threads: int = Field(
        2, ge=1, description="Threads that hash and check passwords (a pool of their own)."
    )
    max_password_checks: int = Field(
        16,
        ge=1,
        description="Logins and registrations hashing at once, waiting included; more get 429.",
    )
    login_failures_per_address: int = Field(
        30,
        ge=1,
        description=(
            "Failed logins from one client address, any usernames, within 5 minutes before "
            "its attempts get 429 (the per-username limit is 5)."
        ),
    )
    open_registration: bool = Field(
        True, description="Anyone may register; false: 403 registration_closed (use the CLI)."
    )
    credential_check_interval_s: float = Field(
        30.0,
        gt=0,
        description=(
            "How often an open socket re-checks its token or key (catches changes made by the "
            "CLI or another instance; changes made through this server close sockets at once)."
        ),
    )
    # NoDecode: the environment gives "a,b" (or a JSON list), not only JSON; split below.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Proxies whose X-Forwarded-For/-Proto are believed (addresses or networks, comma "
            "separated; '*' for any). Empty: none, the peer's own address counts."
        ),
    )
    # NoDecode: the environment gives "a,b" (or a JSON list), not only JSON; split below.
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra browser origins allowed for WebSocket and CORS (comma separated).",
    )
    # NoDecode: the environment gives "a,b" (or a JSON list), not only JSON; split below.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Host names requests and sockets may name in their Host header (comma separated; "
            "'*' for any); others get 400 host_not_allowed. Empty: the listen address, "
            "localhost, 127.0.0.1, ::1 and the hosts of PARLEY_ALLOWED_ORIGINS (any host when "
            "listening on 0.0.0.0 or ::)."
        ),
    )
    max_message_chars: int = Field(32_000, ge=1, description="Longest user message accepted.")
    max_request_messages: int = Field(
        1_000, ge=1, description="Most messages one /v1 or /api/v1 request may carry (413)."
    )
    max_request_chars: int = Field(
        500_000,
        ge=1,
        description="Most characters one /v1 or /api/v1 request's messages hold together (413).",
    )
    max_sockets_per_user: int = Field(
        20,
        ge=1,
        description=(
            "Sockets one user may hold open (on all instances together, with Redis); one more "
            "closes with 4429."
        ),
    )
    max_conversations_per_user: int = Field(
        10_000,
        ge=1,
        description="Conversations one user may keep; one more is 409 too_many_conversations.",
    )
    max_api_keys_per_user: int = Field(
        50, ge=1, description="API keys one user may hold; one more is 409 too_many_api_keys."
    )
    max_stored_mb_per_user: float = Field(
        1024,
        gt=0,
        description=(
            "Text one user's files may keep, in MiB of characters (a file keeps its text, not "
            "its bytes); an upload past it gets 409 storage_full."
        ),
    )
    max_active_per_user: int = Field(
        4,
        ge=1,
        description="Runs and completions of one user at once; more get 429 rate_limited.",
    )
    max_upload_mb: float = Field(
        20, gt=0, description="Largest file a user may attach (MB); larger uploads get 413."
    )
    max_file_text_chars: int = Field(
        FILE_TEXT_MAX_CHARS,
        ge=1,
        description=(
            "Characters of an attached or imported file's text that are stored; the rest is "
            "cut, with a note saying so."
        ),
    )
    work_threads: int = Field(
        DEFAULT_THREADS,
        ge=1,
        description=(
            "Threads for CPU-heavy work (PDF text, import parsing, token counting), a pool of "
            "their own beside the database's."
        ),
    )
    max_uploads_per_user: int = Field(
        2, ge=1, description="Uploads of one user read at once; more get 429 rate_limited."
    )
    max_imports_per_user: int = Field(
        1, ge=1, description="Imports of one user read at once; more get 429 rate_limited."
    )
    max_import_mb: float = Field(
        50, gt=0, description="Largest export file one import may read (MB)."
    )
    max_import_conversations: int = Field(
        1000, ge=1, description="Most conversations one import may hold."
    )
    max_import_messages: int = Field(
        100_000, ge=1, description="Most messages one import may hold, all conversations together."
    )
    max_new_tokens: int = Field(1024, ge=1, description="Default answer length limit in tokens.")
    max_batch_prompts: int = Field(
        16, ge=1, description="Most prompts one POST /api/v1/batch may carry."
    )
    max_concurrent_runs: int = Field(64, ge=1, description="Runs decoded together at most.")
    ws_rate_burst: int = Field(30, ge=1, description="WebSocket frames a client may send at once.")
    ws_rate_per_s: float = Field(10.0, gt=0, description="WebSocket frames per second sustained.")
    flush_interval_s: float = Field(1.0, gt=0, description="How often a streaming answer is saved.")
    status_interval_s: float = Field(
        10.0, gt=0, le=15, description="Heartbeat period while an answer waits for its first token."
    )
    shutdown_grace_s: float = Field(
        5.0, ge=0, description="On stop, how long running answers may finish before being cut."
    )
    bench_ignore_eos: bool = Field(
        False, description="Benchmarks only: answers always run to max_tokens."
    )
    # --- engine: model residency and batching limits (owned by the engine) ---
    max_loaded_models: int = Field(
        2, ge=1, description="Models kept in memory at once; the least recently used is unloaded."
    )
    kv_cache_gib: float = Field(
        4.0, gt=0, description="KV cache memory per model that admitted runs may reserve (GiB)."
    )
    kv_disk_gib: float = Field(
        4.0,
        ge=0,
        description=(
            "Disk under the data directory for idle conversations' KV state, so their next "
            "turn (also after a restart) does not read the history again (GiB; 0: none)."
        ),
    )
    prefill_chunk_tokens: int = Field(
        256, ge=16, description="Prompt tokens read per decode step while other runs stream."
    )
    cpu_threads: int = Field(
        0,
        ge=0,
        description=(
            "Torch threads for models on the CPU; 0 keeps torch's default (one per core). "
            "On a CPU shared with other busy processes 1 can be several times faster."
        ),
    )
    # --- end engine block ---
    remote_check_interval_s: float = Field(
        15.0, gt=0, description="How often remote models (engine 'openai') are checked."
    )
    # --- tools: MCP servers and the tool loop of chat runs ---
    tools_file: Path | None = Field(
        None, description="JSON file listing the MCP servers whose tools chats may use."
    )
    tool_timeout_s: float = Field(
        30.0, gt=0, description="One tool call's limit; past it the model is told it timed out."
    )
    tool_max_steps: int = Field(
        8,
        ge=1,
        description="Generations in one answer, tool calls between them; the last offers no tools.",
    )
    tool_result_max_chars: int = Field(
        20_000, ge=1, description="Longest tool result the model reads (longer ones are cut)."
    )
    tool_message_max_bytes: int = Field(
        1 << 20,
        ge=1024,
        description="Most bytes read of one message (a stdio line, an HTTP body or SSE event) from "
        "an MCP server; the rest is cut.",
    )
    tool_connect_timeout_s: float = Field(
        30.0, gt=0, description="Connecting to an MCP server and listing its tools, each time."
    )
    tool_check_interval_s: float = Field(
        30.0, gt=0, description="How often a connected MCP server's tools are listed again."
    )
    tool_retry_initial_s: float = Field(
        1.0, gt=0, description="First wait before reconnecting a failed MCP server (then doubled)."
    )
    tool_retry_max_s: float = Field(
        60.0, gt=0, description="Longest wait before reconnecting a failed MCP server."
    )
    log_level: LogLevel = Field("info", description="Log level.")
    log_json: bool = Field(False, description="Write logs as JSON lines.")
    static_dir: Path | None = Field(
        None, description="Built SPA to serve at / (defaults to frontend/dist if present)."
    )
    # Scripted engine knobs (tests and demos only).
    scripted_thinking: str = "Let me think about that."
    scripted_answer: str = "You said: {user}"
    scripted_token_delay_s: float = 0.01
    scripted_first_token_delay_s: float = 0.0
    scripted_context_length: int = Field(4096, ge=16)

    @field_validator("forwarded_allow_ips", "allowed_hosts", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list):
            return [str(item).strip() for item in value if str(item).strip()]
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            value = text.split(",")
        if isinstance(value, list):
            # An origin has no path: "https://chat.example/" means "https://chat.example".
            return [str(item).strip().rstrip("/") for item in value if str(item).strip()]
        return value

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            data_dir=self.data_dir,
            model=self.model,
            models_file=self.models_file,
            device=self.device,
            dtype=self.dtype,
            max_loaded_models=self.max_loaded_models,
            max_concurrent_runs=self.max_concurrent_runs,
            kv_cache_gib=self.kv_cache_gib,
            kv_disk_gib=self.kv_disk_gib,
            prefill_chunk_tokens=self.prefill_chunk_tokens,
            cpu_threads=self.cpu_threads,
            remote_check_interval_s=self.remote_check_interval_s,
            scripted=ScriptedConfig(
                thinking=self.scripted_thinking,
                answer=self.scripted_answer,
                token_delay_s=self.scripted_token_delay_s,
                first_token_delay_s=self.scripted_first_token_delay_s,
                context_length=self.scripted_context_length,
            ),
        )

    def tools_config(self) -> ToolsConfig:
        return ToolsConfig(
            tools_file=self.tools_file,
            call_timeout_s=self.tool_timeout_s,
            connect_timeout_s=self.tool_connect_timeout_s,
            check_interval_s=self.tool_check_interval_s,
            retry_initial_s=self.tool_retry_initial_s,
            retry_max_s=self.tool_retry_max_s,
            result_max_chars=self.tool_result_max_chars,
            message_max_bytes=self.tool_message_max_bytes,
        )

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "parley.db"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"
