"""`parley chat` in a pseudo-terminal (pexpect): a whole conversation, commands, Ctrl+C."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator

import pexpect
import pytest

from tests.conftest import ServerProcess
from tests.integration.compat_support import create_key, register

PROMPT = "you> "


def spawn_chat(server: ServerProcess, key: str) -> pexpect.spawn:
    env = {**os.environ, "PARLEY_URL": server.base_url, "PARLEY_API_KEY": key}
    return pexpect.spawn(
        sys.executable,
        ["-m", "parley", "chat"],
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )


@pytest.fixture
def slow_server(server_factory: type[ServerProcess]) -> ServerProcess:
    return server_factory(model="scripted", scripted_token_delay_s="0.3").start()


@pytest.fixture
def chat(scripted_server: ServerProcess) -> Iterator[pexpect.spawn]:
    _, token = register(scripted_server)
    child = spawn_chat(scripted_server, create_key(scripted_server, token)["key"])
    yield child
    child.close(force=True)


def test_a_whole_conversation(chat: pexpect.spawn) -> None:
    chat.expect(r"\[conversation: New conversation \((\w+)\)\]")
    first_id = chat.match.group(1)
    chat.expect_exact(PROMPT)

    chat.sendline("hello terminal")
    chat.expect_exact("thinking: ")
    chat.expect_exact("Let me think about that.")
    chat.expect_exact("You said: hello terminal")
    chat.expect_exact(PROMPT)

    chat.sendline("/new")
    chat.expect(r"\[conversation: New conversation \((\w+)\)\]")
    second_id = chat.match.group(1)
    assert second_id != first_id
    chat.expect_exact(PROMPT)
    chat.sendline("second chat")
    chat.expect_exact("You said: second chat")
    chat.expect_exact(PROMPT)

    chat.sendline("/list")
    chat.expect(r"\*1\. New conversation \(" + second_id + r"\)")
    chat.expect(r" 2\. New conversation \(" + first_id + r"\)")
    chat.expect_exact(PROMPT)

    chat.sendline("/switch 2")
    chat.expect(r"\[conversation: New conversation \(" + first_id + r"\)\]")
    chat.expect_exact("assistant: You said: hello terminal")
    chat.expect_exact(PROMPT)
    chat.sendline("/switch 9")
    chat.expect_exact("usage: /switch N")
    chat.expect_exact(PROMPT)

    chat.sendline("/quit")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0


def test_thinking_is_dimmed(chat: pexpect.spawn) -> None:
    chat.expect_exact(PROMPT)
    chat.sendline("dim it")
    chat.expect(re.escape("\x1b[2mthinking: Let me think about that.\x1b[0m"))
    chat.expect_exact("You said: dim it")


def test_stop_and_ctrl_c_stop_the_answer_not_the_program(slow_server: ServerProcess) -> None:
    _, token = register(slow_server)
    chat = spawn_chat(slow_server, create_key(slow_server, token)["key"])
    try:
        chat.expect_exact(PROMPT)
        chat.sendline("please write a long answer about many things")
        chat.expect_exact("thinking: ")
        chat.sendintr()
        chat.expect_exact("[stopped]")
        chat.expect_exact(PROMPT)

        chat.sendline("another long answer about many more things")
        chat.expect_exact("thinking: ")
        chat.sendline("/stop")
        chat.expect_exact("[stopped]")
        chat.expect_exact(PROMPT)

        chat.sendintr()
        chat.expect_exact("(type /quit to leave)")
        chat.sendline("/quit")
        chat.expect(pexpect.EOF)
    finally:
        chat.close(force=True)
    assert chat.exitstatus == 0
