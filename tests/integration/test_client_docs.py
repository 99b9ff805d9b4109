"""The Python examples of docs/client.md run as written against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, ServerProcess
from tests.integration.compat_support import create_key, register

DOC = REPO / "docs" / "client.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_doc_example_runs(scripted_server: ServerProcess, code: str, tmp_path: Path) -> None:
    _, token = register(scripted_server)
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {
        **os.environ,
        "PARLEY_URL": scripted_server.base_url,
        "PARLEY_API_KEY": create_key(scripted_server, token)["key"],
    }
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "You said:" in done.stdout


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 4
