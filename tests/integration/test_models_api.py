"""Several models: their states, per-conversation choice, admin-only load and unload."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerFactory, ServerProcess
from tests.helpers import error_code
from tests.integration.ws import ChatSocket, ChatUser, new_admin, new_user, text_of

MODELS = [
    {"id": "alpha", "path": "scripted"},
    {"id": "beta", "path": "scripted"},
    {"id": "broken", "path": "/nowhere/no-such-model"},
]


@pytest.fixture
def server(server_factory: ServerFactory, tmp_path: Path) -> ServerProcess:
    models_file = tmp_path / "models.json"
    models_file.write_text(json.dumps(MODELS))
    return server_factory(models_file=str(models_file), model="alpha").start()


def models(user: ChatUser) -> dict[str, dict[str, Any]]:
    with user.http() as client:
        answer = client.get("/api/models")
    assert answer.status_code == 200, answer.text
    assert answer.json()["default"] == "alpha"
    return {model["id"]: model for model in answer.json()["models"]}


def wait_for_state(user: ChatUser, model_id: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        model = models(user)[model_id]
        if model["state"] == state:
            return model
        time.sleep(0.1)
    raise AssertionError(f"{model_id} never became {state}: {models(user)[model_id]}")


async def test_models_list_their_state(server: ServerProcess) -> None:
    user = new_user(server)
    alpha = wait_for_state(user, "alpha", "loaded")
    assert alpha["is_default"] and alpha["device"] == "cpu"
    listed = models(user)
    assert listed["beta"]["state"] == listed["broken"]["state"] == "available"
    with user.http() as client:
        client.headers.pop("Authorization")
        assert client.get("/api/models").status_code == 401


async def test_each_conversation_answers_with_its_own_model(server: ServerProcess) -> None:
    user = new_user(server)
    conversation_id = user.new_conversation(model="beta")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("which model?")
    frames = await socket.until("end")
    await socket.close()
    assert text_of(frames, "chunk") == "You said: which model?"
    assert user.conversation(conversation_id)["messages"][-1]["model"] == "beta"
    assert models(user)["beta"]["state"] == "loaded"


async def test_non_admins_may_not_load_or_unload(server: ServerProcess) -> None:
    user = new_user(server)
    with user.http() as client:
        for action in ("load", "unload"):
            answer = client.post(f"/api/models/beta/{action}")
            assert answer.status_code == 403 and error_code(answer) == "admin_required"
    assert models(user)["beta"]["state"] == "available"


async def test_a_model_that_fails_to_load_says_why_and_the_others_keep_serving(
    server: ServerProcess,
) -> None:
    admin = new_admin(server)
    with admin.http() as client:
        answer = client.post("/api/models/broken/load")
    assert answer.status_code == 202
    failed = wait_for_state(admin, "broken", "failed")
    assert "no-such-model" in failed["error"]

    conversation_id = admin.new_conversation()
    socket, _ = await ChatSocket.open(admin, conversation_id)
    await socket.say("still there?")
    assert text_of(await socket.until("end"), "chunk") == "You said: still there?"
    # A conversation on the broken model gets an error event, not a hang.
    with admin.http() as client:
        client.patch(f"/api/conversations/{conversation_id}", json={"model": "broken"})
    await socket.say("and now?")
    error = (await socket.until("error"))[-1]
    await socket.close()
    assert error["code"] == "model_unavailable" and "no-such-model" in error["message"]


async def test_admins_unload_and_load_models(server: ServerProcess) -> None:
    admin = new_admin(server)
    wait_for_state(admin, "alpha", "loaded")
    with admin.http() as client:
        unloaded = client.post("/api/models/alpha/unload")
        assert unloaded.status_code == 200 and unloaded.json()["state"] == "available"
        for action in ("load", "unload"):
            unknown = client.post(f"/api/models/nope/{action}")
            assert unknown.status_code == 404
            # The code every Parley route gives an unknown model (/v1 keeps OpenAI's name).
            assert unknown.json()["detail"]["code"] == "unknown_model"
        assert client.post("/api/models/beta/load").status_code == 202
    wait_for_state(admin, "beta", "loaded")
    # The next answer on an unloaded model loads it again.
    conversation_id = admin.new_conversation(model="alpha")
    socket, _ = await ChatSocket.open(admin, conversation_id)
    await socket.say("back again")
    frames = await socket.until("end")
    await socket.close()
    assert text_of(frames, "chunk") == "You said: back again"
    assert models(admin)["alpha"]["state"] == "loaded"


async def test_a_model_gone_from_the_models_file_is_refused_alike_everywhere(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    """One lookup in the chat layer: the socket, /api/v1 and /v1 give the same message, each
    in its own API's code (shared/CONTRACT.md)."""
    models_file = tmp_path / "models.json"
    models_file.write_text(json.dumps(MODELS))
    first = server_factory(data_dir=tmp_path / "data", models_file=str(models_file)).start()
    user = new_user(first)
    conversation_id = user.new_conversation(model="beta")
    first.stop()
    models_file.write_text(json.dumps([model for model in MODELS if model["id"] != "beta"]))
    server = server_factory(data_dir=tmp_path / "data", models_file=str(models_file)).start()
    user.server = server
    expected = "No model named 'beta'."

    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("anyone there?")
    error = await socket.until("error")
    await socket.close()
    assert (error[-1]["code"], error[-1]["message"]) == ("model_unavailable", expected)

    turn = {"messages": [{"role": "user", "content": "hi"}], "model": "beta"}
    with user.http() as client:
        simple = client.post("/api/v1/chat", json=turn)
        in_conversation = client.post(
            "/api/v1/chat", json={"conversation_id": conversation_id, "message": "hi"}
        )
        openai = client.post("/v1/chat/completions", json=turn)
    assert simple.status_code == 404
    assert simple.json()["detail"] == {"code": "unknown_model", "message": expected}
    # Naming a conversation changes nothing: the same status and body as without one.
    assert in_conversation.status_code == 404
    assert in_conversation.json()["detail"] == {"code": "unknown_model", "message": expected}
    assert openai.status_code == 404
    assert openai.json()["error"]["code"] == "model_not_found"
    assert openai.json()["error"]["message"] == expected
