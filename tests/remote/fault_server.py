"""A small OpenAI-compatible server of the tests' own that misbehaves on request.

It speaks just enough HTTP/1.1 (keep-alive, chunked streams) over asyncio streams, in a thread
of its own, so a test can see exactly what went over the wire: every request body, and whether
the client closed a stream before it ended (the reader reaching end-of-file: a client sends
nothing else while a response streams). The last user message picks the behaviour:

| message      | answer                                                                  |
|--------------|-------------------------------------------------------------------------|
| anything     | "Hello from the fault server." streamed, with usage                    |
| `stall`      | two answer chunks, then silence until the client gives up              |
| `stall-first`| 200 and headers, then silence: no chunk at all                          |
| `drop`       | three answer chunks, then the connection is cut mid-stream            |
| `error-mid`  | two answer chunks, then an `{"error": ...}` event                      |
| `refuse`     | 500 with an error body far too long to show                            |
| `reasoning`  | `delta.reasoning` (vLLM, Ollama), then the answer                      |
| `reasoning_content` | `delta.reasoning_content` (SGLang, llama.cpp), then the answer  |
| `think`      | inline `<think>...</think>` with both tags cut across chunks           |
| `slow`       | up to 400 chunks 50 ms apart (stop tests watch for the close)          |
| `no-usage`   | the default answer without a usage chunk                               |

A request with `logprobs: true` gets each default answer chunk's `logprobs` (made up: each
token's is -0.25 times its position, with `top_logprobs` alternatives of its own).
`/v1/embeddings` answers each input with `[its length, its index, 1.0]`, in reverse order (the
indices say which is which); an input `refuse` makes it a 400, as for a model that does not embed.

`busy_left` answers the next N chat requests with 429 (or `busy_status`) before the behaviour;
`models_status`, `listed`, `advertised_context` and `tokenize` shape /v1/models and /tokenize.
Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MODEL = "fault-model"
CONTEXT_LENGTH = 2048
DEFAULT_ANSWER = ["Hello", " from", " the", " fault", " server", "."]
_STALL_LIMIT_S = 60.0
_SLOW_CHUNKS = 400
_SLOW_INTERVAL_S = 0.05


@dataclass
class ChatRecord:
    """One /chat/completions request as the fault server saw it."""

    body: dict[str, Any]
    behaviour: str
    status: int = 200
    chunks_sent: int = 0
    # Set when the client closed the connection while the answer was still streaming.
    client_closed: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)


class FaultServer:
    def __init__(self) -> None:
        self.port = 0
        self.records: list[ChatRecord] = []
        self.embedding_bodies: list[dict[str, Any]] = []
        self.busy_left = 0
        self.busy_status = 429
        self.busy_retry_after: str | None = "0"
        self.models_status = 200
        self.listed: list[str] = [MODEL]
        self.advertised_context: int | None = CONTEXT_LENGTH
        self.tokenize = True
        self.tokenize_calls = 0
        self.models_calls = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self) -> None:
        with self._lock:
            self.records.clear()
            self.embedding_bodies.clear()
            self.busy_left = 0
            self.busy_status = 429
            self.busy_retry_after = "0"
            self.models_status = 200
            self.listed = [MODEL]
            self.advertised_context = CONTEXT_LENGTH
            self.tokenize = True
            self.tokenize_calls = 0
            self.models_calls = 0

    def chat_requests(self, behaviour: str | None = None) -> list[ChatRecord]:
        with self._lock:
            return [r for r in self.records if behaviour is None or r.behaviour == behaviour]

    # ---------- lifecycle ----------

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self._run, name="fault-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault server did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    # ---------- HTTP ----------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (h.partition(":") for h in header_lines if h)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                keep = await self._route(method, path, body, reader, writer)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            # The client went away, or the server is stopping.
            return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _route(
        self,
        method: str,
        path: str,
        body: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Answer one request; False when the connection must end."""
        if method == "GET" and path == "/v1/models":
            self.models_calls += 1
            if self.models_status != 200:
                await _respond(writer, self.models_status, {"error": {"message": "models down"}})
                return True
            length = {"max_model_len": self.advertised_context} if self.advertised_context else {}
            data = [{"id": m, "object": "model", **length} for m in self.listed]
            await _respond(writer, 200, {"object": "list", "data": data})
            return True
        if method == "POST" and path == "/tokenize":
            self.tokenize_calls += 1
            if not self.tokenize:
                await _respond(writer, 404, {"detail": "Not Found"})
                return True
            request = json.loads(body)
            words = sum(len(str(m.get("content", "")).split()) + 4 for m in request["messages"])
            await _respond(writer, 200, {"count": words, "max_model_len": CONTEXT_LENGTH})
            return True
        if method == "POST" and path == "/v1/chat/completions":
            return await self._chat(json.loads(body), reader, writer)
        if method == "POST" and path == "/v1/embeddings":
            await self._embeddings(json.loads(body), writer)
            return True
        await _respond(writer, 404, {"detail": "Not Found"})
        return True

    async def _embeddings(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.embedding_bodies.append(body)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if "refuse" in inputs:
            message = f"Model {MODEL} does not support embeddings"
            await _respond(writer, 400, {"error": {"message": message, "type": "invalid"}})
            return
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(value)), float(i), 1.0]}
            for i, value in reversed(list(enumerate(inputs)))
        ]
        usage = {"prompt_tokens": 3 * len(inputs), "total_tokens": 3 * len(inputs)}
        await _respond(
            writer, 200, {"object": "list", "data": data, "model": MODEL, "usage": usage}
        )

    async def _chat(
        self, body: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        behaviour = str(users[-1].get("content", "")).strip() if users else ""
        record = ChatRecord(body=body, behaviour=behaviour)
        with self._lock:
            self.records.append(record)
            busy = self.busy_left > 0
            if busy:
                self.busy_left -= 1
        if busy:
            record.status = self.busy_status
            extra = {"Retry-After": self.busy_retry_after} if self.busy_retry_after else {}
            await _respond(writer, self.busy_status, {"error": {"message": "server busy"}}, extra)
            record.finished.set()
            return True
        if behaviour == "refuse":
            record.status = 500
            message = "<html>" + "internal\n\x1b[31mtrace " * 200 + "</html>"
            await _respond(writer, 500, {"error": {"message": message, "type": "server_error"}})
            record.finished.set()
            return True
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n"
        )
        await writer.drain()
        try:
            keep = await self._stream(behaviour, body, record, reader, writer)
        except ConnectionError:
            keep = False
        finally:
            if reader.at_eof():
                record.client_closed.set()
            record.finished.set()
        return keep and not record.client_closed.is_set()

    async def _stream(
        self,
        behaviour: str,
        body: dict[str, Any],
        record: ChatRecord,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        async def send(payload: dict[str, Any] | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            await _chunk(writer, f"data: {data}\n\n".encode())
            record.chunks_sent += 1

        def delta(**fields: str) -> dict[str, Any]:
            return _chunk_payload({"index": 0, "delta": fields, "finish_reason": None})

        async def finish(reason: str = "stop", usage: bool = True, tokens: int = 0) -> None:
            await send(_chunk_payload({"index": 0, "delta": {}, "finish_reason": reason}))
            include = (body.get("stream_options") or {}).get("include_usage")
            if usage and include:
                await send({**_chunk_payload(), "choices": [], "usage": _usage(tokens)})
            await send("[DONE]")
            await _chunk(writer, b"")

        async def wait_for_close(limit_s: float) -> None:
            deadline = time.monotonic() + limit_s
            # A StreamReader offers no event for end-of-file that leaves unread bytes alone.
            while not reader.at_eof() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)

        await send(delta(role="assistant", content=""))
        if behaviour == "stall-first":
            await wait_for_close(_STALL_LIMIT_S)
            return False
        if behaviour in ("stall", "error-mid", "drop"):
            for text in ("Partial", " answer"):
                await send(delta(content=text))
            if behaviour == "drop":
                await send(delta(content=" then"))
                writer.transport.abort()
                return False
            if behaviour == "stall":
                await wait_for_close(_STALL_LIMIT_S)
                return False
            await send({"error": {"message": "CUDA out of memory\n  at kernel", "code": 500}})
            await send("[DONE]")
            await _chunk(writer, b"")
            return True
        if behaviour in ("reasoning", "reasoning_content"):
            for text in ("Thinking", " hard", "."):
                await send(delta(**{behaviour: text}))
            for text in ("The", " answer."):
                await send(delta(content=text))
            await finish(tokens=5)
            return True
        if behaviour == "think":
            for text in ("<thi", "nk>Pondering", " deeply</th", "ink>\n\n", "Done", "."):
                await send(delta(content=text))
            await finish(tokens=6)
            return True
        if behaviour == "slow":
            limit = min(int(body.get("max_tokens") or _SLOW_CHUNKS), _SLOW_CHUNKS)
            for index in range(limit):
                if reader.at_eof():
                    return False
                await send(delta(content=f" w{index}"))
                await asyncio.sleep(_SLOW_INTERVAL_S)
            await finish("length", tokens=limit)
            return True
        for position, text in enumerate(DEFAULT_ANSWER):
            chunk = delta(content=text)
            if body.get("logprobs"):
                chunk["choices"][0]["logprobs"] = _logprobs(text, position, body)
            await send(chunk)
        await finish(usage=behaviour != "no-usage", tokens=len(DEFAULT_ANSWER))
        return True


def _chunk_payload(choice: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [choice] if choice else [],
    }


def _logprobs(text: str, position: int, body: dict[str, Any]) -> dict[str, Any]:
    logprob = -0.25 * position
    entry = {"token": text, "logprob": logprob, "bytes": list(text.encode())}
    others = [
        {"token": f"alt{i}", "logprob": logprob - i - 1, "bytes": list(f"alt{i}".encode())}
        for i in range(int(body.get("top_logprobs") or 0) - 1)
    ]
    top = [entry, *others] if body.get("top_logprobs") else []
    return {"content": [{**entry, "top_logprobs": top}], "refusal": None}


def _usage(completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": 11,
        "completion_tokens": completion_tokens,
        "total_tokens": 11 + completion_tokens,
    }


async def _chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()


async def _respond(
    writer: asyncio.StreamWriter,
    status: int,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    body = json.dumps(payload).encode()
    lines = [
        f"HTTP/1.1 {status} X",
        "content-type: application/json",
        f"content-length: {len(body)}",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
