"""Shared fixtures: one converted SmolLM2 per test session, loaded once per limit setting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from engine_helpers import engine_settings

from parley.engine.base import Engine


@pytest.fixture(scope="session")
def model_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the session, so the GGUF is converted once (~20 s)."""
    return tmp_path_factory.mktemp("parley-data")


@pytest.fixture(scope="session")
async def smollm2(model_data_dir: Path) -> AsyncIterator[Engine]:
    from parley.engine.hf import load_engine

    engine = load_engine("smollm2", engine_settings(model_data_dir))
    yield engine
    await engine.close()


@pytest.fixture(scope="session")
async def one_slot_smollm2(model_data_dir: Path) -> AsyncIterator[Engine]:
    """The same model with room for one run at a time, to watch the queue."""
    from parley.engine.hf import load_engine

    engine = load_engine("smollm2", engine_settings(model_data_dir, max_concurrent_runs=1))
    yield engine
    await engine.close()
