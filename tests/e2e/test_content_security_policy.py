"""The app works under its Content-Security-Policy, and the policy is really enforced."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess
from tests.e2e.browser_helpers import (
    DIST,
    answer_text,
    log_in,
    new_chat,
    send,
    wait_answer_done,
)

# Runs in every document before the page's own scripts: records what the policy refused.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def recording_page(session_factory: Any) -> tuple[Any, Page]:
    session = session_factory()
    page = session.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    return session, page


def test_the_built_page_has_no_inline_script_or_style() -> None:
    html = (DIST / "index.html").read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts, "the built page loads no script"
    for attributes, body in scripts:
        assert 'src="/assets/' in attributes and body.strip() == "", attributes
    assert "<style" not in html
    assert not re.search(r"\s(style|on[a-z]+)=", html)


def test_the_app_logs_in_and_streams_under_the_policy(
    server: ServerProcess, session_factory: Any
) -> None:
    # session_factory fails the test on any console error, which is where Chromium reports
    # every resource, inline script or connection the policy refuses.
    _, page = recording_page(session_factory)
    response = page.goto(server.base_url)
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    log_in(page, server.base_url)
    new_chat(page)
    send(page, "hello under **the policy**")
    wait_answer_done(page)
    assert "hello under" in answer_text(page)
    page.reload()
    wait_answer_done(page)
    assert page.evaluate("window.__violations") == []


def test_the_policy_refuses_an_injected_inline_script(
    server: ServerProcess, session_factory: Any
) -> None:
    session, page = recording_page(session_factory)
    session.tolerate("Content Security Policy")
    log_in(page, server.base_url)
    page.evaluate(
        """() => {
          window.__ran = false;
          const script = document.createElement('script');
          script.textContent = 'window.__ran = true';
          document.body.append(script);
        }"""
    )
    page.wait_for_function("() => window.__violations.length > 0")
    assert page.evaluate("window.__ran") is False
    assert page.evaluate("window.__violations")[0].startswith("script-src")


# The docs pages load Swagger UI and ReDoc from the CDN, which the tests cannot reach: these
# stand-ins do what the real bundles start with (read the page's config, fetch the schema).
SWAGGER_STAND_IN = """
window.SwaggerUIBundle = (config) => fetch(config.url).then((r) => r.json()).then((schema) => {
  document.querySelector(config.dom_id).textContent = 'swagger: ' + schema.info.title;
});
window.SwaggerUIBundle.presets = { apis: {} };
window.SwaggerUIBundle.SwaggerUIStandalonePreset = {};
"""
REDOC_STAND_IN = """
const element = document.querySelector('redoc');
fetch(element.getAttribute('spec-url')).then((r) => r.json()).then((schema) => {
  element.textContent = 'redoc: ' + schema.info.title;
});
"""


def serve_cdn_stand_ins(page: Page) -> None:
    def fulfil(route: Any) -> None:
        url = route.request.url
        if url.endswith("swagger-ui-bundle.js"):
            route.fulfill(body=SWAGGER_STAND_IN, content_type="text/javascript")
        elif url.endswith("redoc.standalone.js"):
            route.fulfill(body=REDOC_STAND_IN, content_type="text/javascript")
        elif ".css" in url or "fonts.googleapis.com" in url:
            route.fulfill(body="", content_type="text/css")
        else:
            route.fulfill(status=204)

    page.route(re.compile(r"^https://"), fulfil)


def test_the_api_docs_pages_work_under_their_policy(
    server: ServerProcess, session_factory: Any
) -> None:
    _, page = recording_page(session_factory)
    serve_cdn_stand_ins(page)
    for path, shown in (("/docs", "swagger: Parley"), ("/redoc", "redoc: Parley")):
        response = page.goto(server.base_url + path)
        assert response is not None
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        # The inline script ran, the CDN script loaded, and the schema was fetched.
        expect(page.locator("body")).to_contain_text(shown)
        assert page.evaluate("window.__violations") == []
