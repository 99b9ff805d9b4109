"""The HTTP side of a remote OpenAI-compatible server: its model list, its tokenizer, and one
streamed `/chat/completions`, read as Server-Sent Events.

Failures come out as stream.py's two kinds, `RemoteUnavailable` and
`RemoteStreamFailed`; the chunks as its `StreamDelta`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from parley.engine.remote.stream import (
    RemoteRefused,
    RemoteStreamFailed,
    RemoteUnavailable,
    StreamDelta,
    chunk_delta,
    server_sent_data,
    summarise_error,
)

log = logging.getLogger(__name__)

# 429 and 503 mean "busy now": retried before the first token, never after it.
RETRYABLE_STATUSES = frozenset({429, 503})
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0)
# Longest wait a remote's Retry-After may ask for before we give up instead.
MAX_RETRY_AFTER_S = 10.0
CONNECT_TIMEOUT_S = 5.0
CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class RemoteModel:
    """What a remote's /v1/models says about one model."""

    id: str
    # vLLM's `max_model_len` (or a `context_length`), when the remote says.
    context_length: int | None


def _remote_models(payload: Any) -> list[RemoteModel]:
    data = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(data, list):
        raise ValueError("no model list")
    models = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        length = item.get("max_model_len", item.get("context_length"))
        models.append(
            RemoteModel(item["id"], length if type(length) is int and length > 0 else None)
        )
    return models


class OpenAIClient:
    """One connection pool to one remote, `base_url` ending in /v1."""

    def __init__(self, base_url: str, *, api_key: str | None, idle_timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # The read timeout is the idle timeout: no byte for that long and the read fails.
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(idle_timeout_s, connect=CONNECT_TIMEOUT_S),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
            trust_env=False,
        )
        # None until the first try; then whether the remote has vLLM's /tokenize.
        self._has_tokenize: bool | None = None

    @property
    def _root(self) -> str:
        """The server root: vLLM serves /tokenize beside /v1, not under it."""
        return self.base_url.removesuffix("/v1")

    async def models(self) -> list[RemoteModel]:
        """The remote's /v1/models; raises RemoteUnavailable with the reason."""
        try:
            response = await self._http.get(f"{self.base_url}/models", timeout=CHECK_TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise RemoteUnavailable(
                f"The remote is unreachable ({_transport_reason(exc)})."
            ) from exc
        if response.status_code != 200:
            summary = summarise_error(response.status_code, response.content)
            raise RemoteUnavailable(f"The remote answered /models with {summary}.")
        try:
            return _remote_models(response.json())
        except ValueError as exc:
            raise RemoteUnavailable("The remote's /models answer is not a model list.") from exc

    async def count_prompt_tokens(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] = (),
    ) -> int | None:
        """The prompt's tokens by the remote's own template and tokenizer (vLLM's /tokenize,
        which renders `tools` too), or None where the remote has no such route or cannot
        answer now."""
        if self._has_tokenize is False:
            return None
        body: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "add_generation_prompt": True,
        }
        if tools:
            body["tools"] = list(tools)
        try:
            response = await self._http.post(
                f"{self._root}/tokenize", json=body, timeout=CHECK_TIMEOUT_S
            )
        except httpx.HTTPError:
            return None
        if response.status_code in (404, 405, 501):
            self._has_tokenize = False
            return None
        if response.status_code != 200:
            return None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        count = payload.get("count") if isinstance(payload, dict) else None
        if type(count) is not int:
            tokens = payload.get("tokens") if isinstance(payload, dict) else None
            count = len(tokens) if isinstance(tokens, list) else None
        # llama.cpp's llama-server has a /tokenize of its own that reads `content`, not
        # messages, and answers no tokens for this body: not a count.
        if count is None or count <= 0:
            self._has_tokenize = False
            return None
        self._has_tokenize = True
        return count

    @asynccontextmanager
    async def chat_stream(
        self, body: Mapping[str, Any], *, cancelled: asyncio.Event
    ) -> AsyncIterator[AsyncIterator[StreamDelta] | None]:
        """Open a streamed /chat/completions, retrying 429/503 with backoff (the remote has
        produced nothing yet). Gives None when `cancelled` was set while waiting; raises
        RemoteUnavailable when the remote cannot take it. The deltas end as soon as `cancelled`
        is set, a read in progress abandoned. Leaving the block closes the HTTP stream, which
        is how vLLM, SGLang and llama.cpp learn to stop generating."""
        response = await self._open(body, cancelled)
        if response is None:
            yield None
            return
        deltas = _until_set(self._deltas(response), cancelled)
        try:
            yield deltas
        finally:
            await deltas.aclose()
            await response.aclose()

    async def embeddings(self, body: Mapping[str, Any]) -> Any:
        """The remote's /embeddings answer, parsed JSON; raises RemoteRefused for a 4xx (not
        429) with the remote's reason, RemoteUnavailable otherwise."""
        try:
            response = await self._http.post(f"{self.base_url}/embeddings", json=body)
        except httpx.HTTPError as exc:
            reason = _transport_reason(exc)
            raise RemoteUnavailable(f"The remote model is unreachable ({reason}).") from exc
        if response.status_code != 200:
            summary = summarise_error(response.status_code, response.content)
            if 400 <= response.status_code < 500 and response.status_code != 429:
                raise RemoteRefused(f"The remote model refused the embeddings ({summary}).")
            raise RemoteUnavailable(f"The remote model could not embed ({summary}).")
        try:
            return response.json()
        except ValueError as exc:
            raise RemoteUnavailable("The remote's embeddings answer is not JSON.") from exc

    async def _open(
        self, body: Mapping[str, Any], cancelled: asyncio.Event
    ) -> httpx.Response | None:
        url = f"{self.base_url}/chat/completions"
        for attempt in range(len(RETRY_DELAYS_S) + 1):
            if cancelled.is_set():
                return None
            response = await self._send(url, body, cancelled)
            if response is None:
                return None
            if response.status_code == 200:
                return response
            try:
                content = await response.aread()
            except httpx.HTTPError:
                content = b""
            finally:
                await response.aclose()
            summary = summarise_error(response.status_code, content)
            if response.status_code not in RETRYABLE_STATUSES:
                raise RemoteUnavailable(f"The remote model refused the request ({summary}).")
            if attempt == len(RETRY_DELAYS_S):
                break
            delay = _retry_delay(response, RETRY_DELAYS_S[attempt])
            if delay is None:
                break
            log.info("remote %s busy (%s); retrying in %.1fs", self.base_url, summary, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(cancelled.wait(), timeout=delay)
        raise RemoteUnavailable(f"The remote model is busy ({summary}); try again shortly.")

    async def _send(
        self, url: str, body: Mapping[str, Any], cancelled: asyncio.Event
    ) -> httpx.Response | None:
        """The response's head, or None on a stop before it came (connecting, or queued at
        the remote): giving the request up closes its connection."""
        request = self._http.build_request("POST", url, json=body)
        sending = asyncio.ensure_future(self._http.send(request, stream=True))
        stop = asyncio.ensure_future(cancelled.wait())
        await asyncio.wait({sending, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not sending.done():
            sending.cancel()
            try:
                late = await sending
            except (asyncio.CancelledError, httpx.HTTPError):
                return None
            await late.aclose()  # it came in as we gave up
            return None
        try:
            return sending.result()
        except httpx.HTTPError as exc:
            reason = _transport_reason(exc)
            raise RemoteUnavailable(f"The remote model is unreachable ({reason}).") from exc

    async def _deltas(self, response: httpx.Response) -> AsyncGenerator[StreamDelta]:
        finished = False
        try:
            async for data in server_sent_data(response):
                if data.strip() == "[DONE]":
                    finished = True
                    break
                try:
                    payload = json.loads(data)
                except ValueError as exc:
                    raise RemoteStreamFailed(
                        "The remote model sent a chunk that is not JSON."
                    ) from exc
                delta = chunk_delta(payload)
                finished = finished or delta.finish_reason is not None
                yield delta
        except httpx.ReadTimeout as exc:
            raise RemoteStreamFailed("The remote model stopped sending (idle timeout).") from exc
        except httpx.HTTPError as exc:
            reason = _transport_reason(exc)
            raise RemoteStreamFailed(
                f"The connection to the remote model broke ({reason})."
            ) from exc
        if not finished:
            raise RemoteStreamFailed("The remote model's stream ended before the answer did.")

    async def close(self) -> None:
        await self._http.aclose()


async def _until_set(
    deltas: AsyncGenerator[StreamDelta], cancelled: asyncio.Event
) -> AsyncGenerator[StreamDelta]:
    """The deltas until they end or `cancelled` is set, whichever comes first."""
    stop = asyncio.ensure_future(cancelled.wait())
    try:
        while not cancelled.is_set():
            step = asyncio.ensure_future(anext(deltas))
            await asyncio.wait({step, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await step
                return
            try:
                delta = step.result()
            except StopAsyncIteration:
                return
            yield delta
    finally:
        stop.cancel()
        await deltas.aclose()


def _retry_delay(response: httpx.Response, backoff_s: float) -> float | None:
    """The remote's Retry-After when it gives one in seconds (None: longer than we wait),
    else our own backoff."""
    header = response.headers.get("retry-after", "")
    try:
        asked = float(header)
    except ValueError:
        return backoff_s
    return None if asked > MAX_RETRY_AFTER_S else max(asked, 0.0)


def _transport_reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "no connection within the connect timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unreachable"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the remote closed the connection"
    return type(exc).__name__
