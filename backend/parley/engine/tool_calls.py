"""Tool calls in a model's answer: the ids every engine gives the calls it parses."""

from __future__ import annotations

import secrets


def new_call_id() -> str:
    """A fresh call id in OpenAI's shape (`call_` and 24 hex digits)."""
    return "call_" + secrets.token_hex(12)
