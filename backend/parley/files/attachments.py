"""Files a user attaches to messages: what kinds are read, their text, and where it is kept.

Only the text of a file is ever used (it goes into prompts), so only the text is stored,
with the file's name, type and size; the bytes are not kept. Text-like files must be UTF-8
(or UTF-16 with a byte-order mark); a PDF gives the text of its pages (pypdf). Each file is
its uploader's alone: another user's file id is answered like a missing one.
"""

from __future__ import annotations

import io
import logging
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlmodel import Session, col, func, select

from parley.db import Database
from parley.files.names import clean_mime, clean_name
from parley.models import StoredFile
from parley.protocol import AttachmentPublic, ParleyError, QuotaExceeded
from parley.workers import PerUserLimit, run_cpu

log = logging.getLogger(__name__)

PDF_MIME = "application/pdf"
# Characters of a file's text kept by default (PARLEY_MAX_FILE_TEXT_CHARS).
FILE_TEXT_MAX_CHARS = 500_000
# Kinds of text files people attach: prose, data, configuration and code.
TEXT_SUFFIXES = frozenset(
    (
        *(".txt", ".text", ".md", ".markdown", ".rst", ".adoc", ".org", ".tex", ".log"),
        *(".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".yaml", ".yml", ".toml", ".xml"),
        *(".ini", ".cfg", ".conf", ".env", ".properties", ".diff", ".patch", ".ipynb"),
        *(".html", ".htm", ".css", ".scss", ".less", ".svg", ".vue", ".svelte"),
        *(".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".java", ".kt"),
        *(".kts", ".scala", ".go", ".rs", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh"),
        *(".cs", ".fs", ".swift", ".m", ".mm", ".rb", ".php", ".pl", ".pm", ".lua", ".r"),
        *(".jl", ".dart", ".ex", ".exs", ".erl", ".hs", ".ml", ".clj", ".zig", ".sol"),
        *(".sh", ".bash", ".zsh", ".fish", ".ps1", ".bat", ".sql", ".graphql", ".proto"),
        *(".gradle", ".cmake", ".mk", ".dockerfile", ".tf", ".nix", ".asm"),
    )
)
TEXT_NAMES = frozenset(
    (
        *("makefile", "dockerfile", "containerfile", "readme", "license", "changelog"),
        *("gemfile", "rakefile", "procfile", ".gitignore", ".dockerignore", ".editorconfig"),
    )
)
TEXT_MIMES = frozenset(
    (
        "application/json",
        "application/x-ndjson",
        "application/xml",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/javascript",
        "application/typescript",
        "application/sql",
        "application/x-sh",
        "application/csv",
    )
)
# Python's own table, not the system's (/etc/mime.types differs between machines), and the
# text kinds it lacks.
_MIME_TABLE = mimetypes.MimeTypes()
_MIME_BY_SUFFIX = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".ts": "application/typescript",
    ".tsx": "application/typescript",
}


class UnsupportedFile(ParleyError):
    """A file Parley does not read; the message says why, for the user."""

    default_code = "unsupported_file"
    default_kind = "unsupported"


class FileNotFound(ParleyError):
    """A file that is not the caller's answers exactly like a missing one."""

    default_code = "file_not_found"
    default_kind = "not_found"

    def __init__(self, file_id: str) -> None:
        super().__init__("No such file.")
        self.file_id = file_id


@dataclass(frozen=True, slots=True)
class FileText:
    mime: str
    text: str


def capped_text(text: str, max_chars: int) -> str:
    """A file's text as stored: past `max_chars`, cut, with a note saying so (for the reader
    and the model alike)."""
    if len(text) <= max_chars:
        return text
    return (
        f"{text[:max_chars]}\n\n[Parley: the file's text was cut here; only its first "
        f"{max_chars} characters are kept.]"
    )


def _suffix(name: str) -> str:
    return PurePosixPath(name.lower()).suffix


def _is_text_kind(name: str, declared: str) -> bool:
    return (
        _suffix(name) in TEXT_SUFFIXES
        or name.lower() in TEXT_NAMES
        or declared.startswith("text/")
        or declared in TEXT_MIMES
    )


def _text_mime(name: str, declared: str) -> str:
    guessed = _MIME_BY_SUFFIX.get(_suffix(name)) or _MIME_TABLE.guess_type(name, strict=False)[0]
    for mime in (guessed, declared):
        if mime and (mime.startswith("text/") or mime in TEXT_MIMES):
            return mime
    return "text/plain"


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UnsupportedFile("The file is not valid UTF-16 text.") from exc
    if b"\x00" in data:
        raise UnsupportedFile("The file holds binary data, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedFile("The file is not UTF-8 text.") from exc


def _pdf_text(data: bytes, max_chars: int) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedFile("The PDF is protected by a password.")
        pages: list[str] = []
        extracted = 0
        for page in reader.pages:
            # Pages past the cap are not read at all: a small PDF may hold millions of
            # characters, and pypdf is slow.
            if extracted > max_chars:
                break
            pages.append(page.extract_text() or "")
            extracted += len(pages[-1])
    except UnsupportedFile:
        raise
    # pypdf raises its own errors for broken files, and plain ones deep inside a bad stream.
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise UnsupportedFile("The PDF cannot be read.") from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise UnsupportedFile("The PDF has no text to read (scanned pages are images).")
    return text


def file_text(
    name: str, declared_mime: str, data: bytes, max_chars: int = FILE_TEXT_MAX_CHARS
) -> FileText:
    """The text of an upload (cut past `max_chars`, see `capped_text`) and its type;
    UnsupportedFile for a kind Parley does not read."""
    declared = clean_mime(declared_mime)
    if data.startswith(b"%PDF-"):
        return FileText(PDF_MIME, capped_text(_pdf_text(data, max_chars), max_chars))
    if declared == PDF_MIME or _suffix(name) == ".pdf":
        raise UnsupportedFile("The file is named a PDF but is not one.")
    if not _is_text_kind(name, declared):
        raise UnsupportedFile(
            "Only text files (plain text, Markdown, code, CSV, JSON and the like) and PDFs "
            "can be attached."
        )
    return FileText(_text_mime(name, declared), capped_text(_decode(data), max_chars))


def public(stored: StoredFile) -> AttachmentPublic:
    return AttachmentPublic(id=stored.id, name=stored.name, size=stored.size, mime=stored.mime)


def check_text_room(session: Session, owner_id: str, adding: int, max_chars: int) -> None:
    """QuotaExceeded when `adding` more characters of file text would make the owner's files
    hold more than `max_chars`. Run it in the write transaction that adds them: writes take
    one lock (db.py), so files stored at once, on any instance, cannot pass it together."""
    held = session.exec(
        select(func.coalesce(func.sum(func.length(StoredFile.text)), 0)).where(
            StoredFile.owner_id == owner_id
        )
    ).one()
    if held + adding > max_chars:
        raise QuotaExceeded(
            "storage_full", "characters of file text", max_chars, "max_stored_mb_per_user"
        )


class FileStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, stored: StoredFile, max_owner_chars: int) -> StoredFile:
        """Saved; QuotaExceeded when its owner's files would hold more than `max_owner_chars`
        characters of text (what is kept of a file)."""

        def work(session: Session) -> StoredFile:
            check_text_room(session, stored.owner_id, len(stored.text), max_owner_chars)
            session.add(stored)
            session.flush()
            return stored

        return await self.db.write(work)

    async def found(self, owner_id: str, ids: Sequence[str]) -> dict[str, StoredFile]:
        """The caller's files among these ids (another user's are not found)."""
        if not ids:
            return {}

        def work(session: Session) -> list[StoredFile]:
            rows = session.exec(
                select(StoredFile).where(
                    col(StoredFile.id).in_(set(ids)), StoredFile.owner_id == owner_id
                )
            ).all()
            return list(rows)

        return {row.id: row for row in await self.db.read(work)}

    async def owned(self, owner_id: str, ids: Sequence[str]) -> list[StoredFile]:
        """The caller's files with these ids, in that order; FileNotFound if any is missing
        or another user's."""
        found = await self.found(owner_id, ids)
        missing = [file_id for file_id in ids if file_id not in found]
        if missing:
            raise FileNotFound(missing[0])
        return [found[file_id] for file_id in ids]


class FileService:
    def __init__(
        self,
        store: FileStore,
        max_text_chars: int,
        uploads: PerUserLimit,
        max_stored_chars_per_user: int,
    ) -> None:
        self._store = store
        self._max_text_chars = max_text_chars
        self._uploads = uploads
        self._max_stored_chars = max_stored_chars_per_user

    async def upload(
        self, owner_id: str, name: str, declared_mime: str, data: bytes
    ) -> AttachmentPublic:
        """Store an upload's text; raises UnsupportedFile, and TooManyAtOnce past the user's
        uploads at once."""
        name = clean_name(name)
        with self._uploads.slot(owner_id):
            # pypdf is pure Python and slow on big files: on the CPU pool.
            extracted = await run_cpu(file_text, name, declared_mime, data, self._max_text_chars)
            stored = await self._store.add(
                StoredFile(
                    owner_id=owner_id,
                    name=name,
                    mime=extracted.mime,
                    size=len(data),
                    text=extracted.text,
                ),
                self._max_stored_chars,
            )
        return public(stored)

    async def get(self, owner_id: str, file_id: str) -> AttachmentPublic:
        (stored,) = await self._store.owned(owner_id, [file_id])
        return public(stored)
