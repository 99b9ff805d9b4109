"""Chat in the browser: streaming, thinking, stop, regenerate, conversations in the sidebar."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser_helpers import (
    THINKING,
    answer_text,
    api_token,
    assistant_messages,
    cached_keys,
    last_answer,
    log_in,
    log_in_as,
    long_message,
    message_box,
    new_chat,
    new_username,
    register_via_api,
    send,
    wait_answer_done,
)


def test_answer_streams_in_with_thinking_block_and_timings(tab: Page, server: Any) -> None:
    page = tab
    log_in(page, server.base_url)
    new_chat(page)
    box = message_box(page)
    box.fill("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line " + long_message(30))
    expect(box).to_have_value("first line\nsecond line " + long_message(30))
    box.press("Enter")

    user = page.locator(".message.user .bubble").last
    expect(user).to_have_text("first line\nsecond line " + long_message(30))
    thinking_toggle = last_answer(page).locator(".thinking-toggle")
    # Open while thinking, with the thinking text apart from the answer.
    expect(thinking_toggle).to_have_attribute("aria-expanded", "true")
    expect(thinking_toggle).to_contain_text("Thinking")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()

    # The answer arrives piece by piece: a strict prefix is seen before the end.
    expect(last_answer(page).locator(".markdown")).to_contain_text("You said:")
    partial = answer_text(page)
    wait_answer_done(page)
    final = answer_text(page)
    assert final == "You said: first line\nsecond line " + long_message(30)
    assert len(partial) < len(final) and final.startswith(partial.rstrip())

    # Folded after, saying how long it took; opening it shows the thinking.
    expect(thinking_toggle).to_have_attribute("aria-expanded", "false")
    expect(thinking_toggle).to_have_text(re.compile(r"Thought for \d+\.\d s"))
    thinking_toggle.click()
    expect(last_answer(page).locator(".thinking-text")).to_have_text(THINKING)
    expect(last_answer(page).locator(".markdown")).not_to_contain_text("Let me think")
    expect(last_answer(page).locator(".stats")).to_have_text(
        re.compile(r"[\d.]+ tokens/s · first token \d+ ms · \d+ tokens")
    )
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_stop_then_regenerate(tab: Page, server: Any) -> None:
    page = tab
    log_in(page, server.base_url)
    new_chat(page)
    send(page, long_message(200))
    expect(last_answer(page).locator(".markdown")).to_contain_text("word3")
    page.get_by_role("button", name="Stop").click()
    wait_answer_done(page, "cancelled")
    expect(last_answer(page)).to_contain_text("Stopped")
    stopped_text = answer_text(page)
    assert "word199" not in stopped_text

    last_answer(page).get_by_role("button", name="Regenerate").click()
    wait_answer_done(page, "complete", timeout_ms=30_000)
    # The regenerated answer replaces the stopped one in the thread.
    expect(assistant_messages(page)).to_have_count(1)
    assert answer_text(page) == "You said: " + long_message(200)


def test_conversations_create_rename_filter_delete(tab: Page, server: Any) -> None:
    page = tab
    log_in(page, server.base_url)
    sidebar = page.locator(".sidebar")

    first_id = new_chat(page)
    send(page, "about apples")
    wait_answer_done(page)
    rows = sidebar.locator(".conversation-row")
    # The first message names the conversation.
    expect(rows.first.locator(".row-title")).to_have_text("about apples")
    sidebar.get_by_role("button", name="Rename “about apples”").click()
    sidebar.get_by_label("New title").fill("Apples")
    sidebar.get_by_label("New title").press("Enter")
    expect(rows.first.locator(".row-title")).to_have_text("Apples")
    expect(page.get_by_role("heading", level=1)).to_have_text("Apples")

    second_id = new_chat(page)
    send(page, "about pears")
    wait_answer_done(page)
    expect(rows.first.locator(".row-title")).to_have_text("about pears")
    sidebar.get_by_role("button", name="Rename “about pears”").click()
    sidebar.get_by_label("New title").fill("Pears")
    sidebar.get_by_role("button", name="Save").click()

    # Newest first; each conversation keeps its own messages.
    expect(rows.locator(".row-title")).to_have_text(["Pears", "Apples"])
    sidebar.locator(".row-open", has_text="Apples").click()
    page.wait_for_url(f"**/c/{first_id}")
    expect(page.locator(".message.user .bubble")).to_have_text(["about apples"])
    sidebar.locator(".row-open", has_text="Pears").click()
    page.wait_for_url(f"**/c/{second_id}")
    expect(page.locator(".message.user .bubble")).to_have_text(["about pears"])

    sidebar.get_by_label("Filter conversations by title").fill("app")
    expect(rows.locator(".row-title")).to_have_text(["Apples"])
    sidebar.get_by_label("Filter conversations by title").fill("")

    sidebar.get_by_role("button", name="Delete “Pears”").click()
    confirm = sidebar.get_by_role("group", name="Confirm deletion")
    confirm.get_by_role("button", name="Cancel").click()
    expect(rows).to_have_count(2)
    sidebar.get_by_role("button", name="Delete “Pears”").click()
    confirm.get_by_role("button", name="Delete").click()
    expect(rows.locator(".row-title")).to_have_text(["Apples"])
    expect(page).to_have_url(re.compile(r"/$"))
    assert f"parley:conversation:{second_id}" not in cached_keys(page)

    page.reload()
    expect(rows.locator(".row-title")).to_have_text(["Apples"])


def test_generating_marker_and_model_and_system_prompt(tab: Page, server: Any) -> None:
    page = tab
    log_in(page, server.base_url)
    new_chat(page)
    model = page.get_by_label("Model")
    expect(model).to_have_value("scripted")

    page.get_by_role("button", name="System prompt").click()
    page.get_by_label("System prompt", exact=True).fill("Answer briefly.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".system-prompt")).to_have_count(0)
    page.get_by_role("button", name="System prompt").click()
    expect(page.get_by_label("System prompt", exact=True)).to_have_value("Answer briefly.")
    page.get_by_role("button", name="Cancel").click()

    send(page, long_message(80))
    expect(page.locator(".sidebar .generating-dot")).to_have_count(1)
    wait_answer_done(page)
    # The marker follows the run's end without a page reload.
    expect(page.locator(".sidebar .generating-dot")).to_have_count(0)


def test_conversation_list_loads_page_by_page(tab: Page, server: Any) -> None:
    username = new_username()
    register_via_api(server.base_url, username)
    token = api_token(server.base_url, username)
    for index in range(35):
        response = httpx.post(
            f"{server.base_url}/api/conversations",
            json={"title": f"Topic {index:02d}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text

    log_in_as(tab, server.base_url, username)
    rows = tab.locator(".sidebar .conversation-row")
    expect(rows).to_have_count(30)
    expect(rows.first).to_contain_text("Topic 34")
    tab.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(35)
    expect(rows.last).to_contain_text("Topic 00")
    expect(tab.get_by_role("button", name="Load more")).to_have_count(0)
