import { describe, expect, it } from "vitest";
import type { ToolCallRecord } from "../api/protocol.gen";
import { answerParts, codePointLength, prettyJson } from "./tools";

function call(callId: string, contentOffset: number): ToolCallRecord {
  return {
    call_id: callId,
    name: "demo.add",
    arguments: "{}",
    result: "3",
    is_error: false,
    content_offset: contentOffset,
  };
}

describe("answerParts", () => {
  it("is the text alone without tool calls", () => {
    expect(answerParts("Hello", [])).toEqual([{ kind: "text", text: "Hello" }]);
    expect(answerParts("", [])).toEqual([]);
  });

  it("cuts the text where each call was made, counting code points", () => {
    const first = call("1", 2);
    const second = call("2", 5);
    expect(answerParts("🙂 abc def", [second, first])).toEqual([
      { kind: "text", text: "🙂 " },
      { kind: "tool", call: first },
      { kind: "text", text: "abc" },
      { kind: "tool", call: second },
      { kind: "text", text: " def" },
    ]);
  });

  it("keeps calls at one offset in the order made, and puts a call past the text at its end", () => {
    const first = call("1", 0);
    const second = call("2", 0);
    const late = call("3", 99);
    expect(answerParts("ab", [first, second, late])).toEqual([
      { kind: "tool", call: first },
      { kind: "tool", call: second },
      { kind: "text", text: "ab" },
      { kind: "tool", call: late },
    ]);
  });
});

describe("codePointLength", () => {
  it("counts as Python's len does", () => {
    expect(codePointLength("a🙂中")).toBe(3);
  });
});

describe("prettyJson", () => {
  it("indents objects and arrays and leaves other text alone", () => {
    expect(prettyJson('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(prettyJson("42")).toBe("42");
    expect(prettyJson('{"a":')).toBe('{"a":');
    expect(prettyJson("plain words")).toBe("plain words");
  });
});
