"""The allowed-hosts policy, without a server: Host headers reduced to names, and the default
list the settings give."""

from __future__ import annotations

import pytest

from parley.api.hosts import allowed_hosts, host_name


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8000", "localhost"),
        ("Chat.Example", "chat.example"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("", ""),
    ],
)
def test_a_host_header_is_reduced_to_its_name(header: str, name: str) -> None:
    assert host_name(header) == name


def test_the_default_is_this_machine_and_the_allowed_origins() -> None:
    allowed = allowed_hosts([], "10.0.0.5", ["https://chat.example", "http://app.example:8080"])
    assert allowed == {"10.0.0.5", "localhost", "127.0.0.1", "::1", "chat.example", "app.example"}


def test_the_setting_replaces_the_default_and_a_star_allows_any() -> None:
    assert allowed_hosts(["Chat.Example:443"], "127.0.0.1", []) == {"chat.example"}
    assert allowed_hosts(["*"], "127.0.0.1", []) is None
    # Listening on every interface, the server cannot know its names.
    assert allowed_hosts([], "0.0.0.0", []) is None
    assert allowed_hosts([], "::", []) is None
