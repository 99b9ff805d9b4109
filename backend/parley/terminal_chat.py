"""`parley chat`: a terminal chat built on parley.client.

Answers stream as they are made, thinking dimmed. Commands: /new, /list, /switch N, /stop,
/quit (or Ctrl+D). Ctrl+C stops the answer being written, not the program.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from typing import TextIO

from parley.client import AsyncAnswerStream, AsyncParleyClient, ParleyError
from parley.protocol import ChunkFrame, ConversationPublic, EndFrame, ErrorFrame, ThinkingFrame

DIM = "\x1b[2m"
RESET = "\x1b[0m"
PROMPT = "you> "
HELP = "Commands: /new, /list, /switch N, /stop, /quit. Ctrl+C stops an answer."


class LineReader:
    """Lines of standard input, read on a daemon thread so the event loop never blocks
    (and the program can leave while a read is pending)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, source: TextIO) -> None:
        self._loop = loop
        self._source = source
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._read, name="parley-chat-stdin", daemon=True).start()

    def _read(self) -> None:
        while True:
            line = self._source.readline()
            self._loop.call_soon_threadsafe(self._lines.put_nowait, line or None)
            if not line:
                return

    async def next_line(self) -> str | None:
        """The next line without its newline; None at end of input."""
        line = await self._lines.get()
        return None if line is None else line.rstrip("\n")


class TerminalChat:
    def __init__(self, client: AsyncParleyClient, out: TextIO, *, color: bool) -> None:
        self._client = client
        self._out = out
        self._color = color
        self._conversation: ConversationPublic | None = None
        self._listed: list[ConversationPublic] = []
        self._answer: AsyncAnswerStream | None = None
        self._stopping: set[asyncio.Future[None]] = set()

    def _print(self, text: str = "", end: str = "\n") -> None:
        self._out.write(text + end)
        self._out.flush()

    def _dim(self, text: str) -> str:
        return f"{DIM}{text}{RESET}" if self._color else text

    async def run(self, conversation_id: str | None, reader: LineReader) -> int:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, self._interrupt)
        await self._open(conversation_id)
        self._print(HELP)
        while True:
            self._print(PROMPT, end="")
            line = await reader.next_line()
            if line is None or line.strip() == "/quit":
                self._print()
                return 0
            text = line.strip()
            if not text:
                continue
            try:
                if text.startswith("/"):
                    await self._command(text)
                else:
                    await self._send(text, reader)
            except ParleyError as exc:
                self._print(f"error: {exc.message}")

    # ---------- conversations ----------

    async def _open(self, conversation_id: str | None) -> None:
        conversations = await self._client.list_conversations()
        chosen = next((c for c in conversations if c.id == conversation_id), None)
        if chosen is None and conversation_id is None and conversations:
            chosen = conversations[0]
        if chosen is None:
            chosen = await self._client.create_conversation()
        self._switch_to(chosen)

    def _switch_to(self, conversation: ConversationPublic) -> None:
        self._conversation = conversation
        self._print(f"[conversation: {conversation.title} ({conversation.id[:8]})]")

    async def _command(self, text: str) -> None:
        name, _, argument = text.partition(" ")
        if name == "/new":
            self._switch_to(await self._client.create_conversation())
        elif name == "/list":
            await self._list()
        elif name == "/switch":
            await self._switch(argument.strip())
        elif name == "/stop":
            self._print("(nothing is being written)")
        else:
            self._print(f"unknown command {name}. {HELP}")

    async def _list(self) -> None:
        self._listed = await self._client.list_conversations()
        current = self._conversation.id if self._conversation else None
        for number, conversation in enumerate(self._listed, start=1):
            mark = "*" if conversation.id == current else " "
            self._print(f"{mark}{number}. {conversation.title} ({conversation.id[:8]})")

    async def _switch(self, argument: str) -> None:
        if not self._listed:
            self._listed = await self._client.list_conversations()
        if not argument.isdigit() or not 1 <= int(argument) <= len(self._listed):
            self._print(f"usage: /switch N, N from 1 to {len(self._listed)} (see /list)")
            return
        self._switch_to(self._listed[int(argument) - 1])
        detail = await self._client.get_conversation(self._listed[int(argument) - 1].id)
        for message in detail.messages[-2:]:
            self._print(f"{message.role}: {message.content}")

    # ---------- answers ----------

    def _interrupt(self) -> None:
        if self._answer is not None:
            stopping = asyncio.ensure_future(self._answer.stop())
            self._stopping.add(stopping)
            stopping.add_done_callback(self._stopping.discard)
        else:
            self._print(f"\n(type /quit to leave)\n{PROMPT}", end="")

    async def _send(self, text: str, reader: LineReader) -> None:
        assert self._conversation is not None
        self._answer = await self._client.stream(self._conversation.id, text)
        printer = asyncio.ensure_future(self._print_answer(self._answer))
        try:
            while not printer.done():
                line = asyncio.ensure_future(reader.next_line())
                await asyncio.wait({printer, line}, return_when=asyncio.FIRST_COMPLETED)
                if not line.done():
                    line.cancel()  # nothing was taken from the queue: it waits for the prompt
                    break
                typed = line.result()
                if typed is not None and typed.strip() == "/stop":
                    await self._answer.stop()
                elif typed is not None and typed.strip():
                    self._print(self._dim("(an answer is being written; /stop stops it)"))
            await printer
        finally:
            self._answer = None

    async def _print_answer(self, stream: AsyncAnswerStream) -> None:
        thinking = False

        def end_thinking() -> None:
            nonlocal thinking
            if thinking:
                self._print(RESET if self._color else "")
                thinking = False

        async for event in stream:
            if isinstance(event, ThinkingFrame):
                if not thinking:
                    self._print((DIM if self._color else "") + "thinking: ", end="")
                    thinking = True
                self._print(event.content, end="")
            elif isinstance(event, ChunkFrame):
                end_thinking()
                self._print(event.content, end="")
            elif isinstance(event, EndFrame):
                end_thinking()
                self._print(" [stopped]" if event.finish_reason == "cancelled" else "")
            elif isinstance(event, ErrorFrame):
                end_thinking()
                self._print(f"error: {event.message}")


async def run_terminal_chat(
    base_url: str,
    *,
    api_key: str | None,
    username: str | None,
    password: str | None,
    conversation_id: str | None,
) -> int:
    async with AsyncParleyClient(base_url, api_key=api_key) as client:
        try:
            if api_key is None:
                if username is None or password is None:
                    print("parley chat: give --api-key (or PARLEY_API_KEY) or --username")
                    return 2
                await client.login(username, password)
            chat = TerminalChat(client, sys.stdout, color=sys.stdout.isatty())
            reader = LineReader(asyncio.get_running_loop(), sys.stdin)
            return await chat.run(conversation_id, reader)
        except ParleyError as exc:
            print(f"parley chat: {exc.message}", file=sys.stderr)
            return 1
