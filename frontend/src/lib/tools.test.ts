import { describe, expect, it } from "vitest";
import type { ToolCallRecord } from "../api/protocol.gen";
import type { ToolList } from "../api/types";
import { answerParts, codePointLength, prettyJson, toolGroups } from "./tools";

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

describe("toolGroups", () => {
  const list: ToolList = {
    tools: [
      { server: "math", name: "add", description: "Adds two numbers", input_schema: {} },
      { server: "math", name: "mul", description: "Multiplies", input_schema: {} },
    ],
    servers: [
      { id: "math", state: "ready", error: null },
      { id: "files", state: "failed", error: "exited with status 1" },
      { id: "web", state: "starting", error: null },
    ],
  };

  it("groups the tools by server, in the order listed, servers without tools too", () => {
    const groups = toolGroups(list, []);
    expect(groups.map((group) => [group.server?.id, group.options.map((option) => option.id)])).toEqual([
      ["math", ["math.add", "math.mul"]],
      ["files", []],
      ["web", []],
    ]);
    expect(groups[0]?.options[0]).toEqual({
      id: "math.add",
      name: "add",
      description: "Adds two numbers",
      available: true,
    });
  });

  it("keeps chosen tools that are not offered now, under their server or apart, so they can be unchosen", () => {
    const groups = toolGroups(list, ["math.add", "files.read", "math.gone", "old.tool"]);
    expect(
      groups.map((group) => [group.server?.id ?? null, group.options.map((option) => [option.id, option.available])]),
    ).toEqual([
      [
        "math",
        [
          ["math.add", true],
          ["math.mul", true],
          ["math.gone", false],
        ],
      ],
      ["files", [["files.read", false]]],
      ["web", []],
      [null, [["old.tool", false]]],
    ]);
    expect(groups[1]?.options[0]?.name).toBe("read");
  });
});
