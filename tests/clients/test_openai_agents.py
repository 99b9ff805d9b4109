"""The OpenAI Agents SDK (openai-agents) against a real Parley, on its default model: the
Responses API."""

from __future__ import annotations

import asyncio

import pytest
from agents import Agent, ModelSettings, RunConfig, Runner, function_tool
from agents.models.openai_provider import OpenAIProvider
from openai import AsyncOpenAI
from openai.types.responses import ResponseTextDeltaEvent

from tests.clients.conftest import Parley
from tests.clients.support import (
    QUESTION,
    STRUCTURED,
    WEATHER_NAME,
    WEATHER_PROMPT,
    WEATHER_RESULT,
    Capital,
)
from tests.clients.support import get_weather as weather_function

pytestmark = pytest.mark.model

get_weather = function_tool(weather_function)


def run_config(parley: Parley) -> RunConfig:
    """A model name resolved by the SDK's own OpenAI provider (Responses by default), sent to
    Parley; no traces uploaded. A client of its own: the provider's shared one keeps
    connections bound to the event loop of the run that opened them."""
    client = AsyncOpenAI(base_url=parley.base_url, api_key=parley.key, max_retries=0)
    return RunConfig(
        model_provider=OpenAIProvider(openai_client=client),
        tracing_disabled=True,
    )


# The SDK takes an answer cut at max_output_tokens (`response.incomplete`) for a failure of the
# model: the answers get room to end.
ROOM = 256
BRIEF = "Answer in one short sentence."


def agent(parley: Parley, **options: object) -> Agent:
    settings = ModelSettings(temperature=0, max_tokens=ROOM)
    return Agent(
        name="helper",
        instructions=BRIEF,
        model=parley.model,
        model_settings=settings,
        **options,  # type: ignore[arg-type]
    )


def test_plain_run(parley: Parley) -> None:
    result = Runner.run_sync(agent(parley), QUESTION, run_config=run_config(parley))
    assert isinstance(result.final_output, str) and result.final_output.strip()


def test_streamed_run(parley: Parley) -> None:
    async def deltas() -> list[str]:
        result = Runner.run_streamed(agent(parley), QUESTION, run_config=run_config(parley))
        return [
            event.data.delta
            async for event in result.stream_events()
            if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent)
        ]

    streamed = asyncio.run(deltas())
    assert len(streamed) > 1 and "".join(streamed).strip()


def test_history_is_read(parley: Parley) -> None:
    first = Runner.run_sync(agent(parley), QUESTION, run_config=run_config(parley))
    history = [*first.to_input_list(), {"role": "user", "content": "And of Italy?"}]
    second = Runner.run_sync(agent(parley), history, run_config=run_config(parley))  # type: ignore[arg-type]
    assert str(second.final_output).strip()
    assert second.context_wrapper.usage.input_tokens > first.context_wrapper.usage.input_tokens


def test_a_tool_using_agent_runs_to_its_final_output(parley: Parley) -> None:
    """The first turn must call the tool (the SDK lifts the forced choice after it), the
    second answers from its result."""
    weather_agent = Agent(
        name="weather",
        instructions=f"Answer questions about the weather with the tool. {BRIEF}",
        model=parley.model,
        tools=[get_weather],
        model_settings=ModelSettings(temperature=0, max_tokens=ROOM, tool_choice=WEATHER_NAME),
    )
    result = Runner.run_sync(weather_agent, WEATHER_PROMPT, run_config=run_config(parley))
    kinds = [item.type for item in result.new_items]
    assert "tool_call_item" in kinds and "tool_call_output_item" in kinds, kinds
    outputs = [item.output for item in result.new_items if item.type == "tool_call_output_item"]
    assert outputs[0] == WEATHER_RESULT
    assert isinstance(result.final_output, str) and result.final_output.strip()


def test_structured_output_type(parley: Parley) -> None:
    result = Runner.run_sync(
        agent(parley, output_type=Capital), STRUCTURED, run_config=run_config(parley)
    )
    assert isinstance(result.final_output, Capital)
