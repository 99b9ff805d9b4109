"""File names and content types as Parley keeps them, from uploads and imports alike: a name
is a safe base name (no folders, no `..`, no control, format or bidi characters), a content
type a well-formed `type/subtype` that fits its column."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

NAME_MAX = 255
# What the files.mime column holds.
MIME_MAX = 100
# RFC 6838's restricted names, lower case (parameters such as `; charset=` are dropped).
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# Control (Cc), format (Cf: bidi overrides, zero-width joiners), separators of lines and
# paragraphs, surrogates and unassigned code points: none belongs in a name shown to people.
_UNSAFE_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))


def clean_name(name: str) -> str:
    """The file's own name: no folders, no unsafe characters, never `.` or `..`, at most 255
    characters; "file" when nothing is left."""
    text = "".join(
        ch
        for ch in unicodedata.normalize("NFC", name)
        if unicodedata.category(ch) not in _UNSAFE_CATEGORIES
    )
    base = PureWindowsPath(PurePosixPath(text).name).name.strip()
    base = base[:NAME_MAX].strip()
    return base if base.strip(".") else "file"


def clean_mime(declared: str) -> str:
    """A declared content type as `type/subtype` in lower case, or "" when it is not one or is
    longer than its column holds."""
    essence = declared.split(";", 1)[0].strip().lower()
    if len(essence) > MIME_MAX or not _MIME.fullmatch(essence):
        return ""
    return essence
