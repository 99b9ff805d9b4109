"""One Parley fronting another: the upstream's /v1 is the remote, with an API key."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import ServerProcess
from tests.integration.compat_support import (
    TIME,
    WEATHER,
    bearer,
    create_key,
    register,
    sdk_as_new_user,
)
from tests.integration.test_terminal_chat import PROMPT, spawn_chat
from tests.integration.ws import ChatSocket, ChatUser, new_user, text_of
from tests.remote.conftest import write_models_file


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("upstream"),
        model="scripted",
        scripted_token_delay_s="0.02",
        scripted_answer="You said: {user}",
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def front(
    upstream: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("front")
    remote = {"engine": "openai", "base_url": f"{upstream.base_url}/v1", "model": "scripted"}
    models = write_models_file(
        data_dir / "models.json",
        [
            # No context_length: the upstream's /v1/models says it (max_model_len).
            {"id": "upstream", **remote, "api_key_env": "UPSTREAM_KEY"},
            {"id": "keyless", **remote, "context_length": 4096},
            {"id": "unset-key", **remote, "api_key_env": "PARLEY_TEST_UNSET_KEY"},
        ],
    )
    _, token = register(upstream)
    server = ServerProcess(data_dir, models_file=str(models), model="upstream")
    server.env["UPSTREAM_KEY"] = create_key(upstream, token)["key"]
    server.env.pop("PARLEY_TEST_UNSET_KEY", None)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def user(front: ServerProcess) -> ChatUser:
    return new_user(front)


async def test_a_chat_through_two_parleys(user: ChatUser) -> None:
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("hello upstream")
    frames = await socket.until("end", "error")
    await socket.close()
    assert frames[-1]["type"] == "end", frames[-1]
    # The upstream's thinking arrives as its reasoning_content, then as thinking here.
    assert text_of(frames, "thinking") == "Let me think about that."
    assert text_of(frames, "chunk") == "You said: hello upstream"
    assert frames[-1]["usage"]["completion_tokens"] > 0
    stored = user.conversation(conversation_id)["messages"][-1]
    assert (stored["status"], stored["thinking"]) == ("complete", "Let me think about that.")


def test_the_context_length_comes_from_the_upstream(front: ServerProcess, user: ChatUser) -> None:
    key = create_key(front, user.token)["key"]
    listed = httpx.get(f"{front.base_url}/v1/models", headers=bearer(key), timeout=10).json()
    lengths = {model["id"]: model["max_model_len"] for model in listed["data"]}
    # The scripted engine's context, told by the upstream; the keyless entry is not loaded.
    assert lengths["upstream"] == 4096
    assert lengths["keyless"] is None


async def test_thinking_off_reaches_the_upstream(user: ChatUser) -> None:
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("no thoughts", thinking=False)
    frames = await socket.until("end", "error")
    await socket.close()
    assert text_of(frames, "thinking") == ""
    assert text_of(frames, "chunk") == "You said: no thoughts"


async def test_without_the_key_the_upstream_refuses(front: ServerProcess, user: ChatUser) -> None:
    listed = httpx.get(f"{front.base_url}/api/models", headers=user.headers, timeout=10).json()
    states = {model["id"]: model for model in listed["models"]}
    assert states["upstream"]["state"] == "loaded"
    assert states["keyless"]["state"] == "failed"
    assert "HTTP 401" in states["keyless"]["error"]
    assert states["unset-key"]["state"] == "failed"
    assert "PARLEY_TEST_UNSET_KEY" in states["unset-key"]["error"]
    conversation_id = user.new_conversation(model="keyless")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("let me in")
    error = (await socket.until("error"))[-1]
    await socket.close()
    assert error["code"] == "model_unavailable" and "HTTP 401" in error["message"]


def test_the_terminal_chat_on_a_remote_model(front: ServerProcess) -> None:
    _, token = register(front)
    chat = spawn_chat(front, create_key(front, token)["key"])
    try:
        chat.expect_exact(PROMPT)
        chat.sendline("hello terminal")
        chat.expect_exact("thinking: ")
        chat.expect_exact("Let me think about that.")
        chat.expect_exact("You said: hello terminal")
        chat.expect_exact(PROMPT)
    finally:
        chat.close(force=True)


# The upstream's scripted engine makes these calls when the tools reach it.
TWO_CALLS = '[[call get_weather {"city": "Paris"}]] [[call get_time {}]]'


@pytest.fixture(scope="module")
def sdk(front: ServerProcess) -> Iterator[openai.OpenAI]:
    with sdk_as_new_user(front) as client:
        yield client


def test_tools_reach_the_upstream_and_its_calls_come_back(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(
        model="upstream",
        messages=[{"role": "user", "content": f"Looking. {TWO_CALLS}"}],
        tools=[WEATHER, TIME],
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Looking."
    calls = choice.message.tool_calls or []
    assert [(call.function.name, json.loads(call.function.arguments)) for call in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {}),
    ]
    # The upstream's own call ids, passed on.
    assert all(call.id.startswith("call_") for call in calls)
    assert calls[0].id != calls[1].id


def test_streamed_calls_through_two_parleys(sdk: openai.OpenAI) -> None:
    with sdk.chat.completions.stream(
        model="upstream",
        messages=[{"role": "user", "content": TWO_CALLS}],
        tools=[WEATHER, TIME],
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [(call.function.name, call.function.arguments) for call in calls] == [
        ("get_weather", '{"city": "Paris"}'),
        ("get_time", "{}"),
    ]


def test_the_choices_reach_the_upstream(sdk: openai.OpenAI) -> None:
    ask: list[ChatCompletionMessageParam] = [{"role": "user", "content": TWO_CALLS}]
    none = sdk.chat.completions.create(
        model="upstream", messages=ask, tools=[WEATHER, TIME], tool_choice="none"
    )
    assert none.choices[0].message.tool_calls is None
    assert none.choices[0].message.content == f"You said: {TWO_CALLS}"
    single = sdk.chat.completions.create(
        model="upstream", messages=ask, tools=[WEATHER, TIME], parallel_tool_calls=False
    )
    assert [call.function.name for call in single.choices[0].message.tool_calls or []] == [
        "get_weather"
    ]
    named = sdk.chat.completions.create(
        model="upstream",
        messages=[{"role": "user", "content": "what time is it"}],
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert [call.function.name for call in named.choices[0].message.tool_calls or []] == [
        "get_time"
    ]


def test_a_tool_result_round_trip_through_two_parleys(sdk: openai.OpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": '[[call get_weather {"city": "Oslo"}]]'}
    ]
    first = sdk.chat.completions.create(model="upstream", messages=messages, tools=[WEATHER])
    message = first.choices[0].message
    call = (message.tool_calls or [])[0]
    messages += [
        message.model_dump(exclude_none=True),  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": call.id, "content": "-3 C, snow"},
    ]
    second = sdk.chat.completions.create(model="upstream", messages=messages, tools=[WEATHER])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "tool said: -3 C, snow"


def test_embeddings_reach_the_upstream_and_its_refusal_comes_back(sdk: openai.OpenAI) -> None:
    """The scripted upstream does not embed: its 400 comes back through the front as one."""
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.embeddings.create(model="upstream", input=["hello"])
    assert caught.value.status_code == 400
    assert "does not support embeddings" in caught.value.message
