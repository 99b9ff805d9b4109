"""The SPA against the real embedded SmolLM2 model (slow: run with `-m model`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.e2e.browser_helpers import DIST, answer_text, log_in, new_chat, send, wait_answer_done

pytestmark = pytest.mark.model


def test_hello_streams_a_real_answer(
    server_factory: type[ServerProcess], model_data_dir: Path, session_factory: Any
) -> None:
    server = server_factory(
        data_dir=model_data_dir, static_dir=str(DIST), max_new_tokens="48"
    ).start(timeout_s=300)
    page = session_factory(base_url=server.base_url).new_page()
    log_in(page, server.base_url)
    new_chat(page)
    send(page, "Hello")
    wait_answer_done(page, timeout_ms=180_000)
    assert answer_text(page).strip() != ""
