"""Structured output end to end on the real SmolLM2 on llama.cpp: `response_format` through
/v1 (the openai package's `parse`), /api/v1, the socket's `send` and /v1/responses'
`text.format`; a forced tool call through /v1; a schema the grammar cannot hold refused."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import openai
import pydantic
import pytest

from parley.engine.selection.choice import llamacpp_unavailable
from tests.conftest import ServerFactory, ServerProcess
from tests.integration.compat_support import create_key, register
from tests.integration.test_llamacpp_e2e import models_file
from tests.integration.ws import ChatSocket, new_user, text_of

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(llamacpp_unavailable() is not None, reason=str(llamacpp_unavailable())),
]

CITY = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 16},
        "population": {"type": "integer"},
    },
    "required": ["city", "population"],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY}}


class Colour(pydantic.BaseModel):
    name: str = pydantic.Field(max_length=12)
    warm: bool


@pytest.fixture
def server(server_factory: ServerFactory, model_data_dir: Path, tmp_path: Path) -> ServerProcess:
    server = server_factory(
        data_dir=model_data_dir,
        models_file=models_file(tmp_path / "models.json", "llamacpp"),
        max_new_tokens="48",
        kv_cache_gib="0.25",
    ).start(timeout_s=300)
    deadline = time.monotonic() + 300
    while httpx.get(f"{server.base_url}/api/v1/health").json()["status"] == "loading":
        assert time.monotonic() < deadline, "the model did not load"
        time.sleep(0.5)
    return server


@pytest.fixture
def client(server: ServerProcess) -> Iterator[openai.OpenAI]:
    _, token = register(server)
    key = create_key(server, token)["key"]
    with openai.OpenAI(
        base_url=f"{server.base_url}/v1", api_key=key, max_retries=0, timeout=300
    ) as client:
        yield client


async def test_structured_output_on_every_route(
    server: ServerProcess, client: openai.OpenAI
) -> None:
    model = client.models.list().data[0].id
    # The SDK's own structured output: the answer parses into the class.
    parsed = client.chat.completions.parse(
        model=model,
        messages=[{"role": "user", "content": "Name a colour."}],
        response_format=Colour,
        temperature=0,
    )
    assert isinstance(parsed.choices[0].message.parsed, Colour)

    named = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "How many people live in Rome?"}],
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": CITY}}],
        tool_choice={"type": "function", "function": {"name": "lookup"}},
        temperature=0,
    )
    choice = named.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "lookup"
    jsonschema.validate(json.loads(call.function.arguments), CITY)

    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "hi"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"not": {"type": "string"}}},
            },
        )
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "response_format.json_schema.schema"
    assert "`not`" in body["message"]

    responses = client.responses.create(
        model=model,
        input="Which city is the capital of Italy?",
        text={"format": {"type": "json_schema", "name": "city", "schema": CITY}},
        temperature=0,
    )
    jsonschema.validate(json.loads(responses.output_text), CITY)

    user = new_user(server)
    simple = httpx.post(
        f"{server.base_url}/api/v1/chat",
        headers=user.headers,
        json={"message": "About Paris.", "temperature": 0, "response_format": JSON_SCHEMA_FORMAT},
        timeout=300,
    )
    assert simple.status_code == 200, simple.text
    jsonschema.validate(json.loads(simple.json()["response"]), CITY)

    socket, _ = await ChatSocket.open(user, user.new_conversation(title="json"))
    await socket.say("Tell me about Oslo.", temperature=0, response_format=JSON_SCHEMA_FORMAT)
    frames = await socket.until("end", "error", timeout_s=300)
    await socket.close()
    assert frames[-1]["type"] == "end", frames[-1]
    jsonschema.validate(json.loads(text_of(frames, "chunk")), CITY)
