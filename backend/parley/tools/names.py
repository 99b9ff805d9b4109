"""The names of a tool: "<server>.<tool>" for people and the API, and the function name a model
calls, which chat templates (and OpenAI-style clients) want to match ^[A-Za-z0-9_-]{1,64}$."""

from __future__ import annotations

import hashlib
import re

_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_DIGEST_CHARS = 8


def qualified_name(server: str, tool: str) -> str:
    return f"{server}.{tool}"


def split_qualified(name: str) -> tuple[str, str] | None:
    """(server, tool) of "<server>.<tool>", or None for a name of another shape."""
    server, dot, tool = name.partition(".")
    return (server, tool) if dot and server and tool else None


def function_name(qualified: str) -> str:
    """The name offered to the model: "<server>__<tool>" where that is a safe name, else its
    safe characters cut short and a digest of the whole, so two tools never share one."""
    server, _, tool = qualified.partition(".")
    plain = f"{server}__{tool}"
    if _FUNCTION_NAME.fullmatch(plain):
        return plain
    digest = hashlib.sha256(qualified.encode()).hexdigest()[:_DIGEST_CHARS]
    return f"{_UNSAFE.sub('_', plain)[: 64 - _DIGEST_CHARS - 1]}_{digest}"


def called_name(stored: str) -> str:
    """The function name the model called, from a stored call's name: "<server>.<tool>" for
    a tool it was offered, else the name as the model wrote it."""
    return function_name(stored) if split_qualified(stored) is not None else stored
