"""litellm against a real Parley, as an OpenAI-compatible server (`openai/<model>`)."""

from __future__ import annotations

import json
from typing import Any

import litellm
import pytest

from tests.clients.conftest import Parley
from tests.clients.support import (
    ANSWER,
    QUESTION,
    SHORT,
    STRUCTURED,
    WEATHER_NAME,
    WEATHER_PROMPT,
    WEATHER_RESULT,
    Capital,
    WeatherArgs,
    all_of,
    chat_tool,
    check_logprobs,
    json_schema_format,
)

pytestmark = pytest.mark.model


def complete(parley: Parley, messages: list[dict[str, Any]], **options: Any) -> Any:
    return litellm.completion(
        model=f"openai/{parley.model}",
        api_base=parley.base_url,
        api_key=parley.key,
        messages=messages,
        **{"temperature": 0, "max_tokens": ANSWER, "num_retries": 0, **options},
    )


def test_plain_chat(parley: Parley) -> None:
    answer = complete(parley, [{"role": "user", "content": QUESTION}])
    assert answer.choices[0].message.content.strip()


def test_streaming(parley: Parley) -> None:
    chunks = list(complete(parley, [{"role": "user", "content": QUESTION}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 2 and text.strip()


def test_history_is_read(parley: Parley) -> None:
    question = {"role": "user", "content": "And of Italy?"}
    alone = complete(parley, [question])
    after = complete(
        parley,
        [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "Paris."},
            question,
        ],
    )
    assert after.choices[0].message.content.strip()
    assert after.usage.prompt_tokens > alone.usage.prompt_tokens


def test_a_tool_call_and_its_result(parley: Parley) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": WEATHER_PROMPT}]
    called = complete(
        parley, messages, tools=[chat_tool()], tool_choice="required", max_tokens=SHORT
    )
    message = called.choices[0].message
    assert message.tool_calls and message.tool_calls[0].function.name == WEATHER_NAME
    call = message.tool_calls[0]
    WeatherArgs.model_validate_json(call.function.arguments)
    messages += [
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": WEATHER_RESULT},
    ]
    answer = complete(parley, messages, tools=[chat_tool()])
    assert answer.choices[0].message.content or answer.choices[0].message.tool_calls


@pytest.mark.parametrize(
    "tool_choice",
    ["required", {"type": "function", "function": {"name": WEATHER_NAME}}],
    ids=["required", "named"],
)
def test_forced_tool_calls_always_validate(parley: Parley, tool_choice: object) -> None:
    answers = all_of(
        lambda: complete(
            parley,
            [{"role": "user", "content": WEATHER_PROMPT}],
            tools=[chat_tool()],
            tool_choice=tool_choice,
            max_tokens=SHORT,
            temperature=1.0,
        )
    )
    for answer in answers:
        calls = answer.choices[0].message.tool_calls
        assert answer.choices[0].finish_reason == "tool_calls" and calls, answer
        assert calls[0].function.name == WEATHER_NAME
        WeatherArgs.model_validate_json(calls[0].function.arguments)


@pytest.mark.parametrize(
    "response_format",
    [Capital, json_schema_format(), {"type": "json_object"}],
    ids=["pydantic", "json_schema", "json_object"],
)
def test_response_format(parley: Parley, response_format: object) -> None:
    answer = complete(
        parley,
        [{"role": "user", "content": f"{STRUCTURED} Answer in JSON."}],
        response_format=response_format,
        max_tokens=SHORT,
    )
    content = answer.choices[0].message.content
    if response_format == {"type": "json_object"}:
        assert isinstance(json.loads(content), dict)
    else:
        Capital.model_validate_json(content)


def test_logprobs(parley: Parley) -> None:
    answer = complete(
        parley, [{"role": "user", "content": QUESTION}], logprobs=True, top_logprobs=3
    )
    tokens = answer.choices[0].logprobs.content
    check_logprobs([(t.logprob, [a.logprob for a in t.top_logprobs]) for t in tokens], 3)


def test_embeddings(parley: Parley) -> None:
    answer = litellm.embedding(
        model=f"openai/{parley.model}",
        api_base=parley.base_url,
        api_key=parley.key,
        input=["a cat", "a dog"],
    )
    vectors = [item["embedding"] for item in answer.data]
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 0


def test_responses(parley: Parley) -> None:
    response = litellm.responses(
        model=f"openai/{parley.model}",
        api_base=parley.base_url,
        api_key=parley.key,
        input=QUESTION,
        max_output_tokens=ANSWER,
    )
    text = "".join(
        part.text
        for item in response.output
        if item.type == "message"
        for part in item.content
        if part.type == "output_text"
    )
    assert text.strip()
