"""What the Dockerfile must agree on with the rest of the repository (no build needed)."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO


def test_llama_cpp_python_is_the_version_pyproject_pins() -> None:
    # The Dockerfile's llama.cpp stage copies nothing from the repository, so that its layer
    # (a long compile) survives source changes: the pin is written in both places.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = project["optional-dependencies"]["llamacpp"][0].split("==")[1]
    dockerfile = (REPO / "Dockerfile").read_text()
    match = re.search(r"^ARG LLAMA_CPP_PYTHON_VERSION=(\S+)$", dockerfile, re.MULTILINE)
    assert match is not None
    assert match.group(1) == pinned
