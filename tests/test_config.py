"""Settings from PARLEY_* variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from parley.config import Settings


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://a.example", ["https://a.example"]),
        ("https://a.example,https://b.example", ["https://a.example", "https://b.example"]),
        (" https://a.example , https://b.example/ ", ["https://a.example", "https://b.example"]),
        ('["https://a.example", "https://b.example"]', ["https://a.example", "https://b.example"]),
        ("", []),
    ],
)
def test_allowed_origins_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, origins: list[str]
) -> None:
    monkeypatch.setenv("PARLEY_ALLOWED_ORIGINS", value)
    assert Settings().allowed_origins == origins


def test_allowed_origins_bad_json_list_is_a_validation_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARLEY_ALLOWED_ORIGINS", '["https://a.example"')
    with pytest.raises(ValidationError):
        Settings()


def test_secret_key_and_port_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("PARLEY_PORT", "9123")
    settings = Settings()
    assert (settings.secret_key, settings.port) == ("k" * 40, 9123)
