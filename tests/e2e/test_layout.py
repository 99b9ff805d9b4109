"""The chat view from a phone to a wide screen and at browser zoom 50-200%: nothing overlaps,
nothing scrolls sideways. Screenshots go to test-artifacts/ for a person to look at."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser_helpers import (
    ARTIFACTS,
    log_in,
    message_box,
    new_chat,
    send,
    wait_answer_done,
)

CODE_MESSAGE = "Show me code:\n```python\ndef greet(name):\n    return f'hello {name}'\n```"

# Browser zoom Z on a W x H window lays the page out in a (W/Z) x (H/Z) CSS-pixel viewport.
VIEWPORTS = {
    "phone-360": (360, 740),
    "phone-390": (390, 844),
    "desktop-1440": (1440, 900),
    "desktop-1440-zoom-200": (720, 450),
    "desktop-1440-zoom-50": (2880, 1800),
    "phone-390-zoom-150": (260, 563),
}


def boxes_overlap(first: dict[str, float], second: dict[str, float]) -> bool:
    return not (
        first["x"] + first["width"] <= second["x"]
        or second["x"] + second["width"] <= first["x"]
        or first["y"] + first["height"] <= second["y"]
        or second["y"] + second["height"] <= first["y"]
    )


def assert_layout_holds(page: Page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"page scrolls sideways: {scroll_width} > {width}"
    controls = [
        page.locator(".chat-header").get_by_role("button", name="System prompt"),
        page.locator(".chat-header").get_by_label("Model"),
        message_box(page),
        page.locator(".composer").get_by_role("button", name="Attach files"),
        page.locator(".composer").get_by_role("button", name="Send"),
    ]
    menu = page.get_by_role("button", name="Show conversations")
    if menu.is_visible():
        controls.append(menu)
    boxes = []
    for control in controls:
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, f"{control} off screen"
        boxes.append(box)
    for index, first in enumerate(boxes):
        for second in boxes[index + 1 :]:
            assert not boxes_overlap(first, second), (first, second)
    header = page.locator(".chat-header").bounding_box()
    composer = page.locator(".composer").bounding_box()
    messages = page.locator(".messages").bounding_box()
    assert header and composer and messages
    assert header["y"] + header["height"] <= messages["y"] + 1
    assert messages["y"] + messages["height"] <= composer["y"] + 1


@pytest.fixture(scope="module")
def artifacts() -> Any:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def test_chat_view_layout_and_screenshots(
    session_factory: Any, server: Any, artifacts: Any
) -> None:
    session = session_factory(
        viewport={"width": 1440, "height": 900},
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = session.new_page()
    log_in(page, server.base_url)
    new_chat(page)
    send(page, CODE_MESSAGE)
    wait_answer_done(page)
    expect(page.locator(".code-block .hljs-keyword").first).to_have_text("def")

    for name, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(250)  # the drawer's transition
        assert_layout_holds(page)
        page.screenshot(path=str(artifacts / f"chat-{name}.png"))

    # On a phone the conversation list is a drawer opened from the header.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator(".sidebar")).to_be_hidden()
    menu = page.get_by_role("button", name="Show conversations")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(page.locator(".sidebar").get_by_role("button", name="New chat")).to_be_focused()
    page.wait_for_timeout(250)
    page.screenshot(path=str(artifacts / "chat-phone-390-drawer.png"))
    page.keyboard.press("Escape")
    expect(page.locator(".sidebar")).to_be_hidden()
    expect(menu).to_be_focused()

    copy = page.get_by_role("button", name="Copy code")
    copy.click()
    expect(copy).to_have_text("Copied")
    clipboard = page.evaluate("navigator.clipboard.readText()")
    assert clipboard == "def greet(name):\n    return f'hello {name}'"


def test_keyboard_only_chat(tab: Page, server: Any) -> None:
    page = tab
    log_in(page, server.base_url)
    # Signed in, the reader can type at once: the new chat's composer has the focus.
    message = message_box(page)
    expect(message).to_be_focused()
    page.locator(".sidebar").get_by_role("button", name="New chat").focus()
    page.keyboard.press("Enter")
    expect(message).to_be_focused()
    expect(message).to_have_attribute("placeholder", "Message…")
    expect(message).to_have_accessible_description("Enter sends, Shift+Enter adds a line")
    page.keyboard.type("typed by keyboard")
    page.keyboard.press("Enter")
    # The first message creates the conversation.
    page.wait_for_url("**/c/**")
    wait_answer_done(page)
    # Every control in the chat view has an accessible name.
    unnamed = page.evaluate(
        """[...document.querySelectorAll('button, input, select, textarea')]
            .filter((element) => !element.labels?.length && !element.getAttribute('aria-label')
              && !element.textContent.trim() && !element.closest('[hidden]'))
            .map((element) => element.outerHTML)"""
    )
    assert unnamed == []


def test_login_and_empty_screens_screenshots(
    session_factory: Any, server: Any, artifacts: Any
) -> None:
    for name, (width, height) in {"phone-390": (390, 844), "desktop-1440": (1440, 900)}.items():
        page = session_factory(viewport={"width": width, "height": height}).new_page()
        page.goto(server.base_url)
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        page.screenshot(path=str(artifacts / f"login-{name}.png"))
        log_in(page, server.base_url)
        # The landing page is an empty chat, ready for typing.
        expect(page.get_by_role("heading", name="New chat", level=1)).to_be_visible()
        expect(message_box(page)).to_be_focused()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(artifacts / f"welcome-{name}.png"))
