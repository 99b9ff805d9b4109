"""The compatible APIs with the real embedded model (SmolLM2-135M-Instruct): the openai package
with seeds, stops and limits, and a batch decoded together."""

from __future__ import annotations

import json
import time
from pathlib import Path

import agents
import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from tests.conftest import ServerProcess
from tests.integration.compat_support import bearer, create_key, register

pytestmark = pytest.mark.model


def test_openai_client_and_batch_on_the_real_model(
    server_factory: type[ServerProcess], model_data_dir: Path
) -> None:
    server = server_factory(data_dir=model_data_dir, max_new_tokens="24").start(timeout_s=300)
    deadline = time.monotonic() + 300
    while httpx.get(f"{server.base_url}/api/v1/health").json()["status"] == "loading":
        assert time.monotonic() < deadline, "the model did not load"
        time.sleep(0.5)
    _, token = register(server)
    key = create_key(server, token)["key"]
    with openai.OpenAI(
        base_url=f"{server.base_url}/v1", api_key=key, max_retries=0, timeout=300
    ) as client:
        model = client.models.list().data[0].id

        def ask(**options: object) -> openai.types.chat.ChatCompletion:
            return client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "List three colours."}],
                **options,  # type: ignore[arg-type]
            )

        seeded = [ask(temperature=1.0, seed=11, max_completion_tokens=12) for _ in range(2)]
        assert seeded[0].choices[0].message.content == seeded[1].choices[0].message.content
        short = ask(temperature=0, max_tokens=3)
        assert short.choices[0].finish_reason == "length"
        assert short.usage is not None and short.usage.completion_tokens == 3
        streamed = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Say hello."}],
            temperature=0,
            max_tokens=8,
            stream=True,
        )
        text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
        assert text.strip()
        check_a_named_tool_call(client, model)
        check_the_responses_api(client, model)
        check_stored_and_background_responses(client, model)
    check_the_agents_sdk(server, key, model)

    batch = httpx.post(
        f"{server.base_url}/api/v1/batch",
        json={"prompts": ["What is 2+2?", "Name a fruit.", "Say hi."], "max_tokens": 8},
        headers=bearer(key),
        timeout=300,
    )
    assert batch.status_code == 200, batch.text
    assert len(batch.json()["results"]) == 3 and all(batch.json()["results"])


def check_logprobs(client: openai.OpenAI, model: str) -> None:
    """`logprobs` in OpenAI's shape: the tokens spell the answer, greedy's choice ranks first,
    and the streamed chunks carry the same ones."""
    options: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": "Name a fruit."}],
        "temperature": 0,
        "max_tokens": 12,
        "logprobs": True,
        "top_logprobs": 3,
    }
    whole = client.chat.completions.create(**options)  # type: ignore[call-overload]
    choice = whole.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content
    entries = choice.logprobs.content
    assert "".join(entry.token for entry in entries) == choice.message.content
    for entry in entries:
        assert entry.logprob <= 0
        assert entry.bytes is not None and bytes(entry.bytes).decode() == entry.token
        ranked = [top.logprob for top in entry.top_logprobs]
        assert len(ranked) == 3 and ranked == sorted(ranked, reverse=True)
        assert entry.top_logprobs[0].token == entry.token
        assert entry.top_logprobs[0].logprob == entry.logprob
    streamed = client.chat.completions.create(stream=True, **options)  # type: ignore[call-overload]
    chunks = [c.choices[0] for c in streamed if c.choices]
    assert [e for c in chunks if c.logprobs for e in c.logprobs.content or ()] == entries
    plain = client.chat.completions.create(**{**options, "logprobs": False, "top_logprobs": None})  # type: ignore[call-overload]
    assert plain.choices[0].logprobs is None
    assert plain.choices[0].message.content == choice.message.content


def check_the_responses_api(client: openai.OpenAI, model: str) -> None:
    """The Responses API on the real model: a whole Response, and the same streamed."""
    response = client.responses.create(
        model=model, instructions="Be brief.", input="Say hello.", max_output_tokens=8
    )
    assert response.output_text.strip()
    assert response.usage is not None and 0 < response.usage.output_tokens <= 8
    # An answer cut at max_output_tokens ends with `response.incomplete`, as on OpenAI, where
    # the SDK's get_final_response() wants `response.completed`: the last event is read here.
    with client.responses.stream(model=model, input="Name a fruit.", max_output_tokens=8) as stream:
        events = list(stream)
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    last = events[-1]
    assert last.type in ("response.completed", "response.incomplete"), last.type
    assert deltas and "".join(deltas) == last.response.output_text


def check_stored_and_background_responses(client: openai.OpenAI, model: str) -> None:
    """A response continued by `previous_response_id`, and one in the background followed
    from the middle of its answer."""
    first = client.responses.create(model=model, input="My name is Ann.", max_output_tokens=8)
    second = client.responses.create(
        model=model, input="What is my name?", previous_response_id=first.id, max_output_tokens=8
    )
    assert second.output_text.strip() and second.usage is not None
    # The first exchange is in the prompt: more tokens read than the question alone needs.
    assert first.usage is not None and second.usage.input_tokens > first.usage.input_tokens
    created = client.responses.create(
        model=model, input="Count from one to ten.", max_output_tokens=24, background=True
    )
    with client.responses.retrieve(created.id, stream=True) as stream:
        head = []
        for event in stream:
            head.append(event)
            if event.type == "response.output_text.delta":
                break
    with client.responses.retrieve(
        created.id, stream=True, starting_after=head[-1].sequence_number
    ) as stream:
        tail = list(stream)
    deltas = [e.delta for e in head + tail if e.type == "response.output_text.delta"]
    assert tail[-1].type in ("response.completed", "response.incomplete"), tail[-1].type
    assert "".join(deltas) == client.responses.retrieve(created.id).output_text


CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}


def check_the_agents_sdk(server: ServerProcess, key: str, model: str) -> None:
    """The OpenAI Agents SDK's default model (the Responses API) runs an agent with a function
    tool: the call, the tool run; then the SDK's own items (the call and the tool's result) are
    read back by the server for the answer after it."""
    results: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city now."""
        results.append(city)
        return f"18 C and sunny in {city}"

    client = openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    agent = agents.Agent(
        name="weather",
        instructions="Answer with the get_weather tool.",
        tools=[get_weather],
        model=agents.OpenAIResponsesModel(model=model, openai_client=client),
        # Named, so that even a 135M model opens the call. The agent ends with the tool's
        # result: the SDK raises on an answer cut at max_tokens, and SmolLM2's free answer
        # after a tool result may ramble on (greedy, it repeats itself past 160 tokens).
        model_settings=agents.ModelSettings(
            tool_choice="get_weather", temperature=0, max_tokens=40
        ),
        tool_use_behavior="stop_on_first_tool",
    )
    result = agents.Runner.run_sync(
        agent,
        "What is the weather in Paris?",
        max_turns=2,
        run_config=agents.RunConfig(tracing_disabled=True),
    )
    kinds = [item.type for item in result.new_items]
    assert "tool_call_item" in kinds and "tool_call_output_item" in kinds, kinds
    assert results and result.final_output == f"18 C and sunny in {results[0]}"
    with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0) as sync:
        after = sync.responses.create(
            model=model,
            input=result.to_input_list(),  # type: ignore[arg-type]
            tools=[{"type": "function", "name": "get_weather", "parameters": CITY, "strict": True}],
            max_output_tokens=8,
        )
    assert after.status in ("completed", "incomplete"), after
    assert after.usage is not None and after.usage.input_tokens > 0


def check_a_named_tool_call(client: openai.OpenAI, model: str) -> None:
    """SmolLM2's template ignores tools, so they are offered in a system turn in the Hermes
    format; a named `tool_choice` opens the call, so the model writes only the arguments."""
    weather: ChatCompletionToolParam = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city now.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    question: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "What is the weather in Paris?"}
    ]
    completion = client.chat.completions.create(
        model=model,
        messages=question,
        tools=[weather],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0,
        max_tokens=40,
    )
    plain = client.chat.completions.create(model=model, messages=question, max_completion_tokens=1)
    choice = completion.choices[0]
    if choice.message.tool_calls:
        assert choice.finish_reason == "tool_calls"
        call = choice.message.tool_calls[0]
        assert call.function.name == "get_weather"
        assert isinstance(json.loads(call.function.arguments), dict)
    else:
        # A 135M model may not close the call it was made to open: then what it wrote, the
        # opening included, is the answer's text, never lost.
        assert choice.finish_reason in ("stop", "length")
        assert (choice.message.content or "").startswith(
            '<tool_call>\n{"name": "get_weather", "arguments": '
        )
    # The offer in the system turn is read as part of the prompt.
    assert completion.usage is not None and plain.usage is not None
    assert completion.usage.prompt_tokens > plain.usage.prompt_tokens + 50
