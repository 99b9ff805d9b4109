"""Schemathesis fuzzes every operation of the OpenAPI schema: no input makes a 500.

Bounded: a few examples per operation against a scripted engine that answers at once."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck

from tests.conftest import REPO, ServerProcess
from tests.integration.compat_support import bearer, create_key, register

EXAMPLES_PER_OPERATION = 15
TIME_LIMIT_S = 110
# Would end the session the fuzzing runs in.
SKIPPED = {("POST", "/api/auth/logout")}


def test_openapi_schema_fuzzing_finds_no_server_error(
    server_factory: type[ServerProcess],
) -> None:
    server = server_factory(model="scripted", scripted_token_delay_s="0").start()
    _, token = register(server)
    headers = bearer(create_key(server, token)["key"])
    schema_json = httpx.get(f"{server.base_url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(schema_json)
    started = time.monotonic()
    checked: list[str] = []
    failures: list[str] = []
    statuses: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        @hypothesis.given(case=operation.as_strategy())
        def call(case: schemathesis.Case) -> None:
            response = case.call(base_url=server.base_url, headers=headers, timeout=30)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.body!r}: "
                    f"{response.status_code} {response.text[:200]}"
                )

        call()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert time.monotonic() - started < TIME_LIMIT_S
    print(len(checked), "operations,", len(statuses), "calls:", sorted(set(statuses)))
    assert len(statuses) >= 2 * len(checked)
    assert not failures, "\n".join(failures) + "\n" + server.log()[-3000:]
    assert {"POST /api/v1/chat", "POST /v1/chat/completions", "POST /api/keys"} <= set(checked)


def _has_example(body: dict[str, Any], schemas: dict[str, Any]) -> bool:
    for content in body["content"].values():
        if "example" in content or "examples" in content:
            return True
        schema = content.get("schema", {})
        if "examples" in schema:
            return True
        refs = [schema.get("$ref")] + [s.get("$ref") for s in schema.get("anyOf", [])]
        for ref in filter(None, refs):
            if {"example", "examples"} & schemas[ref.rsplit("/", 1)[-1]].keys():
                return True
    return False


def test_every_route_is_documented_and_in_the_http_file(scripted_server: ServerProcess) -> None:
    spec = httpx.get(f"{scripted_server.base_url}/openapi.json").json()
    http_file = (REPO / "docs" / "parley.http").read_text()
    requests = {
        (method, re.sub(r"\{\{[^}]+\}\}", "{}", path.split("?")[0]))
        for method, path in re.findall(
            r"^(GET|POST|PATCH|PUT|DELETE) \{\{base\}\}(\S*)", http_file, flags=re.M
        )
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert _has_example(operation["requestBody"], spec["components"]["schemas"]), (
                    method,
                    path,
                )
            if path != "/health":
                template = re.sub(r"\{[^}]+\}", "{}", path)
                assert (method.upper(), template) in requests, (method, path)
    assert httpx.get(f"{scripted_server.base_url}/docs").status_code == 200
    assert httpx.get(f"{scripted_server.base_url}/redoc").status_code == 200
