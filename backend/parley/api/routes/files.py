"""Files to attach to messages: upload (text-like files and PDFs), and their description."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from parley.api.deps import CurrentUser, FilesDep, SettingsDep
from parley.api.errors import ApiError, not_found
from parley.api.uploads import MEGABYTE, multipart_file_body, read_upload
from parley.files.attachments import FileNotFound, UnsupportedFile
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
    try:
        return await files.upload(user.id, upload.name, upload.content_type, upload.data)
    except UnsupportedFile as exc:
        raise ApiError(415, "unsupported_file", str(exc)) from exc


@router.get("/{file_id}", response_model=AttachmentPublic)
async def get_file(file_id: str, user: CurrentUser, files: FilesDep) -> AttachmentPublic:
    try:
        return await files.get(user.id, file_id)
    except FileNotFound as exc:
        raise not_found("file") from exc
