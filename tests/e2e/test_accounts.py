"""Register, log in with clear errors, log out (which clears the cache and the session)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.browser_helpers import (
    PASSWORD,
    cached_keys,
    log_in,
    new_chat,
    new_username,
    register_via_api,
    send,
    wait_answer_done,
)


def test_register_then_errors_for_taken_name_weak_password_and_wrong_password(
    tab: Page, server: Any
) -> None:
    page = tab
    page.goto(server.base_url)
    page.get_by_role("button", name="No account? Create one").click()
    username = new_username()

    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create an account").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 8")

    page.get_by_label("Password").fill("é" * 40)  # 80 UTF-8 bytes
    page.get_by_role("button", name="Create an account").click()
    expect(page.get_by_role("alert")).to_contain_text("at most 72 bytes")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create an account").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator(".sidebar-bottom")).to_contain_text(username)

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="No account? Create one").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create an account").click()
    expect(page.get_by_role("alert")).to_have_text("That username is taken. Choose another one.")

    page.get_by_role("button", name="Have an account? Log in").click()
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_throttled_login_says_when_to_retry(tab: Page, server: Any) -> None:
    page = tab
    username = new_username()
    register_via_api(server.base_url, username)
    page.goto(server.base_url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("wrong password")
    for _ in range(5):
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
        expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts. Try again in")


def test_logout_clears_the_cache_and_ends_the_session_in_every_tab(
    session_factory: Any, server: Any
) -> None:
    session = session_factory()
    page = session.new_page()
    log_in(page, server.base_url)
    new_chat(page)
    send(page, "remember me")
    wait_answer_done(page)
    other_tab = session.new_page()
    other_tab.goto(page.url)
    expect(other_tab.locator(".message.assistant")).to_have_count(1)
    assert any(key.startswith("parley:conversation:") for key in cached_keys(page))

    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert cached_keys(page) == []
    # The token is revoked: the other tab's socket is closed (4401) and it goes to the login page.
    expect(other_tab.get_by_role("heading", name="Log in")).to_be_visible()
    assert cached_keys(other_tab) == []


def test_an_invalid_session_goes_back_to_the_login_page(tab: Page, server: Any) -> None:
    page = tab
    log_in(page, server.base_url)
    conversation_id = new_chat(page)
    page.evaluate("localStorage.setItem('parley:token', 'not.a.valid.token')")
    page.goto(f"{server.base_url}/c/{conversation_id}")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Your session has ended. Please log in again.")
    assert cached_keys(page) == []
