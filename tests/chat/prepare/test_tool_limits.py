"""The checks of a stateless request's tools, choice and tool history
(chat/prepare/tool_limits.py)."""

from __future__ import annotations

import pytest

from parley.chat.prepare.tool_limits import ToolsRefused, check_tool_request
from parley.protocol import ChatTurn, ForcedTool, ToolCall, ToolSpec

OBJECT = {"type": "object", "properties": {"city": {"type": "string"}}}


def test_a_draft_07_schema_is_judged_by_its_own_draft() -> None:
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", **OBJECT}
    check_tool_request([ToolSpec("f", "", draft7)], "auto", [ChatTurn("user", "hi")])
    with pytest.raises(ToolsRefused) as caught:
        # draft-07 wants `items` to be a schema or a list of them, not a number.
        check_tool_request(
            [ToolSpec("f", "", {**draft7, "properties": {"a": {"items": 3}}})], "auto", []
        )
    assert caught.value.param == "tools[0].function.parameters"


def test_a_result_must_follow_its_call() -> None:
    call = ToolCall("call_1", "f", "{}")
    spec = [ToolSpec("f", "", OBJECT)]
    answered = [
        ChatTurn("user", "hi"),
        ChatTurn("assistant", "", tool_calls=(call,)),
        ChatTurn("tool", "done", tool_call_id="call_1"),
    ]
    check_tool_request(spec, "auto", answered)
    # The same result before the call answers nothing yet.
    with pytest.raises(ToolsRefused) as caught:
        check_tool_request(spec, "auto", [answered[0], answered[2], answered[1]])
    assert caught.value.code == "unmatched_tool_call_id"
    assert caught.value.kind == "malformed"


def test_auto_and_none_need_no_tools_but_a_forced_call_does() -> None:
    for choice in ("auto", "none"):
        check_tool_request([], choice, [])
    for forced in ("required", ForcedTool("f")):
        with pytest.raises(ToolsRefused):
            check_tool_request([], forced, [])
    check_tool_request([ToolSpec("f", "", OBJECT)], ForcedTool("f"), [])


@pytest.mark.parametrize("dialect", [[], 5, {"a": 1}])
def test_a_schema_naming_no_draft_uri_is_refused(dialect: object) -> None:
    with pytest.raises(ToolsRefused) as caught:
        check_tool_request([ToolSpec("f", "", {**OBJECT, "$schema": dialect})], "auto", [])
    assert "$schema must be a URI" in caught.value.message
