"""The multi-turn benchmark's pure parts: its rounds, tables and issue 25's target ratios."""

from pathlib import Path

from bench.turns import (
    RestartTimes,
    TurnTimes,
    flattened,
    restart_table,
    run_each,
    targets_table,
    turn_targets,
    turns_table,
    user_message,
)
from bench.websocket_clients import fresh_data_dir

from parley.engine.base import ChatTurn


def times(system: str, conversations: int, *ttft_ms: float) -> TurnTimes:
    return TurnTimes(system, conversations, list(ttft_ms))


async def test_runs_take_turns_in_rounds_on_conversations_of_their_own() -> None:
    seen: list[tuple[int, int]] = []

    async def runner(conversation: int, history: list[ChatTurn]) -> tuple[str, float]:
        assert history[-1] == ChatTurn("user", user_message(conversation, len(history) // 2))
        seen.append((conversation, len(history) // 2 + 1))
        return f"answer {conversation}", 0.001 * len(history)

    results = await run_each("parley", runner, [1, 2], turns=2)

    # Turn 1 of every conversation, then turn 2; the second run's numbers follow the first's.
    assert seen == [(0, 1), (0, 2), (1, 1), (2, 1), (1, 2), (2, 2)]
    assert [(r.conversations, r.ttft_ms) for r in results] == [(1, [1.0, 3.0]), (2, [1.0, 3.0])]


def test_the_targets_compare_the_last_turn_with_the_peer_and_with_the_first() -> None:
    results = [
        times("llamacpp", 1, 500, 800),
        times("parley", 1, 400, 880),
        times("llamacpp", 8, 500, 4_000),
        times("parley", 8, 400, 1_200),
    ]

    targets = turn_targets(results)

    assert [(t.name, round(t.ratio, 3), t.limit, t.holds) for t in targets] == [
        ("Parley / llama.cpp, turn 2, 1 conversation", 1.1, 1.2, True),
        ("Parley turn 2 / turn 1, 8 conversations", 3.0, 2.0, False),
    ]


def test_a_target_without_its_runs_is_left_out() -> None:
    assert turn_targets([times("parley", 1, 400, 800), times("seed", 8, 1, 2)]) == []


def test_the_turns_table_shows_every_turn_and_the_growth() -> None:
    lines = turns_table([times("seed", 1, 1_000, 1_500, 2_500.4)])

    assert lines == [
        "| system | conversations | turn 1 | turn 2 | turn 3 | last / first |",
        "|---|---|---|---|---|---|",
        "| seed | 1 | 1,000 | 1,500 | 2,500 | 2.5x |",
    ]


def restart(restarted_ms: float) -> RestartTimes:
    return RestartTimes(
        turns_before=10,
        restarted_ms=restarted_ms,
        in_memory_ms=100,
        reread_ms=1_000,
        prompt_tokens=2_000,
        restarted_cached_tokens=1_990,
        in_memory_cached_tokens=1_999,
        reread_prompt_tokens=2_010,
        reread_cached_tokens=0,
    )


def test_a_restored_turn_meets_the_restart_targets() -> None:
    assert [(t.ratio, t.holds) for t in restart(150).targets()] == [(1.5, True), (0.15, True)]


def test_a_turn_read_again_after_a_restart_misses_them() -> None:
    assert [(t.ratio, t.holds) for t in restart(1_000).targets()] == [(10.0, False), (1.0, False)]


def test_the_restart_and_target_tables() -> None:
    result = restart(150)

    assert restart_table(result)[2:] == [
        "| after a restart | 150 | 2,000 | 1,990 |",
        "| state in memory | 100 | 2,000 | 1,999 |",
        "| read whole (fresh data directory) | 1,000 | 2,010 | 0 |",
    ]
    assert targets_table(result.targets())[2:] == [
        "| restart / in memory | 1.50x | <= 2.0x | yes |",
        "| restart / re-read | 0.15x | <= 0.5x | yes |",
    ]


def test_a_flattened_conversation_keeps_every_turn_in_order() -> None:
    history = [ChatTurn("user", "Hello"), ChatTurn("assistant", "Hi"), ChatTurn("user", "Bye")]

    assert flattened(history) == "user: Hello\n\nassistant: Hi\n\nuser: Bye"


def test_a_fresh_data_dir_links_the_machine_caches_and_keeps_nothing_else(
    tmp_path: Path,
) -> None:
    (tmp_path / "quality").mkdir()
    (tmp_path / "quality" / "verdict.json").write_text("{}")
    (tmp_path / "parley.db").write_text("conversations")
    stale = tmp_path / "run" / "left-over"
    stale.parent.mkdir()
    stale.write_text("from the run before")

    folder = fresh_data_dir(tmp_path, "run")

    assert sorted(p.name for p in folder.iterdir()) == ["models", "quality"]
    assert (folder / "quality" / "verdict.json").read_text() == "{}"
    # What a server there adds to a cache, every later fresh directory finds.
    (folder / "models" / "converted.gguf").write_text("weights")
    assert (fresh_data_dir(tmp_path, "next") / "models" / "converted.gguf").exists()
    assert (tmp_path / "quality" / "verdict.json").exists()
