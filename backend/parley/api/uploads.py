"""Reading one multipart `file` field with a size limit, without reading more than the limit.

A declared Content-Length over the limit is refused before any of the body is read; a body
without one is counted as it arrives and refused as soon as it passes the limit, so a large
upload never fills memory or disk first.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser

from parley.api.errors import ApiError

# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 16 * 1024
MEGABYTE = 1024 * 1024


def multipart_file_body(example: str) -> dict[str, Any]:
    """The request body of an upload route for the OpenAPI document; `example` is what the
    file might hold."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    },
                    "example": {"file": example},
                }
            },
        }
    }


@dataclass(frozen=True, slots=True)
class Upload:
    name: str
    content_type: str
    data: bytes


def too_large(max_bytes: int) -> ApiError:
    return ApiError(
        413, "too_large", f"The file is larger than the limit of {max_bytes / MEGABYTE:g} MB."
    )


def _missing_file() -> ApiError:
    return ApiError(422, "missing_file", "Send the file as the multipart/form-data field 'file'.")


async def read_upload(request: Request, max_bytes: int) -> Upload:
    """The `file` field of a multipart request: 413 `too_large` past `max_bytes`, 422
    `missing_file` without one."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise _missing_file()
    limit = max_bytes + MULTIPART_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(max_bytes)

    async def counted() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise too_large(max_bytes)
            yield chunk

    parser = MultiPartParser(request.headers, counted(), max_files=1, max_fields=8)
    # A body that cannot be parsed raises MultiPartException: 422 `missing_file` (api/errors.py).
    form = await parser.parse()
    try:
        field = form.get("file")
        if not isinstance(field, UploadFile):
            raise _missing_file()
        data = await field.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise too_large(max_bytes)
        return Upload(field.filename or "file", field.content_type or "", data)
    finally:
        await form.close()
