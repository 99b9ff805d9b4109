"""Engine fixtures: SmolLM2 loaded once per engine and limit setting. The behaviour tests run
on both engines: transformers (the GGUF converted once per session into the shared
`model_data_dir`, tests/conftest.py) and llama.cpp on the GGUF itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.engine.base import Engine
from parley.engine.selection.choice import llamacpp_unavailable
from parley.engine.specs import EngineChoice, ModelSpec
from tests.engine.helpers import engine_settings

ENGINES = [
    "transformers",
    pytest.param(
        "llamacpp",
        marks=pytest.mark.skipif(
            llamacpp_unavailable() is not None, reason=str(llamacpp_unavailable())
        ),
    ),
]


def load_smollm2(kind: EngineChoice, data_dir: Path, **settings: object) -> Engine:
    from parley.engine.selection.manager import build_engine

    spec = ModelSpec(id="smollm2", path="smollm2", engine=kind)
    return build_engine(spec, engine_settings(data_dir, **settings)).engine


@pytest.fixture(scope="session", params=ENGINES)
def engine_kind(request: pytest.FixtureRequest) -> EngineChoice:
    """One parameter for every engine fixture, so a test never mixes two engines' answers."""
    kind: EngineChoice = request.param
    return kind


@pytest.fixture(scope="session")
async def smollm2(engine_kind: EngineChoice, model_data_dir: Path) -> AsyncIterator[Engine]:
    engine = load_smollm2(engine_kind, model_data_dir)
    yield engine
    await engine.close()


@pytest.fixture(scope="session")
async def one_slot_smollm2(
    engine_kind: EngineChoice, model_data_dir: Path
) -> AsyncIterator[Engine]:
    """The same model with room for one run at a time, to watch the queue."""
    engine = load_smollm2(engine_kind, model_data_dir, max_concurrent_runs=1)
    yield engine
    await engine.close()


@pytest.fixture(scope="session")
async def transformers_smollm2(model_data_dir: Path) -> AsyncIterator[Engine]:
    engine = load_smollm2("transformers", model_data_dir)
    yield engine
    await engine.close()
