"""Export conversations (JSON with every branch, Markdown of one) and import exports."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel

from parley.api.deps import ArchiveDep, CurrentUser
from parley.api.uploads import multipart_file_body, read_upload
from parley.library.export_document import ExportDocument
from parley.models import utcnow

router = APIRouter(tags=["export and import"])


class ImportResult(BaseModel):
    imported: int
    conversation_ids: list[str]


def _attachment(filename: str) -> dict[str, str]:
    # An ASCII name for old clients and the exact one (RFC 5987) for the rest.
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "export"
    return {
        "Content-Disposition": (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
        )
    }


def _json_response(document: ExportDocument, filename: str) -> Response:
    return Response(
        document.model_dump_json(indent=2),
        media_type="application/json",
        headers=_attachment(filename),
    )


@router.get(
    "/api/conversations/{conversation_id}/export",
    response_model=ExportDocument,
    responses={200: {"content": {"text/markdown": {}}}},
    description=(
        "`format=json` (default): the conversation with every branch, in the document "
        "`POST /api/import` reads. `format=markdown`: the current branch, for reading, "
        "with thinking in a collapsed `<details>` block."
    ),
)
async def export_conversation(
    conversation_id: str,
    user: CurrentUser,
    archive: ArchiveDep,
    format: Annotated[Literal["json", "markdown"], Query()] = "json",
) -> Response:
    if format == "markdown":
        conversation, markdown = await archive.markdown(user.id, conversation_id)
        return Response(
            markdown,
            media_type="text/markdown; charset=utf-8",
            headers=_attachment(f"{conversation.title}.md"),
        )
    document = await archive.export(user.id, conversation_id)
    return _json_response(document, f"{document.conversations[0].title}.json")


@router.get(
    "/api/export",
    response_model=ExportDocument,
    description="Every conversation of the caller, every branch, as one JSON document.",
)
async def export_everything(user: CurrentUser, archive: ArchiveDep) -> Response:
    document = await archive.export(user.id)
    return _json_response(document, f"parley-export-{utcnow():%Y-%m-%d}.json")


@router.post(
    "/api/import",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportResult,
    description=(
        "Import a Parley export (`/api/export` or one conversation's JSON) or ChatGPT's "
        "`conversations.json` (or the zip it comes in), branches kept, under new ids. "
        "A file that is neither, or over the limits: 422 `bad_import` saying why, and "
        "nothing is stored. Larger than `PARLEY_MAX_IMPORT_MB`: 413 `too_large`."
    ),
    responses={413: {"description": "too_large"}, 422: {"description": "bad_import"}},
    openapi_extra=multipart_file_body("[]"),
)
async def import_conversations(
    request: Request, user: CurrentUser, archive: ArchiveDep
) -> ImportResult:
    upload = await read_upload(request, archive.limits.max_bytes)
    ids = await archive.import_file(user.id, upload.data)
    return ImportResult(imported=len(ids), conversation_ids=ids)
