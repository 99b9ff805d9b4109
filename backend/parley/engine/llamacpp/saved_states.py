"""Idle conversations' KV streams on disk: saved when the decode loop evicts a kept stream and
when the engine closes, restored when a later prompt (after a restart too) starts with what
one holds. No model needed here; the loop hands over llama.cpp's per-sequence state bytes.

A file is `MAGIC`, its header's length (4 bytes, little-endian), the header (JSON: the key,
the tokens the stream holds, a CRC-32 of those tokens and the state) and the state. The key
names everything that shapes the bytes (the model file, its precision, the chat template,
llama.cpp's version and the KV layout): a state is only ever restored under the key it was
saved with, and a file that fails its header, size or checksum is deleted, never restored.
The folder is bounded in bytes, least recently used (file times) deleted first, across every
model that shares it.

The loop thread looks states up and reads them; the writes (a checksum and some megabytes to
disk) run on a thread of their own, so saving stalls the loop only for llama.cpp's copy of
the state (a look-up waits for writes under way).
"""

from __future__ import annotations

import array
import functools
import hashlib
import json
import logging
import os
import struct
import threading
import uuid
import zlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, ValidationError

from parley.engine.llamacpp.streams import common_prefix

log = logging.getLogger(__name__)

MAGIC = b"PARLEYKV"
_LENGTH = struct.Struct("<I")
_SUFFIX = ".kv"
# A model file's identity reads its first bytes (the GGUF header: architecture, tensor types
# and shapes) and this many blocks spread over the rest (the weights themselves, which a
# fine-tune with the same header changes everywhere).
_HEAD_BYTES = 1 << 20
_SAMPLES = 64
_SAMPLE_BYTES = 1 << 16


@functools.cache
def _file_identity(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as file:
        digest.update(file.read(_HEAD_BYTES))
        for i in range(_SAMPLES):
            file.seek(_HEAD_BYTES + (size - _HEAD_BYTES) * i // _SAMPLES)
            digest.update(file.read(_SAMPLE_BYTES))
    return digest.hexdigest()


def model_identity(gguf: Path) -> str:
    """A content hash of a GGUF file (of its header and spread samples; cached while the
    file's size and time stay)."""
    stat = gguf.stat()
    return _file_identity(gguf.resolve(), stat.st_size, stat.st_mtime_ns)


def state_key(parts: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _checksum(tokens: Sequence[int], state: bytearray) -> int:
    return zlib.crc32(state, zlib.crc32(array.array("i", tokens).tobytes()))


class _Header(BaseModel):
    key: str
    tokens: list[int]
    state_bytes: int
    crc32: int


@dataclass(frozen=True, slots=True)
class SavedState:
    path: Path
    tokens: list[int]


class SavedStates:
    """The states saved under one key in `folder`, indexed by their tokens."""

    def __init__(self, folder: Path, key: str, max_bytes: int) -> None:
        self._folder = folder
        self._key = key
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._index: dict[Path, SavedState] = {}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kv-save")
        # The last write handed to the writer (they run in order).
        self._queued: Future[None] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        for path in folder.glob(f"*{_SUFFIX}"):
            self._index_file(path)

    def _index_file(self, path: Path) -> None:
        """Index a file saved under this key; delete one whose header or size is wrong."""
        try:
            with path.open("rb") as file:
                header = _read_header(file)
                end = file.tell()
            fits = header is not None and end + header.state_bytes == path.stat().st_size
        except (OSError, ValidationError):
            header, fits = None, False
        if header is None or not fits:
            log.warning("deleting the unreadable saved KV state %s", path.name)
            path.unlink(missing_ok=True)
        elif header.key == self._key:
            self._index[path] = SavedState(path, header.tokens)

    def __len__(self) -> int:
        with self._lock:
            return len(self._index)

    def best(self, prompt_ids: Sequence[int]) -> tuple[int, SavedState | None]:
        """The saved state sharing the longest start with `prompt_ids`, and how long. Writes
        under way are waited for (tens of milliseconds): a conversation evicted a moment ago
        is found."""
        if self._queued is not None:
            self._queued.result()
        with self._lock:
            states = list(self._index.values())
        best, found = 0, None
        for state in states:
            shared = common_prefix(prompt_ids, state.tokens)
            if shared > best:
                best, found = shared, state
        return best, found

    def read(self, state: SavedState) -> bytearray | None:
        """The state's bytes, or None (the file is deleted) when they are not what was saved."""
        try:
            data = self._checked_bytes(state)
        except (OSError, ValidationError):
            data = None
        if data is None:
            log.warning("deleting the damaged or missing saved KV state %s", state.path.name)
            self.discard(state)
            return None
        os.utime(state.path)  # Recently used: the size bound deletes it last.
        return data

    def _checked_bytes(self, state: SavedState) -> bytearray | None:
        with state.path.open("rb") as file:
            header = _read_header(file)
            size = os.fstat(file.fileno()).st_size - file.tell()
            expected = (self._key, state.tokens, size)
            if header is None or (header.key, header.tokens, header.state_bytes) != expected:
                return None
            data = bytearray(size)
            if file.readinto(data) != size:
                return None
        return data if _checksum(state.tokens, data) == header.crc32 else None

    def discard(self, state: SavedState) -> None:
        with self._lock:
            self._index.pop(state.path, None)
        state.path.unlink(missing_ok=True)

    def save(self, tokens: list[int], state: bytearray) -> None:
        """Write a stream's state (on the writer thread): it replaces saved states whose tokens
        start it, and is dropped when a saved one starts with its tokens."""
        if len(state) > self._max_bytes:
            return
        self._queued = self._writer.submit(self._write, tokens, state)

    def _write(self, tokens: list[int], state: bytearray) -> None:
        try:
            with self._lock:
                known = list(self._index.values())
            shorter = []
            for other in known:
                shared = common_prefix(tokens, other.tokens)
                if shared == len(tokens):
                    return  # A saved state holds all of it and more.
                if shared == len(other.tokens):
                    shorter.append(other)
            header = (
                _Header(
                    key=self._key,
                    tokens=tokens,
                    state_bytes=len(state),
                    crc32=_checksum(tokens, state),
                )
                .model_dump_json()
                .encode()
            )
            path = self._folder / f"{self._key[:16]}-{uuid.uuid4().hex}{_SUFFIX}"
            staging = path.with_suffix(".tmp")
            try:
                with staging.open("wb") as file:
                    file.write(MAGIC + _LENGTH.pack(len(header)) + header)
                    file.write(state)
                staging.replace(path)
            finally:
                staging.unlink(missing_ok=True)
            with self._lock:
                self._index[path] = SavedState(path, tokens)
            for other in shorter:
                self.discard(other)
            self._bound()
        except OSError:
            log.exception("could not save a KV state in %s", self._folder)

    def _bound(self) -> None:
        """Delete the least recently used files until the folder (every key's) fits."""
        files = []
        for path in self._folder.glob(f"*{_SUFFIX}"):
            try:
                stat = path.stat()
            except FileNotFoundError:  # Deleted meanwhile by another model's engine.
                continue
            files.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self._max_bytes:
                break
            with self._lock:
                self._index.pop(path, None)
            path.unlink(missing_ok=True)
            total -= size

    def close(self) -> None:
        """Finish the writes under way."""
        self._writer.shutdown(wait=True)


def _read_header(file: BinaryIO) -> _Header | None:
    """A file's header, read past; None when it is not one of these files."""
    start = file.read(len(MAGIC) + _LENGTH.size)
    if len(start) < len(MAGIC) + _LENGTH.size or not start.startswith(MAGIC):
        return None
    (length,) = _LENGTH.unpack(start[len(MAGIC) :])
    return _Header.model_validate_json(file.read(length))
