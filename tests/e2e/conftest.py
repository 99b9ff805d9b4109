"""Browser tests: the built SPA in headless Chromium against a real Parley server.

The server is `tests/conftest.py`'s ServerProcess on the scripted engine, serving
`frontend/dist` (build it first: `cd frontend && npm ci && npm run build`). Chromium comes
from the system (`PARLEY_E2E_CHROMIUM`, default /usr/bin/chromium): Playwright's own browser
download is not needed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import ServerProcess
from tests.e2e.browser_helpers import DIST, THINKING, TOKEN_DELAY_S

CHROMIUM = os.environ.get("PARLEY_E2E_CHROMIUM", "/usr/bin/chromium")
# Two busy CPU cores are enough to make a 5 s assertion flaky.
expect.set_options(timeout=10_000)


def require_built_frontend() -> None:
    if not (DIST / "index.html").is_file():
        pytest.fail("frontend/dist is missing: run `cd frontend && npm ci && npm run build` first")


@pytest.fixture(scope="session")
def start_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., ServerProcess]]:
    """Starts servers serving the built SPA; all of them stop at the end of the session."""
    require_built_frontend()
    started: list[ServerProcess] = []

    def start(name: str, **settings: str) -> ServerProcess:
        server = ServerProcess(
            tmp_path_factory.mktemp(name),
            static_dir=str(DIST),
            status_interval_s="0.5",
            flush_interval_s="0.2",
            **settings,
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server(
        "e2e", model="scripted", scripted_token_delay_s=TOKEN_DELAY_S, scripted_thinking=THINKING
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set PARLEY_E2E_CHROMIUM)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


# Failed requests the tests cause on purpose (wrong password, taken name, ...).
EXPECTED_CONSOLE_ERRORS = re.compile(r"status of (401|409|422|429)")


@dataclass
class BrowserSession:
    """One browser profile (context): its pages share localStorage, like tabs."""

    context: BrowserContext
    base_url: str
    errors: list[str]
    tolerated: list[re.Pattern[str]] = field(default_factory=lambda: [EXPECTED_CONSOLE_ERRORS])

    def tolerate(self, console_error: str) -> None:
        """Console errors matching this pattern are expected (a server stopped on purpose)."""
        self.tolerated.append(re.compile(console_error))

    def new_page(self) -> Page:
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("dialog", lambda dialog: self.errors.append(f"dialog: {dialog.message}"))
        page.on("console", self._on_console)
        return page

    def _on_console(self, message: Any) -> None:
        if message.type == "error" and not any(p.search(message.text) for p in self.tolerated):
            self.errors.append(f"console: {message.text}")


@pytest.fixture
def session_factory(browser: Browser, server: ServerProcess) -> Iterator[Any]:
    """Makes browser profiles; fails the test on any page error or dialog."""
    sessions: list[BrowserSession] = []

    def make(
        viewport: dict[str, int] | None = None, base_url: str | None = None, **options: Any
    ) -> BrowserSession:
        context = browser.new_context(
            viewport=viewport or {"width": 1280, "height": 800}, **options
        )
        context.set_default_timeout(15_000)
        session = BrowserSession(context, base_url or server.base_url, [])
        sessions.append(session)
        return session

    yield make
    errors = [error for session in sessions for error in session.errors]
    for session in sessions:
        session.context.close()
    assert not errors, errors


@pytest.fixture
def tab(session_factory: Any) -> Page:
    return session_factory().new_page()
