"""The shared generation core and the stateless completion service, on the scripted engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.chat.completions import (
    BadOptions,
    CompletionFailed,
    CompletionRequest,
    CompletionService,
    UnknownModel,
)
from parley.chat.generation import GenerationOptions, prepare_generation
from parley.config import Settings
from parley.engine.base import ChatTurn, EngineError
from parley.engine.manager import EngineManager
from parley.engine.scripted import ScriptedConfig, ScriptedEngine
from parley.protocol import Finished, Piece, Pieces


def joined(pieces: list[Piece], channel: str) -> str:
    return "".join(piece.text for piece in pieces if piece.channel == channel)


async def test_a_generation_separates_thinking_and_answer() -> None:
    engine = ScriptedEngine(ScriptedConfig(token_delay_s=0))
    prepared = await prepare_generation(
        engine,
        "r1",
        "be brief",
        [ChatTurn("user", "hi")],
        GenerationOptions(temperature=0.1, top_p=0.5, stop=("END",), seed=3),
        default_max_tokens=64,
    )
    assert prepared.request.params.temperature == 0.1
    assert prepared.request.params.stop == ("END",) and prepared.request.params.seed == 3
    pieces: list[Piece] = []
    outcome: Finished | None = None
    async for event in engine.generate(prepared.request):
        if isinstance(event, Pieces):
            pieces.extend(event.pieces)
        elif isinstance(event, Finished):
            outcome = event
    assert joined(pieces, "thinking") == "Let me think about that."
    assert joined(pieces, "answer") == "You said: hi"
    assert outcome is not None and outcome.finish_reason == "stop"
    usage = outcome.usage
    assert usage.completion_tokens > 0 and usage.prompt_tokens == prepared.prompt.tokens


async def test_an_engine_failure_keeps_the_held_back_text() -> None:
    engine = ScriptedEngine(ScriptedConfig(token_delay_s=0))
    prepared = await prepare_generation(
        engine, "r2", "", [ChatTurn("user", "[[fail]]")], GenerationOptions(), default_max_tokens=8
    )
    pieces: list[Piece] = []
    with pytest.raises(EngineError) as failed:
        async for event in engine.generate(prepared.request):
            if isinstance(event, Pieces):
                pieces.extend(event.pieces)
    assert "fail" in failed.value.message
    # The three tokens made before the failure, the splitter's held-back text included.
    assert joined(pieces, "thinking") == "Let me think"


async def test_completion_service(tmp_path: Path) -> None:
    settings = Settings(model="scripted", data_dir=tmp_path, scripted_token_delay_s=0)
    engines = EngineManager(settings.engine_config())
    service = CompletionService(engines, default_max_tokens=16)
    request = CompletionRequest(turns=[ChatTurn("user", "ping")])
    pending = await service.prepare(request)
    result = await service.collect(pending, started=0.0)
    assert result.answer == "You said: ping" and result.thinking == "Let me think about that."
    assert isinstance(result.finish, Finished) and result.finish.usage.total_tokens > 0

    with pytest.raises(UnknownModel):
        await service.prepare(CompletionRequest(turns=request.turns, model="nope"))
    with pytest.raises(BadOptions) as too_many:
        await service.prepare(
            CompletionRequest(turns=request.turns, options=GenerationOptions(max_tokens=10**7))
        )
    assert too_many.value.code == "max_tokens_too_large"
    failing = await service.prepare(CompletionRequest(turns=[ChatTurn("user", "[[fail]]")]))
    with pytest.raises(CompletionFailed):
        await service.collect(failing, started=0.0)
    await engines.close()
