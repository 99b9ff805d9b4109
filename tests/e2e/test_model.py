"""The SPA against the real embedded SmolLM2 model (slow: run with `-m model`)."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import answer_text, log_in, new_chat, send, wait_answer_done

pytestmark = pytest.mark.model


def test_hello_streams_a_real_answer(start_server: Any, session_factory: Any) -> None:
    server = start_server("smollm2", max_new_tokens="48")
    page = session_factory(base_url=server.base_url).new_page()
    log_in(page, server.base_url)
    new_chat(page)
    send(page, "Hello")
    wait_answer_done(page, timeout_ms=180_000)
    assert answer_text(page).strip() != ""
