"""One user's CPU-heavy work must not stall everyone else, against real servers on 127.0.0.1:
while a user uploads PDFs (or imports archives) as fast as they are let, another user's
`GET /api/auth/me` keeps its usual latency, and the uploader gets 429 past the per-user limit.
Every loop is bounded in count and in time; latencies are compared with a baseline measured in
the same test, never with absolute numbers."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter

import httpx

from tests.abuse.test_stored_bounds import many_page_pdf, thinking_chain
from tests.conftest import ServerFactory
from tests.helpers import bearer
from tests.integration.ws import new_user

FLOOD_S = 8.0
UPLOADERS = 10
MAX_REQUESTS_PER_UPLOADER = 200
# Each upload is tens of pages of text for pypdf: about a second of CPU.
PDF = many_page_pdf(pages=40, chars_per_page=20_000)


async def _flood_uploads(base_url: str, token: str, until: float) -> Counter[int]:
    """UPLOADERS clients uploading PDFs until `until`; a refused one waits a moment, as its
    Retry-After asks (a shorter wait than it says, to keep the pressure on)."""
    answers: Counter[int] = Counter()

    async def one_uploader(client: httpx.AsyncClient) -> None:
        for _ in range(MAX_REQUESTS_PER_UPLOADER):
            if time.monotonic() >= until:
                return
            files = {"file": ("report.pdf", PDF, "application/pdf")}
            response = await client.post("/api/files", files=files)
            answers[response.status_code] += 1
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
                assert response.json()["detail"]["code"] == "rate_limited"
                await asyncio.sleep(0.1)

    limits = httpx.Limits(max_connections=UPLOADERS)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=120, limits=limits, headers=bearer(token)
    ) as client:
        await asyncio.gather(*(one_uploader(client) for _ in range(UPLOADERS)))
    return answers


async def _me_latencies(base_url: str, token: str, count: int, until: float) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=120, headers=bearer(token)) as client:
        for _ in range(count):
            if time.monotonic() >= until:
                break
            started = time.monotonic()
            response = await client.get("/api/auth/me")
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200
            await asyncio.sleep(0.1)
    return latencies


async def test_uploads_at_the_limit_do_not_stall_other_users(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(model="scripted", max_uploads_per_user="2", work_threads="2").start()
    uploader, other = new_user(server), new_user(server)
    baseline = await _me_latencies(server.base_url, other.token, 20, time.monotonic() + 30)
    until = time.monotonic() + FLOOD_S
    answers, during = await asyncio.gather(
        _flood_uploads(server.base_url, uploader.token, until),
        # Starts a moment after the uploads, so that they are running when it measures.
        _me_latencies(server.base_url, other.token, 1_000, until),
    )
    assert len(during) >= 10, during
    # Before the fix, /api/auth/me waited for a thread behind every PDF in the shared pool:
    # seconds where it normally takes milliseconds. Now only the GIL is shared; generous.
    bound = statistics.median(baseline) * 50
    assert statistics.median(during) < bound, (sorted(baseline)[:3], sorted(during)[-5:])
    assert answers[201] > 0 and answers[429] > 0, answers
    assert set(answers) <= {201, 429}, answers


async def test_imports_past_the_per_user_limit_get_429(server_factory: ServerFactory) -> None:
    server = server_factory(model="scripted", max_imports_per_user="1").start()
    importer, other = new_user(server), new_user(server)
    archive = thinking_chain(3_000)

    async def import_once(token: str) -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=120, headers=bearer(token)
        ) as client:
            files = {"file": ("conversations.json", archive, "application/json")}
            return await client.post("/api/import", files=files)

    responses = await asyncio.gather(
        *(import_once(importer.token) for _ in range(4)), import_once(other.token)
    )
    mine, theirs = Counter(r.status_code for r in responses[:4]), responses[4]
    assert mine[201] >= 1 and mine[429] >= 1, mine
    assert set(mine) <= {201, 429}, mine
    refused = next(r for r in responses[:4] if r.status_code == 429)
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["detail"]["code"] == "rate_limited"
    # The limit is each user's: someone else's import at the same time goes through.
    assert theirs.status_code == 201, theirs.text
