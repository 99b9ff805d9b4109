"""OpenAI's Responses API (/v1/responses), driven by the official `openai` package."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.conftest import ServerProcess
from tests.integration.compat_support import create_key, register

THINKING = "Let me think about that."
PARIS = '[[call get_weather {"city": "Paris"}]]'
WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city now.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def client(scripted_server: ServerProcess) -> Iterator[openai.OpenAI]:
    _, token = register(scripted_server)
    key = create_key(scripted_server, token)["key"]
    with openai.OpenAI(
        base_url=f"{scripted_server.base_url}/v1", api_key=key, max_retries=0
    ) as client:
        yield client


def test_a_text_input_gets_a_response(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="scripted", instructions="Be terse.", input="hello there", temperature=0.3
    )
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == "You said: hello there"
    assert [item.type for item in response.output] == ["reasoning", "message"]
    reasoning = response.output[0]
    assert reasoning.type == "reasoning" and reasoning.content is not None
    assert reasoning.content[0].text == THINKING
    assert response.instructions == "Be terse." and response.temperature == 0.3
    usage = response.usage
    assert usage is not None and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_message_items_are_the_history(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="scripted",
        input=[
            {"role": "developer", "content": "Be terse."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "an answer"},
            {"role": "user", "content": [{"type": "input_text", "text": "second"}]},
        ],
        reasoning={"effort": "none"},
    )
    assert response.output_text == "You said: second"
    assert [item.type for item in response.output] == ["message"]


def test_the_length_limit_makes_it_incomplete(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="scripted", input="a b c d e f g", max_output_tokens=4, reasoning={"effort": "none"}
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"


def test_streaming_sends_the_typed_events_in_order(client: openai.OpenAI) -> None:
    with client.responses.stream(model="scripted", input="stream this") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    answer = [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    start = kinds.index("response.output_text.delta") - 2
    assert kinds[start : start + 3] == answer
    assert kinds[-5:-1] == [
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert len(deltas) > 1 and "".join(deltas) == "You said: stream this"
    thinking = [event.delta for event in events if event.type == "response.reasoning_text.delta"]
    assert "".join(thinking) == THINKING
    assert final.output_text == "You said: stream this"
    assert final.usage is not None and final.usage.output_tokens > 0


def test_a_function_call_and_its_output(client: openai.OpenAI) -> None:
    first = client.responses.create(
        model="scripted", input=f"What is the weather? {PARIS}", tools=[WEATHER]
    )
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    second = client.responses.create(
        model="scripted",
        tools=[WEATHER],
        input=[
            {"role": "user", "content": f"What is the weather? {PARIS}"},
            *[item.model_dump(exclude_none=True) for item in first.output],  # type: ignore[misc]
            {"type": "function_call_output", "call_id": call.call_id, "output": "18 C and sunny"},
        ],
    )
    assert second.output_text == "tool said: 18 C and sunny"


def test_a_streamed_function_call(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model="scripted", input=PARIS, tools=[WEATHER], tool_choice="required"
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert len(done) == 1 and json.loads(done[0].arguments) == {"city": "Paris"}
    assert [item.type for item in final.output][-1] == "function_call"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"text": {"format": {"type": "json_object"}}}, "text.format"),
        ({"background": True, "store": False}, "background"),
        ({"include": ["message.output_text.logprobs"]}, "include"),
        ({"extra_body": {"frequency_penalty": 1}}, "frequency_penalty"),
    ],
)
def test_what_is_not_honoured_is_a_400(
    client: openai.OpenAI, fields: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="scripted", input="x", **fields)
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == param


def test_an_image_input_is_refused(client: openai.OpenAI) -> None:
    image = {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="scripted",
            input=[{"role": "user", "content": [{"type": "input_text", "text": "x"}, image]}],
        )
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "input[0].content[1]"
    assert "does not support images" in body["message"]
