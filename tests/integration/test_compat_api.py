"""The simple model-service API under /api/v1, against real servers on the scripted engine
(which thinks "Let me think about that." and answers "You said: <last user message>")."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.integration.compat_support import bearer, create_admin, create_key, register
from tests.integration.ws import ChatSocket, new_user

THINKING = "Let me think about that."


@pytest.fixture(scope="module")
def token(scripted_server: ServerProcess) -> str:
    return register(scripted_server)[1]


@pytest.fixture(scope="module")
def api(scripted_server: ServerProcess, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{scripted_server.base_url}/api/v1", headers=bearer(token), timeout=30
    ) as client:
        yield client


def sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


# ---------- /chat ----------


def test_chat_with_message_and_history(api: httpx.Client) -> None:
    answer = api.post(
        "/chat",
        json={
            "message": "how are you",
            "history": [
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "hi"},
            ],
            "temperature": 0.7,
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["response"] == "You said: how are you"
    assert body["thinking"] == THINKING
    assert body["success"] is True and body["error"] is None
    usage = body["usage"]
    assert usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_with_openai_style_messages(api: httpx.Client) -> None:
    answer = api.post(
        "/chat",
        json={
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "what is ML"},
            ],
            "temperature": 0.5,
            "max_tokens": 300,
            "top_p": 0.9,
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["response"] == "You said: what is ML"


def test_max_tokens_cuts_the_answer(api: httpx.Client) -> None:
    body = api.post("/chat", json={"message": "a b c d e f", "max_tokens": 3}).json()
    assert body["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3


def test_thinking_false_skips_the_thinking(api: httpx.Client) -> None:
    body = api.post("/chat", json={"message": "quick", "thinking": False}).json()
    assert body["thinking"] == "" and body["response"] == "You said: quick"


def test_a_failing_generation_is_reported_not_a_500(api: httpx.Client) -> None:
    answer = api.post("/chat", json={"message": "please [[fail]]"})
    assert answer.status_code == 200
    assert answer.json()["success"] is False and answer.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": ""},
        {"message": "x", "messages": [{"role": "user", "content": "y"}]},
        {"messages": []},
        {"messages": [{"role": "system", "content": "only system"}]},
        {"messages": [{"role": "robot", "content": "y"}]},
        {"message": "x", "temperature": 2.5},
        {"message": "x", "temperature": -0.1},
        {"message": "x", "top_p": 0},
        {"message": "x", "top_p": 1.5},
        {"message": "x", "max_tokens": 0},
        {"message": "x", "max_tokens": 10_000_000},
        {"message": "x", "history": [{"role": "system", "content": "no"}]},
        {"message": "x" * 32_001},
    ],
)
def test_bad_chat_bodies_get_422(api: httpx.Client, body: dict[str, Any]) -> None:
    answer = api.post("/chat", json=body)
    assert answer.status_code == 422, answer.text
    assert "detail" in answer.json()


def test_model_routes_need_a_token_or_key(scripted_server: ServerProcess, token: str) -> None:
    base = f"{scripted_server.base_url}/api/v1"
    calls = [
        ("POST", "/chat", {"message": "x"}),
        ("POST", "/chat/stream", {"message": "x"}),
        ("POST", "/generate", {"prompt": "x"}),
        ("POST", "/batch", {"prompts": ["x"]}),
        ("GET", "/model/info", None),
        ("POST", "/model/load", None),
    ]
    key = create_key(scripted_server, token)
    httpx.delete(f"{scripted_server.base_url}/api/keys/{key['id']}", headers=bearer(token))
    for method, path, body in calls:
        for headers in ({}, bearer("not-a-token"), bearer(key["key"])):
            answer = httpx.request(method, base + path, json=body, headers=headers)
            assert answer.status_code == 401, (method, path, headers, answer.text)
            assert answer.json()["detail"]["code"] == "not_authenticated"


def test_an_api_key_works_like_a_token(scripted_server: ServerProcess, token: str) -> None:
    key = create_key(scripted_server, token)
    answer = httpx.post(
        f"{scripted_server.base_url}/api/v1/generate",
        json={"prompt": "by key"},
        headers=bearer(key["key"]),
    )
    assert answer.status_code == 200
    assert answer.json()["generated_text"] == "You said: by key"


# ---------- /chat/stream ----------


def test_stream_sends_start_thinking_chunks_end(scripted_server: ServerProcess, token: str) -> None:
    with httpx.stream(
        "POST",
        f"{scripted_server.base_url}/api/v1/chat/stream",
        json={"message": "stream me", "history": []},
        headers=bearer(token),
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        if not scripted_server.proxied:
            assert response.headers["x-accel-buffering"] == "no"
        assert response.headers["cache-control"] == "no-cache"
        events = list(sse_events(response))
    kinds = [event["type"] for event in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert set(kinds[1:-1]) == {"thinking", "chunk"}
    assert kinds.index("chunk") > max(i for i, k in enumerate(kinds) if k == "thinking")
    assert "".join(e["content"] for e in events if e["type"] == "thinking") == THINKING
    assert "".join(e["content"] for e in events if e["type"] == "chunk") == "You said: stream me"
    assert events[-1]["finish_reason"] == "stop" and events[-1]["usage"]["completion_tokens"] > 0


def test_stream_events_arrive_as_they_are_made(server_factory: type[ServerProcess]) -> None:
    server = server_factory(model="scripted", scripted_token_delay_s="0.25").start()
    _, token = register(server)
    started = time.monotonic()
    arrivals: list[tuple[float, str]] = []
    with httpx.stream(
        "POST",
        f"{server.base_url}/api/v1/chat/stream",
        json={"message": "one two three four"},
        headers=bearer(token),
        timeout=30,
    ) as response:
        for event in sse_events(response):
            arrivals.append((time.monotonic() - started, event["type"]))
    first_text = next(at for at, kind in arrivals if kind == "thinking")
    end = arrivals[-1][0]
    assert arrivals[-1][1] == "end"
    # 11 tokens at 0.25 s each: the first must not wait for the rest.
    assert end > 2.0
    assert first_text < end - 1.5, arrivals


def test_stream_errors_end_with_an_error_event(api: httpx.Client) -> None:
    with api.stream("POST", "/chat/stream", json={"message": "[[fail]] now"}) as response:
        events = list(sse_events(response))
    assert events[0]["type"] == "start"
    assert events[-1]["type"] == "error" and events[-1]["content"]


def test_stream_refuses_bad_options_before_streaming(api: httpx.Client) -> None:
    answer = api.post("/chat/stream", json={"message": "x", "max_tokens": 10_000_000})
    assert answer.status_code == 422
    assert answer.json()["detail"]["code"] == "max_tokens_too_large"


# ---------- /generate ----------


def test_generate(api: httpx.Client) -> None:
    answer = api.post(
        "/generate",
        json={"prompt": "write code", "temperature": 0.3, "top_p": 0.8, "max_tokens": 600},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["generated_text"] == "You said: write code"
    assert body["model"] == "scripted"
    assert body["generation_time_ms"] > 0
    assert body["usage"]["total_tokens"] > 0


def test_generate_streams_when_asked(api: httpx.Client) -> None:
    with api.stream("POST", "/generate", json={"prompt": "s", "stream": True}) as response:
        events = list(sse_events(response))
    assert events[0]["type"] == "start" and events[-1]["type"] == "end"
    assert "".join(e["content"] for e in events if e["type"] == "chunk") == "You said: s"


@pytest.mark.parametrize(
    "body",
    [{}, {"prompt": ""}, {"prompt": "x", "temperature": 3}, {"prompt": "x", "stream": "maybe"}],
)
def test_bad_generate_bodies_get_422(api: httpx.Client, body: dict[str, Any]) -> None:
    assert api.post("/generate", json=body).status_code == 422


def test_generate_failure_is_502_with_a_code(api: httpx.Client) -> None:
    answer = api.post("/generate", json={"prompt": "[[fail]]"})
    assert answer.status_code == 502
    assert answer.json()["detail"]["code"] == "generation_failed"


# ---------- /batch ----------


def test_batch_answers_every_prompt_in_order(api: httpx.Client) -> None:
    prompts = [f"prompt {i}" for i in range(5)]
    answer = api.post("/batch", json={"prompts": prompts, "temperature": 0.7, "max_tokens": 300})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["results"] == [f"You said: {p}" for p in prompts]
    assert body["model"] == "scripted"
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )


def test_batch_prompts_run_concurrently(server_factory: type[ServerProcess]) -> None:
    server = server_factory(model="scripted", scripted_token_delay_s="0.1").start()
    _, token = register(server)
    one = time.monotonic()
    httpx.post(
        f"{server.base_url}/api/v1/batch",
        json={"prompts": ["a"]},
        headers=bearer(token),
        timeout=60,
    )
    single_s = time.monotonic() - one
    eight = time.monotonic()
    answer = httpx.post(
        f"{server.base_url}/api/v1/batch",
        json={"prompts": [f"p{i}" for i in range(8)]},
        headers=bearer(token),
        timeout=60,
    )
    assert answer.status_code == 200
    assert time.monotonic() - eight < 3 * single_s


def test_batch_limits(api: httpx.Client) -> None:
    too_many = api.post("/batch", json={"prompts": ["x"] * 17})
    assert too_many.status_code == 422
    assert too_many.json()["detail"]["code"] == "batch_too_large"
    assert api.post("/batch", json={"prompts": ["x"] * 16, "max_tokens": 1}).status_code == 200
    assert api.post("/batch", json={"prompts": []}).status_code == 422
    assert api.post("/batch", json={"prompts": ["ok", "  "]}).status_code == 422
    assert api.post("/batch", json={"prompts": ["x"], "top_p": 2}).status_code == 422


def test_batch_maximum_is_configurable(server_factory: type[ServerProcess]) -> None:
    server = server_factory(model="scripted", max_batch_prompts="2").start()
    _, token = register(server)
    url = f"{server.base_url}/api/v1/batch"
    assert httpx.post(url, json={"prompts": ["a", "b"]}, headers=bearer(token)).status_code == 200
    refused = httpx.post(url, json={"prompts": ["a", "b", "c"]}, headers=bearer(token))
    assert refused.status_code == 422


# ---------- model and service ----------


def test_model_info(api: httpx.Client) -> None:
    body = api.get("/model/info").json()
    assert body["model_name"] == "scripted"
    assert body["is_loaded"] is True and body["state"] == "loaded"
    assert body["device"] == "cpu" and body["dtype"]
    assert body["context_length"] > 0
    assert {"model_path", "parameter_count", "memory_bytes"} <= body.keys()


def test_model_load_is_for_administrators(
    scripted_server: ServerProcess, api: httpx.Client
) -> None:
    refused = api.post("/model/load")
    assert refused.status_code == 403
    admin = create_admin(scripted_server)
    loaded = httpx.post(
        f"{scripted_server.base_url}/api/v1/model/load", json={}, headers=bearer(admin)
    )
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["status"] == "loaded"
    unknown = httpx.post(
        f"{scripted_server.base_url}/api/v1/model/load",
        json={"model": "no-such-model"},
        headers=bearer(admin),
    )
    assert unknown.status_code == 404


def test_service_info_health_and_root(scripted_server: ServerProcess) -> None:
    base = scripted_server.base_url
    info = httpx.get(f"{base}/api/v1").json()
    assert info["name"] == "Parley" and info["docs"] == "/docs"
    health = httpx.get(f"{base}/api/v1/health").json()
    seed_fields = {key: health[key] for key in ("status", "model_loaded", "model_name")}
    assert seed_fields == {"status": "healthy", "model_loaded": True, "model_name": "scripted"}
    assert httpx.get(f"{base}/").status_code == 200
    assert httpx.get(f"{base}/docs").status_code == 200
    assert httpx.get(f"{base}/redoc").status_code == 200


def test_model_not_loaded_is_503(server_factory: type[ServerProcess]) -> None:
    server = server_factory(model="/nonexistent/model-folder").start()
    _, token = register(server)
    deadline = time.monotonic() + 60
    while httpx.get(f"{server.base_url}/api/v1/health").json()["status"] == "loading":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    for path, body in (
        ("/chat", {"message": "x"}),
        ("/chat/stream", {"message": "x"}),
        ("/generate", {"prompt": "x"}),
        ("/batch", {"prompts": ["x"]}),
    ):
        answer = httpx.post(f"{server.base_url}/api/v1{path}", json=body, headers=bearer(token))
        assert answer.status_code == 503, answer.text
        assert answer.json()["detail"]["code"] == "model_not_loaded"
    info = httpx.get(f"{server.base_url}/api/v1/model/info", headers=bearer(token)).json()
    assert info["is_loaded"] is False and info["state"] == "failed"


async def test_past_the_cap_on_answers_every_chat_says_when_to_retry(
    server_factory: type[ServerProcess],
) -> None:
    """Past PARLEY_MAX_ACTIVE_PER_USER, /chat answers 429 `rate_limited` with Retry-After,
    with a conversation named or without."""
    server = server_factory(
        model="scripted", scripted_token_delay_s="0.2", max_active_per_user="1"
    ).start()
    user = new_user(server)
    socket, _ = await ChatSocket.open(user, user.new_conversation())
    await socket.say("a long enough answer to still be running " * 2)
    await socket.until("start")
    with user.http() as client:
        refusals = [
            client.post("/api/v1/chat", json={"message": "hi"}),
            client.post(
                "/api/v1/chat",
                json={"conversation_id": user.new_conversation(), "message": "hi"},
            ),
        ]
    await socket.send({"type": "stop"})
    await socket.until("end")
    await socket.close()
    for refused in refusals:
        assert refused.status_code == 429, refused.text
        assert refused.json()["detail"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) > 0


# ---------- naming a conversation ----------


def test_chat_in_a_conversation_is_stored(
    scripted_server: ServerProcess, api: httpx.Client, token: str
) -> None:
    conversation = httpx.post(
        f"{scripted_server.base_url}/api/conversations", json={}, headers=bearer(token)
    ).json()
    body = api.post("/chat", json={"message": "keep this", "conversation_id": conversation["id"]})
    assert body.status_code == 200, body.text
    answer = body.json()
    assert answer["response"] == "You said: keep this" and answer["thinking"] == THINKING
    assert answer["success"] is True and answer["usage"]["completion_tokens"] > 0

    with api.stream(
        "POST", "/chat/stream", json={"message": "and this", "conversation_id": conversation["id"]}
    ) as response:
        events = list(sse_events(response))
    assert events[0]["type"] == "start" and events[-1]["type"] == "end"
    assert "".join(e["content"] for e in events if e["type"] == "chunk") == "You said: and this"

    detail = httpx.get(
        f"{scripted_server.base_url}/api/conversations/{conversation['id']}", headers=bearer(token)
    ).json()
    messages = detail["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert messages[1]["id"] == answer["message_id"]
    assert messages[3]["id"] == events[-1]["message_id"]
    assert messages[3]["content"] == "You said: and this" and messages[3]["status"] == "complete"


def test_naming_a_conversation_that_is_not_yours(
    scripted_server: ServerProcess, api: httpx.Client
) -> None:
    _, stranger = register(scripted_server)
    theirs = httpx.post(
        f"{scripted_server.base_url}/api/conversations", json={}, headers=bearer(stranger)
    ).json()
    for conversation_id in (theirs["id"], "no-such-conversation"):
        for path in ("/chat", "/chat/stream"):
            answer = api.post(path, json={"message": "x", "conversation_id": conversation_id})
            assert answer.status_code == 404, answer.text
    mixed = api.post(
        "/chat",
        json={
            "message": "x",
            "conversation_id": theirs["id"],
            "history": [{"role": "user", "content": "y"}],
        },
    )
    assert mixed.status_code == 422


def test_a_busy_conversation_is_409(server_factory: type[ServerProcess]) -> None:
    server = server_factory(model="scripted", scripted_token_delay_s="0.2").start()
    _, token = register(server)
    conversation = httpx.post(
        f"{server.base_url}/api/conversations", json={}, headers=bearer(token)
    ).json()
    url = f"{server.base_url}/api/v1/chat/stream"
    body = {"message": "a slow answer", "conversation_id": conversation["id"]}
    with httpx.stream("POST", url, json=body, headers=bearer(token), timeout=30) as response:
        events = sse_events(response)
        assert next(events)["type"] == "start"
        busy = httpx.post(
            f"{server.base_url}/api/v1/chat", json=body, headers=bearer(token), timeout=30
        )
        assert busy.status_code == 409
        assert busy.json()["detail"]["code"] == "busy"
        assert list(events)[-1]["type"] == "end"


def test_a_message_over_the_limit_is_too_long(api: httpx.Client) -> None:
    long = "x" * 32_001
    for path, body in (
        ("/chat", {"message": long}),
        ("/chat", {"messages": [{"role": "user", "content": long}]}),
        ("/chat/stream", {"message": "hi", "history": [{"role": "user", "content": long}]}),
        ("/generate", {"prompt": long}),
        ("/batch", {"prompts": ["fine", long]}),
    ):
        answer = api.post(path, json=body)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["detail"] == {
            "code": "too_long",
            "message": "Messages are limited to 32000 characters.",
        }
