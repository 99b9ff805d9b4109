"""The bodies of OpenAI's embeddings API under /v1 (see api/routes/openai.py)."""

from __future__ import annotations

import base64
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from parley.api.openai_refusals import UnsupportedParameter, refuse_unrecognized
from parley.protocol import EmbeddingInput, Embeddings

# OpenAI's bound on the inputs of one request.
MAX_INPUTS = 2048


class EmbeddingRequest(BaseModel):
    """Texts, or token ids of the model's own vocabulary, to embed; an unknown field or one
    this server does not do is refused (check_supported)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [{"model": "smollm2-embed", "input": ["first text", "second text"]}]
        },
    )

    model: str = Field(min_length=1, max_length=200)
    input: str | list[str] | list[int] | list[list[int]] = Field(
        description="A text, a list of texts, token ids, or a list of token-id lists."
    )
    encoding_format: Literal["float", "base64"] = "float"
    # Refused: the vectors come at the model's own size.
    dimensions: int | None = None
    # Accepted because it changes nothing about the answer.
    user: str | None = None

    def check_supported(self) -> None:
        """Raises UnsupportedParameter (HTTP 400) for what is not done or cannot be read."""
        refuse_unrecognized(self)
        if self.dimensions is not None:
            raise UnsupportedParameter(
                "dimensions",
                "Embeddings come at the model's own size (`dimensions` is not supported here).",
            )
        inputs = self.inputs()
        if not inputs:
            raise UnsupportedParameter("input", "`input` must not be empty.", code="invalid_value")
        if len(inputs) > MAX_INPUTS:
            raise UnsupportedParameter(
                "input", f"At most {MAX_INPUTS} inputs per request.", code="invalid_value"
            )

    def inputs(self) -> list[EmbeddingInput]:
        """The inputs in order; a list of token ids is one input (the validation keeps the
        kinds apart)."""
        if isinstance(self.input, str):
            return [self.input]
        ids: list[int] = []
        inputs: list[EmbeddingInput] = []
        for item in self.input:
            if isinstance(item, int):
                ids.append(item)
            else:
                inputs.append(item if isinstance(item, str) else tuple(item))
        return [tuple(ids)] if ids else inputs


class EmbeddingObject(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    # Floats, or with `encoding_format: base64` their little-endian float32 bytes in base64.
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingObject]
    model: str
    usage: EmbeddingUsage

    @classmethod
    def of(
        cls, model: str, embeddings: Embeddings, encoding: Literal["float", "base64"]
    ) -> EmbeddingList:
        return cls(
            data=[
                EmbeddingObject(index=i, embedding=_encoded(vector, encoding))
                for i, vector in enumerate(embeddings.vectors)
            ],
            model=model,
            usage=EmbeddingUsage(
                prompt_tokens=embeddings.prompt_tokens, total_tokens=embeddings.prompt_tokens
            ),
        )


def _encoded(vector: tuple[float, ...], encoding: Literal["float", "base64"]) -> list[float] | str:
    """Both as float32 (OpenAI's precision), so the two encodings give the same numbers."""
    single = np.asarray(vector, dtype="<f4")
    if encoding == "float":
        floats: list[float] = single.tolist()
        return floats
    return base64.b64encode(single.tobytes()).decode("ascii")
