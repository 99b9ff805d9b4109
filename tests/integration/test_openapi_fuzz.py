"""Schemathesis fuzzes every operation of the OpenAPI schema: no input makes a 500.

Bounded: a few examples per operation against a scripted engine that answers at once."""

from __future__ import annotations

import time

import httpx
import hypothesis
import schemathesis
from compat_support import bearer, create_key, register
from hypothesis import HealthCheck

from conftest import ServerProcess

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
