"""Reload mid-answer, two tabs on one conversation: the live answer everywhere, exact text."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.e2e.browser_helpers import (
    answer_text,
    last_answer,
    log_in,
    log_in_as,
    long_message,
    message_box,
    new_chat,
    send,
    wait_answer_done,
    wait_connected,
)


def test_reload_mid_answer_shows_the_cache_at_once_then_continues_live(
    tab: Page, server: Any
) -> None:
    page = tab
    log_in(page, server.base_url)
    new_chat(page)
    message = long_message(120)
    send(page, message)
    expect(last_answer(page).locator(".markdown")).to_contain_text("word10 ")
    page.wait_for_timeout(400)  # let the cache catch up with the screen

    # Hold the REST answers back: what shows first must come from localStorage.
    held: list[Route] = []
    released = False

    def hold_back(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route("**/api/conversations**", hold_back)
    page.reload()
    expect(page.locator(".message.user .bubble")).to_have_text([message])
    expect(last_answer(page).locator(".markdown")).to_contain_text("word10 ")
    expect(page.locator(".sidebar .row-title")).to_have_count(1)
    released = True
    for route in held:
        route.continue_()
    page.unroute("**/api/conversations**")

    # The socket's after_seq replay continues the same answer live.
    expect(last_answer(page)).to_have_attribute("data-status", "streaming")
    wait_answer_done(page, timeout_ms=30_000)
    assert answer_text(page) == "You said: " + message
    expect(page.locator(".message.assistant")).to_have_count(1)

    # And once more after it ended: the same text, not doubled.
    page.reload()
    wait_connected(page)
    wait_answer_done(page)
    assert answer_text(page) == "You said: " + message


def test_two_tabs_on_one_conversation_both_show_the_live_answer(
    session_factory: Any, server: Any
) -> None:
    session = session_factory()
    first = session.new_page()
    log_in(first, server.base_url)
    new_chat(first)
    second = session.new_page()
    second.goto(first.url)
    wait_connected(second)

    message = long_message(60)
    send(first, message)
    # The other tab sees the user's message and the answer while it streams.
    expect(second.locator(".message.user .bubble")).to_have_text([message])
    expect(last_answer(second)).to_have_attribute("data-status", "streaming")
    expect(last_answer(second).locator(".markdown")).to_contain_text("You said:")
    for page in (first, second):
        wait_answer_done(page, timeout_ms=30_000)
        assert answer_text(page) == "You said: " + message
        expect(page.locator(".message.user .bubble")).to_have_count(1)

    # And it can answer from there too.
    send(second, "from the second tab")
    for page in (first, second):
        expect(page.locator(".message.user .bubble")).to_have_count(2)
        wait_answer_done(page)
        assert answer_text(page) == "You said: from the second tab"


def test_fresh_tab_without_cache_joins_a_run_in_progress(session_factory: Any, server: Any) -> None:
    writer = session_factory().new_page()
    username = log_in(writer, server.base_url)
    new_chat(writer)
    message = long_message(100)
    send(writer, message)
    expect(last_answer(writer).locator(".markdown")).to_contain_text("word5 ")

    # Another browser profile: empty localStorage, same account.
    reader = session_factory().new_page()
    log_in_as(reader, server.base_url, username)
    reader.goto(writer.url)
    expect(last_answer(reader)).to_have_attribute("data-status", "streaming")
    wait_answer_done(reader, timeout_ms=30_000)
    assert answer_text(reader) == "You said: " + message


def test_server_restart_mid_answer_reconnects_and_marks_the_answer_interrupted(
    start_server: Any, session_factory: Any
) -> None:
    server = start_server("restart", model="scripted", scripted_token_delay_s="0.05")
    session = session_factory(base_url=server.base_url)
    session.tolerate("ERR_CONNECTION_REFUSED")
    page = session.new_page()
    log_in(page, server.base_url)
    new_chat(page)
    send(page, long_message(150))
    expect(last_answer(page).locator(".markdown")).to_contain_text("word5 ")

    server.kill()
    expect(page.get_by_role("status").filter(has_text="Connection lost")).to_contain_text(
        re.compile(r"Reconnecting in \d+ s")
    )
    expect(message_box(page)).to_have_attribute("placeholder", "Waiting for the connection…")

    server.start()
    wait_connected(page, timeout_ms=30_000)
    expect(page.get_by_text("Connection lost")).to_have_count(0)
    wait_answer_done(page, "interrupted")
    expect(last_answer(page)).to_contain_text("Interrupted")

    send(page, "after the restart")
    wait_answer_done(page)
    assert answer_text(page) == "You said: after the restart"
