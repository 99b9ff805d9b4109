"""The administrators' resources view: hardware cards, the models table with Load and Unload,
and the admins-only answer for everyone else. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import ServerProcess
from tests.e2e.browser_helpers import ARTIFACTS, log_in, log_in_as
from tests.integration.ws import new_admin

MODELS = [
    {"id": "alpha", "path": "scripted"},
    {"id": "beta", "path": "scripted"},
    {"id": "broken", "path": "/nowhere/no-such-model"},
]


@pytest.fixture(scope="module")
def models_server(
    start_server: Callable[..., ServerProcess], tmp_path_factory: pytest.TempPathFactory
) -> ServerProcess:
    models_file = tmp_path_factory.mktemp("resources-models") / "models.json"
    models_file.write_text(json.dumps(MODELS))
    return start_server("resources", model="alpha", models_file=str(models_file))


def model_row(page: Page, model_id: str) -> Locator:
    return page.locator(f'.models-table tr[data-model="{model_id}"]')


def expect_state(page: Page, model_id: str, label: str) -> None:
    expect(model_row(page, model_id).locator(".badge:not(.badge-default)")).to_have_text(
        re.compile(f"^{label}"), timeout=30_000
    )


def assert_no_sideways_scroll(page: Page) -> None:
    for selector in ("document.documentElement", "document.querySelector('.resources-body')"):
        width, scroll_width = page.evaluate(f"[{selector}.clientWidth, {selector}.scrollWidth]")
        assert scroll_width <= width, f"{selector} scrolls sideways: {scroll_width} > {width}"


def test_admin_sees_resources_and_loads_and_unloads_models(
    models_server: ServerProcess, session_factory: Any
) -> None:
    admin = new_admin(models_server)
    page = session_factory(base_url=models_server.base_url).new_page()
    log_in_as(page, models_server.base_url, admin.username)

    entry = page.locator(".sidebar").get_by_role("link", name="Resources")
    expect(entry).to_be_visible()
    entry.click()
    page.wait_for_url(re.compile(r"/admin/resources$"))
    expect(page.get_by_role("heading", name="Resources", level=1)).to_be_visible()
    expect(entry).to_have_attribute("aria-current", "page")

    # Hardware: a GPU card or "No GPU", then CPU, RAM and disk with their bars.
    expect(page.get_by_role("heading", name=re.compile("^(GPU|CPU)")).first).to_be_visible()
    gpus = page.get_by_role("meter", name=re.compile(r"^GPU \d+ memory$"))
    if gpus.count() == 0:
        expect(page.get_by_text("No GPU")).to_be_visible()
    expect(page.get_by_role("meter", name="CPU, all processes")).to_be_visible()
    expect(page.get_by_role("meter", name="CPU, Parley")).to_be_visible()
    expect(page.get_by_role("meter", name="RAM used")).to_have_attribute(
        "aria-valuetext", re.compile(r"[KMGT]iB of .*[MGT]iB")
    )
    expect(page.get_by_role("meter", name="Disk used")).to_be_visible()
    expect(page.get_by_text("Parley (resident)")).to_be_visible()
    expect(page.get_by_text("Data directory")).to_be_visible()
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()

    # The models table: the default model loads at start; unload it, then load it again
    # with the keyboard.
    expect(page.get_by_role("table", name="Models")).to_be_visible()
    expect_state(page, "alpha", "Loaded")
    expect(model_row(page, "alpha")).to_contain_text("default")
    expect(model_row(page, "alpha")).to_contain_text("cpu")
    expect_state(page, "beta", "Not loaded")
    page.get_by_role("button", name="Unload alpha").click()
    expect_state(page, "alpha", "Not loaded")
    load = page.get_by_role("button", name="Load alpha")
    load.focus()
    page.keyboard.press("Enter")
    expect_state(page, "alpha", "Loaded")
    expect(page.get_by_role("button", name="Unload alpha")).to_be_enabled()

    # A model that cannot load shows why.
    page.get_by_role("button", name="Load broken").click()
    expect_state(page, "broken", "Failed")
    expect(model_row(page, "broken").locator(".model-error")).not_to_be_empty()
    expect(page.get_by_role("button", name="Retry loading broken")).to_be_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    for name, (width, height) in {
        "desktop-1440": (1440, 900),
        "phone-390": (390, 844),
        "phone-390-tall": (390, 1700),
    }.items():
        page.set_viewport_size({"width": width, "height": height})
        expect(page.get_by_role("meter", name="Disk used")).to_be_visible()
        if width < 768:
            # The sidebar slides out of view as a closed drawer: wait for the end of that.
            expect(page.locator(".sidebar")).to_be_hidden()
        page.wait_for_timeout(300)
        assert_no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"resources-{name}.png"))

    # On a phone the entry sits in the drawer.
    page.get_by_role("button", name="Show conversations").click()
    expect(entry).to_be_visible()
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "resources-phone-390-drawer.png"))
    entry.click()
    expect(page.locator(".sidebar")).to_be_hidden()


def test_non_admin_has_no_entry_and_gets_admins_only_message(tab: Page, server: Any) -> None:
    log_in(tab, server.base_url)
    expect(tab.get_by_role("button", name="New chat").first).to_be_visible()
    expect(tab.get_by_role("link", name="Resources", include_hidden=True)).to_have_count(0)

    tab.goto(f"{server.base_url}/admin/resources")
    expect(tab.get_by_role("alert")).to_contain_text("administrators only")
    expect(tab.get_by_role("table", name="Models")).to_have_count(0)
    expect(tab.get_by_role("meter")).to_have_count(0)
