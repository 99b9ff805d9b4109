"""The Vercel AI SDK (npm `ai` with `@ai-sdk/openai`) against a real Parley: vercel_ai.mjs
runs each check in Node and prints what it got; the judging is here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import Parley
from tests.clients.support import (
    ANSWER,
    AT_ONCE,
    FORCED_TRIES,
    QUESTION,
    SHORT,
    STRUCTURED,
    WEATHER_DESCRIPTION,
    WEATHER_NAME,
    WEATHER_PROMPT,
    WEATHER_RESULT,
    Capital,
    WeatherArgs,
    capital_schema,
    check_logprobs,
    weather_schema,
)

pytestmark = pytest.mark.model

HERE = Path(__file__).parent


def run(parley: Parley, check: str) -> Any:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules").is_dir():
        pytest.fail("Node or tests/clients/node_modules is missing (tests/run.sh installs them)")
    request = {
        "check": check,
        "baseURL": parley.base_url,
        "apiKey": parley.key,
        "model": parley.model,
        "question": QUESTION,
        "structured": STRUCTURED,
        "weatherName": WEATHER_NAME,
        "weatherDescription": WEATHER_DESCRIPTION,
        "weatherPrompt": WEATHER_PROMPT,
        "weatherResult": WEATHER_RESULT,
        "weatherSchema": weather_schema(),
        "capitalSchema": capital_schema(),
        "answerTokens": ANSWER,
        "shortTokens": SHORT,
        "tries": FORCED_TRIES,
        "atOnce": AT_ONCE,
    }
    done = subprocess.run(
        [node, "vercel_ai.mjs", json.dumps(request)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_plain_chat(parley: Parley) -> None:
    got = run(parley, "plain")
    assert got["text"].strip() and got["finishReason"] in ("stop", "length")


def test_streaming(parley: Parley) -> None:
    deltas = run(parley, "stream")["deltas"]
    assert len(deltas) > 1 and "".join(deltas).strip()


def test_history_is_read(parley: Parley) -> None:
    got = run(parley, "history")
    assert got["text"].strip() and got["inputTokens"] > got["aloneInputTokens"]


def test_a_tool_call_and_its_result(parley: Parley) -> None:
    got = run(parley, "tools")
    first = got["steps"][0]
    # Parallel calls are allowed: one or more, each run.
    assert first["calls"], got
    for call in first["calls"]:
        assert call["name"] == WEATHER_NAME
        WeatherArgs.model_validate(call["input"])
    assert first["results"] == [WEATHER_RESULT] * len(first["calls"])
    assert len(got["steps"]) == 2


@pytest.mark.parametrize("check", ["forcedRequired", "forcedNamed"], ids=["required", "named"])
def test_forced_tool_calls_always_validate(parley: Parley, check: str) -> None:
    answers = run(parley, check)
    assert len(answers) == FORCED_TRIES
    for answer in answers:
        assert answer["finishReason"] == "tool-calls" and answer["calls"], answer
        call = answer["calls"][0]
        assert call["name"] == WEATHER_NAME and not call["invalid"], call
        WeatherArgs.model_validate(call["input"])


@pytest.mark.parametrize("check", ["generateObject", "outputObject", "responsesObject"])
def test_structured_output(parley: Parley, check: str) -> None:
    Capital.model_validate(run(parley, check)["object"])


def test_json_mode(parley: Parley) -> None:
    assert isinstance(run(parley, "noSchema")["object"], dict)


def test_logprobs(parley: Parley) -> None:
    got = run(parley, "logprobs")
    assert got["logprobs"], got
    check_logprobs(
        [(t["logprob"], [a["logprob"] for a in t["top_logprobs"]]) for t in got["logprobs"]], 3
    )


def test_embeddings(parley: Parley) -> None:
    vectors = run(parley, "embeddings")["embeddings"]
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 0


def test_responses(parley: Parley) -> None:
    assert run(parley, "responses")["text"].strip()
