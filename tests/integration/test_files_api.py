"""POST /api/files against a real server: text and PDF read, other kinds refused, the size
limit applied before the body is read, and files that are their uploader's alone."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerFactory, ServerProcess
from tests.helpers import error_code, text_pdf
from tests.integration.ws import new_user

MISSING_ID = "00000000-0000-4000-8000-000000000000"


def upload(
    client: httpx.Client, name: str, data: bytes, mime: str = "text/plain"
) -> httpx.Response:
    return client.post("/api/files", files={"file": (name, data, mime)})


def test_a_text_file_is_stored(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    data = "# Notes\n\n北京 and Lisbon\n".encode()
    with user.http() as client:
        response = upload(client, "notes.md", data, "text/markdown")
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"id", "name", "size", "mime"}
        assert body["name"] == "notes.md"
        assert body["size"] == len(data)
        assert body["mime"] == "text/markdown"
        assert client.get(f"/api/files/{body['id']}").json() == body


def test_a_pdf_gives_its_text(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    with user.http() as client:
        response = upload(client, "report.pdf", text_pdf("Revenue grew"), "application/pdf")
    assert response.status_code == 201, response.text
    assert response.json()["mime"] == "application/pdf"


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "image/png"),
        ("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
        ("binary.txt", b"ab\x00cd", "text/plain"),
        ("fake.pdf", b"not a pdf", "application/pdf"),
        ("scan.pdf", text_pdf(), "application/pdf"),
    ],
)
def test_other_kinds_are_unsupported(
    scripted_server: ServerProcess, name: str, data: bytes, mime: str
) -> None:
    user = new_user(scripted_server)
    with user.http() as client:
        response = upload(client, name, data, mime)
    assert response.status_code == 415, response.text
    assert error_code(response) == "unsupported_file"


def test_a_request_without_a_file(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    with user.http() as client:
        assert error_code(client.post("/api/files", json={"file": "x"})) == "missing_file"
        other_field = client.post("/api/files", files={"document": ("a.txt", b"x")})
        assert other_field.status_code == 422 and error_code(other_field) == "missing_file"
        broken = client.post(
            "/api/files",
            content=b"--nope\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=zzz"},
        )
        assert broken.status_code == 422


def test_files_are_their_uploaders_alone(scripted_server: ServerProcess) -> None:
    owner, other = new_user(scripted_server), new_user(scripted_server)
    with owner.http() as client:
        file_id = upload(client, "mine.txt", b"private").json()["id"]
    with other.http() as client:
        response = client.get(f"/api/files/{file_id}")
        assert response.status_code == 404 and error_code(response) == "file_not_found"
        assert client.get(f"/api/files/{MISSING_ID}").status_code == 404
    with httpx.Client(base_url=scripted_server.base_url) as anonymous:
        assert upload(anonymous, "a.txt", b"x").status_code == 401


@pytest.fixture
def small_limit_server(server_factory: ServerFactory) -> ServerProcess:
    """Uploads of at most 1 MB."""
    return server_factory(model="scripted", max_upload_mb="1").start()


def test_over_the_limit_is_too_large(small_limit_server: ServerProcess) -> None:
    user = new_user(small_limit_server)
    with user.http() as client:
        response = upload(client, "big.txt", b"a" * (1024 * 1024 + 1))
        assert response.status_code == 413 and error_code(response) == "too_large"
        assert upload(client, "fits.txt", b"a" * (1024 * 1024)).status_code == 201


def _http_head(server: ServerProcess, token: str, extra: str) -> bytes:
    return (
        f"POST /api/files HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: multipart/form-data; boundary=b0undary\r\n"
        f"{extra}\r\n"
    ).encode()


def _answer(sock: socket.socket, timeout_s: float) -> bytes:
    sock.settimeout(timeout_s)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer


def test_a_declared_size_over_the_limit_is_refused_before_the_body(
    small_limit_server: ServerProcess,
) -> None:
    user = new_user(small_limit_server)
    # 500 MB announced, none of it sent: the answer must come without waiting for it.
    head = _http_head(small_limit_server, user.token, "Content-Length: 524288000\r\n")
    with socket.create_connection(("127.0.0.1", small_limit_server.port), timeout=10) as sock:
        sock.sendall(head + b"--b0undary\r\n")
        answer = _answer(sock, timeout_s=10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def _chunks(total: int, size: int) -> Iterator[bytes]:
    part = (
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
    )
    yield part
    for _ in range(total // size):
        yield b"a" * size


def test_a_body_without_a_size_is_cut_off_at_the_limit(small_limit_server: ServerProcess) -> None:
    """Chunked, 64 MB on its way: the server answers 413 once about 1 MB has come in. (The
    sender gets further than that: the kernel's socket buffers take several MB.)"""
    user = new_user(small_limit_server)
    head = _http_head(small_limit_server, user.token, "Transfer-Encoding: chunked\r\n")
    sent = 0
    answer = b""
    deadline = time.monotonic() + 30
    with socket.create_connection(("127.0.0.1", small_limit_server.port), timeout=10) as sock:
        sock.sendall(head)
        for chunk in _chunks(64 * 1024 * 1024, 64 * 1024):
            if select.select([sock], [], [], 0)[0] or time.monotonic() > deadline:
                break
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = _answer(sock, timeout_s=10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 16 * 1024 * 1024
