"""Nothing asked of /v1 is silently ignored: every OpenAI field is honoured or refused with a
400 naming it, and an unknown route is a 404 in OpenAI's error shape, SPA or not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import ServerFactory, ServerProcess
from tests.integration.compat_support import bearer, create_key, register

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def api_key(scripted_server: ServerProcess) -> str:
    _, token = register(scripted_server)
    return create_key(scripted_server, token)["key"]


@pytest.fixture(scope="module")
def client(scripted_server: ServerProcess, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{scripted_server.base_url}/v1", api_key=api_key, max_retries=0)


def refusal(client: openai.OpenAI, **fields: Any) -> dict[str, Any]:
    """The error body of a chat completion the server refuses with a 400."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="scripted", **{"messages": USER, **fields})
    body = caught.value.body
    assert isinstance(body, dict)
    assert set(body) == {"message", "type", "param", "code"}
    assert body["type"] == "invalid_request_error"
    return body


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"logprobs": False, "top_logprobs": 2}, "top_logprobs"),
        # The scripted engine cannot promise JSON (llama.cpp can: test_structured_output.py).
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"frequency_penalty": 1}, "frequency_penalty"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"store": True}, "store"),
        ({"verbosity": "low"}, "verbosity"),
        ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
        ({"web_search_options": {}}, "web_search_options"),
        ({"functions": [{"name": "f", "parameters": {}}]}, "functions"),
    ],
)
def test_a_field_not_honoured_is_a_400_naming_it(
    client: openai.OpenAI, fields: dict[str, Any], param: str
) -> None:
    body = refusal(client, **fields)
    assert body["param"] == param
    assert body["code"] == "unsupported_parameter"
    assert f"`{param}`" in body["message"]


def test_an_unknown_field_is_refused_as_openai_refuses_it(client: openai.OpenAI) -> None:
    body = refusal(client, extra_body={"best_of": 3})
    assert body["param"] == "best_of"
    assert body["message"] == "Unrecognized request argument supplied: best_of"


def test_an_image_part_says_the_model_has_no_images(client: openai.OpenAI) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "what is it?"}, image]}]
    body = refusal(client, messages=messages)
    assert body["param"] == "messages[0].content[1]"
    assert body["message"].startswith("The model 'scripted' does not support images")


def test_fields_at_their_default_are_accepted(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "plain"}],
        logprobs=False,
        presence_penalty=0,
        frequency_penalty=0,
        response_format={"type": "text"},
        modalities=["text"],
        store=False,
        n=1,
        user="someone",
        metadata={"purpose": "test"},
        verbosity="medium",
    )
    assert completion.choices[0].message.content == "You said: plain"


def test_reasoning_effort_none_turns_thinking_off(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": "quick"}], reasoning_effort="none"
    )
    message = completion.choices[0].message
    assert message.content == "You said: quick"
    assert (message.model_extra or {}).get("reasoning_content") is None


def test_one_model_by_id(client: openai.OpenAI) -> None:
    model = client.models.retrieve("scripted")
    assert (model.id, model.object, model.owned_by) == ("scripted", "model", "parley")
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-nonexistent")
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "model_not_found"
    assert body["type"] == "not_found_error"


def check_unknown_routes(base_url: str, key: str) -> None:
    for method, path in [
        ("POST", "/v1/completions"),
        ("GET", "/v1/foo"),
        ("POST", "/v1/foo/bar"),
        ("DELETE", "/v1/foo"),
    ]:
        answer = httpx.request(method, f"{base_url}{path}", json={}, headers=bearer(key))
        assert answer.status_code == 404, (method, path, answer.text)
        error = answer.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["code"] == "unknown_route" and error["type"] == "not_found_error"
        assert f"{method} {path}" in error["message"]
    for path in ("/v1/chat/completions", "/v1/embeddings"):
        wrong_method = httpx.get(f"{base_url}{path}", headers=bearer(key))
        assert wrong_method.status_code == 405
        assert wrong_method.headers["allow"] == "POST"
        assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_unknown_routes_are_404_in_openais_shape(
    scripted_server: ServerProcess, api_key: str
) -> None:
    check_unknown_routes(scripted_server.base_url, api_key)


def test_the_spa_does_not_answer_for_v1(server_factory: ServerFactory, tmp_path: Path) -> None:
    """With a built frontend, its catch-all route (GET only) must not turn a POST to an unknown
    /v1 route into a 405."""
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>Parley</title>")
    server = server_factory(model="scripted", static_dir=str(static)).start()
    _, token = register(server)
    check_unknown_routes(server.base_url, create_key(server, token)["key"])
    assert httpx.get(f"{server.base_url}/some/page").text.startswith("<!doctype html>")
