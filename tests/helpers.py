"""Small helpers shared by the tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "correct horse battery"


def unique_username(prefix: str = "u") -> str:
    """A fresh valid username (3-32 chars of [A-Za-z0-9_.-])."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/auth/register", json={"username": username, "password": password})


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/auth/login", json={"username": username, "password": password})


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    username: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def new_account(client: httpx.Client, prefix: str = "u", password: str = PASSWORD) -> Account:
    """Register a fresh user and log in."""
    username = unique_username(prefix)
    created = register(client, username, password)
    assert created.status_code == 201, created.text
    logged_in = login(client, username, password)
    assert logged_in.status_code == 200, logged_in.text
    return Account(created.json()["id"], username, password, logged_in.json()["access_token"])


def error_code(response: httpx.Response) -> str:
    """The `code` of an error answer, checking the `{"detail": {"code", "message"}}` shape."""
    detail = response.json()["detail"]
    assert isinstance(detail, dict), response.text
    assert set(detail) == {"code", "message"}, response.text
    code, message = detail["code"], detail["message"]
    assert isinstance(code, str) and isinstance(message, str) and message, response.text
    return code


def text_pdf(*lines: str) -> bytes:
    """A small valid PDF whose one page shows `lines` (ASCII) in Helvetica."""
    stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '"
        for line in lines
    )
    stream += " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out
