"""ChatService and its runs in process: what a socket would see (a subscriber's queue), what is
stored, and what a reconnecting socket gets replayed. The scripted engine answers
`You said: <message>` after `Let me think about that.`; a slow app waits before its first
token, so a run is still going while a test acts on it (stop, busy, shutdown)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.chat.errors import ChatRefused
from parley.chat.live.channels import Close
from parley.chat.live.service import CLOSE_LOGGED_OUT, Connection
from parley.protocol import (
    AnswerTracker,
    ChunkFrame,
    EndFrame,
    ErrorFrame,
    MessageFrame,
    ParleyError,
    ReadyFrame,
    SendOptions,
    ServerFrame,
    StartFrame,
    StatusFrame,
    ThinkingFrame,
)
from tests.in_process import InProcessApp, User, frames_until, next_frame, running_app

OPTIONS = SendOptions()


@pytest.fixture(scope="module")
async def parley(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessApp]:
    data_dir = tmp_path_factory.mktemp("chat-service")
    async with running_app(
        data_dir, f"sqlite:///{data_dir / 'parley.db'}", max_message_chars=100
    ) as app:
        yield app


@pytest.fixture(scope="module")
async def slow(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessApp]:
    """Runs that wait (in the engine, cancellably) far longer than any test before answering."""
    data_dir = tmp_path_factory.mktemp("chat-service-slow")
    async with running_app(
        data_dir,
        f"sqlite:///{data_dir / 'parley.db'}",
        scripted_first_token_delay_s=3600.0,
        shutdown_grace_s=0.0,
    ) as app:
        yield app


async def joined(parley: InProcessApp, user: User, conversation_id: str) -> Connection:
    connection = await parley.connect(user, conversation_id)
    assert isinstance(await next_frame(connection), ReadyFrame)
    return connection


async def fresh(parley: InProcessApp) -> tuple[User, str, Connection]:
    user = await parley.new_user()
    conversation_id = await parley.new_conversation(user.id)
    return user, conversation_id, await joined(parley, user, conversation_id)


def seqd(frames: list[ServerFrame]) -> list[ServerFrame]:
    """The frames a replay holds too: all but the wait states."""
    return [frame for frame in frames if not isinstance(frame, StatusFrame)]


def text(frames: list[ServerFrame], kind: type[ChunkFrame] | type[ThinkingFrame]) -> str:
    return "".join(frame.content for frame in frames if isinstance(frame, kind))


async def test_send_streams_the_answer_stores_it_and_replays_it_exactly(
    parley: InProcessApp,
) -> None:
    user, conversation_id, connection = await fresh(parley)
    await parley.chat.send(connection, "hello there", "c-1", OPTIONS)
    live = seqd(await frames_until(connection, "end", "error"))

    message, start, *streamed, end = live
    assert isinstance(message, MessageFrame) and message.message.content == "hello there"
    assert isinstance(start, StartFrame) and start.parent_id == message.message.id
    assert text(streamed, ThinkingFrame) == "Let me think about that."
    assert text(streamed, ChunkFrame) == "You said: hello there"
    assert isinstance(end, EndFrame) and end.finish_reason == "stop"
    seqs = [frame.seq for frame in live if not isinstance(frame, ReadyFrame)]
    assert seqs == list(range(1, len(live) + 1))

    detail = await parley.conversations.conversation_detail(user.id, conversation_id)
    question, answer = detail.messages
    assert (question.role, answer.role) == ("user", "assistant")
    assert answer.content == "You said: hello there" and answer.status == "complete"
    assert answer.id == start.message_id == end.message_id
    assert detail.conversation.last_seq == end.seq
    assert detail.conversation.title == "hello there"

    again = await parley.connect(user, conversation_id, after_seq=0)
    ready = await next_frame(again)
    assert isinstance(ready, ReadyFrame) and ready.last_seq == end.seq and not ready.active_run
    assert await frames_until(again, "end") == live
    parley.chat.disconnect(again)
    parley.chat.disconnect(connection)


async def test_every_socket_on_the_conversation_sees_the_run(parley: InProcessApp) -> None:
    user, conversation_id, first = await fresh(parley)
    second = await joined(parley, user, conversation_id)
    await parley.chat.send(first, "both", "c-1", OPTIONS)
    assert await frames_until(first, "end") == await frames_until(second, "end")


async def test_a_retried_send_answers_its_client_alone_with_what_it_made(
    parley: InProcessApp,
) -> None:
    user, conversation_id, connection = await fresh(parley)
    await parley.chat.send(connection, "once", "same-id", OPTIONS)
    first = await frames_until(connection, "end")
    await parley.chat.send(connection, "once", "same-id", OPTIONS)
    echo = await next_frame(connection)
    assert echo == first[0]
    assert connection.subscriber.queue.empty()
    detail = await parley.conversations.conversation_detail(user.id, conversation_id)
    assert len(detail.messages) == 2


async def test_regenerate_answers_the_same_question_beside_the_first_answer(
    parley: InProcessApp,
) -> None:
    user, conversation_id, connection = await fresh(parley)
    await parley.chat.send(connection, "again?", "c-1", OPTIONS)
    first = await frames_until(connection, "end")
    await parley.chat.regenerate(connection, OPTIONS)
    second = seqd(await frames_until(connection, "end"))
    assert isinstance(second[0], StartFrame) and isinstance(first[1], StartFrame)
    assert second[0].parent_id == first[1].parent_id
    assert text(second, ChunkFrame) == "You said: again?"
    detail = await parley.conversations.conversation_detail(user.id, conversation_id)
    assert [m.role for m in detail.messages] == ["user", "assistant", "assistant"]
    assert detail.conversation.current_leaf_id == second[0].message_id


async def test_a_failing_engine_ends_the_run_with_an_error_that_is_stored(
    parley: InProcessApp,
) -> None:
    user, conversation_id, connection = await fresh(parley)
    await parley.chat.send(connection, "please [[fail]]", "c-1", OPTIONS)
    error = (await frames_until(connection, "end", "error"))[-1]
    assert isinstance(error, ErrorFrame) and error.code == "generation_failed"
    answer = (await parley.conversations.conversation_detail(user.id, conversation_id)).messages[1]
    assert answer.status == "error" and answer.id == error.message_id


@pytest.mark.parametrize(
    ("content", "parent", "code"),
    [("x" * 101, None, "too_long"), ("hi", "no-such-message", "bad_request")],
)
async def test_a_refused_send_stores_nothing(
    parley: InProcessApp, content: str, parent: str | None, code: str
) -> None:
    user, conversation_id, connection = await fresh(parley)
    # Each refusal is the ParleyError of the rule that refuses (a limit, the tree).
    with pytest.raises(ParleyError) as refused:
        await parley.chat.send(
            connection, content, "c-1", OPTIONS, parent_id=parent, parent_given=parent is not None
        )
    assert refused.value.code == code
    assert (await parley.conversations.conversation_detail(user.id, conversation_id)).messages == []
    assert connection.subscriber.queue.empty()


async def test_ask_follows_the_answer_for_a_rest_caller(parley: InProcessApp) -> None:
    user = await parley.new_user()
    conversation_id = await parley.new_conversation(user.id)
    tracker = AnswerTracker(client_id="rest-1")
    events = [
        event async for event in parley.chat.ask(user.id, conversation_id, "rest", OPTIONS, tracker)
    ]
    assert isinstance(events[-1], EndFrame) and tracker.done
    assert text(list(events), ChunkFrame) == "You said: rest"
    assert parley.chat.active_runs() == []


async def test_a_second_send_while_answering_is_busy_and_stop_cancels(slow: InProcessApp) -> None:
    user, conversation_id, connection = await fresh(slow)
    await slow.chat.send(connection, "take your time", "c-1", OPTIONS)
    start = (await frames_until(connection, "start"))[-1]
    assert isinstance(start, StartFrame)

    with pytest.raises(ChatRefused) as busy:
        await slow.chat.send(connection, "and now?", "c-2", OPTIONS)
    assert busy.value.code == "busy"
    late = await slow.connect(user, conversation_id)
    ready = await next_frame(late)
    assert isinstance(ready, ReadyFrame) and ready.active_run is not None
    assert ready.active_run.message_id == start.message_id

    await slow.chat.stop(connection)
    end = (await frames_until(connection, "end"))[-1]
    assert isinstance(end, EndFrame) and end.finish_reason == "cancelled"
    assert (await frames_until(late, "end"))[-1] == end
    with pytest.raises(ChatRefused) as nothing:
        await slow.chat.stop(connection)
    assert nothing.value.code == "no_active_run"


async def test_logging_out_closes_the_users_sockets(parley: InProcessApp) -> None:
    user, _, connection = await fresh(parley)
    _, _, bystander = await fresh(parley)
    await parley.chat.disconnect_user(user.id)
    closed = connection.subscriber.queue.get_nowait()
    assert isinstance(closed, Close) and closed.code == CLOSE_LOGGED_OUT
    assert bystander.subscriber.queue.empty()


async def test_shutdown_saves_a_cut_answer_as_interrupted(tmp_path: Path, db_url: str) -> None:
    async with running_app(
        tmp_path, db_url, scripted_first_token_delay_s=3600.0, shutdown_grace_s=0.0
    ) as app:
        user, conversation_id, connection = await fresh(app)
        await app.chat.send(connection, "never finished", "c-1", OPTIONS)
        await frames_until(connection, "start")
        (run,) = app.chat.active_runs()
        await app.chat.shutdown(grace_s=0.0)
        assert run.done
        error = (await frames_until(connection, "error"))[-1]
        assert isinstance(error, ErrorFrame) and error.code == "interrupted"
        detail = await app.conversations.conversation_detail(user.id, conversation_id)
        assert detail.messages[1].status == "interrupted"
