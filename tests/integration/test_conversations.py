"""Conversations over HTTP: create, read, list with cursors, update, delete; owner only."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.helpers import Account, error_code, new_account

CONVERSATION_KEYS = {
    "id",
    "title",
    "model",
    "system_prompt",
    "created_at",
    "updated_at",
    "last_seq",
    "generating",
    "thinking",
    "current_leaf_id",
    "tools",
}
MISSING_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def account(client: httpx.Client) -> Account:
    return new_account(client)


def create(client: httpx.Client, account: Account, **body: Any) -> dict[str, Any]:
    response = client.post("/api/conversations", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    conversation: dict[str, Any] = response.json()
    return conversation


def list_page(
    client: httpx.Client, account: Account, **params: Any
) -> tuple[list[dict[str, Any]], str | None]:
    response = client.get("/api/conversations", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "next_cursor"}
    return body["items"], body["next_cursor"]


def stamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


# ---------- create and read ----------


def test_create_with_defaults(client: httpx.Client, account: Account) -> None:
    conversation = create(client, account)
    assert set(conversation) == CONVERSATION_KEYS
    assert isinstance(conversation["id"], str) and conversation["id"]
    assert isinstance(conversation["title"], str) and conversation["title"]
    assert conversation["system_prompt"] == ""
    assert conversation["last_seq"] == 0
    assert conversation["generating"] is False
    assert conversation["tools"] == []
    assert stamp(conversation["created_at"]) == stamp(conversation["updated_at"])


def test_create_with_title_and_system_prompt(client: httpx.Client, account: Account) -> None:
    conversation = create(client, account, title="Trip plans", system_prompt="Be terse.")
    assert conversation["title"] == "Trip plans"
    assert conversation["system_prompt"] == "Be terse."


def test_create_with_the_server_model_by_name(client: httpx.Client, account: Account) -> None:
    assert create(client, account, model="scripted")["model"] == "scripted"


def test_create_with_an_unknown_model_is_422(client: httpx.Client, account: Account) -> None:
    response = client.post(
        "/api/conversations", json={"model": "no-such-model"}, headers=account.headers
    )
    assert response.status_code == 422
    assert error_code(response) == "unknown_model"


def test_create_with_a_title_too_long_is_422(client: httpx.Client, account: Account) -> None:
    response = client.post("/api/conversations", json={"title": "t" * 201}, headers=account.headers)
    assert response.status_code == 422


def test_create_with_an_empty_title_is_422(client: httpx.Client, account: Account) -> None:
    response = client.post("/api/conversations", json={"title": ""}, headers=account.headers)
    assert response.status_code == 422


def test_create_with_a_system_prompt_too_long_is_422(
    client: httpx.Client, account: Account
) -> None:
    response = client.post(
        "/api/conversations", json={"system_prompt": "s" * 16_001}, headers=account.headers
    )
    assert response.status_code == 422


def test_create_with_a_non_string_title_is_422(client: httpx.Client, account: Account) -> None:
    response = client.post("/api/conversations", json={"title": ["x"]}, headers=account.headers)
    assert response.status_code == 422


def test_create_ignores_id_owner_id_and_last_seq(client: httpx.Client, account: Account) -> None:
    other = new_account(client)
    conversation = create(
        client, account, id=MISSING_ID, owner_id=other.id, last_seq=99, generating=True
    )
    assert conversation["id"] != MISSING_ID
    assert conversation["last_seq"] == 0
    assert conversation["generating"] is False
    path = f"/api/conversations/{conversation['id']}"
    assert client.get(path, headers=account.headers).status_code == 200
    assert client.get(path, headers=other.headers).status_code == 404
    assert client.get(f"/api/conversations/{MISSING_ID}", headers=account.headers).status_code == (
        404
    )


def test_get_returns_the_conversation_and_its_messages(
    client: httpx.Client, account: Account
) -> None:
    created = create(client, account, title="Read me")
    response = client.get(f"/api/conversations/{created['id']}", headers=account.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"conversation", "messages"}
    assert body["conversation"] == created
    assert body["messages"] == []


def test_get_missing_conversation_is_404(client: httpx.Client, account: Account) -> None:
    response = client.get(f"/api/conversations/{MISSING_ID}", headers=account.headers)
    assert response.status_code == 404
    assert error_code(response) == "conversation_not_found"


# ---------- list ----------


def test_list_is_newest_updated_first(client: httpx.Client, account: Account) -> None:
    ids = [create(client, account, title=f"c{index}")["id"] for index in range(3)]
    items, next_cursor = list_page(client, account)
    assert [item["id"] for item in items] == ids[::-1]
    assert next_cursor is None
    assert all(set(item) == CONVERSATION_KEYS for item in items)


def test_list_shows_only_my_conversations(client: httpx.Client, account: Account) -> None:
    other = new_account(client)
    create(client, other)
    mine = create(client, account)
    items, _ = list_page(client, account)
    assert [item["id"] for item in items] == [mine["id"]]


def test_list_of_a_new_user_is_empty(client: httpx.Client, account: Account) -> None:
    assert list_page(client, account) == ([], None)


def test_patch_title_moves_the_conversation_to_the_top(
    client: httpx.Client, account: Account
) -> None:
    first = create(client, account, title="first")
    second = create(client, account, title="second")
    response = client.patch(
        f"/api/conversations/{first['id']}", json={"title": "renamed"}, headers=account.headers
    )
    assert response.status_code == 200
    patched = response.json()
    assert patched["title"] == "renamed"
    assert patched["system_prompt"] == first["system_prompt"]
    assert stamp(patched["updated_at"]) > stamp(first["updated_at"])
    assert patched["created_at"] == first["created_at"]
    items, _ = list_page(client, account)
    assert [item["id"] for item in items] == [first["id"], second["id"]]


def test_patch_system_prompt_moves_the_conversation_to_the_top(
    client: httpx.Client, account: Account
) -> None:
    first = create(client, account, title="keep me")
    second = create(client, account)
    response = client.patch(
        f"/api/conversations/{first['id']}",
        json={"system_prompt": "Answer in French."},
        headers=account.headers,
    )
    assert response.status_code == 200
    assert response.json()["system_prompt"] == "Answer in French."
    assert response.json()["title"] == "keep me"
    items, _ = list_page(client, account)
    assert [item["id"] for item in items] == [first["id"], second["id"]]
    fetched = client.get(f"/api/conversations/{first['id']}", headers=account.headers)
    assert fetched.json()["conversation"]["system_prompt"] == "Answer in French."


def test_patch_ignores_id_owner_id_and_last_seq(client: httpx.Client, account: Account) -> None:
    other = new_account(client)
    conversation = create(client, account)
    path = f"/api/conversations/{conversation['id']}"
    response = client.patch(
        path,
        json={"id": MISSING_ID, "owner_id": other.id, "last_seq": 42, "title": "still mine"},
        headers=account.headers,
    )
    assert response.status_code == 200
    assert response.json()["id"] == conversation["id"]
    assert response.json()["last_seq"] == 0
    assert client.get(path, headers=account.headers).status_code == 200
    assert client.get(path, headers=other.headers).status_code == 404


def test_patch_with_an_unknown_model_is_422(client: httpx.Client, account: Account) -> None:
    conversation = create(client, account)
    response = client.patch(
        f"/api/conversations/{conversation['id']}",
        json={"model": "no-such-model"},
        headers=account.headers,
    )
    assert response.status_code == 422
    assert error_code(response) == "unknown_model"


def test_patch_with_a_title_too_long_is_422(client: httpx.Client, account: Account) -> None:
    conversation = create(client, account)
    response = client.patch(
        f"/api/conversations/{conversation['id']}",
        json={"title": "t" * 201},
        headers=account.headers,
    )
    assert response.status_code == 422


def test_patch_missing_conversation_is_404(client: httpx.Client, account: Account) -> None:
    response = client.patch(
        f"/api/conversations/{MISSING_ID}", json={"title": "x"}, headers=account.headers
    )
    assert response.status_code == 404
    assert error_code(response) == "conversation_not_found"


# ---------- cursor pagination ----------


def collect_pages(client: httpx.Client, account: Account, limit: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        items, cursor = list_page(client, account, **params)
        pages.append(items)
        if cursor is None:
            return pages
        assert len(pages) < 20, "pagination does not end"


def test_cursor_pagination_returns_every_conversation_once(
    client: httpx.Client, account: Account
) -> None:
    ids = [create(client, account, title=f"c{index}")["id"] for index in range(7)]
    pages = collect_pages(client, account, limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [item["id"] for page in pages for item in page] == ids[::-1]


def test_cursor_pagination_with_an_exact_multiple_ends_without_an_empty_page(
    client: httpx.Client, account: Account
) -> None:
    ids = [create(client, account)["id"] for _ in range(6)]
    pages = collect_pages(client, account, limit=3)
    assert [len(page) for page in pages] == [3, 3]
    assert [item["id"] for page in pages for item in page] == ids[::-1]


def test_cursor_pagination_survives_an_update_between_pages(
    client: httpx.Client, account: Account
) -> None:
    ids = [create(client, account)["id"] for _ in range(4)]
    first_page, cursor = list_page(client, account, limit=2)
    assert cursor is not None
    # The newest moves further up: the next page still starts where the first one ended.
    client.patch(f"/api/conversations/{ids[3]}", json={"title": "x"}, headers=account.headers)
    second_page, cursor = list_page(client, account, limit=2, cursor=cursor)
    assert [item["id"] for item in first_page + second_page] == ids[::-1]
    assert cursor is None


def test_empty_cursor_is_the_first_page(client: httpx.Client, account: Account) -> None:
    ids = [create(client, account)["id"] for _ in range(2)]
    items, next_cursor = list_page(client, account, limit=50, cursor="")
    assert [item["id"] for item in items] == ids[::-1]
    assert next_cursor is None


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not a cursor!", id="garbage"),
        pytest.param("abc", id="not-utf8"),
        pytest.param(b64(b"no separator"), id="no-separator"),
        pytest.param(b64(b"not-a-date|some-id"), id="bad-date"),
        pytest.param(b64(b"\xff\xfe|x"), id="binary"),
        pytest.param(b64(b"2026-01-01T00:00:00|x"), id="time-without-timezone"),
        pytest.param(b64(b"0001-01-01T00:00:00+05:00|x"), id="before-year-1-in-utc"),
        pytest.param(b64(b"9999-12-31T23:59:59-05:00|x"), id="after-year-9999-in-utc"),
        pytest.param("a" * 501, id="too-long"),
    ],
)
def test_bad_cursor_is_422(client: httpx.Client, account: Account, cursor: str) -> None:
    response = client.get("/api/conversations", params={"cursor": cursor}, headers=account.headers)
    assert response.status_code == 422
    if len(cursor) <= 500:
        assert error_code(response) == "bad_cursor"


@pytest.mark.parametrize("limit", ["0", "-1", "201", "ten", "1.5"])
def test_limit_out_of_range_is_422(client: httpx.Client, account: Account, limit: str) -> None:
    response = client.get("/api/conversations", params={"limit": limit}, headers=account.headers)
    assert response.status_code == 422


@pytest.mark.parametrize("limit", [1, 200])
def test_limit_at_the_bounds_is_accepted(
    client: httpx.Client, account: Account, limit: int
) -> None:
    create(client, account)
    create(client, account)
    items, next_cursor = list_page(client, account, limit=limit)
    assert len(items) == min(limit, 2)
    assert (next_cursor is None) == (limit >= 2)


# ---------- delete ----------


def test_delete_is_204_then_404(client: httpx.Client, account: Account) -> None:
    conversation = create(client, account)
    path = f"/api/conversations/{conversation['id']}"
    response = client.delete(path, headers=account.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(path, headers=account.headers).status_code == 404
    assert client.delete(path, headers=account.headers).status_code == 404
    assert list_page(client, account) == ([], None)


def test_delete_missing_conversation_is_404(client: httpx.Client, account: Account) -> None:
    response = client.delete(f"/api/conversations/{MISSING_ID}", headers=account.headers)
    assert response.status_code == 404


# ---------- other users and no token ----------


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PATCH", {"title": "mine now"}), ("DELETE", None)],
)
def test_another_users_conversation_is_404_like_a_missing_one(
    client: httpx.Client, account: Account, method: str, body: dict[str, str] | None
) -> None:
    conversation = create(client, account, title="private")
    intruder = new_account(client)
    theirs = client.request(
        method, f"/api/conversations/{conversation['id']}", json=body, headers=intruder.headers
    )
    missing = client.request(
        method, f"/api/conversations/{MISSING_ID}", json=body, headers=intruder.headers
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    # Untouched for its owner.
    still = client.get(f"/api/conversations/{conversation['id']}", headers=account.headers)
    assert still.status_code == 200
    assert still.json()["conversation"]["title"] == "private"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/conversations"),
        ("POST", "/api/conversations"),
        ("GET", f"/api/conversations/{MISSING_ID}"),
        ("PATCH", f"/api/conversations/{MISSING_ID}"),
        ("DELETE", f"/api/conversations/{MISSING_ID}"),
    ],
)
def test_no_token_is_401(client: httpx.Client, method: str, path: str) -> None:
    body: dict[str, str] | None = {} if method in ("POST", "PATCH") else None
    response = client.request(method, path, json=body)
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_unknown_api_route_is_404_with_the_error_shape(client: httpx.Client) -> None:
    response = client.get("/api/no-such-route")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_wrong_method_is_405_with_the_error_shape(client: httpx.Client, account: Account) -> None:
    response = client.put("/api/conversations", json={}, headers=account.headers)
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
