"""instructor on the `openai` client against a real Parley, in its tool, JSON and Responses
modes."""

from __future__ import annotations

from collections.abc import Iterator

import instructor
import openai
import pytest

from tests.clients.conftest import Parley
from tests.clients.support import SHORT, STRUCTURED, Capital, all_of

pytestmark = pytest.mark.model

MODES = [
    instructor.Mode.TOOLS,
    instructor.Mode.TOOLS_STRICT,
    instructor.Mode.JSON,
    instructor.Mode.JSON_SCHEMA,
    instructor.Mode.RESPONSES_TOOLS,
]


@pytest.fixture(scope="module")
def client(parley: Parley) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=parley.base_url, api_key=parley.key, max_retries=0, timeout=300
    ) as client:
        yield client


def extract(client: openai.OpenAI, model: str, mode: instructor.Mode) -> Capital:
    return instructor.from_openai(client, mode=mode).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": STRUCTURED}],
        response_model=Capital,
        # A wrong answer is the check's failure, not a reason to ask again.
        max_retries=0,
        max_tokens=SHORT,
        temperature=0,
    )


@pytest.mark.parametrize("mode", MODES, ids=[mode.value for mode in MODES])
def test_response_model(client: openai.OpenAI, parley: Parley, mode: instructor.Mode) -> None:
    assert isinstance(extract(client, parley.model, mode), Capital)


def test_the_default_tool_mode_always_validates(client: openai.OpenAI, parley: Parley) -> None:
    """instructor's default mode forces a call of a function whose parameters are the model."""
    answers = all_of(lambda: extract(client, parley.model, instructor.Mode.TOOLS))
    assert all(isinstance(answer, Capital) for answer in answers)
