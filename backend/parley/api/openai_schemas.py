"""The bodies of the OpenAI-compatible /v1 API (see api/routes/openai.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from parley.chat.completions import (
    CompletionRequest,
)
from parley.chat.generation import GenerationOptions
from parley.protocol import ChatTurn, Finished, FinishReason

MAX_STOP_SEQUENCES = 4


# ---------- bodies ----------


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["text"]
    text: str


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatTemplateArguments(BaseModel):
    """vLLM's way to turn thinking off: `chat_template_kwargs: {"enable_thinking": false}`."""

    model_config = ConfigDict(extra="allow")

    enable_thinking: bool | None = None


class ChatCompletionRequest(BaseModel):
    # Fields this server does not use (user, logprobs, ...) are accepted and ignored.
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
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(1, ge=1, le=1, description="Only one choice is generated.")
    chat_template_kwargs: ChatTemplateArguments | None = None

    def stop_sequences(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        stops = [self.stop] if isinstance(self.stop, str) else self.stop
        return tuple(stop for stop in stops if stop)

    def completion_request(self) -> CompletionRequest:
        system = "\n\n".join(m.text() for m in self.messages if m.role in ("system", "developer"))
        turns = [
            ChatTurn("user" if m.role == "user" else "assistant", m.text())
            for m in self.messages
            if m.role in ("user", "assistant")
        ]
        kwargs = self.chat_template_kwargs
        return CompletionRequest(
            turns=turns,
            system_prompt=system,
            options=GenerationOptions(
                max_tokens=self.max_completion_tokens or self.max_tokens,
                temperature=self.temperature,
                top_p=self.top_p,
                thinking=kwargs.enable_thinking if kwargs else None,
                stop=self.stop_sequences(),
                seed=self.seed,
            ),
            model=self.model,
        )


# ---------- answers ----------


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, finish: Finished) -> CompletionUsage:
        usage = finish.usage
        return cls(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
        )


OpenAIFinishReason = Literal["stop", "length"]


def openai_finish(reason: FinishReason) -> OpenAIFinishReason:
    return "length" if reason == "length" else "stop"


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    reasoning_content: str | None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: OpenAIFinishReason


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    # Sent as null until the last chunk, so it is not left out of the JSON.
    finish_reason: OpenAIFinishReason | None = None


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
