"""pydantic-ai (pydantic-ai-slim[openai]) against a real Parley: agents on the Chat
Completions and Responses models, their output types, and single requests with tools."""

from __future__ import annotations

import pytest
from pydantic_ai import Agent, NativeOutput, PromptedOutput, ToolOutput
from pydantic_ai.direct import model_request_sync
from pydantic_ai.exceptions import UnexpectedModelBehavior
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition

from tests.clients.conftest import Parley
from tests.clients.support import (
    ANSWER,
    QUESTION,
    SHORT,
    STRUCTURED,
    WEATHER_DESCRIPTION,
    WEATHER_NAME,
    WEATHER_PROMPT,
    WEATHER_RESULT,
    Capital,
    WeatherArgs,
    all_of,
    weather_schema,
)

pytestmark = pytest.mark.model

SETTINGS = ModelSettings(temperature=0, max_tokens=ANSWER)
SHORT_SETTINGS = ModelSettings(temperature=0, max_tokens=SHORT)
WEATHER_TOOL = ToolDefinition(
    name=WEATHER_NAME, description=WEATHER_DESCRIPTION, parameters_json_schema=weather_schema()
)


def provider(parley: Parley) -> OpenAIProvider:
    return OpenAIProvider(base_url=parley.base_url, api_key=parley.key)


def chat_model(parley: Parley) -> OpenAIChatModel:
    return OpenAIChatModel(parley.model, provider=provider(parley))


def test_plain_chat(parley: Parley) -> None:
    result = Agent(chat_model(parley), model_settings=SETTINGS).run_sync(QUESTION)
    assert result.output.strip()


def test_streaming(parley: Parley) -> None:
    agent = Agent(chat_model(parley), model_settings=SETTINGS)
    result = agent.run_stream_sync(QUESTION)
    deltas = list(result.stream_text(delta=True, debounce_by=None))
    assert len(deltas) > 1 and "".join(deltas).strip()


def test_history_is_read(parley: Parley) -> None:
    agent = Agent(chat_model(parley), model_settings=SETTINGS)
    first = agent.run_sync(QUESTION)
    second = agent.run_sync("And of Italy?", message_history=first.all_messages())
    alone = agent.run_sync("And of Italy?")
    assert second.output.strip()
    assert second.usage().input_tokens > alone.usage().input_tokens


def ask_for_the_weather(parley: Parley, tool_choice: str | list[str]) -> ToolCallPart:
    """One forced call of the weather tool, with its arguments checked."""
    response = model_request_sync(
        chat_model(parley),
        [ModelRequest.user_text_prompt(WEATHER_PROMPT)],
        model_settings=ModelSettings(temperature=1.0, max_tokens=SHORT, tool_choice=tool_choice),
        model_request_parameters=ModelRequestParameters(
            function_tools=[WEATHER_TOOL], allow_text_output=False
        ),
    )
    calls = [part for part in response.parts if isinstance(part, ToolCallPart)]
    assert calls and calls[0].tool_name == WEATHER_NAME, response.parts
    WeatherArgs.model_validate(calls[0].args_as_dict())
    return calls[0]


def test_a_tool_call_and_its_result(parley: Parley) -> None:
    call = ask_for_the_weather(parley, [WEATHER_NAME])
    history: list[ModelMessage] = [
        ModelRequest.user_text_prompt(WEATHER_PROMPT),
        ModelResponse(parts=[call]),
        ModelRequest(
            parts=[ToolReturnPart(WEATHER_NAME, WEATHER_RESULT, tool_call_id=call.tool_call_id)]
        ),
    ]
    answer = model_request_sync(
        chat_model(parley),
        history,
        model_settings=SETTINGS,
        model_request_parameters=ModelRequestParameters(function_tools=[WEATHER_TOOL]),
    )
    assert any(isinstance(part, TextPart | ToolCallPart) for part in answer.parts)


@pytest.mark.parametrize("tool_choice", ["required", [WEATHER_NAME]], ids=["required", "named"])
def test_forced_tool_calls_always_validate(parley: Parley, tool_choice: str | list[str]) -> None:
    all_of(lambda: ask_for_the_weather(parley, tool_choice))


@pytest.mark.parametrize(
    "output_type",
    [Capital, ToolOutput(Capital), NativeOutput(Capital)],
    ids=["default", "tool", "native"],
)
def test_structured_output(parley: Parley, output_type: object) -> None:
    agent = Agent(
        chat_model(parley),
        output_type=output_type,  # type: ignore[arg-type]
        model_settings=SHORT_SETTINGS,
        # A wrong answer is the check's failure, not a reason to ask again.
        retries=0,
    )
    assert isinstance(agent.run_sync(STRUCTURED).output, Capital)


def test_prompted_output_is_answered(parley: Parley) -> None:
    """PromptedOutput only writes the schema into the prompt: the request asks the server for
    no format, so what the server owes is an answer; whether its text fits the schema is the
    model's doing (SmolLM2 may echo the schema), a content error, never a transport one."""
    agent = Agent(
        chat_model(parley),
        output_type=PromptedOutput(Capital),
        model_settings=SHORT_SETTINGS,
        retries=0,
    )
    try:
        output = agent.run_sync(STRUCTURED).output
    except UnexpectedModelBehavior:  # the text did not validate: the model's content
        return
    assert isinstance(output, Capital)


def test_the_responses_model(parley: Parley) -> None:
    model = OpenAIResponsesModel(parley.model, provider=provider(parley))
    assert Agent(model, model_settings=SETTINGS).run_sync(QUESTION).output.strip()
    structured = Agent(
        model, output_type=NativeOutput(Capital), model_settings=SHORT_SETTINGS, retries=0
    )
    assert isinstance(structured.run_sync(STRUCTURED).output, Capital)
