"""The image, built once per session (cached layers make a rebuild take seconds), or the one
PARLEY_TEST_IMAGE names (an image built beforehand, by CI say)."""

from __future__ import annotations

import os

import pytest

from tests.container.podman import IMAGE, build_image, ensure_base_image, require_podman


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    require_podman()
    given = os.environ.get("PARLEY_TEST_IMAGE")
    if given:
        return given
    workdir = tmp_path_factory.mktemp("image")
    ensure_base_image(workdir)
    build_image(workdir / "build.log")
    return IMAGE
