"""Browser protections on every response of a real server: pages, assets, API routes, errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.helpers import bearer, new_account

FIXED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in parsed, f"{name} twice in {policy!r}"
        parsed[name] = values
    return parsed


def assert_protected(response: httpx.Response) -> dict[str, list[str]]:
    for name, value in FIXED.items():
        assert response.headers.get_list(name) == [value], name
    [policy] = response.headers.get_list("content-security-policy")
    parsed = directives(policy)
    assert parsed["frame-ancestors"] == ["'none'"]
    assert parsed["object-src"] == ["'none'"]
    return parsed


def assert_strict(response: httpx.Response, port: int) -> None:
    parsed = assert_protected(response)
    assert parsed["default-src"] == ["'self'"]
    # No inline script or style, no eval, no other origin.
    assert parsed["script-src"] == ["'self'"]
    assert parsed["style-src"] == ["'self'"]
    assert parsed["connect-src"] == [
        "'self'",
        f"ws://127.0.0.1:{port}",
        f"wss://127.0.0.1:{port}",
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A scripted server serving a small SPA folder of real files."""
    root = tmp_path_factory.mktemp("headers")
    static = root / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text('<!doctype html><script src="/assets/app.js"></script>')
    (static / "assets" / "app.js").write_text("console.log('app');\n")
    (static / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    server = ServerProcess(root / "data", model="scripted", static_dir=str(static)).start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            yield http
    finally:
        server.stop()


def port_of(client: httpx.Client) -> int:
    port = client.base_url.port
    assert port is not None
    return port


def test_the_app_page_and_its_spa_routes_are_strictly_protected(site: httpx.Client) -> None:
    for path in ("/", "/c/some-conversation", "/admin/resources"):
        response = site.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert_strict(response, port_of(site))


def test_assets_and_root_files_are_protected(site: httpx.Client) -> None:
    for path in ("/assets/app.js", "/favicon.svg"):
        response = site.get(path)
        assert response.status_code == 200
        assert_strict(response, port_of(site))
    missing = site.get("/assets/missing.js")
    assert missing.status_code == 404
    assert_strict(missing, port_of(site))


def test_api_routes_and_their_errors_are_protected(site: httpx.Client) -> None:
    account = new_account(site)
    answered = site.get("/api/auth/me", headers=bearer(account.token))
    assert answered.status_code == 200
    assert_strict(answered, port_of(site))
    for response in (
        site.get("/api/auth/me"),
        site.post("/api/auth/login", json={"username": "x"}),
        site.get("/api/no-such-route"),
        site.get("/health"),
        site.get("/openapi.json"),
    ):
        assert_strict(response, port_of(site))


def test_a_host_that_is_not_a_plain_host_is_not_echoed(site: httpx.Client) -> None:
    response = site.get("/", headers={"host": "evil.example; script-src *"})
    assert directives(response.headers["content-security-policy"])["connect-src"] == ["'self'"]


def test_the_api_docs_pages_get_the_looser_policy_they_need(site: httpx.Client) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        response = site.get(path)
        assert response.status_code == 200
        parsed = assert_protected(response)
        # The pages are an inline script over Swagger UI / ReDoc from the CDN.
        assert "'unsafe-inline'" in parsed["script-src"]
        assert "https://cdn.jsdelivr.net" in parsed["script-src"]
        assert parsed["connect-src"] == ["'self'"]
    assert "https://cdn.jsdelivr.net" in site.get("/docs").text
