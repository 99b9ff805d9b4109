"""Branches, attachments in messages and thinking per conversation, against a real server on
the scripted engine (which answers "You said: <the last user turn>", files included)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ServerFactory, ServerProcess
from tests.helpers import error_code
from tests.integration.ws import ChatSocket, ChatUser, Frame, new_user, text_of


async def send(socket: ChatSocket, content: str, **fields: Any) -> list[Frame]:
    """Send a message (with `parent_id`, `attachments`, ... when given) and read to its end."""
    frame: Frame = {
        "type": "send",
        "content": content,
        "client_id": content + "-" + str(id(fields)),
    }
    frame.update(fields)
    await socket.send(frame)
    return await socket.until("end", "error")


def by_content(user: ChatUser, conversation_id: str) -> dict[str, dict[str, Any]]:
    return {m["content"]: m for m in user.conversation(conversation_id)["messages"]}


def leaf(user: ChatUser, conversation_id: str) -> str | None:
    value = user.conversation(conversation_id)["conversation"]["current_leaf_id"]
    return str(value) if value is not None else None


def end_of(frames: list[Frame]) -> Frame:
    assert frames[-1]["type"] == "end", frames[-1]
    return frames[-1]


async def test_edit_and_resend_makes_a_sibling_branch_with_its_own_prompt(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await send(socket, "first question")
    original = end_of(await send(socket, "second question here"))
    messages = by_content(user, conversation_id)
    first_answer = messages["You said: first question"]
    second = messages["second question here"]
    assert second["parent_id"] == first_answer["id"]

    # The edit: a sibling of the second question, with the same parent.
    edited = await send(socket, "second question edited", parent_id=second["parent_id"])
    await socket.close()
    messages = by_content(user, conversation_id)
    sibling = messages["second question edited"]
    answer = messages["You said: second question edited"]
    assert sibling["parent_id"] == second["parent_id"]
    assert answer["parent_id"] == sibling["id"]
    assert edited[0]["message"]["parent_id"] == second["parent_id"]
    assert leaf(user, conversation_id) == answer["id"]
    # The same words on the same branch: the same prompt, so nothing of the sibling branch
    # (the first second question and its answer) went into it.
    assert end_of(edited)["usage"]["prompt_tokens"] == original["usage"]["prompt_tokens"]


async def test_editing_the_first_message_starts_a_new_root(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    first = end_of(await send(socket, "one two three"))
    await send(socket, "later")
    again = end_of(await send(socket, "one two four", parent_id=None))
    await socket.close()
    messages = by_content(user, conversation_id)
    assert messages["one two four"]["parent_id"] is None
    assert again["usage"]["prompt_tokens"] == first["usage"]["prompt_tokens"]


async def test_regenerate_any_answer_and_continue_from_it(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await send(socket, "alpha")
    await send(socket, "beta")
    first_answer = by_content(user, conversation_id)["You said: alpha"]
    await socket.send({"type": "regenerate", "message_id": first_answer["id"]})
    frames = await socket.until("end")
    start = next(f for f in frames if f["type"] == "start")
    assert start["parent_id"] == first_answer["parent_id"]
    assert leaf(user, conversation_id) == start["message_id"]
    # Without a parent_id the next message follows the new answer, not "beta".
    follow = await send(socket, "gamma")
    await socket.close()
    assert follow[0]["message"]["parent_id"] == start["message_id"]
    answers = [
        m
        for m in user.conversation(conversation_id)["messages"]
        if m["parent_id"] == first_answer["parent_id"]
    ]
    assert len(answers) == 2


async def test_the_current_leaf_is_picked_with_patch(scripted_server: ServerProcess) -> None:
    user, other = new_user(scripted_server), new_user(scripted_server)
    conversation_id = user.new_conversation()
    elsewhere = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await send(socket, "root")
    await send(socket, "left")
    messages = by_content(user, conversation_id)
    await send(socket, "right", parent_id=messages["left"]["parent_id"])
    left_answer = by_content(user, conversation_id)["You said: left"]
    with user.http() as client:
        response = client.patch(
            f"/api/conversations/{conversation_id}", json={"current_leaf_id": left_answer["id"]}
        )
        assert response.status_code == 200, response.text
        assert response.json()["current_leaf_id"] == left_answer["id"]
    follow = await send(socket, "after left")
    assert follow[0]["message"]["parent_id"] == left_answer["id"]
    # The leaf follows the new answer again.
    assert leaf(user, conversation_id) == next(
        f["message_id"] for f in follow if f["type"] == "start"
    )
    await socket.close()

    other_socket, _ = await ChatSocket.open(user, elsewhere)
    await send(other_socket, "another conversation")
    await other_socket.close()
    foreign = by_content(user, elsewhere)["another conversation"]["id"]
    with user.http() as client:
        for bad in (foreign, "00000000-0000-4000-8000-000000000000"):
            refused = client.patch(
                f"/api/conversations/{conversation_id}", json={"current_leaf_id": bad}
            )
            assert refused.status_code == 422 and error_code(refused) == "unknown_message"
    with other.http() as client:
        hidden = client.patch(
            f"/api/conversations/{conversation_id}", json={"current_leaf_id": left_answer["id"]}
        )
        assert hidden.status_code == 404


async def test_bad_parents_and_answers_are_refused_and_store_nothing(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    elsewhere = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await send(socket, "question")
    other_socket, _ = await ChatSocket.open(user, elsewhere)
    await send(other_socket, "elsewhere")
    await other_socket.close()
    foreign_answer = by_content(user, elsewhere)["You said: elsewhere"]["id"]
    question = by_content(user, conversation_id)["question"]["id"]
    before = len(user.conversation(conversation_id)["messages"])
    for parent_id in (foreign_answer, question, "nope"):
        error = (await send(socket, "orphan", parent_id=parent_id))[-1]
        assert error["type"] == "error" and error["code"] == "bad_request", error
        assert error.get("seq") is None
    for message_id in (foreign_answer, question, "nope"):
        await socket.send({"type": "regenerate", "message_id": message_id})
        error = (await socket.until("error"))[-1]
        assert error["code"] == "bad_request", error
    await socket.close()
    assert len(user.conversation(conversation_id)["messages"]) == before


async def test_replay_rebuilds_every_branch_exactly(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await send(socket, "trunk")
    await send(socket, "branch a")
    middle = user.conversation(conversation_id)["conversation"]["last_seq"]
    parent = by_content(user, conversation_id)["branch a"]["parent_id"]
    await send(socket, "branch b", parent_id=parent)
    await socket.send({"type": "regenerate"})
    await socket.until("end")
    await socket.close()
    stored = user.conversation(conversation_id)
    for after_seq in (0, middle):
        replay, ready = await ChatSocket.open(user, conversation_id, after_seq=after_seq)
        frames: list[Frame] = []
        while True:
            try:
                frames.append(await replay.next(timeout_s=2))
            except TimeoutError:
                break
        await replay.close()
        assert ready["last_seq"] == stored["conversation"]["last_seq"]
        numbered = [f["seq"] for f in frames]
        assert numbered == sorted(numbered) and len(set(numbered)) == len(numbered)
        assert all(seq > after_seq for seq in numbered)
        rebuilt: dict[str, dict[str, str]] = {}
        current: str | None = None
        for frame in frames:
            if frame["type"] == "message":
                rebuilt[frame["message"]["id"]] = {"content": frame["message"]["content"]}
            elif frame["type"] == "start":
                current = frame["message_id"]
                rebuilt[current] = {"content": "", "thinking": ""}
            elif frame["type"] in ("chunk", "thinking") and current is not None:
                key = "content" if frame["type"] == "chunk" else "thinking"
                rebuilt[current][key] += frame["content"]
        expected = [m for m in stored["messages"] if m["seq"] > after_seq]
        assert set(rebuilt) == {m["id"] for m in expected}
        for message in expected:
            assert rebuilt[message["id"]]["content"] == message["content"]


@pytest.fixture
def echo_server(server_factory: ServerFactory) -> ServerProcess:
    """The scripted engine with a small context (300 words) and no delay between tokens."""
    return server_factory(
        model="scripted", scripted_token_delay_s="0", scripted_context_length="300"
    ).start()


def upload(user: ChatUser, name: str, data: bytes) -> dict[str, Any]:
    with user.http() as client:
        response = client.post("/api/files", files={"file": (name, data, "text/plain")})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_attachments_text_reaches_the_prompt(echo_server: ServerProcess) -> None:
    user = new_user(echo_server)
    notes = upload(user, "notes.md", "The ferry leaves at 07:40 from Cais do Sodré.".encode())
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    frames = await send(socket, "When does it leave?", attachments=[notes["id"]])
    await socket.close()
    assert frames[0]["message"]["attachments"] == [notes]
    answer = text_of(frames, "chunk")
    assert '<attachment name="notes.md" type="text/markdown">' in answer
    assert "07:40 from Cais do Sodré." in answer
    assert answer.endswith("When does it leave?")
    stored = by_content(user, conversation_id)["When does it leave?"]
    assert stored["attachments"] == [notes]


async def test_a_file_too_big_for_the_context_is_cut_with_a_note(
    echo_server: ServerProcess,
) -> None:
    user = new_user(echo_server)
    words = " ".join(f"w{i}" for i in range(2000))
    big = upload(user, "big.txt", words.encode())
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    frames = await send(socket, "Summarize it", attachments=[big["id"]])
    # The next turn still answers: the cut file is not in its prompt (the question is).
    after = await send(socket, "And now?")
    await socket.close()
    # Most of the context holds the file's beginning; the room for the answer is kept (the
    # echo of the whole turn does not fit it). The note itself:
    # tests/chat/prepare/test_file_prompts.py.
    end = end_of(frames)
    assert 200 < end["usage"]["prompt_tokens"] <= 300 - 75
    assert end["finish_reason"] == "length"
    assert text_of(frames, "chunk").startswith('You said: <attachment name="big.txt"')
    assert "w0 w1 w2" in text_of(frames, "chunk")
    assert text_of(after, "chunk") == "You said: And now?"


async def test_another_users_file_is_refused(echo_server: ServerProcess) -> None:
    owner, other = new_user(echo_server), new_user(echo_server)
    secret = upload(owner, "secret.txt", b"the vault code is 4521")
    conversation_id = other.new_conversation()
    socket, _ = await ChatSocket.open(other, conversation_id)
    for attachments in ([secret["id"]], ["00000000-0000-4000-8000-000000000000"]):
        error = (await send(socket, "read it", attachments=attachments))[-1]
        assert error["type"] == "error" and error["code"] == "bad_request", error
    too_many = (await send(socket, "many", attachments=[secret["id"]] * 11))[-1]
    assert too_many["code"] == "bad_request"
    await socket.close()
    assert other.conversation(conversation_id)["messages"] == []


async def test_thinking_off_per_conversation(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation(thinking=False)
    assert user.conversation(conversation_id)["conversation"]["thinking"] is False
    socket, _ = await ChatSocket.open(user, conversation_id)
    quiet = await send(socket, "no thoughts")
    # A send's own option wins over the conversation's.
    loud = await send(socket, "think now", options={"thinking": True})
    with user.http() as client:
        response = client.patch(f"/api/conversations/{conversation_id}", json={"thinking": None})
        assert response.json()["thinking"] is None
    default = await send(socket, "the model decides")
    await socket.close()
    assert text_of(quiet, "thinking") == ""
    assert text_of(loud, "thinking") != ""
    assert text_of(default, "thinking") != ""
    # The models list says which models can turn thinking off (known once loaded).
    with user.http() as client:
        (model,) = client.get("/api/models").json()["models"]
    assert model["state"] == "loaded" and model["thinking_toggle"] is True


def test_patch_without_a_token(scripted_server: ServerProcess) -> None:
    with httpx.Client(base_url=scripted_server.base_url) as anonymous:
        response = anonymous.patch(
            "/api/conversations/x", json={"current_leaf_id": "y", "thinking": True}
        )
    assert response.status_code == 401
