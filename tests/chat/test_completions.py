"""The shared generation core and the stateless completion service, on the scripted engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.chat.completions import (
    BadOptions,
    CompletionFailed,
    CompletionRefused,
    CompletionRequest,
    CompletionService,
    TooLarge,
)
from parley.chat.prepare.fairness import Admission, TooManyActive
from parley.chat.prepare.limits import MessageLimits
from parley.chat.prepare.request import GenerationOptions, prepare_generation
from parley.config import Settings
from parley.engine.base import ChatTurn, EngineError
from parley.engine.config import ScriptedConfig
from parley.engine.scripted import ScriptedEngine
from parley.engine.selection.manager import EngineManager
from parley.protocol import Finished, ModelUnavailable, Piece, Pieces


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
    admission = Admission(per_user=2, slots=8)
    service = CompletionService(engines, admission, default_max_tokens=16)
    request = CompletionRequest(turns=[ChatTurn("user", "ping")])
    pending = await service.prepare(request, await service.admit("u"))
    result = await service.collect(pending, started=0.0)
    assert result.answer == "You said: ping" and result.thinking == "Let me think about that."
    assert isinstance(result.finish, Finished) and result.finish.usage.total_tokens > 0

    with pytest.raises(ModelUnavailable):
        await service.prepare(
            CompletionRequest(turns=request.turns, model="nope"), await service.admit("u")
        )
    with pytest.raises(BadOptions) as too_many:
        await service.prepare(
            CompletionRequest(turns=request.turns, options=GenerationOptions(max_tokens=10**7)),
            await service.admit("u"),
        )
    assert too_many.value.code == "max_tokens_too_large"
    failing = await service.prepare(
        CompletionRequest(turns=[ChatTurn("user", "[[fail]]")]), await service.admit("u")
    )
    with pytest.raises(CompletionFailed):
        await service.collect(failing, started=0.0)
    # Every answer above, refused, done or failed, gave its user's place back.
    assert admission.active("u") == 0
    held = [await service.admit("u"), await service.admit("u")]
    with pytest.raises(TooManyActive) as limited:
        await service.admit("u")
    assert limited.value.code == "rate_limited" and held
    await engines.close()


async def test_stateless_requests_are_bounded_before_anything_is_rendered(
    tmp_path: Path,
) -> None:
    settings = Settings(model="scripted", data_dir=tmp_path, scripted_token_delay_s=0)
    engines = EngineManager(settings.engine_config())
    limits = MessageLimits(
        100, max_request_messages=3, max_request_chars=250, max_system_prompt_chars=50
    )
    service = CompletionService(
        engines, Admission(per_user=8, slots=8), default_max_tokens=16, limits=limits
    )
    short = ChatTurn("user", "hi")

    async def refusal(request: CompletionRequest) -> CompletionRefused:
        with pytest.raises(CompletionRefused) as refused:
            await service.prepare(request, await service.admit("u"))
        return refused.value

    many = await refusal(CompletionRequest(turns=[short] * 4))
    assert isinstance(many, TooLarge) and many.code == "too_many_messages"
    big = await refusal(CompletionRequest(turns=[ChatTurn("user", "x" * 90)] * 3))
    assert isinstance(big, TooLarge) and big.code == "too_large"
    system = await refusal(CompletionRequest(turns=[short], system_prompt="s" * 51))
    assert isinstance(system, BadOptions) and system.code == "too_long"
    one_long = await refusal(CompletionRequest(turns=[ChatTurn("user", "x" * 101)]))
    assert isinstance(one_long, BadOptions) and one_long.code == "too_long"
    stops = await refusal(
        CompletionRequest(turns=[short], options=GenerationOptions(stop=("a",) * 5))
    )
    assert isinstance(stops, BadOptions) and stops.code == "invalid_value"
    long_stop = await refusal(
        CompletionRequest(turns=[short], options=GenerationOptions(stop=("s" * 101,)))
    )
    assert isinstance(long_stop, BadOptions) and long_stop.code == "invalid_value"
    fits = await service.prepare(
        CompletionRequest(turns=[short] * 3, options=GenerationOptions(stop=("a",) * 4)),
        await service.admit("u"),
    )
    assert (await service.collect(fits, started=0.0)).answer.startswith("You said")
    await engines.close()
