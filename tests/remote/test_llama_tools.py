"""Tool calls from a real OpenAI-compatible server: llama.cpp's (llama-cpp-python's
`chatml-function-calling` format, which writes a named call's arguments under a grammar made
from the function's JSON Schema) serving the embedded SmolLM2, with Parley in front."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from openai.types.chat import ChatCompletionToolParam

from tests.conftest import ServerProcess
from tests.integration.compat_support import create_key, register
from tests.remote.conftest import (
    LLAMA_CONTEXT,
    LLAMA_MODEL,
    LlamaServer,
    llama_server_missing,
    write_models_file,
)

pytestmark = pytest.mark.model

WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city now.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 20}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture(scope="module")
def llama_tools_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    missing = llama_server_missing()
    if missing is not None:
        pytest.skip(missing)
    log = tmp_path_factory.mktemp("llama-tools") / "llama-server.log"
    # Not cut short by the health check of Parley in front: a call's arguments must be whole.
    server = LlamaServer(
        log, chat_format="chatml-function-calling", interrupt_requests=False
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sdk(
    llama_tools_server: LlamaServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[openai.OpenAI]:
    data_dir = tmp_path_factory.mktemp("llama-tools-front")
    models = write_models_file(
        data_dir / "models.json",
        [
            {
                "id": "smollm2-tools",
                "engine": "openai",
                "base_url": llama_tools_server.base_url,
                "model": LLAMA_MODEL,
                "context_length": LLAMA_CONTEXT,
                "max_concurrency": 1,
                "idle_timeout_s": 120,
            }
        ],
    )
    server = ServerProcess(data_dir, models_file=str(models), model="smollm2-tools").start()
    _, token = register(server)
    key = create_key(server, token)["key"]
    try:
        with openai.OpenAI(
            base_url=f"{server.base_url}/v1", api_key=key, max_retries=0, timeout=120
        ) as client:
            yield client
    finally:
        server.stop()


NAMED = {"type": "function", "function": {"name": "get_weather"}}


def test_a_named_call_comes_back_from_llama_cpp(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(
        model="smollm2-tools",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER],
        tool_choice=NAMED,  # type: ignore[arg-type]
        max_tokens=40,
        temperature=0,
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    calls = choice.message.tool_calls or []
    assert [call.function.name for call in calls] == ["get_weather"]
    # The grammar keeps the arguments to the schema.
    arguments = json.loads(calls[0].function.arguments)
    assert set(arguments) == {"city"} and isinstance(arguments["city"], str)
    assert calls[0].id.startswith("call_")


def test_a_streamed_named_call_from_llama_cpp(sdk: openai.OpenAI) -> None:
    with sdk.chat.completions.stream(
        model="smollm2-tools",
        messages=[{"role": "user", "content": "Weather in Oslo, please."}],
        tools=[WEATHER],
        tool_choice=NAMED,  # type: ignore[arg-type]
        max_tokens=40,
        temperature=0,
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    calls = choice.message.tool_calls or []
    assert [call.function.name for call in calls] == ["get_weather"]
    assert set(json.loads(calls[0].function.arguments)) == {"city"}
