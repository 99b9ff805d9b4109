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
    # The same button, relabelled: the keyboard focus stays on it.
    expect(page.get_by_role("button", name="Unload alpha")).to_be_focused()
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


GIB = 1024**3
FAKE_RESOURCES = {
    "gpus": [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "memory_used_bytes": 61 * GIB,
            "memory_total_bytes": 80 * GIB,
            "utilization_percent": 87.0,
            "temperature_c": 64.0,
        },
        {
            "index": 1,
            "name": "NVIDIA H100 80GB HBM3",
            "memory_used_bytes": 2 * GIB,
            "memory_total_bytes": 80 * GIB,
            "utilization_percent": None,
            "temperature_c": None,
        },
    ],
    "cpu": {
        "logical_cores": 16,
        "percent": 23.5,
        "process_percent": 180.0,
        "load_average": [3.1, 2.5, 2.0],
    },
    "memory": {
        "total_bytes": 128 * GIB,
        "available_bytes": 80 * GIB,
        "used_bytes": 48 * GIB,
        "percent": 37.5,
        "process_rss_bytes": 9 * GIB,
    },
    "disk": {
        "path": "/var/lib/parley",
        "total_bytes": 64 * GIB,
        "used_bytes": 60 * GIB,
        "free_bytes": 4 * GIB,
        "percent": 93.8,
        "data_dir_bytes": 350 * 1024**2,
    },
    "models": [
        {
            "id": "qwen3-8b",
            "state": "loaded",
            "is_default": True,
            "error": None,
            "device": "cuda:0",
            "dtype": "bfloat16",
            "memory_bytes": 16 * GIB,
            "progress": None,
        },
        {
            "id": "llama-3.1-70b-instruct",
            "state": "loading",
            "is_default": False,
            "error": None,
            "device": None,
            "dtype": None,
            "memory_bytes": None,
            "progress": 0.6,
        },
    ],
}


def test_gpu_cards_and_a_loading_model(models_server: ServerProcess, session_factory: Any) -> None:
    """This machine may have no GPU: the resources answer is replaced with a two-GPU host
    while a model loads, to see those cards and the progress bar."""
    admin = new_admin(models_server)
    page = session_factory(base_url=models_server.base_url).new_page()
    page.route(
        "**/api/admin/resources",
        lambda route: route.fulfill(json=FAKE_RESOURCES),
    )
    log_in_as(page, models_server.base_url, admin.username)
    page.goto(f"{models_server.base_url}/admin/resources")

    expect(page.get_by_role("meter", name="GPU 0 memory")).to_have_attribute("aria-valuenow", "76")
    expect(page.get_by_role("meter", name="GPU 1 memory")).to_be_visible()
    expect(page.get_by_text("64 °C")).to_be_visible()
    expect(page.get_by_text("No GPU")).to_have_count(0)
    expect(page.get_by_role("meter", name="CPU, Parley")).to_have_attribute("aria-valuenow", "11")
    expect(page.get_by_role("meter", name="Disk used")).to_have_attribute(
        "aria-valuetext", "60.0 GiB of 64.0 GiB, 94%"
    )
    expect(page.get_by_text("350 MiB")).to_be_visible()
    expect_state(page, "llama-3.1-70b-instruct", "Loading 60%")
    expect(page.get_by_role("progressbar", name="Loading llama-3.1-70b-instruct")).to_be_visible()
    expect(page.get_by_role("button", name="Load llama-3.1-70b-instruct")).to_be_disabled()
    expect(model_row(page, "qwen3-8b")).to_contain_text("16.0 GiB")

    ARTIFACTS.mkdir(exist_ok=True)
    for name, (width, height) in {"desktop-1440": (1440, 900), "phone-390": (390, 1500)}.items():
        page.set_viewport_size({"width": width, "height": height})
        if width < 768:
            expect(page.locator(".sidebar")).to_be_hidden()
        page.wait_for_timeout(300)
        assert_no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"resources-gpus-{name}.png"))


def test_non_admin_has_no_entry_and_gets_admins_only_message(tab: Page, server: Any) -> None:
    log_in(tab, server.base_url)
    expect(tab.get_by_role("button", name="New chat").first).to_be_visible()
    expect(tab.get_by_role("link", name="Resources", include_hidden=True)).to_have_count(0)

    tab.goto(f"{server.base_url}/admin/resources")
    expect(tab.get_by_role("alert")).to_contain_text("administrators only")
    expect(tab.get_by_role("table", name="Models")).to_have_count(0)
    expect(tab.get_by_role("meter")).to_have_count(0)
