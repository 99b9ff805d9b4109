"""Tools in /v1/chat/completions, driven by the official `openai` package against a real server
on the scripted engine (its `[[call NAME {...}]]` markers make the calls)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from tests.conftest import ServerProcess
from tests.integration.compat_support import TIME, WEATHER, bearer, sdk_as_new_user

PARIS = '[[call get_weather {"city": "Paris"}]]'


@pytest.fixture(scope="module")
def client(scripted_server: ServerProcess) -> Iterator[openai.OpenAI]:
    """The SDK on /v1 as a new user; `client.api_key` serves the raw requests too."""
    with sdk_as_new_user(scripted_server) as sdk:
        yield sdk


def post(client: openai.OpenAI, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{client.base_url}chat/completions", json=body, headers=bearer(client.api_key), timeout=30
    )


def ask(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def test_a_call_is_a_message_tool_call(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="scripted", messages=ask(f"Let me look. {PARIS}"), tools=[WEATHER, TIME]
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me look."
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    call = calls[0]
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


def test_an_answer_of_calls_alone_has_null_content(client: openai.OpenAI) -> None:
    body = {
        "model": "scripted",
        "messages": ask(f"{PARIS} [[call get_time {{}}]]"),
        "tools": [WEATHER, TIME],
    }
    answer = post(client, body)
    assert answer.status_code == 200, answer.text
    message = answer.json()["choices"][0]["message"]
    assert message["content"] is None
    assert [call["function"]["name"] for call in message["tool_calls"]] == [
        "get_weather",
        "get_time",
    ]
    assert len({call["id"] for call in message["tool_calls"]}) == 2


def test_the_prompt_count_includes_the_offered_tools(client: openai.OpenAI) -> None:
    def prompt_tokens(**tools: Any) -> int:
        completion = client.chat.completions.create(
            model="scripted", messages=ask("hello"), max_completion_tokens=1, **tools
        )
        assert completion.usage is not None
        return completion.usage.prompt_tokens

    plain = prompt_tokens()
    assert prompt_tokens(tools=[WEATHER]) > plain + 10
    assert prompt_tokens(tools=[WEATHER, TIME]) > prompt_tokens(tools=[WEATHER])
    # "none": not offered, so not read.
    assert prompt_tokens(tools=[WEATHER], tool_choice="none") == plain


def test_parallel_tool_calls_off_makes_one_call(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="scripted",
        messages=ask(f"{PARIS} [[call get_time {{}}]]"),
        tools=[WEATHER, TIME],
        parallel_tool_calls=False,
    )
    calls = completion.choices[0].message.tool_calls
    assert calls is not None and [call.function.name for call in calls] == ["get_weather"]


def test_the_sdk_stream_helper_assembles_the_calls(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="scripted",
        messages=ask(f"Checking. {PARIS} [[call get_time {{}}]]"),
        tools=[WEATHER, TIME],
    ) as stream:
        done = [
            (event.name, json.loads(event.arguments))
            for event in stream
            if event.type == "tool_calls.function.arguments.done"
        ]
        final = stream.get_final_completion()
    assert done == [("get_weather", {"city": "Paris"}), ("get_time", {})]
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    calls = choice.message.tool_calls or []
    assert [(call.function.name, call.function.arguments) for call in calls] == [
        ("get_weather", '{"city": "Paris"}'),
        ("get_time", "{}"),
    ]
    assert all(call.id.startswith("call_") for call in calls)


def test_streamed_pieces_accumulate_by_index(client: openai.OpenAI) -> None:
    """What a client without the helper does: join the pieces of each `index`."""
    stream = client.chat.completions.create(
        model="scripted",
        messages=ask(f"{PARIS} [[call get_time {{}}]]"),
        tools=[WEATHER, TIME],
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finishes = []
    with stream:
        for chunk in stream:
            for choice in chunk.choices:
                for piece in choice.delta.tool_calls or ():
                    call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] += piece.id or ""
                    if piece.function is not None:
                        call["name"] += piece.function.name or ""
                        call["arguments"] += piece.function.arguments or ""
                if choice.finish_reason is not None:
                    finishes.append(choice.finish_reason)
    assert finishes == ["tool_calls"]
    assert sorted(calls) == [0, 1]
    assert (calls[0]["name"], json.loads(calls[0]["arguments"])) == (
        "get_weather",
        {"city": "Paris"},
    )
    assert (calls[1]["name"], calls[1]["arguments"]) == ("get_time", "{}")
    assert calls[0]["id"] != calls[1]["id"]


def test_a_tool_result_round_trip(client: openai.OpenAI) -> None:
    messages = ask(f"What is the weather? {PARIS}")
    first = client.chat.completions.create(model="scripted", messages=messages, tools=[WEATHER])
    call = (first.choices[0].message.tool_calls or [])[0]
    messages = [
        *messages,
        first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"},
    ]
    second = client.chat.completions.create(model="scripted", messages=messages, tools=[WEATHER])
    choice = second.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.content == "tool said: 18 C and sunny"
    assert choice.message.tool_calls is None


def test_tool_choice_none_offers_nothing(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="scripted", messages=ask(PARIS), tools=[WEATHER], tool_choice="none"
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    assert choice.message.content == f"You said: {PARIS}"


def test_tool_choice_required_and_named(client: openai.OpenAI) -> None:
    required = client.chat.completions.create(
        model="scripted", messages=ask("hello"), tools=[WEATHER, TIME], tool_choice="required"
    )
    named = client.chat.completions.create(
        model="scripted",
        messages=ask("hello"),
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    for completion, name in ((required, "get_weather"), (named, "get_time")):
        calls = completion.choices[0].message.tool_calls or []
        assert [call.function.name for call in calls] == [name]
        assert completion.choices[0].finish_reason == "tool_calls"


def _refusal(client: openai.OpenAI, **body: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {"model": "scripted", "messages": ask("hello"), **body}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**arguments)
    assert caught.value.status_code == 400
    error = caught.value.body
    assert isinstance(error, dict) and error["type"] == "invalid_request_error"
    return error


def _function(name: str = "f", parameters: Any = None) -> ChatCompletionToolParam:
    function: dict[str, Any] = {"name": name}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}  # type: ignore[typeddict-item]


def test_an_invalid_schema_is_a_400(client: openai.OpenAI) -> None:
    error = _refusal(client, tools=[TIME, _function(parameters={"type": "nonsense"})])
    assert error["code"] == "invalid_function_parameters"
    assert error["param"] == "tools[1].function.parameters"
    assert "Invalid schema for function 'f'" in error["message"]
    not_object = _refusal(client, tools=[_function(parameters={"type": "string"})])
    assert not_object["code"] == "invalid_function_parameters"
    assert '"type": "object"' in not_object["message"]
    nested = _refusal(
        client,
        tools=[_function(parameters={"type": "object", "properties": {"x": {"minimum": "one"}}})],
    )
    assert "$.properties.x.minimum" in nested["message"]


def test_bad_function_names_are_a_400(client: openai.OpenAI) -> None:
    spaced = _refusal(client, tools=[_function("get weather")])
    assert (spaced["code"], spaced["param"]) == ("invalid_function_name", "tools[0].function.name")
    twice = _refusal(client, tools=[TIME, TIME])
    assert (twice["code"], twice["param"]) == ("duplicate_function_name", "tools[1].function.name")


def test_a_tool_choice_naming_an_unknown_function_is_a_400(client: openai.OpenAI) -> None:
    unknown = _refusal(
        client, tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}}
    )
    assert (unknown["code"], unknown["param"]) == ("invalid_tool_choice", "tool_choice")
    assert "'nope'" in unknown["message"]
    without_tools = _refusal(client, tool_choice="required")
    assert without_tools["code"] == "invalid_tool_choice"


def test_a_tool_result_for_no_call_is_a_400(client: openai.OpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        *ask("hello"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
    ]
    error = _refusal(client, messages=messages, tools=[TIME])
    assert error["code"] == "unmatched_tool_call_id"
    assert "'call_2'" in error["message"]


def test_a_malformed_tool_is_refused_in_openais_shape(client: openai.OpenAI) -> None:
    """The body's own shape (a tool that is not a function) is a validation error, as for
    every other field."""
    body = {"model": "scripted", "messages": ask("x"), "tools": [{"type": "retrieval"}]}
    answer = post(client, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["param"] is not None


def test_hostile_tool_bodies_are_client_errors(client: openai.OpenAI) -> None:
    deep: dict[str, Any] = {"type": "object"}
    for _ in range(200):
        deep = {"type": "object", "properties": {"x": deep}}
    for tools in (
        [{"type": "function", "function": {"name": "f", "parameters": {"$schema": []}}}],
        [{"type": "function", "function": {"name": "f", "parameters": {"$schema": 5}}}],
        [{"type": "function", "function": {"name": "f", "parameters": []}}],
        [{"type": "function", "function": {"name": "", "parameters": {"type": "object"}}}],
        [{"type": "function", "function": {"name": "f", "parameters": {"$ref": "http://x/y"}}}],
        [{"type": "function", "function": {"name": "f", "parameters": deep}}],
    ):
        body = {"model": "scripted", "messages": ask("x"), "tools": tools}
        answer = post(client, body)
        assert answer.status_code in (400, 422), (tools, answer.text)


def test_tools_count_toward_the_request_bounds(client: openai.OpenAI) -> None:
    many = [_function(f"f{index}") for index in range(129)]
    assert _refusal(client, tools=many)["code"] == "too_many_tools"
    huge: ChatCompletionToolParam = {
        "type": "function",
        "function": {"name": "f", "description": "x" * 500_001},
    }
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="scripted", messages=ask("hi"), tools=[huge])
    assert caught.value.status_code == 413
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "too_large"
