"""/metrics, /api/v1/health, /api/v1/stats and /api/admin/resources against real servers."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.conftest import ServerFactory, ServerProcess
from tests.integration.ws import ChatSocket, new_admin, new_user
from tests.ops.helpers import chat_once, scrape, value


async def test_metrics_move_after_a_chat(ops_server: ServerProcess) -> None:
    user = new_user(ops_server)
    before = scrape(ops_server)
    frames = await chat_once(user, "count my tokens")
    end = frames[-1]
    assert end["type"] == "end", frames
    completion = end["usage"]["completion_tokens"]
    assert completion > 3
    after = scrape(ops_server)

    def moved(sample: str, **labels: str) -> float:
        return value(after, sample, **labels) - value(before, sample, **labels)

    model = {"model": "scripted"}
    assert moved("parley_http_requests_total", method="POST", route="/api/conversations") == 1
    assert moved("parley_generated_tokens_total", **model) == completion
    assert moved("parley_prompt_tokens_total", **model) == end["usage"]["prompt_tokens"]
    assert moved("parley_runs_total", status="complete", **model) == 1
    assert moved("parley_time_to_first_token_seconds_count", **model) == 1
    assert moved("parley_time_to_first_token_seconds_sum", **model) > 0
    assert moved("parley_run_duration_seconds_count", **model) == 1
    # Every token after the first has a gap; the scripted engine waits 20 ms between tokens.
    gaps = moved("parley_inter_token_latency_seconds_count", **model)
    assert gaps == completion - 1
    assert moved("parley_inter_token_latency_seconds_sum", **model) / gaps > 0.01
    assert moved("parley_inter_token_latency_seconds_bucket", le="+Inf", **model) == gaps

    assert value(after, "parley_model_state", model="scripted", state="loaded") == 1
    assert value(after, "parley_model_state", model="scripted", state="failed") == 0
    assert value(after, "process_resident_memory_bytes") > 10_000_000
    assert value(after, "parley_info") == 1


def test_completions_of_the_simple_api_are_metered_too(ops_server: ServerProcess) -> None:
    user = new_user(ops_server)
    before = scrape(ops_server)
    with user.http() as client:
        response = client.post("/api/v1/chat", json={"message": "meter me"})
    assert response.status_code == 200, response.text
    completion = response.json()["usage"]["completion_tokens"]
    assert completion > 3
    after = scrape(ops_server)

    def moved(sample: str) -> float:
        return value(after, sample, model="scripted") - value(before, sample, model="scripted")

    assert moved("parley_generated_tokens_total") == completion
    assert moved("parley_time_to_first_token_seconds_count") == 1
    assert moved("parley_inter_token_latency_seconds_count") == completion - 1


def test_routes_are_labelled_by_template_and_never_by_query(ops_server: ServerProcess) -> None:
    user = new_user(ops_server)
    conversation_id = user.new_conversation()
    with user.http() as client:
        client.get(f"/api/conversations/{conversation_id}?token=query-secret").raise_for_status()
        assert client.get("/api/nothing-here/42").status_code == 404
    families = scrape(ops_server)
    text = httpx.get(f"{ops_server.base_url}/metrics").text
    assert conversation_id not in text
    assert "query-secret" not in text
    assert "nothing-here" not in text
    route = "/api/conversations/{conversation_id}"
    assert value(families, "parley_http_requests_total", route=route, status="200") >= 1
    # With the browser app built, its catch-all route answers unknown paths (404 under /api);
    # either way the label is one fixed string, never the path.
    unmatched = sum(
        value(families, "parley_http_requests_total", route=label, status="404")
        for label in ("unmatched", "/{path:path}")
    )
    assert unmatched >= 1
    assert value(families, "parley_http_request_duration_seconds_count", route=route) >= 1


async def test_live_gauges_follow_a_run(server_factory: ServerFactory) -> None:
    server = server_factory(
        model="scripted", scripted_first_token_delay_s="1.5", scripted_token_delay_s="0.1"
    ).start()
    user = new_user(server)
    socket, _ready = await ChatSocket.open(user, user.new_conversation())
    assert value(scrape(server), "parley_websocket_connections") == 1
    await socket.say("slow to start")
    await socket.until("start")
    waiting = scrape(server)
    assert value(waiting, "parley_runs_active", model="scripted") == 1
    assert value(waiting, "parley_runs_queued", model="scripted") == 1
    assert value(waiting, "parley_batch_size", model="scripted") == 0
    await socket.until("chunk", "thinking")
    decoding = scrape(server)
    assert value(decoding, "parley_runs_queued", model="scripted") == 0
    assert value(decoding, "parley_batch_size", model="scripted") == 1
    await socket.until("end")
    await socket.close()
    deadline = time.monotonic() + 5
    while value(scrape(server), "parley_websocket_connections") != 0:
        assert time.monotonic() < deadline, "the open-socket gauge did not come back to 0"
        await asyncio.sleep(0.05)
    idle = scrape(server)
    assert value(idle, "parley_runs_active") == 0
    assert value(idle, "parley_batch_size") == 0


async def test_stats_count_requests_runs_and_tokens(ops_server: ServerProcess) -> None:
    def stats() -> dict[str, object]:
        response = httpx.get(f"{ops_server.base_url}/api/v1/stats", timeout=10)
        response.raise_for_status()
        data: dict[str, object] = response.json()
        return data

    user = new_user(ops_server)
    before = stats()
    frames = await chat_once(user, "for the stats")
    after = stats()
    assert isinstance(before["requests"], dict) and isinstance(after["requests"], dict)
    assert isinstance(before["runs"], dict) and isinstance(after["runs"], dict)
    assert isinstance(before["tokens"], dict) and isinstance(after["tokens"], dict)
    # The conversation was created over REST; monitoring routes (stats itself) do not count.
    assert after["requests"]["total"] == before["requests"]["total"] + 1
    assert after["requests"]["latency_ms"]["p50"] is not None
    assert after["requests"]["success_rate"] == 1.0
    assert after["runs"]["completed"] == before["runs"]["completed"] + 1
    assert after["runs"]["ttft_ms"]["p99"] is not None
    generated = frames[-1]["usage"]["completion_tokens"]
    assert after["tokens"]["generated"] == before["tokens"]["generated"] + generated
    assert isinstance(after["uptime_s"], float) and after["uptime_s"] > 0


def test_health_reports_the_model_and_device(ops_server: ServerProcess) -> None:
    response = httpx.get(f"{ops_server.base_url}/api/v1/health", timeout=10)
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "healthy"
    assert health["model_name"] == "scripted"
    assert health["model_loaded"] is True
    assert health["device"] == "cpu"
    assert health["models"][0]["state"] == "loaded"
    assert httpx.get(f"{ops_server.base_url}/health").json() == {"status": "ok"}


def test_health_is_503_when_the_model_failed(server_factory: ServerFactory) -> None:
    server = server_factory(model="/nonexistent/model-folder").start()
    deadline = time.monotonic() + 120
    while True:
        response = httpx.get(f"{server.base_url}/api/v1/health", timeout=10)
        if response.json()["status"] != "loading":
            break
        assert time.monotonic() < deadline, "the model never finished failing"
        time.sleep(0.2)
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["model_loaded"] is False
    families = scrape(server)
    assert value(families, "parley_model_state", state="failed") == 1


def test_resources_are_for_admins_only(ops_server: ServerProcess) -> None:
    url = f"{ops_server.base_url}/api/admin/resources"
    assert httpx.get(url).status_code == 401
    user = new_user(ops_server)
    forbidden = httpx.get(url, headers=user.headers)
    assert forbidden.status_code == 403
    assert forbidden.json()["detail"]["code"] == "admin_required"

    admin = new_admin(ops_server)
    response = httpx.get(url, headers=admin.headers, timeout=30)
    assert response.status_code == 200
    resources = response.json()
    assert isinstance(resources["gpus"], list)
    for gpu in resources["gpus"]:
        assert 0 < gpu["memory_used_bytes"] <= gpu["memory_total_bytes"]
    assert resources["cpu"]["logical_cores"] >= 1
    assert 0 <= resources["cpu"]["percent"] <= 100
    assert 0 < resources["memory"]["process_rss_bytes"] < resources["memory"]["total_bytes"]
    disk = resources["disk"]
    assert disk["path"] == str(ops_server.data_dir)
    assert 0 < disk["data_dir_bytes"] <= disk["used_bytes"] <= disk["total_bytes"]
    assert [(m["id"], m["state"]) for m in resources["models"]] == [("scripted", "loaded")]
