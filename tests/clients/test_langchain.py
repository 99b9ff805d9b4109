"""LangChain's OpenAI integration (langchain-openai) against a real Parley."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings

from tests.clients.conftest import Parley
from tests.clients.support import (
    ANSWER,
    QUESTION,
    SHORT,
    STRUCTURED,
    WEATHER_NAME,
    WEATHER_PROMPT,
    WEATHER_RESULT,
    Capital,
    WeatherArgs,
    all_of,
    check_logprobs,
)
from tests.clients.support import get_weather as weather_function

pytestmark = pytest.mark.model

get_weather = tool(weather_function, args_schema=WeatherArgs)


def chat(parley: Parley, **options: object) -> ChatOpenAI:
    settings: dict[str, object] = {"temperature": 0, "max_tokens": ANSWER, **options}
    return ChatOpenAI(
        model=parley.model,
        base_url=parley.base_url,
        api_key=parley.key,  # type: ignore[arg-type]
        max_retries=0,
        timeout=300,
        **settings,  # type: ignore[arg-type]
    )


def test_plain_chat(parley: Parley) -> None:
    answer = chat(parley).invoke(QUESTION)
    assert isinstance(answer.content, str) and answer.content.strip()


def test_streaming(parley: Parley) -> None:
    chunks = list(chat(parley).stream(QUESTION))
    assert len(chunks) > 2 and "".join(str(c.content) for c in chunks).strip()


def test_history_is_read(parley: Parley) -> None:
    question = HumanMessage("And of Italy?")
    alone = chat(parley).invoke([question])
    after = chat(parley).invoke([HumanMessage(QUESTION), AIMessage("Paris."), question])
    assert str(after.content).strip()
    assert alone.usage_metadata and after.usage_metadata
    assert after.usage_metadata["input_tokens"] > alone.usage_metadata["input_tokens"]


def test_a_tool_call_and_its_result(parley: Parley) -> None:
    model = chat(parley, max_tokens=SHORT).bind_tools([get_weather], tool_choice=WEATHER_NAME)
    messages: list[BaseMessage] = [HumanMessage(WEATHER_PROMPT)]
    called = model.invoke(messages)
    assert isinstance(called, AIMessage) and called.tool_calls
    call = called.tool_calls[0]
    assert call["name"] == WEATHER_NAME
    WeatherArgs.model_validate(call["args"])
    messages += [called, ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])]
    assert messages[-1].content == WEATHER_RESULT
    answer = chat(parley).bind_tools([get_weather]).invoke(messages)
    assert answer.content or answer.tool_calls  # type: ignore[attr-defined]


@pytest.mark.parametrize("tool_choice", ["required", WEATHER_NAME])
def test_forced_tool_calls_always_validate(parley: Parley, tool_choice: str) -> None:
    model = chat(parley, max_tokens=SHORT, temperature=1.0).bind_tools(
        [get_weather], tool_choice=tool_choice
    )
    for answer in all_of(lambda: model.invoke(WEATHER_PROMPT)):
        assert isinstance(answer, AIMessage) and answer.tool_calls, answer
        assert not answer.invalid_tool_calls, answer.invalid_tool_calls
        assert answer.tool_calls[0]["name"] == WEATHER_NAME
        WeatherArgs.model_validate(answer.tool_calls[0]["args"])


@pytest.mark.parametrize("method", [None, "json_schema", "function_calling", "json_mode"])
def test_with_structured_output(parley: Parley, method: str | None) -> None:
    options = {} if method is None else {"method": method}
    model = chat(parley, max_tokens=SHORT).with_structured_output(Capital, **options)  # type: ignore[arg-type]
    # JSON mode sends no schema: the prompt has to say which keys.
    prompt = STRUCTURED + (
        ' Answer in JSON: {"city": ..., "country": ...}' if method == "json_mode" else ""
    )
    assert isinstance(model.invoke(prompt), Capital)


def test_logprobs(parley: Parley) -> None:
    answer = chat(parley, logprobs=True, top_logprobs=3).invoke(QUESTION)
    tokens = answer.response_metadata["logprobs"]["content"]
    check_logprobs([(t["logprob"], [a["logprob"] for a in t["top_logprobs"]]) for t in tokens], 3)


def test_responses_api(parley: Parley) -> None:
    assert chat(parley, use_responses_api=True).invoke(QUESTION).text.strip()


def test_embeddings(parley: Parley) -> None:
    embeddings = OpenAIEmbeddings(
        model=parley.model,
        base_url=parley.base_url,
        api_key=parley.key,  # type: ignore[arg-type]
        # Otherwise it counts tokens with tiktoken, whose tables come from the internet.
        check_embedding_ctx_length=False,
        max_retries=0,
    )
    vectors = embeddings.embed_documents(["a cat", "a dog"])
    query = embeddings.embed_query("a cat")
    assert len(vectors) == 2 and len(vectors[0]) == len(query) > 0
    assert query == pytest.approx(vectors[0], abs=1e-4)
