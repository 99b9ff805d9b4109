"""GET /api/search against a real server: what runs write is found, in English and Chinese,
for its owner only."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ServerProcess
from tests.helpers import error_code
from tests.integration.ws import ChatSocket, ChatUser, new_user

ITEM_KEYS = {"conversation_id", "message_id", "title", "snippet", "created_at"}


async def chat(user: ChatUser, *contents: str, **fields: Any) -> str:
    """A new conversation with these messages sent and answered (the scripted engine)."""
    conversation_id = user.new_conversation(**fields)
    socket, _ = await ChatSocket.open(user, conversation_id)
    for content in contents:
        await socket.say(content)
        await socket.until("end")
    await socket.close()
    return conversation_id


def search(user: ChatUser, q: str, **params: Any) -> list[dict[str, Any]]:
    with user.http() as client:
        response = client.get("/api/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items"}
    assert all(set(item) == ITEM_KEYS for item in body["items"])
    items: list[dict[str, Any]] = body["items"]
    return items


async def test_english_words_with_highlighted_snippets(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = await chat(user, "Which wine goes with grilled sardines?")
    await chat(user, "Something unrelated")
    items = search(user, "SARDINES grilled")
    # The title (the first message), the question and the scripted answer that repeats it.
    assert {item["conversation_id"] for item in items} == {conversation_id}
    messages = user.conversation(conversation_id)["messages"]
    assert {item["message_id"] for item in items} == {None} | {m["id"] for m in messages}
    assert all("<mark>sardines</mark>" in item["snippet"] for item in items)
    assert all("<mark>grilled</mark>" in item["snippet"] for item in items)
    assert items[0]["title"] == "Which wine goes with grilled sardines?"


async def test_chinese_words_of_one_two_and_more_characters(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    beijing = await chat(user, "我想去北京看看故宫")
    await chat(user, "上海今天下雨")
    for query in ("北京", "故宫", "去北京看", "宫"):
        items = search(user, query)
        assert items, query
        assert {item["conversation_id"] for item in items} == {beijing}, query
        assert all(f"<mark>{query}</mark>" in item["snippet"] for item in items), query
    assert search(user, "广州") == []


async def test_titles_match_and_come_first(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    titled = await chat(user, "hello", title="Household budget")
    mentioned = await chat(user, "the budget for the trip")
    items = search(user, "budget")
    assert items[0] == {
        "conversation_id": titled,
        "message_id": None,
        "title": "Household budget",
        "snippet": "Household <mark>budget</mark>",
        "created_at": items[0]["created_at"],
    }
    assert mentioned in {item["conversation_id"] for item in items[1:]}


async def test_only_the_callers_conversations(scripted_server: ServerProcess) -> None:
    owner, other = new_user(scripted_server), new_user(scripted_server)
    await chat(owner, "the launch code is zebra-fjord, 保密")
    for query in ("zebra-fjord", "保密", "密"):
        assert search(other, query) == []
        assert search(owner, query) != []


async def test_renamed_and_deleted_conversations(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = await chat(user, "notes about the harbour")
    with user.http() as client:
        client.patch(f"/api/conversations/{conversation_id}", json={"title": "Marina plans"})
        assert [i["message_id"] for i in search(user, "marina")] == [None]
        client.delete(f"/api/conversations/{conversation_id}").raise_for_status()
    assert search(user, "harbour") == []
    assert search(user, "marina") == []


async def test_limit(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    await chat(user, "kiwi one", "kiwi two", "kiwi three")
    assert len(search(user, "kiwi")) == 7  # the title, three questions, three answers
    assert len(search(user, "kiwi", limit=2)) == 2


def test_bad_queries(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    with user.http() as client:
        assert client.get("/api/search", params={"q": ""}).status_code == 422
        assert client.get("/api/search").status_code == 422
        blank = client.get("/api/search", params={"q": "   "})
        assert blank.status_code == 422 and error_code(blank) == "bad_query"
        many = client.get("/api/search", params={"q": " ".join("abcdefghijk")})
        assert many.status_code == 422 and error_code(many) == "bad_query"
        assert client.get("/api/search", params={"q": "x" * 201}).status_code == 422
        assert client.get("/api/search", params={"q": "x", "limit": 0}).status_code == 422
        # FTS5 syntax in a query is text to find, not an operator.
        for query in ('"', "a OR b", "NEAR(x y)", "*", "col:word", "^x"):
            assert client.get("/api/search", params={"q": query}).status_code == 200, query
    with httpx.Client(base_url=scripted_server.base_url) as anonymous:
        assert anonymous.get("/api/search", params={"q": "x"}).status_code == 401
