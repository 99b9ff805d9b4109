"""The official `openai` package against a real Parley: Chat Completions and Responses."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

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
    weather_schema,
)

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def client(parley: Parley) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=parley.base_url, api_key=parley.key, max_retries=0, timeout=300
    ) as client:
        yield client


def ask(
    client: openai.OpenAI, model: str, messages: list[ChatCompletionMessageParam], **options: object
) -> ChatCompletion:
    return client.chat.completions.create(
        model=model,
        messages=messages,
        **{"temperature": 0, "max_tokens": ANSWER, **options},  # type: ignore[arg-type]
    )


def test_plain_chat(client: openai.OpenAI, parley: Parley) -> None:
    answer = ask(client, parley.model, [{"role": "user", "content": QUESTION}])
    assert (answer.choices[0].message.content or "").strip()
    assert answer.choices[0].finish_reason in ("stop", "length")


def test_streaming(client: openai.OpenAI, parley: Parley) -> None:
    chunks = list(
        client.chat.completions.create(
            model=parley.model,
            messages=[{"role": "user", "content": QUESTION}],
            max_tokens=ANSWER,
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() and len(chunks) > 2
    assert chunks[-1].choices == [] or chunks[-1].choices[0].finish_reason is not None


def test_history_is_read(client: openai.OpenAI, parley: Parley) -> None:
    question: ChatCompletionMessageParam = {"role": "user", "content": "And of Italy?"}
    alone = ask(client, parley.model, [question])
    after = ask(
        client,
        parley.model,
        [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "Paris."},
            question,
        ],
    )
    assert (after.choices[0].message.content or "").strip()
    assert alone.usage is not None and after.usage is not None
    assert after.usage.prompt_tokens > alone.usage.prompt_tokens


def test_a_tool_call_and_its_result(client: openai.OpenAI, parley: Parley) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": WEATHER_PROMPT}]
    called = ask(
        client,
        parley.model,
        messages,
        tools=[chat_tool()],
        tool_choice="required",
        max_tokens=SHORT,
    )
    message = called.choices[0].message
    assert called.choices[0].finish_reason == "tool_calls" and message.tool_calls
    call = message.tool_calls[0]
    assert call.type == "function" and call.function.name == WEATHER_NAME
    WeatherArgs.model_validate_json(call.function.arguments)
    messages += [
        message.model_dump(exclude_none=True),  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": call.id, "content": WEATHER_RESULT},
    ]
    answer = ask(client, parley.model, messages, tools=[chat_tool()])
    assert answer.choices[0].message.content or answer.choices[0].message.tool_calls


@pytest.mark.parametrize(
    "tool_choice",
    ["required", {"type": "function", "function": {"name": WEATHER_NAME}}],
    ids=["required", "named"],
)
def test_forced_tool_calls_always_validate(
    client: openai.OpenAI, parley: Parley, tool_choice: object
) -> None:
    answers = all_of(
        lambda: ask(
            client,
            parley.model,
            [{"role": "user", "content": WEATHER_PROMPT}],
            tools=[chat_tool()],
            tool_choice=tool_choice,
            max_tokens=SHORT,
            temperature=1.0,
        )
    )
    for answer in answers:
        choice = answer.choices[0]
        assert choice.finish_reason == "tool_calls", choice
        assert choice.message.tool_calls, choice
        call = choice.message.tool_calls[0]
        assert call.type == "function" and call.function.name == WEATHER_NAME
        WeatherArgs.model_validate_json(call.function.arguments)


def test_response_format_json_schema(client: openai.OpenAI, parley: Parley) -> None:
    answer = ask(
        client,
        parley.model,
        [{"role": "user", "content": STRUCTURED}],
        response_format=json_schema_format(),
        max_tokens=SHORT,
    )
    Capital.model_validate_json(answer.choices[0].message.content or "")


def test_response_format_json_object(client: openai.OpenAI, parley: Parley) -> None:
    answer = ask(
        client,
        parley.model,
        [{"role": "user", "content": f"{STRUCTURED} Answer in JSON."}],
        response_format={"type": "json_object"},
        max_tokens=SHORT,
    )
    assert isinstance(json.loads(answer.choices[0].message.content or ""), dict)


def test_parse_into_a_pydantic_model(client: openai.OpenAI, parley: Parley) -> None:
    answer = client.chat.completions.parse(
        model=parley.model,
        messages=[{"role": "user", "content": STRUCTURED}],
        response_format=Capital,
        max_tokens=SHORT,
        temperature=0,
    )
    assert isinstance(answer.choices[0].message.parsed, Capital)


def test_logprobs(client: openai.OpenAI, parley: Parley) -> None:
    answer = ask(
        client, parley.model, [{"role": "user", "content": QUESTION}], logprobs=True, top_logprobs=3
    )
    logprobs = answer.choices[0].logprobs
    assert logprobs is not None and logprobs.content
    check_logprobs([(t.logprob, [a.logprob for a in t.top_logprobs]) for t in logprobs.content], 3)
    text = answer.choices[0].message.content or ""
    assert "".join(t.token for t in logprobs.content) == text


def test_streamed_logprobs(client: openai.OpenAI, parley: Parley) -> None:
    chunks = client.chat.completions.create(
        model=parley.model,
        messages=[{"role": "user", "content": QUESTION}],
        max_tokens=ANSWER,
        temperature=0,
        logprobs=True,
        top_logprobs=2,
        stream=True,
    )
    tokens = [
        (t.logprob, [a.logprob for a in t.top_logprobs])
        for chunk in chunks
        if chunk.choices and chunk.choices[0].logprobs and chunk.choices[0].logprobs.content
        for t in chunk.choices[0].logprobs.content
    ]
    check_logprobs(tokens, 2)


def test_embeddings(client: openai.OpenAI, parley: Parley) -> None:
    answer = client.embeddings.create(model=parley.model, input=["a cat", "a dog"])
    vectors = [item.embedding for item in answer.data]
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 0
    assert vectors[0] != vectors[1]


def test_responses_plain_and_streamed(client: openai.OpenAI, parley: Parley) -> None:
    response = client.responses.create(
        model=parley.model, input=QUESTION, max_output_tokens=ANSWER, temperature=0
    )
    assert response.output_text.strip()
    with client.responses.stream(
        model=parley.model, input=QUESTION, max_output_tokens=ANSWER, temperature=0
    ) as stream:
        events = list(stream)
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert events[-1].type in ("response.completed", "response.incomplete")
    assert deltas == events[-1].response.output_text == response.output_text


def test_responses_previous_response_id(client: openai.OpenAI, parley: Parley) -> None:
    first = client.responses.create(
        model=parley.model, input=QUESTION, max_output_tokens=ANSWER, store=True
    )
    second = client.responses.create(
        model=parley.model,
        input="And of Italy?",
        previous_response_id=first.id,
        max_output_tokens=ANSWER,
    )
    assert second.output_text.strip()
    alone = client.responses.create(model=parley.model, input="And of Italy?", max_output_tokens=1)
    assert second.usage is not None and alone.usage is not None
    assert second.usage.input_tokens > alone.usage.input_tokens
    assert client.responses.retrieve(first.id).output_text == first.output_text


def test_responses_tool_round_trip(client: openai.OpenAI, parley: Parley) -> None:
    tool = {
        "type": "function",
        "name": WEATHER_NAME,
        "description": "The weather in a city now.",
        "parameters": weather_schema(),
        "strict": True,
    }
    called = client.responses.create(
        model=parley.model,
        input=WEATHER_PROMPT,
        tools=[tool],  # type: ignore[list-item]
        tool_choice="required",
        max_output_tokens=SHORT,
    )
    calls = [item for item in called.output if item.type == "function_call"]
    assert calls and calls[0].name == WEATHER_NAME
    WeatherArgs.model_validate_json(calls[0].arguments)
    answer = client.responses.create(
        model=parley.model,
        input=[
            {"role": "user", "content": WEATHER_PROMPT},
            *[item.model_dump(exclude_none=True) for item in calls],  # type: ignore[misc]
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": WEATHER_RESULT},
        ],
        tools=[tool],  # type: ignore[list-item]
        max_output_tokens=ANSWER,
    )
    assert answer.output_text.strip() or any(i.type == "function_call" for i in answer.output)


def test_responses_parse(client: openai.OpenAI, parley: Parley) -> None:
    response = client.responses.parse(
        model=parley.model, input=STRUCTURED, text_format=Capital, max_output_tokens=SHORT
    )
    assert isinstance(response.output_parsed, Capital)


def test_background_stream_resumes_after_a_sequence_number(
    client: openai.OpenAI, parley: Parley
) -> None:
    """A background response's stream, left mid-answer, goes on from `starting_after` with
    the events not yet read, as though never left."""
    request = {"model": parley.model, "input": QUESTION, "max_output_tokens": 64}
    first: list[object] = []
    with client.responses.create(**request, background=True, store=True, stream=True) as stream:
        for event in stream:
            first.append(event)
            if sum(getattr(e, "type", "") == "response.output_text.delta" for e in first) == 3:
                break
    response_id = first[0].response.id  # type: ignore[attr-defined]
    last_seen = first[-1].sequence_number  # type: ignore[attr-defined]
    rest = list(client.responses.retrieve(response_id, stream=True, starting_after=last_seen))
    assert rest and rest[0].sequence_number == last_seen + 1
    events = [*first, *rest]
    assert [e.sequence_number for e in events] == list(range(len(events)))  # type: ignore[attr-defined]
    final = events[-1]
    assert final.type in ("response.completed", "response.incomplete")  # type: ignore[attr-defined]
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")  # type: ignore[attr-defined]
    assert text == final.response.output_text  # type: ignore[attr-defined]
    assert client.responses.retrieve(response_id).output_text == text
