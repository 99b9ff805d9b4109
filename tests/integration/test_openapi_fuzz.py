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


class Fuzzer:
    """Calls one operation with generated cases, keeping every status and each server error."""

    def __init__(self, server: ServerProcess, headers: dict[str, str]) -> None:
        self.server = server
        self.headers = headers
        self.statuses: list[int] = []
        self.failures: list[str] = []

    def run(
        self,
        operation: Any,
        examples: int,
        mode: schemathesis.GenerationMode = schemathesis.GenerationMode.POSITIVE,
    ) -> None:
        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def call(case: schemathesis.Case) -> None:
            response = case.call(base_url=self.server.base_url, headers=self.headers, timeout=60)
            self.statuses.append(response.status_code)
            if response.status_code >= 500:
                self.failures.append(
                    f"{case.method} {case.formatted_path} {case.body!r}: "
                    f"{response.status_code} {response.text[:200]}"
                )

        try:
            call()
        except hypothesis.errors.Unsatisfiable:
            # An operation whose every input is valid (no body, free-text path parameters)
            # has no negative case to send.
            if mode != schemathesis.GenerationMode.NEGATIVE:
                raise


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
    fuzzer = Fuzzer(server, headers)
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        fuzzer.run(operation, EXAMPLES_PER_OPERATION)
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert time.monotonic() - started < TIME_LIMIT_S
    statuses, failures = fuzzer.statuses, fuzzer.failures
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


COMPLETION_EXAMPLES = 40
COMPLETION_TIME_LIMIT_S = 240


def test_completion_routes_take_any_input_without_a_server_error(
    server_factory: type[ServerProcess],
) -> None:
    """/v1 and /api/v1 fuzzed harder, with valid and invalid bodies (out-of-range numbers
    such as a seed of 2**70, wrong types, missing fields): every answer is below 500."""
    server = server_factory(
        model="scripted", scripted_token_delay_s="0", max_active_per_user="64"
    ).start()
    _, token = register(server)
    headers = bearer(token)
    schema = schemathesis.openapi.from_dict(httpx.get(f"{server.base_url}/openapi.json").json())
    started = time.monotonic()
    fuzzed: list[str] = []
    fuzzer = Fuzzer(server, headers)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "POST" or not operation.path.startswith(("/v1", "/api/v1")):
            continue
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            fuzzer.run(operation, COMPLETION_EXAMPLES, mode)
        fuzzed.append(operation.path)
    statuses, failures = fuzzer.statuses, fuzzer.failures
    # Out-of-range numbers named in the issue, sent as they are.
    for body in (
        {"model": "scripted", "messages": [{"role": "user", "content": "x"}], "seed": 2**70},
        {"model": "scripted", "messages": [{"role": "user", "content": "x"}], "seed": -1},
        {"model": "scripted", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2**70},
        {"model": "scripted", "messages": [{"role": "user", "content": "x"}], "n": 2},
    ):
        response = httpx.post(
            f"{server.base_url}/v1/chat/completions", json=body, headers=headers, timeout=60
        )
        assert response.status_code == 422, (body, response.text)
    assert time.monotonic() - started < COMPLETION_TIME_LIMIT_S
    assert {"/v1/chat/completions", "/api/v1/chat", "/api/v1/generate"} <= set(fuzzed)
    assert len(statuses) >= COMPLETION_EXAMPLES * len(fuzzed)
    assert not failures, "\n".join(failures[:20]) + "\n" + server.log()[-3000:]
