"""The request and response bodies of the simple /api/v1 API (see api/routes/simple.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley.api.openai_schemas import PromptTokensDetails
from parley.chat.completions import (
    CompletionRequest,
)
from parley.chat.prepare.request import GenerationOptions
from parley.protocol import (
    ChatTurn,
    Finished,
    ResponseFormat,
    SendOptions,
    Usage,
)
from parley.protocol.frames import SAFE_INT_MAX


class SamplingFields(BaseModel):
    temperature: float | None = Field(None, ge=0, le=2, description="0-2; server default 0.7.")
    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling, (0, 1].")
    max_tokens: int | None = Field(
        None,
        ge=1,
        le=SAFE_INT_MAX,
        description="Answer length limit, 1 up to the model's context length.",
    )
    thinking: bool | None = Field(
        None, description="False asks a thinking model not to think, where its template can."
    )
    model: str | None = Field(None, max_length=200, description="A model id; default if unset.")
    response_format: ResponseFormat | None = Field(
        None,
        description="JSON output, as OpenAI's `response_format`: `json_object` or `json_schema` "
        "(made with thinking off).",
    )

    def send_options(self) -> SendOptions:
        return SendOptions.model_validate(self, from_attributes=True)

    def generation_options(self) -> GenerationOptions:
        return GenerationOptions.from_send(self.send_options())


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(SamplingFields):
    """Either `message` (+ `history`, optional `system_prompt`) or `messages`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"message": "Hello, who are you?", "history": [], "temperature": 0.7},
                {
                    "messages": [
                        {"role": "system", "content": "You are a concise assistant."},
                        {"role": "user", "content": "What is machine learning?"},
                    ],
                    "temperature": 0.5,
                    "max_tokens": 300,
                    "top_p": 0.9,
                },
            ]
        }
    )

    message: str | None = Field(None, min_length=1, description="The new user message.")
    conversation_id: str | None = Field(
        None,
        max_length=100,
        description="Answer inside this conversation of yours: the message and the answer are "
        "stored and seen by its open sockets. Takes `message` alone (no history, "
        "system_prompt or model: the conversation has them).",
    )
    history: list[HistoryTurn] = Field(default_factory=list, description="Earlier turns.")
    system_prompt: str | None = None
    messages: list[ChatMessage] | None = Field(
        None, min_length=1, description="The whole conversation, OpenAI style."
    )

    @model_validator(mode="after")
    def _one_form(self) -> ChatRequest:
        if (self.message is None) == (self.messages is None):
            raise ValueError("send either 'message' (with 'history') or 'messages'")
        if self.messages is not None and not any(m.role == "user" for m in self.messages):
            raise ValueError("'messages' needs at least one user message")
        if self.conversation_id is not None and (
            self.messages is not None or self.history or self.system_prompt or self.model
        ):
            raise ValueError("with 'conversation_id', send 'message' and options only")
        return self

    def completion_request(self) -> CompletionRequest:
        if self.messages is not None:
            system = "\n\n".join(m.content for m in self.messages if m.role == "system")
            turns = [ChatTurn(m.role, m.content) for m in self.messages if m.role != "system"]
        else:
            assert self.message is not None
            system = self.system_prompt or ""
            turns = [ChatTurn(t.role, t.content) for t in self.history]
            turns.append(ChatTurn("user", self.message))
        return CompletionRequest(
            turns=turns,
            system_prompt=system,
            options=self.generation_options(),
            model=self.model,
        )


class UsageInfo(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails = Field(default_factory=PromptTokensDetails)

    @classmethod
    def of_usage(cls, usage: Usage) -> UsageInfo:
        return cls.of_usages([usage])

    @classmethod
    def of(cls, finishes: Sequence[Finished]) -> UsageInfo:
        return cls.of_usages([f.usage for f in finishes])

    @classmethod
    def of_usages(cls, usages: Sequence[Usage]) -> UsageInfo:
        prompt = sum(u.prompt_tokens for u in usages)
        completion = sum(u.completion_tokens for u in usages)
        cached = sum(u.cached_tokens for u in usages)
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=cached),
        )


class ChatResponse(BaseModel):
    response: str
    message_id: str | None = Field(None, description="The stored answer, with conversation_id.")
    thinking: str = ""
    success: bool = True
    error: str | None = None
    usage: UsageInfo | None = None
    model: str | None = None
    finish_reason: str | None = None


class StreamEvent(BaseModel):
    """One Server-Sent Event of /chat/stream and streamed /generate."""

    type: Literal["start", "thinking", "chunk", "end", "error"]
    content: str = ""
    message_id: str | None = None
    usage: UsageInfo | None = None
    finish_reason: str | None = None
    model: str | None = None
    code: str | None = None


class GenerateRequest(SamplingFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"prompt": "Write a Python function for Fibonacci numbers.", "max_tokens": 300}
            ]
        }
    )

    prompt: str = Field(min_length=1)
    system_prompt: str | None = None
    stream: bool = Field(False, description="Answer as Server-Sent Events, like /chat/stream.")

    def completion_request(self) -> CompletionRequest:
        return CompletionRequest(
            turns=[ChatTurn("user", self.prompt)],
            system_prompt=self.system_prompt or "",
            options=self.generation_options(),
            model=self.model,
        )


class GenerateResponse(BaseModel):
    generated_text: str
    thinking: str = ""
    usage: UsageInfo
    model: str
    finish_reason: str
    generation_time_ms: float


class BatchRequest(SamplingFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"prompts": ["What is AI?", "What is Python good at?"], "max_tokens": 150}]
        }
    )

    prompts: list[str] = Field(
        min_length=1, description="Run concurrently; at most the server's max_batch_prompts."
    )
    system_prompt: str | None = None


class BatchResponse(BaseModel):
    results: list[str]
    thinking: list[str]
    usage: UsageInfo
    model: str
    generation_time_ms: float


class ModelInfo(BaseModel):
    model_name: str
    model_path: str | None
    state: Literal["available", "loading", "loaded", "failed"]
    is_loaded: bool
    device: str | None
    dtype: str | None
    context_length: int | None
    parameter_count: int | None
    memory_bytes: int | None
    error: str | None = None


class LoadRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{}, {"model": "smollm2"}]})

    model: str | None = Field(None, max_length=200)


class LoadResponse(BaseModel):
    status: Literal["loaded"]
    model: str
    message: str


class ServiceInfo(BaseModel):
    name: str
    version: str
    docs: str
    redoc: str
    openai_base_url: str
    health: str
