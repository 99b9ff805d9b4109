"""parley.client against a real server: log in or use a key, conversations, chat, stream,
stop, resume with after_seq; sync and async."""

from __future__ import annotations

import pytest

from parley.client import AsyncParleyClient, ParleyClient, ParleyError
from parley.protocol import (
    ChunkFrame,
    EndFrame,
    MessageFrame,
    SendOptions,
    StartFrame,
    ThinkingFrame,
)
from tests.conftest import ServerProcess
from tests.integration.compat_support import PASSWORD, create_key, register

THINKING = "Let me think about that."


def test_login_conversations_and_chat(scripted_server: ServerProcess) -> None:
    username, _ = register(scripted_server)
    with ParleyClient(scripted_server.base_url) as parley:
        parley.login(username, PASSWORD)
        assert parley.list_conversations() == []
        conversation = parley.create_conversation(title="notes")
        answer = parley.chat(conversation.id, "hello")
        assert answer.content == "You said: hello"
        assert answer.thinking == THINKING
        assert answer.finish_reason == "stop" and answer.usage is not None
        detail = parley.get_conversation(conversation.id)
        assert [m.role for m in detail.messages] == ["user", "assistant"]
        assert detail.messages[1].content == answer.content
        assert [c.id for c in parley.list_conversations()] == [conversation.id]


def test_stream_yields_typed_events_in_order(scripted_server: ServerProcess) -> None:
    _, token = register(scripted_server)
    key = create_key(scripted_server, token)["key"]
    with ParleyClient(scripted_server.base_url, api_key=key) as parley:
        conversation = parley.create_conversation()
        events = list(parley.stream(conversation.id, "stream please"))
    kinds = [type(event) for event in events if event.type != "status"]
    assert kinds[0] is StartFrame and kinds[-1] is EndFrame
    thinking = "".join(e.content for e in events if isinstance(e, ThinkingFrame))
    chunks = "".join(e.content for e in events if isinstance(e, ChunkFrame))
    assert thinking == THINKING and chunks == "You said: stream please"


def test_stop_cancels_the_answer(server_factory: type[ServerProcess]) -> None:
    server = server_factory(model="scripted", scripted_token_delay_s="0.2").start()
    _, token = register(server)
    with ParleyClient(server.base_url, token=token) as parley:
        conversation = parley.create_conversation()
        stream = parley.stream(conversation.id, "a long answer " * 5)
        events = []
        for event in stream:
            events.append(event)
            if isinstance(event, ThinkingFrame) and len(events) < 5:
                stream.stop()
        assert isinstance(events[-1], EndFrame)
        assert events[-1].finish_reason == "cancelled"


def test_resume_after_seq_replays_what_was_missed(scripted_server: ServerProcess) -> None:
    _, token = register(scripted_server)
    with ParleyClient(scripted_server.base_url, token=token) as parley:
        conversation = parley.create_conversation()
        parley.chat(conversation.id, "first")
        replay = list(parley.resume(conversation.id, after_seq=0))
        assert isinstance(replay[0], MessageFrame) and isinstance(replay[-1], EndFrame)
        text = "".join(e.content for e in replay if isinstance(e, ChunkFrame))
        assert text == "You said: first"
        last = parley.get_conversation(conversation.id).conversation.last_seq
        assert list(parley.resume(conversation.id, after_seq=last)) == []


def test_options_and_errors(scripted_server: ServerProcess) -> None:
    _, token = register(scripted_server)
    with ParleyClient(scripted_server.base_url, token=token) as parley:
        conversation = parley.create_conversation()
        answer = parley.chat(conversation.id, "one two three", SendOptions(max_tokens=2))
        assert answer.finish_reason == "length"
        with pytest.raises(ParleyError) as missing:
            parley.get_conversation("no-such-id")
        assert missing.value.status == 404
    with ParleyClient(scripted_server.base_url) as anonymous:
        with pytest.raises(ParleyError) as refused:
            anonymous.login("nobody_here", "wrong password")
        assert refused.value.code == "invalid_credentials"
        with pytest.raises(ParleyError):
            anonymous.list_conversations()


async def test_async_client(scripted_server: ServerProcess) -> None:
    username, _ = register(scripted_server)
    async with AsyncParleyClient(scripted_server.base_url) as parley:
        await parley.login(username, PASSWORD)
        conversation = await parley.create_conversation(title="async")
        answer = await parley.chat(conversation.id, "async hello")
        assert answer.content == "You said: async hello" and answer.thinking == THINKING
        stream = await parley.stream(conversation.id, "again")
        chunks = [e.content async for e in stream if isinstance(e, ChunkFrame)]
        assert "".join(chunks) == "You said: again"
        replay = [frame async for frame in parley.resume(conversation.id, after_seq=0)]
        assert sum(isinstance(f, EndFrame) for f in replay) == 2
        assert [c.id for c in await parley.list_conversations()] == [conversation.id]
