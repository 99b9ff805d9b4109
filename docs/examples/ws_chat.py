"""Chat with Parley over its WebSocket, from registration to a streamed answer.

    python docs/examples/ws_chat.py --url http://127.0.0.1:8000 "What is a llama?"

Needs `httpx` and `websockets` (both installed with Parley).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid

import httpx
import websockets


async def chat(base_url: str, username: str, password: str, question: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        # Register once; a taken name just means we registered before.
        await http.post("/api/auth/register", json={"username": username, "password": password})
        login = await http.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        login.raise_for_status()
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = await http.post(
            "/api/conversations", json={"title": question[:40]}, headers=headers
        )
        created.raise_for_status()
        conversation_id = created.json()["id"]

    ws_url = base_url.replace("http", "ws", 1) + f"/ws/conversations/{conversation_id}"
    async with websockets.connect(ws_url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        print("ready:", json.loads(await socket.recv()))
        await socket.send(
            json.dumps({"type": "send", "content": question, "client_id": str(uuid.uuid4())})
        )
        while True:
            event = json.loads(await socket.recv())
            if event["type"] == "thinking":
                print(f"\033[2m{event['content']}\033[0m", end="", flush=True)
            elif event["type"] == "chunk":
                print(event["content"], end="", flush=True)
            elif event["type"] == "end":
                print(f"\n[{event['finish_reason']}; {event['usage']}; {event['timings']}]")
                return
            elif event["type"] == "error":
                print(f"\n[error {event['code']}: {event['message']}]")
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="example_user")
    parser.add_argument("--password", default="example-password")
    args = parser.parse_args()
    asyncio.run(chat(args.url.rstrip("/"), args.username, args.password, args.question))


if __name__ == "__main__":
    main()
