"""What every library's checks ask of the model, and how the answers are judged."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

# Forced tool calls are checked this many times each: a constraint either always holds or it
# is not one.
FORCED_TRIES = 10
# Requests a check has running together: the server's default `max_active_per_user`.
AT_ONCE = 4
# Enough for a call's arguments or a small JSON object, short of a 135M model's rambling.
SHORT = 64
ANSWER = 24

QUESTION = "What is the capital of France?"
STRUCTURED = "What is the capital of France? Give the city and its country."


class Capital(BaseModel):
    """The structured-output checks' answer; bounded strings keep it short."""

    model_config = ConfigDict(extra="forbid")

    city: str = Field(max_length=20)
    country: str = Field(max_length=20)


class WeatherArgs(BaseModel):
    """The arguments of the one tool every check offers."""

    model_config = ConfigDict(extra="forbid")

    city: str = Field(max_length=20, description="The city's name.")


WEATHER_NAME = "get_weather"
WEATHER_DESCRIPTION = "The weather in a city now."
WEATHER_PROMPT = "What is the weather in Paris? Use the tool."
WEATHER_RESULT = "Sunny, 21 degrees Celsius."


def get_weather(city: str) -> str:
    """The weather in a city now."""
    return WEATHER_RESULT


def weather_schema() -> dict[str, Any]:
    return WeatherArgs.model_json_schema()


def capital_schema() -> dict[str, Any]:
    return Capital.model_json_schema()


def chat_tool() -> dict[str, Any]:
    """The tool in Chat Completions' shape."""
    return {
        "type": "function",
        "function": {
            "name": WEATHER_NAME,
            "description": WEATHER_DESCRIPTION,
            "parameters": weather_schema(),
        },
    }


def json_schema_format() -> dict[str, Any]:
    """`response_format` asking for a Capital, strictly."""
    return {
        "type": "json_schema",
        "json_schema": {"name": "capital", "schema": capital_schema(), "strict": True},
    }


def all_of(make: Callable[[], T], count: int = FORCED_TRIES) -> list[T]:
    """`count` answers to the same request, asked a few at a time (the server batches them)."""
    with ThreadPoolExecutor(AT_ONCE) as pool:
        return list(pool.map(lambda _: make(), range(count)))


def check_logprobs(tokens: Sequence[tuple[float, Sequence[float]]], top: int) -> None:
    """Each token's (logprob, its top_logprobs' logprobs): probabilities, best first, and the
    answer as a whole less likely than certain."""
    assert tokens, "no logprobs came back"
    for logprob, alternatives in tokens:
        assert math.isfinite(logprob) and logprob <= 0, logprob
        assert len(alternatives) == top, alternatives
        assert list(alternatives) == sorted(alternatives, reverse=True), alternatives
        assert all(value <= 0 for value in alternatives), alternatives
        # Greedy decoding (temperature 0) takes the most likely token.
        assert math.isclose(logprob, alternatives[0], abs_tol=1e-3), (logprob, alternatives)
    assert sum(logprob for logprob, _ in tokens) < 0
