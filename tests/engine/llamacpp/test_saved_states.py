"""Idle conversations' KV on disk: the folder's rules without a model (key, checksum, size
bound), then the real SmolLM2 going on from a saved state, after an eviction and after a
restart, exactly as a fresh read would."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.engine.base import ChatTurn
from parley.engine.llamacpp.engine import LlamaCppEngine
from parley.engine.llamacpp.saved_states import SavedStates
from parley.engine.specs import EngineChoice
from tests.engine.conftest import load_smollm2
from tests.engine.llamacpp.test_keep import ask, fresh_read
from tests.engine.llamacpp.test_loop import DEEP_NOTES

KEY = "a" * 64
STATE = bytearray(range(256)) * 4


def saved_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.kv"))


def save_all(
    folder: Path, states: list[list[int]], key: str = KEY, max_bytes: int = 1 << 20
) -> None:
    saved = SavedStates(folder, key, max_bytes)
    for tokens in states:
        saved.save(tokens, STATE)
    saved.close()


def test_a_saved_state_is_found_by_its_longest_shared_start_after_a_reload(tmp_path: Path) -> None:
    save_all(tmp_path, [[1, 2, 3, 4], [1, 2, 7, 8, 9]])
    saved = SavedStates(tmp_path, KEY, 1 << 20)
    shared, found = saved.best([1, 2, 7, 8, 5])
    assert found is not None and (shared, found.tokens) == (4, [1, 2, 7, 8, 9])
    assert saved.read(found) == STATE
    assert saved.best([5, 6]) == (0, None)


def test_a_state_holding_another_s_start_replaces_it_and_a_shorter_one_is_dropped(
    tmp_path: Path,
) -> None:
    save_all(tmp_path, [[1, 2, 3], [1, 2, 3, 4, 5], [1, 2]])
    saved = SavedStates(tmp_path, KEY, 1 << 20)
    assert len(saved) == 1 and len(saved_files(tmp_path)) == 1
    assert saved.best([1, 2, 3, 4, 5, 6])[0] == 5


def test_a_state_saved_under_another_key_is_never_used_nor_deleted(tmp_path: Path) -> None:
    save_all(tmp_path, [[1, 2, 3, 4]], key="b" * 64)
    saved = SavedStates(tmp_path, KEY, 1 << 20)
    assert saved.best([1, 2, 3, 4, 5]) == (0, None)
    assert len(saved_files(tmp_path)) == 1


def test_a_damaged_state_is_deleted_and_never_served(tmp_path: Path) -> None:
    save_all(tmp_path, [[1, 2, 3, 4]])
    (path,) = saved_files(tmp_path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # One flipped bit in the state: the header still reads.
    path.write_bytes(data)
    saved = SavedStates(tmp_path, KEY, 1 << 20)
    _, found = saved.best([1, 2, 3, 4, 5])
    assert found is not None
    assert saved.read(found) is None
    assert saved.best([1, 2, 3, 4, 5]) == (0, None) and not path.exists()


@pytest.mark.parametrize("damage", ["truncated", "not ours"])
def test_an_unreadable_file_is_deleted_when_the_folder_is_read(tmp_path: Path, damage: str) -> None:
    save_all(tmp_path, [[1, 2, 3, 4]])
    (path,) = saved_files(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-1] if damage == "truncated" else b"something else" + data)
    saved = SavedStates(tmp_path, KEY, 1 << 20)
    assert len(saved) == 0 and not path.exists()


def test_the_size_bound_deletes_the_least_recently_used(tmp_path: Path) -> None:
    save_all(tmp_path, [[1]])
    (first,) = saved_files(tmp_path)
    save_all(tmp_path, [[2]])
    (second,) = set(saved_files(tmp_path)) - {first}
    os.utime(first, ns=(1_000_000_000, 1_000_000_000))
    os.utime(second, ns=(2_000_000_000, 2_000_000_000))
    saved = SavedStates(tmp_path, KEY, 1 << 20)
    # Reading the older one makes it the most recently used.
    _, found = saved.best([1])
    assert found is not None and found.path == first and saved.read(found) is not None
    saved.close()
    # Room for two: the third saved deletes the one used longest ago.
    size = first.stat().st_size
    save_all(tmp_path, [[3]], max_bytes=2 * size + size // 2)
    assert first.exists() and not second.exists() and len(saved_files(tmp_path)) == 2


def test_a_state_larger_than_the_bound_is_not_saved(tmp_path: Path) -> None:
    save_all(tmp_path, [[1, 2]], max_bytes=len(STATE) - 1)
    assert saved_files(tmp_path) == []


# ---- the real model ----


@contextlib.asynccontextmanager
async def saving_llamacpp(
    engine_kind: EngineChoice, data_dir: Path, **settings: object
) -> AsyncIterator[LlamaCppEngine]:
    if engine_kind != "llamacpp":
        pytest.skip("llama.cpp saves its KV streams")
    engine = load_smollm2("llamacpp", data_dir, kv_disk_gib=1, **settings)
    assert isinstance(engine, LlamaCppEngine)
    try:
        yield engine
    finally:
        await engine.close()


@pytest.mark.model
async def test_after_a_restart_the_next_turn_restores_its_state_and_answers_as_a_fresh_read(
    engine_kind: EngineChoice, model_data_dir: Path, tmp_path: Path
) -> None:
    turns = [ChatTurn("user", DEEP_NOTES + "Which lighthouse is the oldest?")]
    async with saving_llamacpp(engine_kind, tmp_path) as engine:
        text, finished = await ask(engine, "first", turns)
    held = finished.usage.prompt_tokens + finished.usage.completion_tokens - 1
    assert len(saved_files(tmp_path / "kv")) == 1  # Saved when the engine closed.

    turns += [ChatTurn("assistant", text), ChatTurn("user", "And which ones are blue?")]
    async with saving_llamacpp(engine_kind, tmp_path) as engine:
        text, finished = await ask(engine, "next", turns)
        assert finished.usage.cached_tokens >= held
        assert engine.prompt_tokens_restored == finished.usage.cached_tokens
    assert text == await fresh_read(model_data_dir, turns)


@pytest.mark.model
async def test_an_evicted_conversation_is_restored_from_disk_and_answers_as_a_fresh_read(
    engine_kind: EngineChoice, model_data_dir: Path, tmp_path: Path
) -> None:
    first = [ChatTurn("user", DEEP_NOTES + "Which lighthouse is the newest?")]
    other = [ChatTurn("user", "Name three colours.")]
    # One sequence: the other conversation's answer evicts the first one's stream.
    async with saving_llamacpp(engine_kind, tmp_path, max_concurrent_runs=1) as engine:
        text, finished = await ask(engine, "first", first)
        held = finished.usage.prompt_tokens + finished.usage.completion_tokens - 1
        await ask(engine, "other", other)
        first += [ChatTurn("assistant", text), ChatTurn("user", "Which ones are red?")]
        text, finished = await ask(engine, "again", first)
        assert finished.usage.cached_tokens >= held
        assert engine.prompt_tokens_restored == finished.usage.cached_tokens
    assert text == await fresh_read(model_data_dir, first)


@pytest.mark.model
async def test_a_stream_copied_since_the_last_decode_is_saved_with_the_copied_cells(
    engine_kind: EngineChoice, model_data_dir: Path, tmp_path: Path
) -> None:
    turns = [ChatTurn("user", DEEP_NOTES + "Which lighthouse is the oldest?")]
    async with saving_llamacpp(engine_kind, tmp_path) as engine:
        text, _ = await ask(engine, "first", turns)
        for _ in range(1000):  # The loop thread keeps the stream just after the answer ends.
            kept = [(loop, kept) for loop in engine._loops for kept in loop._streams.kept_streams()]
            if kept:
                break
            await asyncio.sleep(0.01)
        ((loop, (seq_id, tokens)),) = kept
        # While the loop waits for work: a copy as the table makes one, which llama.cpp runs
        # only at the next decode, saved before any (the close finds it saved already).
        assert loop.limits.max_sequences > 1
        other = (seq_id + 1) % loop.limits.max_sequences
        loop._kv.copy(seq_id, other)
        loop._save(other, tokens)
    turns += [ChatTurn("assistant", text), ChatTurn("user", "And which ones are blue?")]
    async with saving_llamacpp(engine_kind, tmp_path) as engine:
        text, finished = await ask(engine, "next", turns)
        assert finished.usage.cached_tokens == engine.prompt_tokens_restored > len(tokens) // 2
    assert text == await fresh_read(model_data_dir, turns)
