"""The SPA against the real embedded SmolLM2 model (slow: run with `-m model`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import ServerProcess
from tests.e2e.browser_helpers import (
    DIST,
    answer_text,
    current_conversation_id,
    last_answer,
    log_in,
    message_box,
    new_chat,
    send,
    stored,
    wait_answer_done,
)

pytestmark = pytest.mark.model


def test_hello_streams_a_real_answer(
    server_factory: type[ServerProcess], model_data_dir: Path, session_factory: Any
) -> None:
    server = server_factory(
        data_dir=model_data_dir, static_dir=str(DIST), max_new_tokens="48"
    ).start(timeout_s=300)
    page = session_factory(base_url=server.base_url).new_page()
    log_in(page, server.base_url)
    new_chat(page)
    send(page, "Hello")
    wait_answer_done(page, timeout_ms=180_000)
    assert answer_text(page).strip() != ""


def test_chat_features_with_the_real_model(
    server_factory: type[ServerProcess],
    model_data_dir: Path,
    session_factory: Any,
    tmp_path: Path,
) -> None:
    """Every chat feature once against SmolLM2, in the Chinese interface: type at once, attach
    a file, copy, edit and switch versions, regenerate, search, export, stop with Esc."""
    server = server_factory(
        data_dir=model_data_dir, static_dir=str(DIST), max_new_tokens="400"
    ).start(timeout_s=300)
    session = session_factory(
        base_url=server.base_url,
        locale="zh-CN",
        accept_downloads=True,
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = session.new_page()
    log_in(page, server.base_url)
    expect(message_box(page)).to_be_focused()
    notes = tmp_path / "notes.txt"
    notes.write_text("The capital of France is Paris.\n")
    with page.expect_file_chooser() as chooser:
        page.locator(".composer").get_by_role("button", name="添加附件").click()
    chooser.value.set_files(str(notes))
    expect(page.locator(".composer .chip[data-state=ready]")).to_have_count(1)
    # The picker's button keeps the focus; type into the message box again.
    message_box(page).focus()
    page.keyboard.type("What is the capital of France?")
    page.keyboard.press("Enter")
    wait_answer_done(page, timeout_ms=180_000)
    first_answer = answer_text(page)
    assert first_answer.strip() != ""
    expect(page.locator(".message.user .chip-name")).to_have_text(["notes.txt"])
    last_answer(page).get_by_role("button", name="复制消息").click()
    # Copy takes the answer as written (Markdown), which the page shows rendered.
    answer = stored(page, server.base_url, current_conversation_id(page))["messages"][-1]
    assert page.evaluate("navigator.clipboard.readText()") == answer["content"]

    # Edit and resend: a second version with its own answer; the first one is still there.
    first = page.locator(".message.user").first
    first.get_by_role("button", name="编辑消息").click()
    first.get_by_role("textbox", name="编辑后的消息").fill("Say hello.")
    first.get_by_role("button", name="保存并发送").click()
    wait_answer_done(page, timeout_ms=180_000)
    expect(page.locator(".message.user .bubble")).to_have_text(["Say hello."])
    page.locator(".message.user").first.get_by_role("button", name="上一个版本").click()
    expect(page.locator(".message.user .bubble")).to_have_text(["What is the capital of France?"])

    # Regenerate: a second version of the answer.
    # Until the new version starts, the last answer is the old one, already complete.
    last_answer(page).get_by_role("button", name="重新生成").click()
    expect(last_answer(page).get_by_role("group", name="第 2 个版本，共 2 个")).to_be_visible()
    wait_answer_done(page, timeout_ms=180_000)

    # Stop with Esc: a prompt asking for a long answer (up to 400 tokens) is still streaming
    # when Esc arrives; a short answer could end first.
    message_box(page).focus()
    page.keyboard.type("Write a long story about a dragon and a knight.")
    page.keyboard.press("Enter")
    expect(page.locator(".message.user .bubble")).to_have_count(2)
    expect(last_answer(page)).to_have_attribute("data-status", "streaming", timeout=60_000)
    page.keyboard.press("Escape")
    wait_answer_done(page, "cancelled", timeout_ms=60_000)

    # Search finds the edited version and opens it.
    page.keyboard.press("Control+k")
    dialog = page.get_by_role("dialog", name="搜索")
    dialog.get_by_role("searchbox").fill("hello")
    dialog.locator(".search-hit", has_text="Say hello").first.click()
    expect(page.locator(".message.user .bubble")).to_have_text(["Say hello."])

    # Export the branch shown as Markdown.
    page.locator(".export-menu summary").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Markdown（当前分支）").click()
    assert "Say hello." in Path(download.value.path()).read_text()
