"""What the engine layer is configured with: its own object, built from the server's Settings
(`Settings.engine_config()`), so engines never see the rest of the configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ScriptedConfig:
    """What the scripted engine (tests only) says and how fast."""

    thinking: str = "Let me think about that."
    # `{user}` is replaced by the last user message.
    answer: str = "You said: {user}"
    token_delay_s: float = 0.01
    first_token_delay_s: float = 0.0
    context_length: int = 4096


@dataclass(frozen=True, slots=True)
class EngineConfig:
    # Where converted models are cached (`<data_dir>/models`).
    data_dir: Path
    # The default model, unless `models_file` lists several.
    model: str
    models_file: Path | None
    device: str
    dtype: str
    max_loaded_models: int
    max_concurrent_runs: int
    kv_cache_gib: float
    # Disk for idle conversations' KV state (`<data_dir>/kv`); 0 saves none.
    kv_disk_gib: float
    prefill_chunk_tokens: int
    cpu_threads: int
    # How often a remote model's server is asked whether it still answers.
    remote_check_interval_s: float = 15.0
    scripted: ScriptedConfig = field(default_factory=ScriptedConfig)
