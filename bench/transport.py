"""The transport alone: how many events a real server pushes to many sockets per second.

The scripted engine (no model, no delay) produces tokens as fast as the event loop lets it, so
what is measured is Parley's own path: run -> seq -> save -> fan-out -> JSON frames -> sockets.
The baseline, measured in the same run, is one socket on the same server setup.

    python -m bench.transport --sockets 1 64 --tokens 400
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from tests.conftest import ServerProcess
from websockets.asyncio.client import ClientConnection

from bench.websocket_clients import new_user_token, open_socket

TARGET_EVENTS_PER_S = 20_000


async def _receive_run(connection: ClientConnection, question: str) -> int:
    """Send one message; count every frame up to the run's `end`."""
    frame = {"type": "send", "content": question, "client_id": str(uuid.uuid4())}
    await connection.send(json.dumps(frame))
    received = 0
    while True:
        text = await connection.recv()
        received += 1
        # Only the last frame needs parsing; the client must not be the bottleneck.
        if isinstance(text, str) and text.startswith('{"type":"end"'):
            return received
        if isinstance(text, str) and text.startswith('{"type":"error"'):
            raise RuntimeError(f"the run failed: {text}")


async def measure(server: ServerProcess, sockets: int) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        token = await new_user_token(http)
        connections = await asyncio.gather(
            *(open_socket(server.ws_url, token, http) for _ in range(sockets))
        )
    try:
        started = time.perf_counter()
        counts = await asyncio.gather(
            *(_receive_run(c, f"socket {i}") for i, c in enumerate(connections))
        )
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    events = sum(counts)
    return {
        "sockets": sockets,
        "events": events,
        "seconds": elapsed,
        "events_per_s": events / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--tokens", type=int, default=400, help="words in each scripted answer")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as data_dir:
        server = ServerProcess(
            Path(data_dir),
            model="scripted",
            scripted_token_delay_s="0",
            scripted_thinking="",
            scripted_answer="word " * args.tokens,
            max_new_tokens=str(args.tokens + 10),
            log_level="warning",
            # One user drives every socket: the per-user caps on answers and sockets would
            # refuse most.
            max_active_per_user=str(max(args.sockets)),
            max_sockets_per_user=str(max(args.sockets)),
            max_concurrent_runs=str(max(64, max(args.sockets))),
        ).start()
        try:
            for sockets in args.sockets:
                result = asyncio.run(measure(server, sockets))
                results.append(result)
                print(
                    f"{sockets:>3} sockets: {result['events']:>7} events in "
                    f"{result['seconds']:6.2f} s = {result['events_per_s']:9.0f} events/s"
                )
        finally:
            server.stop()
    baseline = results[0]["events_per_s"]
    for result in results:
        result["ratio_to_first"] = result["events_per_s"] / baseline
    best = max(r["events_per_s"] for r in results)
    print(f"target {TARGET_EVENTS_PER_S} events/s at 64 sockets: best {best:.0f} events/s")
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "transport",
        "command": "python -m bench.transport --sockets " + " ".join(map(str, args.sockets)),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "results": results,
        "target_events_per_s": TARGET_EVENTS_PER_S,
    }
    (args.out / "transport.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
