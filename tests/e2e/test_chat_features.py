"""The chat features people reach for every day, in Chromium at desktop and phone widths:
edit and branches, copy and details, search, export and import, attachments, thinking on or
off, typing at once, keyboard shortcuts, and the interface in English and 简体中文.
Screenshots go to test-artifacts/ (chat-features-*.png) for a person to look at."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser_helpers import (
    ARTIFACTS,
    answer_text,
    api_token,
    assistant_messages,
    current_conversation_id,
    last_answer,
    log_in,
    log_in_as,
    long_message,
    message_box,
    new_chat,
    new_username,
    register_via_api,
    send,
    stored,
    wait_answer_done,
    wait_connected,
)

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(WIDTHS), ids=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def shoot(page: Page, name: str, width: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"chat-features-{name}-{width}.png"))


def open_sidebar(page: Page) -> None:
    """The conversation list: always there on a desktop, a drawer on a phone."""
    name = re.compile("Show conversations|显示对话列表")
    menu = page.locator(".main").get_by_role("button", name=name)
    if menu.is_visible():
        menu.click()
        page.wait_for_timeout(250)  # the drawer's transition


def close_sidebar(page: Page) -> None:
    if page.locator(".app.sidebar-open").count():
        page.keyboard.press("Escape")


def eventually(read: Callable[[], object], expected: object, timeout_s: float = 10) -> None:
    """Polls `read` until it answers `expected` (a bounded wait for a server-side effect)."""
    deadline = time.monotonic() + timeout_s
    while (value := read()) != expected:
        assert time.monotonic() < deadline, f"{value!r} != {expected!r}"
        time.sleep(0.1)


def user_bubbles(page: Page) -> Any:
    return page.locator(".message.user .bubble")


# ---------- 7. start typing at once ----------


def test_a_signed_in_user_types_at_once_and_the_first_message_creates_the_chat(
    session_factory: Any, server: Any, width: str
) -> None:
    page = session_factory(viewport=WIDTHS[width]).new_page()
    log_in(page, server.base_url)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="New chat", level=1)).to_be_visible()
    expect(message_box(page)).to_be_focused()
    shoot(page, "landing", width)
    page.keyboard.type("hello at once")
    page.keyboard.press("Enter")
    conversation_id = current_conversation_id(page)
    wait_answer_done(page)
    assert answer_text(page) == "You said: hello at once"
    expect(user_bubbles(page)).to_have_text(["hello at once"])
    # One conversation, named by its first message, with exactly that message in it.
    detail = stored(page, server.base_url, conversation_id)
    assert [m["content"] for m in detail["messages"] if m["role"] == "user"] == ["hello at once"]
    open_sidebar(page)
    expect(page.locator(".sidebar .row-title")).to_have_text(["hello at once"])


# ---------- 2. copy and details ----------


def test_copy_button_time_on_hover_and_speed(session_factory: Any, server: Any, width: str) -> None:
    session = session_factory(
        viewport=WIDTHS[width], permissions=["clipboard-read", "clipboard-write"]
    )
    page = session.new_page()
    log_in(page, server.base_url)
    new_chat(page)
    source = "Some **bold** and a [link](https://example.com)"
    send(page, source)
    wait_answer_done(page)
    answer = last_answer(page)
    # The copy button gives the Markdown source, not the rendered text.
    answer.get_by_role("button", name="Copy message").click()
    expect(answer.get_by_role("button", name="Copy message")).to_have_attribute("title", "Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "You said: " + source
    user = page.locator(".message.user").last
    user.get_by_role("button", name="Copy message").click()
    assert page.evaluate("navigator.clipboard.readText()") == source
    # The time: the full date on the element, shown on hover.
    time = answer.locator("time.message-time")
    expect(time).to_have_attribute("datetime", re.compile(r"^\d{4}-\d{2}-\d{2}T"))
    expect(time).to_have_attribute("title", re.compile(r"^Sent \w{3} \d{1,2}, \d{4}"))
    answer.hover()
    expect(time).to_have_css("opacity", "1")
    # The answer's speed, as before.
    expect(answer.locator(".stats")).to_have_text(
        re.compile(r"[\d.]+ tokens/s · first token \d+ ms · \d+ tokens")
    )
    shoot(page, "copy-and-details", width)


# ---------- 1. edit and branches ----------


def test_edit_resend_regenerate_and_switch_branches(
    session_factory: Any, server: Any, width: str
) -> None:
    session = session_factory(viewport=WIDTHS[width])
    page = session.new_page()
    log_in(page, server.base_url)
    conversation_id = new_chat(page)
    send(page, "first question")
    wait_answer_done(page)
    send(page, "follow up")
    wait_answer_done(page)

    # Edit the first question: a new branch with its own answer, the follow-up left behind.
    first = page.locator(".message.user").first
    first.get_by_role("button", name="Edit message").click()
    editor = first.get_by_role("textbox", name="Edited message")
    expect(editor).to_have_value("first question")
    editor.fill("edited question")
    first.get_by_role("button", name="Save and send").click()
    wait_answer_done(page)
    expect(user_bubbles(page)).to_have_text(["edited question"])
    assert answer_text(page) == "You said: edited question"
    switcher = page.locator(".message.user").first.get_by_role("group", name="Version 2 of 2")
    expect(switcher).to_be_visible()
    shoot(page, "branch-edited", width)

    # Back to the first version: the whole old branch returns.
    switcher.get_by_role("button", name="Previous version").click()
    expect(user_bubbles(page)).to_have_text(["first question", "follow up"])
    expect(page.locator(".message.user").first.locator(".versions-position")).to_have_text("1/2")

    # Regenerate the first answer (not the last one): a sibling, shown with a switcher.
    assistant_messages(page).first.get_by_role("button", name="Regenerate").click()
    expect(assistant_messages(page)).to_have_count(1)
    wait_answer_done(page)
    answer_versions = assistant_messages(page).first.get_by_role("group", name="Version 2 of 2")
    expect(answer_versions).to_be_visible()
    expect(user_bubbles(page)).to_have_text(["first question"])

    # The next message continues the branch shown: its parent is the regenerated answer.
    send(page, "on the new answer")
    wait_answer_done(page)
    expect(user_bubbles(page)).to_have_text(["first question", "on the new answer"])
    detail = stored(page, server.base_url, conversation_id)
    by_content = {m["content"]: m for m in detail["messages"]}
    regenerated = by_content["on the new answer"]["parent_id"]
    answers_to_first = [
        m["id"]
        for m in detail["messages"]
        if m["parent_id"] == by_content["first question"]["id"] and m["role"] == "assistant"
    ]
    assert regenerated == answers_to_first[-1] and len(answers_to_first) == 2

    # Pick the edited branch; a second tab follows, and a reload keeps it.
    other = session.new_page()
    other.goto(page.url)
    wait_connected(other)
    expect(user_bubbles(other)).to_have_text(["first question", "on the new answer"])
    # Versions can be picked once this tab has seen the answer end (not while one streams).
    expect(page.locator("p[role=status]", has_text="The answer is complete.")).to_be_attached()
    page.locator(".message.user").first.get_by_role("button", name="Next version").click()
    expect(user_bubbles(page)).to_have_text(["edited question"])
    expect(user_bubbles(other)).to_have_text(["edited question"])
    edited_answer = assistant_messages(page).last.get_attribute("id")
    assert edited_answer
    eventually(
        lambda: stored(page, server.base_url, conversation_id)["conversation"]["current_leaf_id"],
        edited_answer.removeprefix("message-"),
    )
    page.reload()
    wait_connected(page)
    expect(user_bubbles(page)).to_have_text(["edited question"])
    shoot(page, "branches", width)


# ---------- 3. search ----------


def test_search_across_conversations_opens_the_message_on_its_branch(
    session_factory: Any, server: Any, width: str
) -> None:
    page = session_factory(viewport=WIDTHS[width]).new_page()
    log_in(page, server.base_url)
    new_chat(page)
    send(page, "tell me about pears")
    wait_answer_done(page)
    # Titled, so that only the message itself (not the title) matches "favourite".
    target_id = new_chat(page, title="Fruit talk")
    send(page, "my favourite fruit is the mango " + long_message(60))
    wait_answer_done(page)
    # Edit it away: the mango message is now on the branch not shown.
    first = page.locator(".message.user").first
    first.get_by_role("button", name="Edit message").click()
    first.get_by_role("textbox", name="Edited message").fill("something else")
    first.get_by_role("button", name="Save and send").click()
    wait_answer_done(page)
    new_chat(page)
    send(page, "我喜欢苹果和香蕉")
    wait_answer_done(page)

    page.keyboard.press("Control+k")
    dialog = page.get_by_role("dialog", name="Search")
    box = dialog.get_by_role("searchbox", name="Search all conversations")
    expect(box).to_be_focused()
    box.fill("mango")
    hits = dialog.locator(".search-hit")
    expect(hits.first).to_be_visible()
    expect(hits.first.locator("mark").first).to_have_text(re.compile("mango", re.IGNORECASE))
    shoot(page, "search", width)
    hits.filter(has_text="favourite").first.click()
    expect(dialog).to_be_hidden()
    page.wait_for_url(f"**/c/{target_id}")
    target = page.locator(".message.user", has_text="favourite fruit")
    expect(target).to_be_visible()
    expect(target).to_be_in_viewport()
    expect(target).to_have_class(re.compile("highlighted"))

    # Chinese words of two characters are found too.
    page.keyboard.press("Control+k")
    dialog.get_by_role("searchbox").fill("苹果")
    expect(dialog.locator(".search-hit mark").first).to_have_text("苹果")
    dialog.get_by_role("searchbox").fill("zzzzqqq")
    expect(dialog.get_by_role("status")).to_contain_text("Nothing found for “zzzzqqq”.")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


# ---------- 4. export and import ----------


def test_export_one_and_all_then_import_with_a_clear_error_for_a_bad_file(
    session_factory: Any, server: Any, width: str, tmp_path: Path
) -> None:
    page = session_factory(viewport=WIDTHS[width], accept_downloads=True).new_page()
    log_in(page, server.base_url)
    new_chat(page)
    send(page, "export me")
    wait_answer_done(page)

    menu = page.locator(".export-menu")
    menu.locator("summary").click()
    with page.expect_download() as markdown_download:
        menu.get_by_role("button", name="Markdown (this branch)").click()
    markdown = Path(markdown_download.value.path()).read_text()
    assert "export me" in markdown and "You said: export me" in markdown
    assert markdown_download.value.suggested_filename.endswith(".md")
    menu.locator("summary").click()
    with page.expect_download() as json_download:
        menu.get_by_role("button", name="JSON (every branch)").click()
    exported = json.loads(Path(json_download.value.path()).read_text())
    assert "export me" in json.dumps(exported, ensure_ascii=False)

    open_sidebar(page)
    sidebar = page.locator(".sidebar")
    with page.expect_download() as all_download:
        sidebar.get_by_role("button", name="Export all (JSON)").click()
    everything = Path(all_download.value.path())
    assert "export me" in everything.read_text()

    # Import it back: a second copy of the conversation appears in the list.
    with page.expect_file_chooser() as chooser:
        sidebar.get_by_role("button", name="Import…").click()
    chooser.value.set_files(str(everything))
    expect(sidebar.get_by_role("status")).to_have_text("Imported 1 conversation.")
    expect(sidebar.locator(".row-title", has_text="export me")).to_have_count(2)
    shoot(page, "imported", width)

    # A file that is neither format: a clear error, nothing stored.
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": "world"}')
    with page.expect_file_chooser() as chooser:
        sidebar.get_by_role("button", name="Import…").click()
    chooser.value.set_files(str(bad))
    expect(sidebar.get_by_role("alert")).to_contain_text("Import failed:")
    expect(sidebar.locator(".row-title", has_text="export me")).to_have_count(2)
    shoot(page, "import-refused", width)


# ---------- 5. attachments ----------

DROP_FILE = """([name, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, { type: "text/plain" }));
  const target = document.querySelector(".messages");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    target.dispatchEvent(new DragEvent(type, init));
  }
}"""

PASTE_FILE = """([name, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, { type: "text/csv" }));
  const box = document.querySelector("#composer-input");
  const init = { clipboardData: transfer, bubbles: true, cancelable: true };
  box.dispatchEvent(new ClipboardEvent("paste", init));
}"""


def test_attachments_by_picker_drop_and_paste_with_clear_refusals(
    session_factory: Any, server: Any, width: str, tmp_path: Path
) -> None:
    session = session_factory(viewport=WIDTHS[width])
    session.tolerate(r"status of 415")  # the refused image, on purpose
    page = session.new_page()
    log_in(page, server.base_url)
    conversation_id = new_chat(page)
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\nThe secret word is marmalade.\n")
    composer = page.locator(".composer")
    with page.expect_file_chooser() as chooser:
        composer.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(str(notes))
    page.evaluate(DROP_FILE, ["dropped.txt", "dropped text"])
    page.evaluate(PASTE_FILE, ["pasted.csv", "a,b\n1,2\n"])
    chips = composer.locator(".chip[data-state=ready] .chip-name")
    expect(chips).to_have_text(["notes.md", "dropped.txt", "pasted.csv"])

    # A refused type says why and can be removed; nothing else is lost.
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with page.expect_file_chooser() as chooser:
        composer.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(str(image))
    refused = composer.locator(".chip.refused")
    expect(refused).to_have_attribute("role", "alert")
    expect(refused).to_contain_text("photo.png: this kind of file cannot be attached")
    shoot(page, "attachments-composer", width)
    refused.get_by_role("button", name="Remove photo.png").click()
    expect(refused).to_have_count(0)

    send(page, "what is the secret word?")
    wait_answer_done(page)
    sent = page.locator(".message.user").last.locator(".chip-name")
    expect(sent).to_have_text(["notes.md", "dropped.txt", "pasted.csv"])
    # The scripted engine repeats its prompt: the files' text reached it.
    expect(last_answer(page).locator(".markdown")).to_contain_text("The secret word is marmalade.")
    expect(composer.locator(".chip")).to_have_count(0)
    detail = stored(page, server.base_url, conversation_id)
    user = [m for m in detail["messages"] if m["role"] == "user"][-1]
    assert [a["name"] for a in user["attachments"]] == ["notes.md", "dropped.txt", "pasted.csv"]
    shoot(page, "attachments-sent", width)


def test_an_attachment_over_the_size_limit_is_refused_clearly(
    start_server: Any, session_factory: Any, tmp_path: Path
) -> None:
    server = start_server("small-uploads", model="scripted", max_upload_mb="1")
    session = session_factory(base_url=server.base_url)
    session.tolerate(r"status of 413")  # the file over the limit, on purpose
    page = session.new_page()
    log_in(page, server.base_url)
    new_chat(page)
    big = tmp_path / "big.txt"
    big.write_text("x" * (2 * 1024 * 1024))
    with page.expect_file_chooser() as chooser:
        page.locator(".composer").get_by_role("button", name="Attach files").click()
    chooser.value.set_files(str(big))
    expect(page.locator(".composer .chip.refused")).to_contain_text("big.txt is too large")


# ---------- 6. thinking on or off ----------


def test_thinking_switch_for_a_model_whose_template_can_turn_it_off(
    session_factory: Any, server: Any, width: str
) -> None:
    page = session_factory(viewport=WIDTHS[width]).new_page()
    username = new_username()
    register_via_api(server.base_url, username)
    models = httpx.get(
        f"{server.base_url}/api/models",
        headers={"Authorization": f"Bearer {api_token(server.base_url, username)}"},
    ).json()
    # The scripted engine has no chat template: answer as a Qwen3-style model would.
    for model in models["models"]:
        model["thinking_toggle"] = True
    page.route("**/api/models", lambda route: route.fulfill(json=models))
    log_in_as(page, server.base_url, username)
    conversation_id = new_chat(page)
    switch = page.get_by_role("switch", name="Thinking")
    expect(switch).to_be_checked()
    switch.click()
    expect(switch).not_to_be_checked()
    eventually(
        lambda: stored(page, server.base_url, conversation_id)["conversation"]["thinking"], False
    )
    page.reload()
    expect(page.get_by_role("switch", name="Thinking")).not_to_be_checked()
    shoot(page, "thinking-off", width)


# ---------- 9. keyboard shortcuts ----------


def test_keyboard_shortcuts_and_their_help(session_factory: Any, server: Any, width: str) -> None:
    page = session_factory(viewport=WIDTHS[width]).new_page()
    log_in(page, server.base_url)
    new_chat(page)
    page.locator(".chat-title").click()
    page.keyboard.press("Control+/")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog.locator("dt")).to_have_text(
        [
            "New chat",
            "Focus the message box",
            "Stop the answer",
            "Search conversations",
            "Show this list",
        ]
    )
    expect(help_dialog.locator("dd").first).to_have_text("Ctrl + Shift + O")
    shoot(page, "shortcuts", width)
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # "/" focuses the composer; Esc stops the answer being written.
    page.locator(".chat-title").click()
    page.keyboard.press("/")
    expect(message_box(page)).to_be_focused()
    page.keyboard.type(long_message(200))
    page.keyboard.press("Enter")
    expect(last_answer(page).locator(".markdown")).to_contain_text("word3")
    page.keyboard.press("Escape")
    wait_answer_done(page, "cancelled")

    # Ctrl+Shift+O: a new chat, ready for typing.
    page.keyboard.press("Control+Shift+O")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(message_box(page)).to_be_focused()
    page.keyboard.press("Control+k")
    expect(page.get_by_role("dialog", name="Search")).to_be_visible()
    page.keyboard.press("Escape")


# ---------- 8. two languages ----------


def test_chinese_interface_from_the_browser_switchable_and_remembered(
    session_factory: Any, server: Any, width: str
) -> None:
    session = session_factory(viewport=WIDTHS[width], locale="zh-CN")
    page = session.new_page()
    username = new_username()
    register_via_api(server.base_url, username)
    page.goto(server.base_url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    shoot(page, "zh-login", width)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("wrong password!")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")
    page.get_by_label("密码").fill("correct horse battery")
    page.get_by_role("button", name="登录").click()

    expect(page.get_by_role("heading", name="新对话", level=1)).to_be_visible()
    expect(message_box(page)).to_have_attribute("placeholder", "输入消息…")
    page.keyboard.type("你好，" + long_message(5))
    page.keyboard.press("Enter")
    current_conversation_id(page)
    wait_answer_done(page)
    answer = last_answer(page)
    expect(answer.locator(".thinking-toggle")).to_have_text(re.compile(r"思考了 \d+\.\d 秒"))
    stats = re.compile(r"词元/秒 · 首个词元 \d+ 毫秒 · \d+ 个词元")
    expect(answer.locator(".stats")).to_have_text(stats)
    sent_at = re.compile(r"^发送于 \d{4}年\d{1,2}月\d{1,2}日")
    expect(answer.locator("time")).to_have_attribute("title", sent_at)
    expect(page.locator(".composer")).to_contain_text("Enter 发送，Shift+Enter 换行")
    shoot(page, "zh-chat-view", width)
    open_sidebar(page)
    expect(page.locator(".sidebar .row-meta").first).to_have_text(re.compile("现在|秒钟前|分钟前"))
    shoot(page, "zh-chat", width)
    close_sidebar(page)
    page.keyboard.press("Control+/")
    expect(page.get_by_role("dialog", name="键盘快捷键")).to_be_visible()
    shoot(page, "zh-shortcuts", width)
    page.keyboard.press("Escape")

    # Switched to English in the app, and remembered after a reload and a logout.
    open_sidebar(page)
    page.get_by_role("combobox", name="语言").select_option("en")
    expect(page.get_by_role("button", name="Log out", include_hidden=True)).to_be_attached()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    open_sidebar(page)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
