"""What the OpenAI-compatible API refuses rather than ignores: parameters it does not honour,
fields it does not know, content it cannot read, and routes it does not have. OpenAI's own
error shape (api/errors.py) names the parameter or the route."""

from __future__ import annotations

from pydantic import BaseModel

from parley.protocol import ParleyError


class UnsupportedParameter(ParleyError):
    """A field of OpenAI's API asked of that this server does not do: refused (HTTP 400,
    `param` naming it) rather than ignored, so a client never takes an answer for what it
    did not ask."""

    default_code = "unsupported_parameter"
    default_kind = "malformed"

    def __init__(self, param: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, param=param)


def refuse_unrecognized(body: BaseModel) -> None:
    """OpenAI's answer to a field it does not know, for a body that keeps unknown fields."""
    for name in body.model_extra or {}:
        raise UnsupportedParameter(
            name, f"Unrecognized request argument supplied: {name}", code="unrecognized_argument"
        )


class UnknownRoute(ParleyError):
    """A /v1 path this server does not serve (embeddings, legacy completions, ...)."""

    default_code = "unknown_route"
    default_kind = "not_found"

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"No such route: {method} {path}. See /docs for the routes served.")


# What a content part other than text is called in a refusal.
_PART_KINDS = {"image_url": "images", "input_image": "images", "input_audio": "audio"}
_PART_KINDS |= {"file": "files", "input_file": "files"}


def refuse_content_part(part_type: str, model: str, param: str) -> None:
    kind = _PART_KINDS.get(part_type)
    message = (
        f"The model {model!r} does not support {kind}; send text content parts only."
        if kind is not None
        else f"Content parts of type {part_type!r} are not supported; send text parts only."
    )
    raise UnsupportedParameter(param, message, code="unsupported_content")
