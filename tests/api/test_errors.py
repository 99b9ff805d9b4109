"""One translation of domain errors: each kind to an HTTP status and to a socket error frame."""

from __future__ import annotations

from typing import get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from parley.accounts.service import (
    AccountDisabled,
    InvalidCredentials,
    LastAdmin,
    TooManyAttempts,
    UsernameTaken,
    UserNotFound,
)
from parley.api.errors import http_status, install_error_handlers
from parley.chat.completions import (
    BadOptions,
    CompletionFailed,
    ModelNotLoaded,
    TooLarge,
)
from parley.chat.conversations.store import BadCursor
from parley.chat.conversations.tree import BadBranch
from parley.chat.errors import ChatRefused, ConversationNotFound, ModelsBusy
from parley.chat.live.run import RunFailed
from parley.chat.prepare.fairness import TooManyActive
from parley.chat.prepare.tool_limits import ToolsRefused
from parley.client import RequestRefused
from parley.engine.base import EngineError
from parley.files.attachments import FileNotFound, UnsupportedFile
from parley.library.export_document import BadImport
from parley.library.search import BadQuery
from parley.protocol import ErrorKind, ModelUnavailable, ParleyError
from parley.realtime.socket import error_frame
from parley.security import InvalidToken, PasswordChecksBusy

# (kind, HTTP status, socket code): the one translation, read off the contract.
TRANSLATIONS = [
    ("invalid", 422, "bad_request"),
    ("malformed", 400, "bad_request"),
    ("unauthenticated", 401, "bad_request"),
    ("forbidden", 403, "bad_request"),
    ("too_large", 413, "too_long"),
    ("unsupported", 415, "bad_request"),
    ("not_found", 404, "bad_request"),
    ("conflict", 409, "bad_request"),
    ("busy", 409, "busy"),
    ("rate_limited", 429, "rate_limited"),
    ("unavailable", 503, "model_unavailable"),
    ("failed", 502, "generation_failed"),
    ("internal", 500, "internal_error"),
]


def test_every_kind_is_translated() -> None:
    assert sorted(kind for kind, _, _ in TRANSLATIONS) == sorted(get_args(ErrorKind))


@pytest.mark.parametrize(("kind", "status", "socket_code"), TRANSLATIONS)
def test_each_kind_has_a_status_and_a_socket_code(
    kind: ErrorKind, status: int, socket_code: str
) -> None:
    error = ParleyError("Nope.", code="not_a_socket_code", kind=kind)
    assert http_status(error) == status
    frame = error_frame(error)
    assert (frame.code, frame.message) == (socket_code, "Nope.")


def test_a_socket_code_of_its_own_is_kept() -> None:
    assert error_frame(ChatRefused("no_active_run", "Nothing.")).code == "no_active_run"
    assert error_frame(ChatRefused("too_long", "Too long.")).code == "too_long"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (ChatRefused("busy", "x"), 409, "busy"),
        (ChatRefused("rate_limited", "x"), 429, "rate_limited"),
        (ChatRefused("too_long", "x"), 422, "too_long"),
        (ChatRefused("model_unavailable", "x"), 422, "model_unavailable"),
        (ConversationNotFound("c1"), 404, "conversation_not_found"),
        (BadCursor(), 422, "bad_cursor"),
        (ModelNotLoaded("model_not_loaded", "x"), 503, "model_not_loaded"),
        (BadOptions("max_tokens_too_large", "x"), 422, "max_tokens_too_large"),
        (TooLarge("too_many_messages", "x"), 413, "too_many_messages"),
        (TooManyActive(4), 429, "rate_limited"),
        (ModelsBusy("x"), 409, "model_unavailable"),
        (CompletionFailed("x"), 502, "generation_failed"),
        (EngineError("x"), 502, "generation_failed"),
        (RunFailed("internal_error", "x"), 502, "internal_error"),
        (ModelUnavailable("x", code="unknown_model"), 404, "unknown_model"),
        (ModelUnavailable("x"), 503, "model_failed"),
        (ToolsRefused("unmatched_tool_call_id", "x", "messages"), 400, "unmatched_tool_call_id"),
        (UsernameTaken(), 409, "username_taken"),
        (InvalidCredentials(), 401, "invalid_credentials"),
        (TooManyAttempts(30), 429, "too_many_attempts"),
        (AccountDisabled(), 403, "account_disabled"),
        (UserNotFound(), 404, "user_not_found"),
        (LastAdmin(), 409, "last_admin"),
        (PasswordChecksBusy(), 429, "rate_limited"),
        (InvalidToken("revoked"), 401, "not_authenticated"),
        (UnsupportedFile("x"), 415, "unsupported_file"),
        (FileNotFound("f1"), 404, "file_not_found"),
        (BadImport("x"), 422, "bad_import"),
        (BadQuery("x"), 422, "bad_query"),
        (BadBranch("x"), 422, "bad_request"),
    ],
)
def test_domain_errors_are_parley_errors(error: ParleyError, status: int, code: str) -> None:
    assert (http_status(error), error.code) == (status, code)


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/loading")
    @app.get("/v1/loading")
    async def loading() -> None:
        raise ModelNotLoaded("model_not_loaded", "Still loading.", retry_after_s=5)

    @app.get("/api/failed")
    async def failed() -> None:
        raise ModelUnavailable("The model 'x' failed to load: no weights.")

    @app.get("/api/login")
    async def login() -> None:
        raise TooManyAttempts(30)

    @app.get("/api/me")
    async def me() -> None:
        raise InvalidToken("signature mismatch")

    @app.get("/v1/tools")
    async def tools() -> None:
        raise ToolsRefused("invalid_tool_choice", "No such function.", "tool_choice")

    @app.get("/api/v1/unknown")
    @app.get("/v1/unknown")
    async def unknown() -> None:
        raise ModelUnavailable("No model named 'x'.", code="unknown_model")

    return TestClient(app)


def test_the_api_body_and_retry_after(client: TestClient) -> None:
    answer = client.get("/api/loading")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.json() == {"detail": {"code": "model_not_loaded", "message": "Still loading."}}
    unknown = client.get("/api/v1/unknown")
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": {"code": "unknown_model", "message": "No model named 'x'."}}


def test_the_openai_body_and_its_name_for_an_unknown_model(client: TestClient) -> None:
    answer = client.get("/v1/loading")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.json() == {
        "error": {
            "message": "Still loading.",
            "type": "service_unavailable_error",
            "param": None,
            "code": "model_not_loaded",
        }
    }
    unknown = client.get("/v1/unknown")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "message": "No model named 'x'.",
        "type": "not_found_error",
        "param": None,
        "code": "model_not_found",
    }


def test_the_openai_body_names_the_field_at_fault(client: TestClient) -> None:
    answer = client.get("/v1/tools")
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "message": "No such function.",
        "type": "invalid_request_error",
        "param": "tool_choice",
        "code": "invalid_tool_choice",
    }


def test_a_model_the_server_does_not_know_is_model_unavailable_on_a_socket() -> None:
    frame = error_frame(ModelUnavailable("No model named 'x'.", code="unknown_model"))
    assert (frame.code, frame.message) == ("model_unavailable", "No model named 'x'.")
    assert error_frame(ModelUnavailable("It failed.")).code == "model_unavailable"
    assert error_frame(TooManyActive(4)).code == "rate_limited"


def test_http_clients_know_a_failed_model_as_not_loaded(client: TestClient) -> None:
    answer = client.get("/api/failed")
    assert answer.status_code == 503
    assert answer.json()["detail"]["code"] == "model_not_loaded"


def test_account_errors_carry_their_headers(client: TestClient) -> None:
    throttled = client.get("/api/login")
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "30"
    assert throttled.json()["detail"] == {
        "code": "too_many_attempts",
        "message": "Too many failed logins; try again in 30 seconds.",
    }
    refused = client.get("/api/me")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["detail"]["code"] == "not_authenticated"
    # What the server knows of the token stays with it.
    assert "signature" not in refused.text


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, "unauthenticated"), (404, "not_found"), (409, "conflict"), (429, "rate_limited")],
)
def test_the_client_raises_the_servers_error_class(status: int, kind: ErrorKind) -> None:
    refused = RequestRefused(status, "some_code", "Nope.", retry_after_s=3)
    assert isinstance(refused, ParleyError)
    assert (refused.kind, refused.code, refused.retry_after_s) == (kind, "some_code", 3)
    assert str(refused) == f"{status} some_code: Nope."
