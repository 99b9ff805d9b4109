"""The bodies of the OpenAI-compatible /v1 API (see api/routes/openai.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley.api.openai_refusals import (
    UnsupportedParameter,
    refuse_content_part,
    refuse_unrecognized,
)
from parley.chat.completions import (
    CompletionRequest,
)
from parley.chat.prepare.request import GenerationOptions
from parley.protocol import (
    ChatTurn,
    Finished,
    FinishReason,
    ForcedTool,
    ResponseFormat,
    Role,
    TokenLogprob,
    ToolCall,
    ToolChoice,
    ToolSpec,
    TopLogprob,
)
from parley.protocol.frames import SAFE_INT_MAX

# ---------- bodies ----------


class TextPart(BaseModel):
    """A part of a message's content. Only text parts are read; the others (images, audio,
    files) are refused by ChatCompletionRequest.check_supported."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None

    @model_validator(mode="after")
    def _text_has_text(self) -> TextPart:
        if self.type == "text" and self.text is None:
            raise ValueError("a text part needs its `text`")
        return self


class FunctionCall(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    # JSON text, as the model wrote it.
    arguments: str


class MessageToolCall(BaseModel):
    """A call in an assistant message: of a history, or of an answer."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCall

    def call(self) -> ToolCall:
        return ToolCall(self.id, self.function.name, self.function.arguments)

    @classmethod
    def of(cls, call: ToolCall) -> MessageToolCall:
        return cls(id=call.call_id, function=FunctionCall(name=call.name, arguments=call.arguments))


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    # An assistant message's calls.
    tool_calls: list[MessageToolCall] | None = None
    # A tool message: the call whose result `content` is.
    tool_call_id: str | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text or "" for part in self.content)

    def turn(self) -> ChatTurn:
        """A user, assistant or tool message as a turn (system messages become the prompt)."""
        role: Role = (
            "user" if self.role == "user" else "tool" if self.role == "tool" else "assistant"
        )
        return ChatTurn(
            role,
            self.text(),
            tool_calls=tuple(call.call() for call in self.tool_calls or ()),
            tool_call_id=self.tool_call_id if self.role == "tool" else None,
        )


class FunctionDefinition(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    description: str = ""
    # A JSON Schema of an object (checked in chat/prepare/tool_limits.py); none: no arguments.
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    # OpenAI's structured outputs; accepted, not enforced.
    strict: bool | None = None


class ToolDefinition(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["function"]
    function: FunctionDefinition

    def spec(self) -> ToolSpec:
        function = self.function
        return ToolSpec(function.name, function.description, function.parameters)


class NamedFunction(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str


class NamedToolChoice(BaseModel):
    """`{"type": "function", "function": {"name": ...}}`: the model must call that function."""

    model_config = ConfigDict(extra="allow")

    type: Literal["function"]
    function: NamedFunction


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatTemplateArguments(BaseModel):
    """vLLM's way to turn thinking off: `chat_template_kwargs: {"enable_thinking": false}`."""

    model_config = ConfigDict(extra="allow")

    enable_thinking: bool | None = None


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]


class ChatCompletionRequest(BaseModel):
    """Every field of OpenAI's request is either honoured or refused (check_supported), and
    an unknown one is refused as OpenAI refuses it."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": "scripted",
                    "messages": [
                        {"role": "system", "content": "You are helpful."},
                        {"role": "user", "content": "Hello!"},
                    ],
                    "max_completion_tokens": 200,
                    "temperature": 0.7,
                    "stream": False,
                }
            ]
        },
    )

    model: str = Field(min_length=1, max_length=200)
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=SAFE_INT_MAX)
    max_completion_tokens: int | None = Field(None, ge=1, le=SAFE_INT_MAX)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    n: int = Field(1, ge=1, le=1, description="Only one choice is generated.")
    chat_template_kwargs: ChatTemplateArguments | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    # "none" turns thinking off, any other effort on (the models here think or do not).
    reasoning_effort: ReasoningEffort | None = None
    # Accepted because they change nothing about the answer: who asks, and how it is billed.
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    metadata: dict[str, str] | None = None
    service_tier: str | None = None
    # Refused unless at the value that asks for nothing (see check_supported).
    store: bool | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    response_format: ResponseFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None

    def check_supported(self) -> None:
        """Raises UnsupportedParameter (HTTP 400) naming the first field asked of that this
        server does not do."""
        refuse_unrecognized(self)
        asked_of = {
            "top_logprobs": (
                self.top_logprobs is not None and self.logprobs is not True,
                "`top_logprobs` needs `logprobs: true`",
            ),
            "store": (
                self.store is True,
                "Chat completions are not stored; the Responses API (/v1/responses) stores answers",
            ),
            "frequency_penalty": (bool(self.frequency_penalty), "Penalties are not available"),
            "presence_penalty": (bool(self.presence_penalty), "Penalties are not available"),
            "logit_bias": (bool(self.logit_bias), "Logit bias is not available"),
            "verbosity": (self.verbosity not in (None, "medium"), "Verbosity is not adjustable"),
            "modalities": (
                self.modalities is not None and set(self.modalities) != {"text"},
                "Only text output is available",
            ),
            "audio": (self.audio is not None, "Audio output is not available"),
            "prediction": (self.prediction is not None, "Predicted outputs are not available"),
            "web_search_options": (
                self.web_search_options is not None,
                "Web search is not available",
            ),
            "functions": (self.functions is not None, "`functions` is replaced by `tools`"),
            "function_call": (
                self.function_call is not None,
                "`function_call` is replaced by `tool_choice`",
            ),
        }
        for param, (asked, why) in asked_of.items():
            if asked:
                raise UnsupportedParameter(param, f"{why} (`{param}` is not supported here).")
        for i, message in enumerate(self.messages):
            for j, part in enumerate(message.content if isinstance(message.content, list) else ()):
                if part.type != "text":
                    refuse_content_part(part.type, self.model, f"messages[{i}].content[{j}]")

    def _logprobs(self) -> int | None:
        """How many alternatives each token's log probability comes with; None: not asked."""
        return (self.top_logprobs or 0) if self.logprobs else None

    def _thinking(self) -> bool | None:
        kwargs = self.chat_template_kwargs
        if kwargs is not None and kwargs.enable_thinking is not None:
            return kwargs.enable_thinking
        if self.reasoning_effort is not None:
            return self.reasoning_effort != "none"
        return None

    def stop_sequences(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        stops = [self.stop] if isinstance(self.stop, str) else self.stop
        return tuple(stop for stop in stops if stop)

    def completion_request(self) -> CompletionRequest:
        system = "\n\n".join(m.text() for m in self.messages if m.role in ("system", "developer"))
        turns = [m.turn() for m in self.messages if m.role not in ("system", "developer")]
        return CompletionRequest(
            turns=turns,
            system_prompt=system,
            options=GenerationOptions(
                max_tokens=self.max_completion_tokens or self.max_tokens,
                temperature=self.temperature,
                top_p=self.top_p,
                thinking=self._thinking(),
                stop=self.stop_sequences(),
                seed=self.seed,
                output=None if self.response_format is None else self.response_format.output(),
                logprobs=self._logprobs(),
            ),
            model=self.model,
            tools=tuple(tool.spec() for tool in self.tools or ()),
            tool_choice=self._tool_choice(),
            parallel_tool_calls=self.parallel_tool_calls is not False,
        )

    def _tool_choice(self) -> ToolChoice:
        choice = self.tool_choice
        if isinstance(choice, NamedToolChoice):
            return ForcedTool(choice.function.name)
        return choice or "auto"


# ---------- answers ----------


class PromptTokensDetails(BaseModel):
    cached_tokens: int = Field(0, description="Prompt tokens not read again: already cached.")


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails = Field(default_factory=PromptTokensDetails)

    @classmethod
    def of(cls, finish: Finished) -> CompletionUsage:
        usage = finish.usage
        return cls(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=usage.cached_tokens),
        )


OpenAIFinishReason = Literal["stop", "length", "tool_calls"]


# A cancelled answer (its client went away) is told nobody; "stop" is the closest.
_OPENAI_FINISH: dict[FinishReason, OpenAIFinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "cancelled": "stop",
}


def openai_finish(reason: FinishReason) -> OpenAIFinishReason:
    return _OPENAI_FINISH[reason]


class TopLogprobObject(BaseModel):
    token: str
    logprob: float
    # The token's UTF-8 bytes (a character cut across tokens is whole in none of them).
    bytes: list[int] | None

    @classmethod
    def of(cls, top: TopLogprob) -> TopLogprobObject:
        return cls(token=top.token, logprob=top.logprob, bytes=list(top.token_bytes))


class TokenLogprobObject(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None
    top_logprobs: list[TopLogprobObject]

    @classmethod
    def of(cls, entry: TokenLogprob) -> TokenLogprobObject:
        return cls(
            token=entry.token,
            logprob=entry.logprob,
            bytes=list(entry.token_bytes),
            top_logprobs=[TopLogprobObject.of(top) for top in entry.top],
        )


class ChoiceLogprobs(BaseModel):
    """The answer's tokens' log probabilities (thinking and tool-call markup included)."""

    content: list[TokenLogprobObject] | None
    refusal: list[TokenLogprobObject] | None = None

    @classmethod
    def of(cls, entries: tuple[TokenLogprob, ...]) -> ChoiceLogprobs:
        return cls(content=[TokenLogprobObject.of(entry) for entry in entries])


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    # Null when the answer is only tool calls, as OpenAI sends it.
    content: str | None
    reasoning_content: str | None = None
    tool_calls: list[MessageToolCall] | None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: OpenAIFinishReason
    # Null unless the request asked for `logprobs`.
    logprobs: ChoiceLogprobs | None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage


class ChunkFunction(BaseModel):
    name: str | None = None
    arguments: str | None = None


class ChunkToolCall(BaseModel):
    """A piece of a streamed call: the first of a call has its `id`, `type` and name, the
    later ones more of its arguments; `index` says which call it belongs to."""

    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChunkFunction


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ChunkToolCall] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    # Sent as null until the last chunk, so it is not left out of the JSON.
    finish_reason: OpenAIFinishReason | None = None
    # The log probabilities of the tokens whose text this chunk sends, where asked.
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None


class ModelObject(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "parley"
    # vLLM's field, so a Parley fronting this one learns the context (null until loaded).
    max_model_len: int | None = None


class ModelListObject(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelObject]
