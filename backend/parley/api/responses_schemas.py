"""The bodies of OpenAI's Responses API under /v1/responses (see api/routes/responses.py).

Input items become the turns of a completion: messages, `function_call` items (an
assistant's calls) and `function_call_output` items (their results), after those of the
response named by `previous_response_id` (its input items and its output); `instructions` and
system/developer messages become the system prompt. As on /v1/chat/completions, every field
is either honoured or refused with a 400 naming it. Stored responses keep their input items
with ids, in the shapes `input_items` lists (`stored_input`).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley.api.openai_refusals import (
    UnsupportedParameter,
    refuse_content_part,
    refuse_unrecognized,
)
from parley.api.openai_schemas import ReasoningEffort
from parley.chat.completions import Completion, CompletionRequest
from parley.chat.prepare.request import GenerationOptions
from parley.protocol import (
    ChatTurn,
    Finished,
    ForcedTool,
    JsonOutput,
    ToolCall,
    ToolChoice,
    ToolSpec,
)
from parley.protocol.frames import SAFE_INT_MAX

# ---------- input ----------


class ContentPart(BaseModel):
    """`input_text` (or an assistant's `output_text`) is read; other parts are refused."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class InputItem(BaseModel):
    """One item of `input`: a message (its `type` may be left out), a `function_call` or a
    `function_call_output`; a `reasoning` item (an earlier answer's thinking) is history the
    model is not shown again, as in a chat."""

    model_config = ConfigDict(extra="allow")

    type: str = "message"
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: str | list[ContentPart] | None = None
    # function_call and function_call_output
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | list[ContentPart] | None = None

    def stored(self) -> dict[str, Any]:
        """This item as `input_items` lists it: with an id, a message's content as parts."""
        item = self.model_dump(exclude_none=True)
        item.setdefault("status", "completed")
        if self.type == "message":
            item.setdefault("id", new_id("msg"))
            kind = "output_text" if self.role == "assistant" else "input_text"
            parts: list[dict[str, Any]] = (
                [{"type": kind, "text": self.content or ""}]
                if self.content is None or isinstance(self.content, str)
                else [part.model_dump(exclude_none=True) for part in self.content]
            )
            for part in parts:
                if part["type"] == "output_text":
                    part.setdefault("annotations", [])
            item["content"] = parts
        else:
            prefix = {"function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}
            item.setdefault("id", new_id(prefix.get(self.type, "item")))
        return item

    def text(self, model: str, param: str) -> str:
        content = self.content if self.type == "message" else self.output
        if content is None or isinstance(content, str):
            return content or ""
        for j, part in enumerate(content):
            if part.type not in ("input_text", "output_text", "text"):
                refuse_content_part(part.type, model, f"{param}.content[{j}]")
        return "".join(part.text or "" for part in content)


class FunctionTool(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function"]
    name: str
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description or "", self.parameters)


class NamedFunction(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function"]
    name: str


class Reasoning(BaseModel):
    model_config = ConfigDict(extra="allow")

    effort: ReasoningEffort | None = None
    summary: str | None = None


class TextFormat(BaseModel):
    """`text.format`: a response format in the Responses API's shape, the schema's fields
    beside `type` (chat completions nest them under `json_schema`)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = Field(None, max_length=64)
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema_with_its_type(self) -> TextFormat:
        if (self.type == "json_schema") != (self.schema_ is not None):
            raise ValueError("`schema` is given exactly when the type is `json_schema`")
        return self

    def output(self) -> JsonOutput | None:
        return None if self.type == "text" else JsonOutput(self.schema_)


class TextOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ResponseCreateRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"model": "scripted", "instructions": "Be terse.", "input": "Hello!"},
            ]
        },
    )

    model: str = Field(min_length=1, max_length=200)
    input: str | list[InputItem]
    instructions: str | None = None
    stream: bool = False
    max_output_tokens: int | None = Field(None, ge=1, le=SAFE_INT_MAX)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedFunction | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    text: TextOptions | None = None
    truncation: Literal["auto", "disabled"] | None = None
    # Accepted because they change nothing about the answer: who asks, and how it is billed.
    metadata: dict[str, str] | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    service_tier: str | None = None
    stream_options: dict[str, Any] | None = None
    # Kept for GET, `input_items` and `previous_response_id` unless false (as OpenAI's).
    store: bool = True
    previous_response_id: str | None = Field(None, min_length=1, max_length=200)
    # Run on the server, followed with GET ...?stream=true (stored: needs `store`).
    background: bool = False
    # Refused unless at the value that asks for nothing (see check_supported).
    include: list[str] | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    max_tool_calls: int | None = None
    conversation: str | dict[str, Any] | None = None
    prompt: dict[str, Any] | None = None

    def check_supported(self) -> None:
        """Raises UnsupportedParameter (HTTP 400) naming the first field asked of that this
        server does not do."""
        refuse_unrecognized(self)
        asked_of = {
            "text.verbosity": (
                self.text is not None and self.text.verbosity not in (None, "medium"),
                "Verbosity is not adjustable",
            ),
            "include": (bool(self.include), "No extra output can be included"),
            "top_logprobs": (bool(self.top_logprobs), "Log probabilities are not available"),
            "max_tool_calls": (self.max_tool_calls is not None, "Tool calls are not capped"),
            "conversation": (self.conversation is not None, "Conversations are not available"),
            "prompt": (self.prompt is not None, "Prompt templates are not available"),
        }
        for param, (asked, why) in asked_of.items():
            if asked:
                raise UnsupportedParameter(param, f"{why} (`{param}` is not supported here).")
        if self.background and not self.store:
            raise UnsupportedParameter(
                "background", "A background response is stored: it needs `store: true`."
            )

    def stored_input(self) -> list[dict[str, Any]]:
        """`input` as a stored response keeps it (see InputItem.stored)."""
        return [item.stored() for item in self._input_items()]

    def _input_items(self) -> list[InputItem]:
        if isinstance(self.input, str):
            return [InputItem(role="user", content=self.input)]
        return self.input

    def completion_request(self, history: list[dict[str, Any]]) -> CompletionRequest:
        """What to answer: `history` (the items of the response this one continues), then
        `input`, after `instructions` (never carried over from an earlier response)."""
        earlier = [InputItem.model_validate(item) for item in history]
        system, turns = self._turns(earlier)
        if not any(turn.role == "user" for turn in turns):
            raise UnsupportedParameter("input", "input must include a user message.")
        effort = self.reasoning.effort if self.reasoning is not None else None
        return CompletionRequest(
            turns=turns,
            system_prompt=system,
            options=GenerationOptions(
                max_tokens=self.max_output_tokens,
                temperature=self.temperature,
                top_p=self.top_p,
                thinking=None if effort is None else effort != "none",
                output=None
                if self.text is None or self.text.format is None
                else self.text.format.output(),
            ),
            model=self.model,
            tools=tuple(tool.spec() for tool in self.tools or ()),
            tool_choice=self._tool_choice(),
            parallel_tool_calls=self.parallel_tool_calls is not False,
        )

    def _turns(self, earlier: list[InputItem]) -> tuple[str, list[ChatTurn]]:
        """The system prompt and the turns that `instructions`, the earlier items and `input`
        say."""
        system = [self.instructions] if self.instructions else []
        turns: list[ChatTurn] = []
        numbered = [(f"previous_response_id[{i}]", item) for i, item in enumerate(earlier)]
        numbered += [(f"input[{i}]", item) for i, item in enumerate(self._input_items())]
        for param, item in numbered:
            if item.type == "message" and item.role in ("system", "developer"):
                system.append(item.text(self.model, param))
            elif item.type == "message" and item.role in ("user", "assistant"):
                turns.append(ChatTurn(item.role, item.text(self.model, param)))
            elif item.type == "function_call" and item.call_id and item.name:
                call = ToolCall(item.call_id, item.name, item.arguments or "{}")
                # Calls made together belong to one assistant turn, after its text if any.
                last = turns[-1] if turns else None
                if last is not None and last.role == "assistant":
                    turns[-1] = ChatTurn("assistant", last.content, (*last.tool_calls, call))
                else:
                    turns.append(ChatTurn("assistant", "", (call,)))
            elif item.type == "function_call_output" and item.call_id:
                output = item.text(self.model, param)
                turns.append(ChatTurn("tool", output, tool_call_id=item.call_id))
            elif item.type != "reasoning":
                raise UnsupportedParameter(
                    param, f"Input items of type {item.type!r} are not supported here."
                )
        return "\n\n".join(system), turns

    def _tool_choice(self) -> ToolChoice:
        choice = self.tool_choice
        if isinstance(choice, NamedFunction):
            return ForcedTool(choice.name)
        return choice or "auto"


# ---------- output ----------


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class OutputText(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = Field(default_factory=list)


class ReasoningText(BaseModel):
    type: Literal["reasoning_text"] = "reasoning_text"
    text: str


class SummaryText(BaseModel):
    type: Literal["summary_text"] = "summary_text"
    text: str


ItemStatus = Literal["in_progress", "completed", "incomplete"]


class OutputMessage(BaseModel):
    type: Literal["message"] = "message"
    id: str = Field(default_factory=lambda: new_id("msg"))
    status: ItemStatus = "completed"
    role: Literal["assistant"] = "assistant"
    content: list[OutputText] = Field(default_factory=list)


class ReasoningItem(BaseModel):
    """The model's thinking, as it thought it (`content`); where the request asked for a
    summary (`reasoning.summary`), the same text as its one summary part: the models here
    think in the open, so no shorter summary is made of it."""

    type: Literal["reasoning"] = "reasoning"
    id: str = Field(default_factory=lambda: new_id("rs"))
    status: ItemStatus = "completed"
    summary: list[SummaryText] = Field(default_factory=list)
    content: list[ReasoningText] = Field(default_factory=list)

    @classmethod
    def of(cls, thinking: str, *, summarized: bool) -> ReasoningItem:
        summary = [SummaryText(text=thinking)] if summarized else []
        return cls(summary=summary, content=[ReasoningText(text=thinking)])


class FunctionCallItem(BaseModel):
    type: Literal["function_call"] = "function_call"
    id: str = Field(default_factory=lambda: new_id("fc"))
    status: ItemStatus = "completed"
    call_id: str
    name: str
    arguments: str

    @classmethod
    def of(cls, call: ToolCall) -> FunctionCallItem:
        return cls(call_id=call.call_id, name=call.name, arguments=call.arguments)


OutputItem = OutputMessage | ReasoningItem | FunctionCallItem


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0


class OutputTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class ResponseUsage(BaseModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int
    # Thinking is counted in output_tokens; the engines do not count it apart.
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)
    total_tokens: int

    @classmethod
    def of(cls, finish: Finished) -> ResponseUsage:
        usage = finish.usage
        return cls(
            input_tokens=usage.prompt_tokens,
            input_tokens_details=InputTokensDetails(cached_tokens=usage.cached_tokens),
            output_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
        )


class IncompleteDetails(BaseModel):
    reason: Literal["max_output_tokens"]


ResponseStatus = Literal["queued", "in_progress", "completed", "incomplete", "failed", "cancelled"]


class ResponseObject(BaseModel):
    """OpenAI's Response: the request's settings echoed, the output items and the usage."""

    id: str = Field(default_factory=lambda: new_id("resp"))
    object: Literal["response"] = "response"
    created_at: int = Field(default_factory=lambda: int(time.time()))
    status: ResponseStatus = "in_progress"
    model: str
    output: list[OutputItem] = Field(default_factory=list)
    usage: ResponseUsage | None = None
    error: dict[str, Any] | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    tools: list[FunctionTool] = Field(default_factory=list)
    tool_choice: Literal["auto", "none", "required"] | NamedFunction = "auto"
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    store: bool = False
    background: bool = False
    metadata: dict[str, str] = Field(default_factory=dict)
    text: TextOptions = Field(default_factory=lambda: TextOptions(format=TextFormat(type="text")))
    truncation: Literal["auto", "disabled"] = "disabled"
    reasoning: Reasoning | None = None

    @property
    def summarizes_thinking(self) -> bool:
        """Whether the request asked for reasoning summaries (any of OpenAI's levels)."""
        return self.reasoning is not None and self.reasoning.summary not in (None, "none")

    @classmethod
    def started(cls, body: ResponseCreateRequest, model: str) -> ResponseObject:
        return cls(
            model=model,
            instructions=body.instructions,
            max_output_tokens=body.max_output_tokens,
            temperature=body.temperature,
            top_p=body.top_p,
            tools=body.tools or [],
            tool_choice=body.tool_choice or "auto",
            parallel_tool_calls=body.parallel_tool_calls is not False,
            metadata=body.metadata or {},
            truncation=body.truncation or "disabled",
            previous_response_id=body.previous_response_id,
            store=body.store,
            background=body.background,
            status="queued" if body.background else "in_progress",
            reasoning=body.reasoning,
        )

    def finish(self, finished: Finished) -> None:
        self.usage = ResponseUsage.of(finished)
        if finished.finish_reason == "length":
            self.status = "incomplete"
            self.incomplete_details = IncompleteDetails(reason="max_output_tokens")
        else:
            self.status = "completed"

    def completed_with(self, completion: Completion) -> ResponseObject:
        """This response with a whole answer's items: thinking, text, then calls."""
        if completion.thinking:
            thinking = ReasoningItem.of(completion.thinking, summarized=self.summarizes_thinking)
            self.output.append(thinking)
        if completion.answer or not completion.tool_calls:
            self.output.append(OutputMessage(content=[OutputText(text=completion.answer)]))
        self.output.extend(FunctionCallItem.of(call) for call in completion.tool_calls)
        self.finish(completion.finish)
        return self


class DeletedResponse(BaseModel):
    id: str
    object: Literal["response"] = "response"
    deleted: Literal[True] = True


class InputItemList(BaseModel):
    """A page of a stored response's input items, in OpenAI's list shape."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool

    @classmethod
    def page(
        cls, items: list[dict[str, Any]], *, after: str | None, limit: int, descending: bool
    ) -> InputItemList:
        ordered = items[::-1] if descending else items
        if after is not None:
            ids = [item.get("id") for item in ordered]
            if after not in ids:
                raise UnsupportedParameter("after", f"No input item {after!r} in this response.")
            ordered = ordered[ids.index(after) + 1 :]
        data = ordered[:limit]
        return cls(
            data=data,
            first_id=data[0].get("id") if data else None,
            last_id=data[-1].get("id") if data else None,
            has_more=len(ordered) > limit,
        )
