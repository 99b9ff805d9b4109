"""Engine fixtures: SmolLM2 loaded once per limit setting, converted once per session into
the shared `model_data_dir` (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.engine.base import Engine
from tests.engine.helpers import engine_settings


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
