"""Token ids to text deltas: incremental detokenization and stop strings. Torch-free."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from parley.engine.reasoning import partial_tag_suffix

# What a byte-level tokenizer decodes a cut UTF-8 sequence to.
_REPLACEMENT = "\ufffd"


# Token ids to text, special tokens left out.
Decode = Callable[[list[int]], str]


class IncrementalDetokenizer:
    """Turns a growing list of token ids into text deltas.

    Decoding each token alone breaks words that merge across tokens and characters whose UTF-8
    bytes are split between tokens, so each step decodes a short window of recent tokens and
    emits only what the window added; a window that ends in a cut character waits for the
    token that completes it.
    """

    def __init__(self, decode: Decode) -> None:
        self._decode_ids = decode
        self._ids: list[int] = []
        self._prefix_offset = 0  # Start of the context window, already emitted.
        self._read_offset = 0  # End of what has been emitted.

    def add(self, token_id: int) -> str:
        self._ids.append(token_id)
        emitted = self._decode(self._prefix_offset, self._read_offset)
        full = self._decode(self._prefix_offset, len(self._ids))
        if len(full) <= len(emitted) or full.endswith(_REPLACEMENT):
            return ""
        self._prefix_offset = self._read_offset
        self._read_offset = len(self._ids)
        return full[len(emitted) :]

    def _decode(self, start: int, end: int) -> str:
        return self._decode_ids(self._ids[start:end])


class StopStringFilter:
    """Holds back text that may be the start of a stop string, so a stop string is never emitted,
    even when it arrives cut across deltas."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [stop for stop in stops if stop]
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """The text that is safe to emit; sets `stopped` once a stop string appeared."""
        if not self._stops:
            return text
        buffer = self._held + text
        cut = min((i for i in (buffer.find(stop) for stop in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self._held = ""
            self.stopped = True
            return buffer[:cut]
        keep = max(partial_tag_suffix(buffer, stop) for stop in self._stops)
        self._held = buffer[len(buffer) - keep :]
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """What was held back when the stream ends without a stop string."""
        held, self._held = self._held, ""
        return held
