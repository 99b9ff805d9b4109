"""The engine manager: several models, failures kept apart, LRU residency, dummy weights."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from parley.config import Settings
from parley.engine.base import SamplingParams
from parley.engine.selection.manager import EngineManager, ModelUnavailable
from parley.engine.specs import EngineChoice
from tests.engine.helpers import answer, engine_settings

QWEN3_SHAPE = Path(__file__).parents[3] / "backend/parley/model_configs/qwen3-0.6b.json"


def models_file(tmp_path: Path, models: list[dict[str, object]]) -> Path:
    path = tmp_path / "models.json"
    path.write_text(json.dumps(models), encoding="utf-8")
    return path


def scripted_manager(tmp_path: Path, ids: list[str], **settings: object) -> EngineManager:
    listed = models_file(tmp_path, [{"id": model_id, "path": "scripted"} for model_id in ids])
    values: dict[str, object] = {"data_dir": tmp_path, "models_file": listed, "model": ids[0]}
    values.update(settings)
    return EngineManager(Settings.model_validate(values).engine_config())


def states(manager: EngineManager) -> dict[str, str]:
    return {status.id: status.state for status in manager.statuses()}


async def test_models_file_lists_every_model_and_the_default(tmp_path: Path) -> None:
    manager = scripted_manager(tmp_path, ["first", "second"], model="second")
    assert manager.default_model == "second"
    assert manager.resolve(None) == "second"
    assert states(manager) == {"first": "available", "second": "available"}
    with pytest.raises(ModelUnavailable) as caught:
        manager.resolve("third")
    assert caught.value.code == "unknown_model"


async def test_least_recently_used_model_is_unloaded_beyond_the_bound(tmp_path: Path) -> None:
    manager = scripted_manager(tmp_path, ["a", "b", "c"], max_loaded_models=2)
    await manager.acquire("a")
    await manager.acquire("b")
    await manager.acquire("a")  # b is now the least recently used.
    await manager.acquire("c")
    assert states(manager) == {"a": "loaded", "b": "available", "c": "loaded"}
    await manager.close()


async def test_load_runs_in_the_background_and_unload_frees(tmp_path: Path) -> None:
    manager = scripted_manager(tmp_path, ["a", "b"])
    await manager.load("b")
    assert states(manager)["b"] in ("loading", "loaded")
    await manager.acquire("b")
    assert states(manager)["b"] == "loaded"
    await manager.unload("b")
    assert states(manager)["b"] == "available"
    await manager.close()


def test_a_malformed_models_file_is_refused(tmp_path: Path) -> None:
    listed = models_file(tmp_path, [{"id": "a"}])
    with pytest.raises(ValueError, match="'path'"):
        EngineManager(Settings(data_dir=tmp_path, models_file=listed).engine_config())


@pytest.mark.model
async def test_a_model_that_fails_to_load_says_why_and_the_others_serve(
    model_data_dir: Path, tmp_path: Path
) -> None:
    listed = models_file(
        tmp_path,
        [{"id": "smol", "path": "smollm2"}, {"id": "broken", "path": str(tmp_path / "nowhere")}],
    )
    manager = EngineManager(engine_settings(model_data_dir, models_file=listed))
    with pytest.raises(ModelUnavailable) as caught:
        await manager.acquire("broken")
    assert caught.value.code == "model_failed"
    engine = await manager.acquire("smol")
    text, finished, _ = await answer(engine, "survivor", "Hi!")
    assert text and finished.finish_reason in ("stop", "length")
    by_id = {status.id: status for status in manager.statuses()}
    assert by_id["broken"].state == "failed"
    assert "nowhere" in (by_id["broken"].error or "")
    assert by_id["smol"].state == "loaded"
    assert by_id["smol"].device == "cpu" and (by_id["smol"].memory_bytes or 0) > 100_000_000
    await manager.close()


@pytest.mark.model
async def test_dummy_weights_build_the_architecture_of_a_config(
    model_data_dir: Path, tmp_path: Path
) -> None:
    # The real Qwen3-0.6B shape, shrunk so the test stays quick.
    config = json.loads(QWEN3_SHAPE.read_text(encoding="utf-8"))
    config.update(num_hidden_layers=2, hidden_size=64, intermediate_size=128, head_dim=16)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    listed = models_file(
        tmp_path, [{"id": "dummy", "path": "smollm2", "dummy_config": str(config_path)}]
    )
    manager = EngineManager(engine_settings(model_data_dir, models_file=listed))
    engine = await manager.acquire("dummy")
    assert engine.card.context_length == config["max_position_embeddings"]
    params = SamplingParams(max_tokens=4, temperature=0.0, ignore_eos=True)
    _, finished, _ = await asyncio.wait_for(answer(engine, "dummy", "Hi!", params), 60)
    assert (finished.finish_reason, finished.usage.completion_tokens) == ("length", 4)
    await manager.close()


def test_models_file_refuses_unknown_fields_and_repeated_ids(tmp_path: Path) -> None:
    from parley.engine.specs import read_models_file

    with pytest.raises(ValueError, match="unknown fields"):
        read_models_file(models_file(tmp_path, [{"id": "a", "path": "x", "colour": "red"}]))
    with pytest.raises(ValueError, match="unique"):
        read_models_file(
            models_file(tmp_path, [{"id": "a", "path": "x"}, {"id": "a", "path": "y"}])
        )


def test_models_file_refuses_a_context_length_that_is_no_positive_integer(
    tmp_path: Path,
) -> None:
    from parley.engine.specs import read_models_file

    for bad in (0, -5, "4096", 1.5, True):
        listed = models_file(tmp_path, [{"id": "a", "path": "x", "context_length": bad}])
        with pytest.raises(ValueError, match="'context_length' of 'a' must be a positive"):
            read_models_file(listed)


@pytest.mark.model
async def test_a_models_file_context_length_bounds_a_local_model(
    engine_kind: EngineChoice, model_data_dir: Path, tmp_path: Path
) -> None:
    """Shorter than the 8,192 tokens SmolLM2 was trained for: the card, what `GET /api/models`
    reports, and what a prompt is measured against."""
    listed = models_file(
        tmp_path,
        [{"id": "short", "path": "smollm2", "engine": engine_kind, "context_length": 600}],
    )
    manager = EngineManager(engine_settings(model_data_dir, models_file=listed))
    try:
        engine = await manager.acquire("short")
        assert engine.card.context_length == 600
        assert [status.context_length for status in manager.statuses()] == [600]
    finally:
        await manager.close()


async def test_a_model_that_is_answering_is_never_unloaded_to_make_room(tmp_path: Path) -> None:
    manager = scripted_manager(tmp_path, ["a", "b", "c"], max_loaded_models=2)
    async with manager.lease("a"), manager.lease("b"):
        with pytest.raises(ModelUnavailable) as refused:
            await manager.acquire("c")
        assert refused.value.code == "model_unavailable"
        assert "answering" in refused.value.message
        assert states(manager) == {"a": "loaded", "b": "loaded", "c": "available"}
    # Once idle, the least recently used one may go; the refusal left "c" loadable.
    async with manager.lease("b"):
        await manager.acquire("c")
        assert states(manager) == {"a": "available", "b": "loaded", "c": "loaded"}
    await manager.close()


async def test_an_answer_on_a_model_keeps_streaming_while_another_loads(tmp_path: Path) -> None:
    manager = scripted_manager(tmp_path, ["a", "b"], max_loaded_models=2, scripted_thinking="")
    async with manager.lease("a") as engine:
        await manager.acquire("b")
        text, finished, _ = await answer(engine, "r1", "still here", SamplingParams(max_tokens=20))
    assert "still here" in text and finished.finish_reason == "stop"
    await manager.close()
