"""Helpers for the browser tests: log in, open a chat, send, read answers."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "frontend" / "dist"
ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "correct horse battery"
# The e2e server's scripted engine: slow enough to watch an answer stream, reload in the
# middle of it and stop it.
TOKEN_DELAY_S = "0.04"
THINKING = "Let me think about that carefully, one step at a time, before I answer."


def new_username() -> str:
    return f"u{uuid.uuid4().hex[:12]}"


def register_via_api(base_url: str, username: str) -> None:
    response = httpx.post(
        f"{base_url}/api/auth/register", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text


def api_token(base_url: str, username: str) -> str:
    response = httpx.post(
        f"{base_url}/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def log_in(page: Page, base_url: str) -> str:
    """Registers a new user (over REST) and logs in through the form; answers the username."""
    username = new_username()
    register_via_api(base_url, username)
    log_in_as(page, base_url, username)
    return username


def log_in_as(page: Page, base_url: str, username: str) -> None:
    """Logs in through the form, in English or in 简体中文 (a session with a zh locale)."""
    page.goto(base_url)
    page.get_by_label(re.compile("^(Username|用户名)$")).fill(username)
    page.get_by_label(re.compile("^(Password|密码)$")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(Log in|登录)$")).click()
    # The log-out button lives in the sidebar, a closed drawer on a phone.
    log_out = re.compile("^(Log out|退出登录)$")
    expect(page.get_by_role("button", name=log_out, include_hidden=True)).to_be_attached()


def origin(page: Page) -> str:
    match = re.match(r"https?://[^/]+", page.url)
    assert match, page.url
    return match.group(0)


def new_chat(page: Page, **settings: object) -> str:
    """Creates a conversation over REST (the app creates one only with its first message),
    opens it and waits until its socket is open; answers its id."""
    token = page.evaluate("localStorage.getItem('parley:token')")
    response = httpx.post(
        f"{origin(page)}/api/conversations",
        json=settings,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    conversation_id = str(response.json()["id"])
    page.goto(f"{origin(page)}/c/{conversation_id}")
    wait_connected(page)
    return conversation_id


def start_new_chat(page: Page) -> None:
    """The app's own way: New chat opens an empty chat with the composer focused."""
    page.locator(".sidebar").get_by_role("button", name=re.compile("New chat|新对话")).click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    expect(message_box(page)).to_be_focused()


def auth(page: Page) -> dict[str, str]:
    token = page.evaluate("localStorage.getItem('parley:token')")
    return {"Authorization": f"Bearer {token}"}


def stored(page: Page, base_url: str, conversation_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base_url}/api/conversations/{conversation_id}", headers=auth(page))
    assert response.status_code == 200, response.text
    return dict(response.json())


def current_conversation_id(page: Page) -> str:
    """The open conversation's id, once the first message has created it."""
    page.wait_for_url(re.compile("/c/"))
    return page.url.rsplit("/c/", 1)[1]


def message_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name=re.compile("^(Message|消息)$"))


def wait_connected(page: Page, timeout_ms: float = 5_000) -> None:
    expect(message_box(page)).to_have_attribute(
        "placeholder", re.compile("^(Message|输入消息)"), timeout=timeout_ms
    )


def send(page: Page, text: str) -> None:
    box = message_box(page)
    box.fill(text)
    box.press("Enter")


def assistant_messages(page: Page) -> Locator:
    return page.locator(".message.assistant")


def last_answer(page: Page) -> Locator:
    return assistant_messages(page).last


def answer_text(page: Page) -> str:
    return last_answer(page).locator(".markdown").inner_text()


def wait_answer_done(page: Page, status: str = "complete", timeout_ms: float = 20_000) -> None:
    expect(last_answer(page)).to_have_attribute("data-status", status, timeout=timeout_ms)


def long_message(words: int) -> str:
    return " ".join(f"word{index}" for index in range(words))


def cached_keys(page: Page) -> list[str]:
    return page.evaluate("Object.keys(localStorage).filter((key) => key.startsWith('parley:'))")
