"""instructor on the `openai` client against a real Parley, in its tool, JSON and Responses
modes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import instructor
import openai
import pytest
from instructor.core import InstructorRetryException

from tests.clients.conftest import Parley
from tests.clients.support import SHORT, STRUCTURED, Capital, all_of

pytestmark = pytest.mark.model

# The modes whose request gives the server the schema (a forced call, a `json_schema` format),
# so that the server holds the answer to it.
MODES = [
    instructor.Mode.TOOLS,
    instructor.Mode.TOOLS_STRICT,
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


def test_json_mode_gets_a_json_object(client: openai.OpenAI, parley: Parley) -> None:
    """instructor's JSON mode writes the schema into the prompt and asks the server only for a
    `json_object`: the server's part is that the answer is a JSON object, which it always is;
    its keys are the model's (SmolLM2 may say `capital` for `city`), so a wrong key fails
    validation here, never parsing."""
    try:
        answer = extract(client, parley.model, instructor.Mode.JSON)
    except InstructorRetryException as error:
        content = error.last_completion.choices[0].message.content
        assert isinstance(json.loads(content), dict), content
    else:
        assert isinstance(answer, Capital)


def test_the_default_tool_mode_always_validates(client: openai.OpenAI, parley: Parley) -> None:
    """instructor's default mode forces a call of a function whose parameters are the model."""
    answers = all_of(lambda: extract(client, parley.model, instructor.Mode.TOOLS))
    assert all(isinstance(answer, Capital) for answer in answers)
