"""OpenAI's Responses API (/v1/responses), driven by the official `openai` package."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import agents
import httpx
import openai
import pytest

from tests.conftest import ServerFactory, ServerProcess
from tests.integration.compat_support import create_key, register, sdk_as_new_user

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


def test_thinking_is_the_reasoning_summary_when_one_is_asked(client: openai.OpenAI) -> None:
    whole = client.responses.create(
        model="scripted", input="sum it up", reasoning={"summary": "auto"}
    )
    reasoning = whole.output[0]
    assert reasoning.type == "reasoning"
    assert [part.text for part in reasoning.summary] == [THINKING]
    assert whole.reasoning is not None and whole.reasoning.summary == "auto"
    with client.responses.stream(
        model="scripted", input="sum it up", reasoning={"summary": "detailed"}
    ) as stream:
        events = list(stream)
    kinds = [event.type for event in events]
    assert "response.reasoning_text.delta" not in kinds
    start = kinds.index("response.reasoning_summary_part.added")
    assert kinds[start - 1] == "response.output_item.added"
    deltas = [e for e in events if e.type == "response.reasoning_summary_text.delta"]
    assert "".join(e.delta for e in deltas) == THINKING
    assert all(e.summary_index == 0 and e.item_id == reasoning_id(events) for e in deltas)
    done = next(e for e in events if e.type == "response.reasoning_summary_text.done")
    assert done.text == THINKING
    assert kinds.index("response.reasoning_summary_part.done") > kinds.index(done.type)
    final = next(e for e in events if e.type == "response.completed").response
    assert [part.text for part in final.output[0].summary] == [THINKING]  # type: ignore[union-attr]


def reasoning_id(events: list[Any]) -> str:
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.item.type == "reasoning"
    return str(added.item.id)


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
        # The scripted engine cannot promise JSON (llama.cpp can: test_structured_output.py).
        ({"text": {"format": {"type": "json_object"}}}, "response_format"),
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


# ---------- stored responses ----------

LONG = " ".join(f"word{i}" for i in range(60))


@pytest.fixture(scope="module")
def stranger(scripted_server: ServerProcess) -> Iterator[openai.OpenAI]:
    """Another user of the same server."""
    with sdk_as_new_user(scripted_server) as client:
        yield client


def test_a_response_is_stored_listed_and_deleted(client: openai.OpenAI) -> None:
    created = client.responses.create(model="scripted", input="keep this")
    assert created.store is True
    again = client.responses.retrieve(created.id)
    assert again.status == "completed" and again.output_text == "You said: keep this"
    assert again.model_dump() == created.model_dump()
    items = client.responses.input_items.list(created.id)
    assert [(item.type, item.role) for item in items.data] == [("message", "user")]  # type: ignore[union-attr]
    assert items.data[0].content[0].text == "keep this"  # type: ignore[union-attr]
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)


def test_store_false_keeps_nothing(client: openai.OpenAI) -> None:
    created = client.responses.create(model="scripted", input="forget this", store=False)
    assert created.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_a_streamed_response_is_stored_when_it_ends(client: openai.OpenAI) -> None:
    with client.responses.stream(model="scripted", input="stream and keep") as stream:
        final = stream.get_final_response()
    assert client.responses.retrieve(final.id).output_text == "You said: stream and keep"


def test_another_users_response_is_not_found(
    client: openai.OpenAI, stranger: openai.OpenAI
) -> None:
    mine = client.responses.create(model="scripted", input="mine")
    for attempt in (
        lambda: stranger.responses.retrieve(mine.id),
        lambda: stranger.responses.input_items.list(mine.id),
        lambda: stranger.responses.cancel(mine.id),
        lambda: stranger.responses.delete(mine.id),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    with pytest.raises(openai.NotFoundError) as caught:
        stranger.responses.create(model="scripted", input="x", previous_response_id=mine.id)
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "previous_response_id"
    assert client.responses.retrieve(mine.id).output_text == "You said: mine"


def test_previous_response_id_makes_the_history(client: openai.OpenAI) -> None:
    first = client.responses.create(model="scripted", instructions="Be terse.", input="first")
    second = client.responses.create(
        model="scripted", input="second", previous_response_id=first.id
    )
    assert second.output_text == "You said: second"
    assert second.previous_response_id == first.id
    # Instructions belong to the response that gave them, never carried over.
    assert second.instructions is None
    items = client.responses.input_items.list(second.id, order="asc")
    texts = [item.content[0].text for item in items.data if item.type == "message"]  # type: ignore[union-attr]
    assert texts == ["first", "You said: first", "second"]
    assert [item.type for item in items.data] == ["message", "reasoning", "message", "message"]
    third = client.responses.create(model="scripted", input="third", previous_response_id=second.id)
    chained = client.responses.input_items.list(third.id, order="asc", limit=100)
    assert len(chained.data) == 7 and not chained.has_more


def test_input_items_come_in_pages(client: openai.OpenAI) -> None:
    created = client.responses.create(
        model="scripted",
        input=[{"role": "user", "content": f"q{i}"} for i in range(5)],  # type: ignore[misc]
    )
    newest = client.responses.input_items.list(created.id, limit=2)
    assert [item.content[0].text for item in newest.data] == ["q4", "q3"]  # type: ignore[union-attr]
    assert newest.has_more and newest.last_id == newest.data[-1].id
    rest = client.responses.input_items.list(created.id, limit=10, after=newest.last_id)
    assert [item.content[0].text for item in rest.data] == ["q2", "q1", "q0"]  # type: ignore[union-attr]
    assert not rest.has_more


def test_bad_ids_and_parameters_are_clear_4xx(
    client: openai.OpenAI, scripted_server: ServerProcess
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="scripted", input="x", previous_response_id="resp_nope")
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "previous_response_id"
    assert "resp_nope" in body["message"]
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_nope")
    foreground = client.responses.create(model="scripted", input="x")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.cancel(foreground.id)
    assert "background" in str(caught.value.body)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.retrieve(foreground.id, stream=True)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.input_items.list(foreground.id, after="msg_nope")
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "after"
    headers = {"Authorization": f"Bearer {client.api_key}"}
    url = f"{scripted_server.base_url}/v1/responses/{foreground.id}"
    for query, param in (
        ({"starting_after": "3"}, "starting_after"),
        ({"stream": "true", "starting_after": "-1"}, "starting_after"),
    ):
        answer = httpx.get(url, params=query, headers=headers)
        assert answer.status_code in (400, 422), answer.text
        assert param in answer.text
    answer = httpx.get(f"{url}/input_items", params={"limit": "0"}, headers=headers)
    assert answer.status_code in (400, 422) and "limit" in answer.text
    assert client.responses.retrieve(foreground.id).status == "completed"


# ---------- background responses ----------


def test_a_background_response_resumes_from_starting_after(client: openai.OpenAI) -> None:
    created = client.responses.create(model="scripted", input=LONG, background=True)
    assert created.status in ("queued", "in_progress") and created.background is True
    seen: list[Any] = []
    # Followed until a few words of the answer are in, then left mid-answer.
    with client.responses.retrieve(created.id, stream=True) as stream:
        for event in stream:
            seen.append(event)
            if sum(e.type == "response.output_text.delta" for e in seen) == 3:
                break
    assert [e.sequence_number for e in seen] == list(range(len(seen)))
    cut = seen[-1].sequence_number
    assert client.responses.retrieve(created.id).status == "in_progress"
    with client.responses.retrieve(created.id, stream=True, starting_after=cut) as stream:
        rest = list(stream)
    assert [e.sequence_number for e in rest] == list(range(cut + 1, cut + 1 + len(rest)))
    assert rest[-1].type == "response.completed"
    deltas = [e.delta for e in seen + rest if e.type == "response.output_text.delta"]
    assert "".join(deltas) == f"You said: {LONG}"
    done = client.responses.retrieve(created.id)
    assert done.status == "completed" and done.output_text == f"You said: {LONG}"
    # Once ended, the whole stream replays as it was.
    with client.responses.retrieve(created.id, stream=True) as stream:
        replayed = list(stream)
    assert [e.model_dump() for e in replayed] == [e.model_dump() for e in seen + rest]


def test_a_background_stream_from_create(client: openai.OpenAI) -> None:
    with client.responses.stream(model="scripted", input="in the back", background=True) as stream:
        final = stream.get_final_response()
    assert final.output_text == "You said: in the back" and final.background is True
    assert client.responses.retrieve(final.id).status == "completed"


def test_a_background_response_can_be_cancelled(client: openai.OpenAI) -> None:
    created = client.responses.create(model="scripted", input=LONG, background=True)
    with client.responses.retrieve(created.id, stream=True) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                break
    cancelled = client.responses.cancel(created.id)
    assert cancelled.status == "cancelled"
    assert client.responses.retrieve(created.id).status == "cancelled"
    # The stream of a cancelled response ends where it stopped.
    with client.responses.retrieve(created.id, stream=True) as stream:
        kinds = [event.type for event in stream]
    assert "response.output_text.delta" in kinds and "response.completed" not in kinds
    assert client.responses.cancel(created.id).status == "cancelled"


def test_a_finished_background_response_outlives_a_restart(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(model="scripted", scripted_token_delay_s="0.01").start()
    with sdk_as_new_user(server) as client:
        created = client.responses.create(model="scripted", input="remember", background=True)
        with client.responses.retrieve(created.id, stream=True) as stream:
            before = [event.model_dump() for event in stream]
        server.stop()
        server.start()
        again = client.responses.retrieve(created.id)
        assert again.status == "completed" and again.output_text == "You said: remember"
        with client.responses.retrieve(created.id, stream=True, starting_after=2) as stream:
            after = [event.model_dump() for event in stream]
    assert after == before[3:]


# ---------- the Agents SDK ----------


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "run_streamed"])
def test_the_agents_sdk_runs_a_tool_round_trip(
    client: openai.OpenAI, scripted_server: ServerProcess, streamed: bool
) -> None:
    """The Agents SDK's default model (the Responses API), unchanged: the call, the tool's
    result sent back, the answer made from it."""
    cities: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city now."""
        cities.append(city)
        return f"18 C and sunny in {city}"

    sdk = openai.AsyncOpenAI(
        base_url=f"{scripted_server.base_url}/v1", api_key=client.api_key, max_retries=0
    )
    agent = agents.Agent(
        name="weather",
        tools=[get_weather],
        model=agents.OpenAIResponsesModel(model="scripted", openai_client=sdk),
    )
    question = f"What is the weather? {PARIS}"
    untraced = agents.RunConfig(tracing_disabled=True)

    async def run_streamed() -> agents.RunResultBase:
        result = agents.Runner.run_streamed(agent, question, max_turns=3, run_config=untraced)
        async for _ in result.stream_events():
            pass
        return result

    result = (
        asyncio.run(run_streamed())
        if streamed
        else agents.Runner.run_sync(agent, question, max_turns=3, run_config=untraced)
    )
    assert cities == ["Paris"]
    assert result.final_output == "tool said: 18 C and sunny in Paris"
