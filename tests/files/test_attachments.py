"""Which uploads are read, and their text: text-like files and PDFs; everything else refused."""

from __future__ import annotations

import pytest

from parley.files.attachments import UnsupportedFile, clean_name, file_text
from tests.helpers import text_pdf


@pytest.mark.parametrize(
    ("name", "declared", "mime"),
    [
        ("notes.txt", "text/plain", "text/plain"),
        ("README.md", "", "text/markdown"),
        ("data.csv", "application/vnd.ms-excel", "text/csv"),
        ("config.json", "application/octet-stream", "application/json"),
        ("main.py", "", "text/x-python"),
        ("app.ts", "video/mp2t", "application/typescript"),
        ("Makefile", "", "text/plain"),
        ("unnamed", "text/plain", "text/plain"),
        ("lib.rs", "", "text/plain"),
    ],
)
def test_text_like_files(name: str, declared: str, mime: str) -> None:
    extracted = file_text(name, declared, "print('你好')\n".encode())
    assert extracted.text == "print('你好')\n"
    assert extracted.mime == mime


def test_utf8_byte_order_mark_and_utf16() -> None:
    assert file_text("a.txt", "", "\ufeffhello".encode()).text == "hello"
    assert file_text("a.txt", "", "héllo 世界".encode("utf-16")).text == "héllo 世界"


@pytest.mark.parametrize(
    ("name", "declared", "data", "reason"),
    [
        ("photo.png", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00", "Only text files"),
        ("archive.zip", "application/zip", b"PK\x03\x04", "Only text files"),
        ("blob.bin", "application/octet-stream", b"abc", "Only text files"),
        ("binary.txt", "text/plain", b"ab\x00cd", "binary data"),
        ("latin1.txt", "text/plain", "café".encode("latin-1"), "not UTF-8"),
        ("fake.pdf", "application/pdf", b"hello", "not one"),
        ("broken.pdf", "application/pdf", b"%PDF-1.4\nnot really", "cannot be read"),
    ],
)
def test_refused_files_say_why(name: str, declared: str, data: bytes, reason: str) -> None:
    with pytest.raises(UnsupportedFile, match=reason):
        file_text(name, declared, data)


def test_pdf_text() -> None:
    extracted = file_text("report.pdf", "application/pdf", text_pdf("Quarterly report", "Q3"))
    assert extracted.mime == "application/pdf"
    assert extracted.text == "Quarterly report\nQ3"


def test_a_pdf_without_text() -> None:
    with pytest.raises(UnsupportedFile, match="no text"):
        file_text("scan.pdf", "application/pdf", text_pdf())


def test_names_lose_folders_and_control_characters() -> None:
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\Users\\me\\notes.txt") == "notes.txt"
    assert clean_name("a\x00b\nc.txt") == "abc.txt"
    assert clean_name("") == "file"
    assert len(clean_name("x" * 300 + ".txt")) == 255
