"""A request's grammar for llama.cpp's grammar sampler (GBNF): what the answer must be.

- `response_format`: the JSON Schema (any object for `json_object`) converted to GBNF by
  llama-cpp-python's converter (`llama_cpp.llama_grammar.SchemaConverter`, a port of
  llama.cpp's own json_schema_to_grammar);
- a forced `tool_choice`: the rest of a call after the opening the prompt already wrote
  (tool_prompts.answer_prefix), in the model's call format (`CALL_SHAPES`), to an offered tool
  with arguments valid against its schema; then only end of turn;
- "auto" with tools: the same calls, lazily: the grammar holds the answer from the call's
  opening on (a trigger pattern), and text before it is free (no grammar at all when a tool's
  schema is one the grammar cannot hold: nothing forces the call);
- both a response format and tools on "auto": the answer is the JSON or the calls.
The grammar applies to every answer token: a constrained answer is made with thinking off
(chat/prepare/request.py).
"""

from __future__ import annotations

import ctypes
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import llama_cpp as lc
import numpy as np
from llama_cpp.llama_grammar import SchemaConverter

from parley.engine.base import GenerationRequest
from parley.engine.structured import UnsupportedSchema
from parley.engine.tool_prompts import CALL_SHAPES, CallShape, ToolSyntax, offers_tools
from parley.protocol import ForcedTool, ToolSpec

# The converter's string character lets control characters through, which JSON parsers
# refuse inside strings; llama.cpp's own converter has since left them out.
_LOOSE_CHAR = 'char ::= [^"\\\\] |'
_JSON_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'


# The keywords the converter holds an answer to, and those that do not constrain it. Any other
# (`minimum`, `not`, `uniqueItems`, ...) it would pass over in silence: refused instead.
_HELD = {
    "type", "properties", "required", "additionalProperties", "items", "prefixItems",
    "minItems", "maxItems", "minLength", "maxLength", "pattern", "enum", "const",
    "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "format",
}  # fmt: skip
_ANNOTATIONS = {
    "$schema", "$id", "$comment", "title", "description", "default", "examples",
    "deprecated", "readOnly", "writeOnly", "strict",
}  # fmt: skip


def _unheld_keyword(schema: Any) -> str | None:
    """The first keyword of a schema (or of one inside it) the grammar would not hold."""
    stack = [schema]
    for _ in range(100_000):  # Schemas are bounded in depth and size before they come here.
        if not stack:
            return None
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key not in _HELD and key not in _ANNOTATIONS:
                return key
            if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
                stack.extend(value.values())
            elif key in ("items", "prefixItems", "additionalProperties", "anyOf", "oneOf", "allOf"):
                stack.append(value)
    return None


@dataclass(frozen=True, slots=True)
class Grammar:
    gbnf: str
    # Regexes over the answer so far: the grammar holds the answer from the first capture
    # group of the first that matches on. Empty: it holds the whole answer.
    triggers: tuple[str, ...] = ()


def _literal(text: str) -> str:
    """A GBNF string literal (its escapes are JSON's for the characters met here); nothing
    for no text (an empty literal is no GBNF)."""
    return json.dumps(text) if text else ""


class _Rules:
    """Schemas converted into one grammar's rules, each under a name of its own."""

    def __init__(self) -> None:
        self._converter = SchemaConverter(
            prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False
        )
        self.extra: list[str] = []

    def schema(self, schema: Mapping[str, Any], name: str, param: str) -> str:
        """The rule for values valid against `schema`; UnsupportedSchema where the converter
        cannot express it."""
        keyword = _unheld_keyword(schema)
        if keyword is not None:
            raise UnsupportedSchema(
                param,
                f"{param} uses `{keyword}`, a JSON Schema keyword constrained decoding cannot "
                "hold the answer to.",
            )
        try:
            resolved = self._converter.resolve_refs(json.loads(json.dumps(schema)), name)
            return str(self._converter.visit(resolved, name))
        except (AssertionError, ValueError, KeyError, TypeError, NotImplementedError) as exc:
            raise UnsupportedSchema(
                param,
                f"{param} uses a JSON Schema feature constrained decoding cannot hold "
                f"the answer to: {exc}",
            ) from exc

    def add(self, name: str, body: str) -> str:
        self.extra.append(f"{name} ::= {body}")
        return name

    def text(self, root: str) -> str:
        grammar = "\n".join([self._converter.format_grammar(), *self.extra, f"root ::= {root}"])
        return grammar.replace(_LOOSE_CHAR, _JSON_CHAR)


def _call_rule(rules: _Rules, tool: ToolSpec, index: int, shape: CallShape) -> str:
    """One whole call object to `tool`, as the model writes it."""
    arguments = rules.schema(
        tool.parameters, f"tool-{index}", f"tools[{index}].function.parameters"
    )
    head = f'{{"name": {json.dumps(tool.name)}, "{shape.arguments_key}": '
    return rules.add(f"call-{index}", f'{_literal(head)} {arguments} "}}"')


def _calls_rule(rules: _Rules, request: GenerationRequest, shape: CallShape, opening: str) -> str:
    """Calls to any offered tool after `opening` (several when parallel), and the closing."""
    calls = " | ".join(_call_rule(rules, tool, i, shape) for i, tool in enumerate(request.tools))
    call = rules.add("call", calls)
    more = f"({_literal(shape.between)} {call})*" if request.parallel_tool_calls else ""
    return rules.add("calls", _sequence(_literal(opening), call, more, _literal(shape.closing)))


def _sequence(*parts: str) -> str:
    """Rule parts one after another, the empty ones left out."""
    return " ".join(part for part in parts if part)


def _answer_rule(rules: _Rules, request: GenerationRequest) -> str:
    assert request.output is not None
    schema = request.output.schema
    if schema is None:
        return rules.schema({"type": "object"}, "answer", "response_format")
    return rules.schema(schema, "answer", "response_format.json_schema.schema")


def request_grammar(request: GenerationRequest, syntax: ToolSyntax) -> Grammar | None:
    """The grammar of a request's answer; None when nothing constrains it. Raises
    UnsupportedSchema for a schema the converter cannot express."""
    tools = offers_tools(request)
    if request.output is None and not tools:
        return None
    rules = _Rules()
    shape = CALL_SHAPES[syntax.format]
    choice = request.tool_choice
    if tools and isinstance(choice, ForcedTool):
        # The prompt ends with the call's opening, its name and its arguments' key.
        index, tool = next((i, t) for i, t in enumerate(request.tools) if t.name == choice.name)
        arguments = rules.schema(
            tool.parameters, f"tool-{index}", f"tools[{index}].function.parameters"
        )
        return Grammar(rules.text(_sequence(arguments, _literal("}" + shape.closing))))
    if tools and choice == "required":
        # The prompt ends with the call's opening.
        return Grammar(rules.text(_calls_rule(rules, request, shape, "")))
    if request.output is None:
        # llama3_json's call is the whole answer: it opens with the object.
        trigger = (
            rf"[\s\S]*?({re.escape(shape.opening)})[\s\S]*" if shape.opening else r"\s*(\{)[\s\S]*"
        )
        try:
            calls = _calls_rule(rules, request, shape, shape.opening)
        except UnsupportedSchema:
            # Nothing forces a call: one to a tool the grammar cannot hold stays free, as a
            # tool server's schema is no fault of the asker's.
            return None
        return Grammar(rules.text(calls), (trigger,))
    answer = _answer_rule(rules, request)
    if tools:
        return Grammar(
            rules.text(f"{answer} | {_calls_rule(rules, request, shape, shape.opening)}")
        )
    return Grammar(rules.text(answer))


def grammar_sampler(grammar: Grammar, vocab: Any) -> Any:
    """llama.cpp's grammar sampler for it (the caller frees it); UnsupportedSchema where
    llama.cpp cannot parse the grammar."""
    text = grammar.gbnf.encode()
    if grammar.triggers:
        patterns = (ctypes.c_char_p * len(grammar.triggers))(
            *(trigger.encode() for trigger in grammar.triggers)
        )
        sampler = lc.llama_sampler_init_grammar_lazy_patterns(
            vocab, text, b"root", patterns, len(grammar.triggers), None, 0
        )
    else:
        sampler = lc.llama_sampler_init_grammar(vocab, text, b"root")
    if not sampler:
        raise UnsupportedSchema("response_format", "llama.cpp could not read the grammar made.")
    return sampler


# llama.cpp's `llama_token_data`, as numpy lays out an array of them.
_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


def _candidates(logits: np.ndarray[Any, np.dtype[np.float32]]) -> np.ndarray[Any, np.dtype[Any]]:
    data = np.empty(len(logits), dtype=_TOKEN_DATA)
    data["id"] = np.arange(len(logits), dtype=np.int32)
    data["logit"] = logits
    data["p"] = 0.0
    return data


def _apply(sampler: Any, data: np.ndarray[Any, np.dtype[Any]]) -> Any:
    """Runs a sampler over candidates in place; the array it filled (`size`, `selected`)."""
    array = lc.llama_token_data_array(
        data=data.ctypes.data_as(ctypes.POINTER(lc.llama_token_data)),
        size=len(data),
        selected=-1,
        sorted=False,
    )
    lc.llama_sampler_apply(sampler, ctypes.byref(array))
    return array


class Constraint:
    """A request's grammar sampler beside its chain, as llama.cpp's own server uses it: the
    token chosen without the grammar is taken when the grammar allows it (checking one token),
    and only otherwise is the grammar applied to the whole vocabulary (49k tokens for SmolLM2)
    and the token chosen again among those it allows. The grammar sees only the answer."""

    def __init__(self, grammar: Grammar, vocab: Any) -> None:
        self._sampler = grammar_sampler(grammar, vocab)

    def free(self) -> None:
        lc.llama_sampler_free(self._sampler)

    def _allows(self, token: int) -> bool:
        one = np.array([(token, 0.0, 0.0)], dtype=_TOKEN_DATA)
        _apply(self._sampler, one)
        return bool(np.isfinite(one["logit"][0]))

    def _pick(self, logits: np.ndarray[Any, np.dtype[np.float32]], chain: Any) -> int:
        """The chain's choice among all the row's tokens (greedy without a chain)."""
        if chain is None:
            return int(logits.argmax())
        data = _candidates(logits)
        array = _apply(chain, data)
        return int(data["id"][array.selected])

    def choose(self, logits: np.ndarray[Any, np.dtype[np.float32]], chain: Any) -> int:
        token = self._pick(logits, chain)
        if not self._allows(token):
            masked = _candidates(logits)
            _apply(self._sampler, masked)
            token = self._pick(masked["logit"], chain)
        if chain is not None:
            lc.llama_sampler_accept(chain, token)
        lc.llama_sampler_accept(self._sampler, token)
        return token
