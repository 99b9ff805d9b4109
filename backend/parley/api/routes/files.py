"""Files to attach to messages: upload (text-like files and PDFs), and their description."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from parley.api.deps import CurrentUser, FilesDep, SettingsDep
from parley.api.uploads import MEGABYTE, multipart_file_body, read_upload
from parley.protocol import AttachmentPublic

router = APIRouter(prefix="/api/files", tags=["files"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentPublic,
    description=(
        "Upload a file to attach to a message (its id goes in a `send` frame's `attachments`). "
        "Text-like files (plain text, Markdown, code, CSV, JSON) in UTF-8 and PDFs (their "
        "text) are read; anything else is 415 `unsupported_file`. Larger than "
        "`PARLEY_MAX_UPLOAD_MB`: 413 `too_large`."
    ),
    responses={413: {"description": "too_large"}, 415: {"description": "unsupported_file"}},
    openapi_extra=multipart_file_body("# Notes\nPack an umbrella.\n"),
)
async def upload_file(
    request: Request, user: CurrentUser, files: FilesDep, settings: SettingsDep
) -> AttachmentPublic:
    upload = await read_upload(request, int(settings.max_upload_mb * MEGABYTE))
    return await files.upload(user.id, upload.name, upload.content_type, upload.data)


@router.get("/{file_id}", response_model=AttachmentPublic)
async def get_file(file_id: str, user: CurrentUser, files: FilesDep) -> AttachmentPublic:
    return await files.get(user.id, file_id)
