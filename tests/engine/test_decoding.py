"""Incremental detokenization and stop strings, with a byte-level toy tokenizer."""

from __future__ import annotations

from parley.engine.decoding import IncrementalDetokenizer, StopStringFilter


# Token id n stands for byte n, as in a byte-level BPE whose merges did not apply.
def decode_bytes(ids: list[int]) -> str:
    return bytes(ids).decode("utf-8", errors="replace")


def test_detokenizer_waits_for_the_rest_of_a_multibyte_character() -> None:
    detokenizer = IncrementalDetokenizer(decode_bytes)
    deltas = [detokenizer.add(byte) for byte in "né€!".encode()]
    assert deltas == ["n", "", "é", "", "", "€", "!"]


def test_stop_string_cut_across_deltas_is_never_emitted() -> None:
    stops = StopStringFilter(["STOP"])
    assert stops.feed("Hello S") == "Hello "
    assert stops.feed("T") == ""
    assert stops.feed("OP and more") == ""
    assert stops.stopped


def test_text_held_for_a_stop_that_never_completes_comes_back() -> None:
    stops = StopStringFilter(["</end>", "##"])
    assert stops.feed("a </e") == "a "
    assert stops.feed("x #") == "</ex "
    assert not stops.stopped
    assert stops.flush() == "#"


def test_earliest_of_several_stop_strings_wins() -> None:
    stops = StopStringFilter(["world", "lo"])
    assert stops.feed("hello world") == "hel"
    assert stops.stopped
