"""The command line: `parley serve`, `parley user create`, `parley schema`, `parley openapi`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import PASSWORD, bearer, login, unique_username

REPO = Path(__file__).resolve().parents[2]


def parley(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parley", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        timeout=timeout,
        check=False,
    )


def test_serve_help_lists_the_settings_flags() -> None:
    result = parley("serve", "--help")
    assert result.returncode == 0, result.stderr
    for flag in (
        "--host",
        "--port",
        "--data-dir",
        "--model",
        "--secret-key",
        "--allowed-origins",
        "--max-message-chars",
        "--log-level",
    ):
        assert flag in result.stdout, flag
    assert "PARLEY_SECRET_KEY" in result.stdout


def test_serve_refuses_a_secret_key_shorter_than_32_bytes(tmp_path: Path) -> None:
    result = parley(
        "serve",
        env={
            "PARLEY_DATA_DIR": str(tmp_path),
            "PARLEY_SECRET_KEY": "x" * 31,
            "PARLEY_MODEL": "scripted",
            "PARLEY_PORT": "0",
        },
    )
    assert result.returncode != 0
    assert "secret key must be at least 32 bytes" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_short_secret_key_flag(tmp_path: Path) -> None:
    result = parley(
        "serve",
        "--secret-key",
        "short",
        "--model",
        "scripted",
        "--port",
        "0",
        env={"PARLEY_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "secret key must be at least 32 bytes" in result.stderr


def test_serve_refuses_a_bad_setting_with_a_clear_message(tmp_path: Path) -> None:
    result = parley("serve", "--port", "not-a-port", env={"PARLEY_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "port" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_takes_allowed_origins_comma_separated_from_the_environment(
    server_factory: type,
) -> None:
    server = server_factory(
        model="scripted", allowed_origins="https://a.example,https://b.example"
    ).start()
    for origin in ("https://a.example", "https://b.example"):
        response = httpx.options(
            f"{server.base_url}/api/auth/login",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin
    refused = httpx.options(
        f"{server.base_url}/api/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers


def test_user_create_admin_from_stdin_can_log_in_as_admin(
    tmp_path: Path, server_factory: type
) -> None:
    data_dir = tmp_path / "admin-data"
    username = unique_username("admin")
    result = parley(
        "user",
        "create",
        username,
        "--admin",
        "--password-stdin",
        env={"PARLEY_DATA_DIR": str(data_dir)},
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert username in result.stdout
    server = server_factory(data_dir=data_dir, model="scripted").start()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        response = login(client, username)
        assert response.status_code == 200, response.text
        me = client.get("/api/auth/me", headers=bearer(response.json()["access_token"]))
        assert me.status_code == 200
        assert me.json()["username"] == username
        assert me.json()["is_admin"] is True


def test_user_create_without_admin_makes_a_plain_user_and_strips_crlf(
    tmp_path: Path, server_factory: type
) -> None:
    username = unique_username()
    result = parley(
        "user",
        "create",
        username,
        "--password-stdin",
        env={"PARLEY_DATA_DIR": str(tmp_path)},
        stdin=PASSWORD + "\r\n",  # a line ending from Windows is not part of the password
    )
    assert result.returncode == 0, result.stderr
    server = server_factory(data_dir=tmp_path, model="scripted").start()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        token = login(client, username).json()["access_token"]
        assert client.get("/api/auth/me", headers=bearer(token)).json()["is_admin"] is False


def test_user_create_with_a_short_secret_key_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = parley(
        "user",
        "create",
        unique_username(),
        "--password-stdin",
        env={"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_SECRET_KEY": "short"},
        stdin=PASSWORD,
    )
    assert result.returncode != 0
    assert "secret key must be at least 32 bytes" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_changed_secret_key_is_refused_at_start_until_adopted(tmp_path: Path) -> None:
    base = {"PARLEY_DATA_DIR": str(tmp_path), "PARLEY_MODEL": "scripted", "PARLEY_PORT": "0"}
    first = {**base, "PARLEY_SECRET_KEY": "a" * 40}
    assert parley("user", "list", env=first).returncode == 0  # the database takes this key
    changed = {**base, "PARLEY_SECRET_KEY": "b" * 40}
    refused = parley("serve", env=changed)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "in use with another secret key" in refused.stderr
    assert "parley secret adopt" in refused.stderr
    adopted = parley("secret", "adopt", env=changed)
    assert adopted.returncode == 0, adopted.stderr
    assert parley("user", "list", env=changed).returncode == 0
    # The old key is now the stranger.
    assert "in use with another secret key" in parley("user", "list", env=first).stderr


def test_user_create_taken_username_fails(tmp_path: Path) -> None:
    env = {"PARLEY_DATA_DIR": str(tmp_path)}
    username = unique_username()
    first = parley("user", "create", username, "--password-stdin", env=env, stdin=PASSWORD)
    assert first.returncode == 0, first.stderr
    again = parley("user", "create", username.upper(), "--password-stdin", env=env, stdin=PASSWORD)
    assert again.returncode != 0
    assert "taken" in again.stderr


def test_user_create_bad_username_fails(tmp_path: Path) -> None:
    result = parley(
        "user",
        "create",
        "bad name",
        "--password-stdin",
        env={"PARLEY_DATA_DIR": str(tmp_path)},
        stdin=PASSWORD,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


def test_user_create_short_password_fails(tmp_path: Path) -> None:
    result = parley(
        "user",
        "create",
        unique_username(),
        "--password-stdin",
        env={"PARLEY_DATA_DIR": str(tmp_path)},
        stdin="short\n",
    )
    assert result.returncode != 0
    assert "password" in result.stderr


def test_schema_output_equals_the_checked_in_schema() -> None:
    result = parley("schema")
    assert result.returncode == 0, result.stderr
    checked_in = (REPO / "shared" / "protocol.schema.json").read_text()
    assert result.stdout == checked_in


def test_schema_output_option_writes_the_same_schema(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    result = parley("schema", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text() == (REPO / "shared" / "protocol.schema.json").read_text()


def test_openapi_output_equals_the_checked_in_document(tmp_path: Path) -> None:
    # A settings variable in the environment must not change the document (CI and laptops differ).
    env = {**os.environ, "PARLEY_DATA_DIR": str(tmp_path / "data"), "PARLEY_MODEL": "smollm2"}
    result = parley("openapi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO / "shared" / "openapi.json").read_text()
    assert not (tmp_path / "data").exists()


def test_openapi_output_option_writes_the_same_document(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    result = parley("openapi", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text() == (REPO / "shared" / "openapi.json").read_text()
