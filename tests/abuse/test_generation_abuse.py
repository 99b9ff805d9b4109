"""Abuse of the generation routes, against real servers on 127.0.0.1: huge histories, one user
flooding completions, clients that leave, and loads that would evict a serving model. Every
loop is bounded in count and in time; speed claims are bounds or ratios measured in the run,
generous for two shared cores."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ServerFactory, ServerProcess
from tests.helpers import bearer, new_account
from tests.integration.ws import ChatSocket, new_user

HEALTH_BOUND_S = 1.0


def token_for(server: ServerProcess) -> str:
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        return new_account(client).token


def history(turns: int, chars_per_turn: int) -> list[dict[str, str]]:
    filler = "word " * (chars_per_turn // 5)
    messages = [
        {"role": "user" if index % 2 == 0 else "assistant", "content": f"{index} {filler}"}
        for index in range(turns - 1)
    ]
    return [*messages, {"role": "user", "content": "and now?"}]


async def health_latencies(base_url: str, done: asyncio.Event, limit_s: float) -> list[float]:
    """/health polled every 0.1 s until `done` (or `limit_s`)."""
    latencies: list[float] = []
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        while not done.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            (await client.get("/health")).raise_for_status()
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.1)
    return latencies


async def post_while_polling_health(
    server: ServerProcess, token: str, body: dict[str, Any]
) -> tuple[httpx.Response, list[float]]:
    done = asyncio.Event()

    async def post() -> httpx.Response:
        try:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
                return await client.post("/v1/chat/completions", json=body, headers=bearer(token))
        finally:
            done.set()

    response, latencies = await asyncio.gather(post(), health_latencies(server.base_url, done, 120))
    return response, latencies


async def test_a_2000_turn_request_is_refused_while_health_stays_fast(
    server_factory: ServerFactory,
) -> None:
    """The request that froze the server for minutes: 2,000 turns, ~0.8 MB."""
    server = server_factory(model="scripted", scripted_token_delay_s="0").start()
    token = token_for(server)
    body = {"model": "scripted", "messages": history(2_000, 400)}
    assert len(json.dumps(body)) > 750_000
    started = time.monotonic()
    response, latencies = await post_while_polling_health(server, token, body)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "too_many_messages"
    assert time.monotonic() - started < 10
    assert max(latencies, default=0) < HEALTH_BOUND_S, latencies


async def test_a_long_history_within_the_bounds_is_fitted_without_stalling(
    server_factory: ServerFactory,
) -> None:
    """At the bounds (1,000 turns, ~400 KB) the history is fitted to the context in one pass
    over what is kept: answered, and /health keeps answering meanwhile."""
    server = server_factory(model="scripted", scripted_token_delay_s="0").start()
    token = token_for(server)
    body = {"model": "scripted", "messages": history(1_000, 400), "max_tokens": 16}
    response, latencies = await post_while_polling_health(server, token, body)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"].startswith("You said: and now?")
    assert max(latencies, default=0) < HEALTH_BOUND_S, latencies


async def test_one_users_48_completions_leave_room_for_another_user(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(
        model="scripted", scripted_token_delay_s="0.05", scripted_thinking=""
    ).start()
    flooder, other = token_for(server), token_for(server)
    body = {"model": "scripted", "messages": [{"role": "user", "content": "flood " * 20}]}

    # Set by the first refusal: the flooder's answers then fill their cap.
    flood_in = asyncio.Event()
    flood_done_at: list[float] = []

    async def flood() -> list[httpx.Response]:
        async def one(client: httpx.AsyncClient) -> httpx.Response:
            response = await client.post("/v1/chat/completions", json=body, headers=bearer(flooder))
            if response.status_code == 429:
                flood_in.set()
            return response

        try:
            async with httpx.AsyncClient(
                base_url=server.base_url, timeout=120, limits=httpx.Limits(max_connections=48)
            ) as client:
                answers = await asyncio.gather(*(one(client) for _ in range(48)))
                flood_done_at.append(time.monotonic())
                return answers
        finally:
            flood_in.set()  # never leave the other user waiting on a flood that failed

    async def first_token_at() -> float:
        await flood_in.wait()
        async with (
            httpx.AsyncClient(base_url=server.base_url, timeout=60) as client,
            client.stream(
                "POST",
                "/v1/chat/completions",
                json={**body, "stream": True},
                headers=bearer(other),
            ) as response,
        ):
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data: {"):
                    choices = json.loads(line.removeprefix("data: "))["choices"]
                    if choices and choices[0]["delta"].get("content"):
                        return time.monotonic()
        raise AssertionError("no token")

    answers, other_first_token = await asyncio.gather(flood(), first_token_at())
    codes = sorted(answer.status_code for answer in answers)
    assert codes.count(200) == 4, codes  # PARLEY_MAX_ACTIVE_PER_USER
    refused = [answer for answer in answers if answer.status_code == 429]
    assert len(refused) == 44
    assert refused[0].json()["error"]["code"] == "rate_limited"
    assert int(refused[0].headers["Retry-After"]) > 0
    # The other user is not queued behind the flood: their first token comes while the
    # flooder's four answers (~20 tokens x 0.05 s each) are still streaming.
    assert other_first_token < flood_done_at[0]


async def test_waiting_users_are_served_in_turn(server_factory: ServerFactory) -> None:
    """Two engine slots, one user with four answers: another user's answer starts when the
    next slot frees, not after all four (which first come, first served would do)."""
    server = server_factory(
        model="scripted",
        scripted_token_delay_s="0.1",
        scripted_thinking="",
        max_concurrent_runs="2",
    ).start()
    flooder, other = token_for(server), token_for(server)
    body = {"model": "scripted", "messages": [{"role": "user", "content": "busy " * 15}]}

    async def timed(token: str, delay_s: float) -> tuple[float, float]:
        await asyncio.sleep(delay_s)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
            started = time.monotonic()
            response = await client.post("/v1/chat/completions", json=body, headers=bearer(token))
            assert response.status_code == 200, response.text
            return started, time.monotonic()

    results = await asyncio.gather(
        *(timed(flooder, 0.05 * index) for index in range(4)), timed(other, 0.5)
    )
    flooder_ends = sorted(end for _, end in results[:4])
    other_end = results[4][1]
    answer_s = flooder_ends[0] - results[0][0]
    # Served in turn, the other user's answer runs beside the flooder's third: it ends about
    # two answers in. First come, first served, it would end about three answers in.
    assert other_end < flooder_ends[3], (other_end, flooder_ends)
    assert other_end - results[0][0] < 2.6 * answer_s, (other_end - results[0][0], answer_s)


async def test_a_non_streaming_request_whose_client_left_is_cancelled(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(
        model="scripted", scripted_token_delay_s="0.2", max_active_per_user="1"
    ).start()
    token = token_for(server)
    long_body = {"model": "scripted", "messages": [{"role": "user", "content": "slow " * 50}]}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        leaving = asyncio.create_task(
            client.post("/v1/chat/completions", json=long_body, headers=bearer(token))
        )
        await asyncio.sleep(1.0)
        busy = await client.post("/v1/chat/completions", json=long_body, headers=bearer(token))
        assert busy.status_code == 429  # the first one is still being generated
        leaving.cancel()  # the client goes away
    short = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}]}
    deadline = time.monotonic() + 5
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        while True:
            answer = await client.post("/v1/chat/completions", json=short, headers=bearer(token))
            if answer.status_code != 429 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    # The abandoned answer (50 tokens x 0.2 s = 10 s) was cancelled, not left to finish.
    assert answer.status_code == 200, answer.text


def two_models(tmp_path: Path) -> Path:
    path = tmp_path / "models.json"
    path.write_text(
        json.dumps([{"id": "one", "path": "scripted"}, {"id": "two", "path": "scripted"}])
    )
    return path


async def test_a_load_never_evicts_a_model_that_is_answering(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    server = server_factory(
        model="one",
        models_file=str(two_models(tmp_path)),
        max_loaded_models="1",
        scripted_token_delay_s="0.1",
        scripted_thinking="",
    ).start()
    first, second = token_for(server), token_for(server)
    long_body = {"model": "one", "messages": [{"role": "user", "content": "long " * 30}]}
    other_body = {"model": "two", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        answering = asyncio.create_task(
            client.post("/v1/chat/completions", json=long_body, headers=bearer(first))
        )
        await asyncio.sleep(1.0)
        refused = await client.post("/v1/chat/completions", json=other_body, headers=bearer(second))
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "model_unavailable"
        assert "answering" in refused.json()["error"]["message"]
        answer = await answering
        assert answer.status_code == 200
        assert answer.json()["choices"][0]["finish_reason"] == "stop"
        assert answer.json()["choices"][0]["message"]["content"].startswith("You said: long")
        # Once "one" is idle it may go to make room.
        loaded = await client.post("/v1/chat/completions", json=other_body, headers=bearer(second))
        assert loaded.status_code == 200, loaded.text


async def test_a_users_sockets_share_the_cap_on_answers(server_factory: ServerFactory) -> None:
    server = server_factory(
        model="scripted", scripted_token_delay_s="0.2", max_active_per_user="2"
    ).start()
    user = new_user(server)
    sockets = [(await ChatSocket.open(user, user.new_conversation()))[0] for _ in range(3)]
    for socket in sockets[:2]:
        await socket.say("a long enough answer to still be running " * 2)
        await socket.until("start")
    await sockets[2].say("one too many")
    refused = await sockets[2].next()
    assert refused["type"] == "error" and refused["code"] == "rate_limited", refused
    assert "seq" not in refused or refused["seq"] is None
    await sockets[0].send({"type": "stop"})
    await sockets[0].until("end")
    await sockets[2].say("now there is room")
    assert (await sockets[2].until("start"))[-1]["type"] == "start"
    for socket in sockets:
        await socket.close()
