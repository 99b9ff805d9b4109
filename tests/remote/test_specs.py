"""Remote entries of the models file: what they must say, and their clear refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parley.engine.specs import ModelSpec, RemoteSpec, read_models_file
from tests.remote.conftest import write_models_file


def read(tmp_path: Path, *entries: dict[str, Any]) -> list[ModelSpec | RemoteSpec]:
    return read_models_file(write_models_file(tmp_path / "models.json", list(entries)))


def test_a_remote_entry_sits_beside_local_ones(tmp_path: Path) -> None:
    local, remote = read(
        tmp_path,
        {"id": "here", "path": "scripted"},
        {
            "id": "big",
            "engine": "openai",
            "base_url": "http://gpu-box:8000/v1/",
            "model": "Qwen/Qwen3-32B",
            "api_key_env": "GPU_BOX_KEY",
            "context_length": 32768,
            "max_concurrency": 8,
            "thinking_switch": "ollama",
            "idle_timeout_s": 30,
        },
    )
    assert local == ModelSpec(id="here", path="scripted")
    assert remote == RemoteSpec(
        id="big",
        base_url="http://gpu-box:8000/v1",
        model="Qwen/Qwen3-32B",
        api_key_env="GPU_BOX_KEY",
        context_length=32768,
        max_concurrency=8,
        thinking_switch="ollama",
        idle_timeout_s=30,
    )


def test_the_optional_fields_have_defaults(tmp_path: Path) -> None:
    [remote] = read(
        tmp_path, {"id": "r", "engine": "openai", "base_url": "http://h/v1", "model": "m"}
    )
    assert isinstance(remote, RemoteSpec)
    assert (remote.api_key_env, remote.context_length, remote.max_concurrency) == (None,) * 3
    assert (remote.thinking_switch, remote.idle_timeout_s) == ("chat_template_kwargs", 60.0)


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"engine": "openai", "base_url": "http://h/v1", "model": "m"}, "needs"),
        ({"id": "r", "engine": "openai", "model": "m"}, r"needs \['base_url'\]"),
        ({"id": "r", "engine": "vllm", "base_url": "http://h/v1", "model": "m"}, "unknown engine"),
        ({"id": "r", "engine": "openai", "base_url": "h:8000", "model": "m"}, "http://"),
        ({"id": "r", "engine": "openai", "base_url": "http://h/v1", "model": ""}, "non-empty"),
        (
            {"id": "r", "engine": "openai", "base_url": "http://h/v1", "model": "m", "path": "x"},
            "unknown fields",
        ),
        (
            {
                "id": "r",
                "engine": "openai",
                "base_url": "http://h/v1",
                "model": "m",
                "max_concurrency": 0,
            },
            "positive integer",
        ),
        (
            {
                "id": "r",
                "engine": "openai",
                "base_url": "http://h/v1",
                "model": "m",
                "context_length": "8k",
            },
            "positive integer",
        ),
        (
            {
                "id": "r",
                "engine": "openai",
                "base_url": "http://h/v1",
                "model": "m",
                "idle_timeout_s": 0,
            },
            "positive number",
        ),
        (
            {
                "id": "r",
                "engine": "openai",
                "base_url": "http://h/v1",
                "model": "m",
                "thinking_switch": "on",
            },
            "thinking_switch",
        ),
    ],
)
def test_a_wrong_remote_entry_is_refused_with_the_reason(
    tmp_path: Path, entry: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        read(tmp_path, entry)
