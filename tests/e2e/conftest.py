"""Browser tests: the built SPA in headless Chromium against a real Parley server.

The server is `tests/conftest.py`'s ServerProcess on the scripted engine, serving
`frontend/dist` (build it first: `cd frontend && npm ci && npm run build`). Chromium comes
from the system (`PARLEY_E2E_CHROMIUM`, default /usr/bin/chromium): Playwright's own browser
download is not needed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")
from browser_helpers import THINKING, TOKEN_DELAY_S  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "frontend" / "dist"
CHROMIUM = os.environ.get("PARLEY_E2E_CHROMIUM", "/usr/bin/chromium")


def server_process_class(config: pytest.Config) -> Any:
    """ServerProcess from tests/conftest.py (conftest modules cannot be imported by name)."""
    plugin = config.pluginmanager.get_plugin(str(REPO / "tests" / "conftest.py"))
    if plugin is None or not hasattr(plugin, "ServerProcess"):
        raise RuntimeError("tests/conftest.py with ServerProcess is required for the e2e tests")
    return plugin.ServerProcess


def require_built_frontend() -> None:
    if not (DIST / "index.html").is_file():
        pytest.fail("frontend/dist is missing: run `cd frontend && npm ci && npm run build` first")


@pytest.fixture(scope="session")
def start_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """Starts servers serving the built SPA; all of them stop at the end of the session."""
    require_built_frontend()
    server_class = server_process_class(request.config)
    started: list[Any] = []

    def start(name: str, **settings: str) -> Any:
        server = server_class(
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
def server(start_server: Any) -> Any:
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
def session_factory(browser: Browser, server: Any) -> Iterator[Any]:
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
