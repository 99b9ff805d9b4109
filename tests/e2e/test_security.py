"""Model output is never HTML: tags stay text, javascript: links go nowhere."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.browser_helpers import last_answer, log_in, new_chat, send, wait_answer_done

XSS_ANSWER = (
    "Here: <img src=x onerror=alert(1)> and [link](javascript:alert(1)) and "
    '<a href="javascript:alert(2)">raw</a> <script>alert(3)</script>'
)
XSS_THINKING = "<img src=x onerror=alert(4)> thinking"


def test_html_and_javascript_links_in_model_output_stay_inert(
    start_server: Any, session_factory: Any
) -> None:
    server = start_server(
        "xss", model="scripted", scripted_answer=XSS_ANSWER, scripted_thinking=XSS_THINKING
    )
    # session_factory fails the test if any dialog opens or any page error happens.
    page = session_factory(base_url=server.base_url).new_page()
    page.add_init_script("window.__xss = []; window.alert = (value) => window.__xss.push(value);")
    log_in(page, server.base_url)
    new_chat(page)
    send(page, "<img src=y onerror=alert(5)>")
    wait_answer_done(page)
    answer = last_answer(page)
    answer.locator(".thinking-toggle").click()

    expect(answer.locator(".markdown")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(answer.locator(".markdown")).to_contain_text("link")
    expect(answer.locator(".thinking-text")).to_have_text(XSS_THINKING)
    expect(page.locator(".message.user .bubble")).to_have_text(["<img src=y onerror=alert(5)>"])
    messages = page.locator(".message-list")
    expect(messages.locator("img")).to_have_count(0)
    expect(messages.locator("script")).to_have_count(0)
    expect(messages.locator("[onerror]")).to_have_count(0)
    expect(messages.locator("a[href^='javascript' i]")).to_have_count(0)
    event_handler_attributes = page.evaluate(
        """[...document.querySelectorAll('.message-list *')].flatMap((element) =>
            [...element.attributes].map((attribute) => attribute.name)
              .filter((name) => name.startsWith('on')))"""
    )
    assert event_handler_attributes == []
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") == []
