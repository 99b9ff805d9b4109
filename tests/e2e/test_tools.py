"""Tools in the browser: the picker (a ready server's tools, a failed server with its reason,
the choice saved), and the tool cards in the answer where the calls were made, live, across a
reload in the middle of a call, and after the answer ended. Desktop and phone widths;
screenshots go to test-artifacts/ (tools-*.png) for a person to look at.

The server runs the scripted engine, which calls a tool when the last user turn holds
`[[call FUNCTION JSON]]` (FUNCTION: "<server>__<tool>", the name the model is offered) and
answers `tool said: <result>` once the result is in; the tools are tests/tools/mcp_server.py's
over stdio, its `hang` outliving the call timeout."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests.conftest import ServerProcess
from tests.e2e.browser_helpers import (
    ARTIFACTS,
    TOKEN_DELAY_S,
    auth,
    last_answer,
    log_in,
    new_chat,
    send,
    stored,
    wait_answer_done,
    wait_connected,
)

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
MCP_SERVER = Path(__file__).resolve().parents[1] / "tools" / "mcp_server.py"
BROKEN_REASON = "exited at start on purpose"
# Long enough to see `hang` running and reload the page in the middle of it.
TOOL_TIMEOUT_S = "4"


@pytest.fixture(scope="module")
def tools_server(
    start_server: Callable[..., ServerProcess], tmp_path_factory: pytest.TempPathFactory
) -> ServerProcess:
    tools_file = tmp_path_factory.mktemp("tools") / "tools.json"
    broken = f"import sys; sys.exit({BROKEN_REASON!r})"
    tools_file.write_text(
        json.dumps(
            [
                {"id": "demo", "transport": "stdio", "command": [sys.executable, str(MCP_SERVER)]},
                {"id": "broken", "transport": "stdio", "command": [sys.executable, "-c", broken]},
            ]
        )
    )
    return start_server(
        "tools",
        model="scripted",
        scripted_token_delay_s=TOKEN_DELAY_S,
        tools_file=str(tools_file),
        tool_timeout_s=TOOL_TIMEOUT_S,
    )


@pytest.fixture(params=list(WIDTHS), ids=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def shoot(page: Page, name: str, width: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"tools-{name}-{width}.png"))


def wait_tool_servers_settled(page: Page, base_url: str, timeout_s: float = 30) -> int:
    """Until `demo` is ready and `broken` has failed (the servers start in the background);
    then how many tools `demo` offers."""
    deadline = time.monotonic() + timeout_s
    while True:
        listed = httpx.get(f"{base_url}/api/tools", headers=auth(page)).json()
        states = {server["id"]: server["state"] for server in listed["servers"]}
        if states == {"demo": "ready", "broken": "failed"}:
            return sum(tool["server"] == "demo" for tool in listed["tools"])
        assert time.monotonic() < deadline, listed
        time.sleep(0.2)


def answer_pieces(answer: Locator) -> list[str]:
    """The answer's text pieces and tool cards in the order shown: "text:..." / "tool:<state>"."""
    return list(
        answer.evaluate(
            """(item) => [...item.querySelectorAll(':scope > .markdown, :scope > .tool-call')].map(
                (node) => node.classList.contains('tool-call')
                  ? 'tool:' + node.dataset.state
                  : 'text:' + node.innerText.trim())"""
        )
    )


def open_card(answer: Locator, index: int = 0) -> Locator:
    card = answer.locator(".tool-call").nth(index)
    toggle = card.locator(".tool-call-toggle")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    return card


def test_pick_a_tool_and_see_its_call_live_across_a_reload_and_after(
    session_factory: Any, tools_server: ServerProcess, width: str
) -> None:
    base_url = tools_server.base_url
    page = session_factory(viewport=WIDTHS[width], base_url=base_url).new_page()
    log_in(page, base_url)
    demo_tools = wait_tool_servers_settled(page, base_url)
    conversation_id = new_chat(page)

    # The picker, from the composer: the ready server's tools, the failed one with its reason.
    page.get_by_role("button", name="Tools").click()
    dialog = page.get_by_role("dialog", name="Tools for this conversation")
    demo = dialog.get_by_role("group", name="demo")
    expect(demo.get_by_role("checkbox")).to_have_count(demo_tools)
    expect(dialog.get_by_role("group", name="broken")).to_contain_text("Not available")
    # Chosen with the keyboard: Space on a checkbox, Tab to the next, Enter on Save.
    add = demo.get_by_role("checkbox", name=re.compile("^add"))
    add.focus()
    page.keyboard.press("Space")
    hang = demo.get_by_role("checkbox", name=re.compile("^hang"))
    while not page.evaluate("document.activeElement.parentElement.textContent.startsWith('hang')"):
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(add).to_be_checked()
    expect(hang).to_be_checked()
    shoot(page, "picker", width)
    dialog.get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Tools: 2 chosen")).to_be_visible()
    detail = stored(page, base_url, conversation_id)
    assert sorted(detail["conversation"]["tools"]) == ["demo.add", "demo.hang"]

    # A call, live: the text before it, the card, the answer after it.
    send(page, 'Adding now. [[call demo__add {"a": 2, "b": 3}]]')
    wait_answer_done(page)
    answer = last_answer(page)
    assert answer_pieces(answer) == ["text:Adding now.", "tool:done", "text:tool said: 5"]
    card = open_card(answer)
    expect(card.locator(".tool-call-toggle")).to_contain_text("Called demo.add")
    expect(card.locator(".tool-call-text")).to_have_text(['{\n  "a": 2,\n  "b": 3\n}', "5"])
    expect(card.locator(".tool-call-duration")).to_have_text(re.compile(r"^\d+(\.\d)? s$"))
    shoot(page, "card-done", width)

    # A call that runs until it times out, and a reload in the middle of it: the card comes back
    # running (from the cache), then ends as an error when the timeout's result arrives.
    send(page, "Waiting. [[call demo__hang {}]]")
    answer = last_answer(page)
    expect(answer.locator(".tool-call")).to_have_attribute("data-state", "running")
    expect(answer.locator(".tool-call")).to_contain_text("Calling demo.hang…")
    expect(answer.locator(".spinner")).to_be_visible()
    shoot(page, "card-running", width)
    page.reload()
    answer = last_answer(page)
    expect(answer.locator(".tool-call")).to_have_attribute("data-state", "running")
    wait_connected(page)
    wait_answer_done(page)
    pieces = answer_pieces(answer)
    assert pieces[:2] == ["text:Waiting.", "tool:error"], pieces
    assert pieces[2].startswith("text:tool said: "), pieces
    error = open_card(answer).locator(".tool-call-text.error")
    expect(error).to_be_visible()
    shoot(page, "card-error", width)

    # After the answers ended: the same cards in the same places from the server's copy.
    page.evaluate(f"localStorage.removeItem('parley:conversation:{conversation_id}')")
    page.reload()
    wait_connected(page)
    expect(page.locator(".tool-call")).to_have_count(2)
    first, second = page.locator(".message.assistant").all()
    assert answer_pieces(first) == ["text:Adding now.", "tool:done", "text:tool said: 5"]
    assert answer_pieces(second) == pieces
    expect(open_card(first).locator(".tool-call-text").last).to_have_text("5")


def test_the_picker_says_when_the_tools_cannot_be_loaded_or_saved(
    session_factory: Any, tools_server: ServerProcess
) -> None:
    base_url = tools_server.base_url
    session = session_factory(base_url=base_url)
    session.tolerate("status of 503")
    page = session.new_page()
    log_in(page, base_url)
    wait_tool_servers_settled(page, base_url)
    conversation_id = new_chat(page)

    def unavailable(route: Route) -> None:
        route.fulfill(
            status=503,
            content_type="application/json",
            json={"detail": {"code": "unavailable", "message": "Tools are resting"}},
        )

    page.route("**/api/tools", unavailable)
    page.get_by_role("button", name="Tools").click()
    dialog = page.get_by_role("dialog", name="Tools for this conversation")
    expect(dialog.get_by_role("alert")).to_have_text(
        re.compile("The tools could not be loaded: Tools are resting")
    )
    expect(dialog.get_by_role("button", name="Save")).to_be_disabled()
    page.unroute("**/api/tools")
    dialog.get_by_role("button", name="Try again").click()
    choice = dialog.get_by_role("checkbox", name=re.compile("^add"))
    choice.check()

    # The PATCH fails: the dialog stays open with the reason and the choice kept.
    def patch_unavailable(route: Route) -> None:
        if route.request.method == "PATCH":
            unavailable(route)
        else:
            route.continue_()

    page.route(f"**/api/conversations/{conversation_id}", patch_unavailable)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_have_text("The tools were not saved: Tools are resting")
    expect(choice).to_be_checked()
    page.unroute(f"**/api/conversations/{conversation_id}")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Tools: 1 chosen")).to_be_visible()
