"""The documented example scripts run as written."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, ServerProcess


def test_ws_chat_example_streams_an_answer(scripted_server: ServerProcess) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "docs/examples/ws_chat.py"),
            "--url",
            scripted_server.base_url,
            "Is this example alive?",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "You said: Is this example alive?" in result.stdout
    assert "[stop;" in result.stdout
