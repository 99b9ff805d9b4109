import { describe, expect, it } from "vitest";
// The cases the backend's tests read too (tests/chat/conversations/test_tree.py).
import raw from "../../../shared/conversation-tree.vectors.json?raw";
import { branchTo, currentLeaf, newestLeafUnder, pathTo, siblingsOf, type TreeNode } from "./branches";

interface Case {
  rule: string;
  given: string | null;
  expect: string | string[] | null;
}

interface Tree {
  name: string;
  messages: { id: string; parent_id: string | null; seq: number }[];
  cases: Case[];
}

const vectors = JSON.parse(raw) as { rules: Record<string, string>; trees: Tree[] };

const ids = (messages: readonly TreeNode[]) => messages.map((message) => message.id);

/** Each rule as this side keeps it, answering with ids. */
const rules: Record<string, (messages: TreeNode[], given: string | null) => string | string[] | null> = {
  path: (messages, given) => ids(pathTo(messages, given ?? "")),
  current_leaf: (messages, given) => currentLeaf(messages, given)?.id ?? null,
  siblings: (messages, given) =>
    ids(
      siblingsOf(
        messages,
        messages.find((message) => message.id === given)!,
      ),
    ),
  newest_leaf: (messages, given) => newestLeafUnder(messages, given ?? ""),
  shown_branch: (messages, given) => ids(branchTo(messages, given)),
};

describe("the conversation tree's shared cases", () => {
  it("keeps every rule the file states", () => {
    expect(Object.keys(rules).sort()).toEqual(Object.keys(vectors.rules).sort());
  });

  describe.each(vectors.trees)("$name", (tree) => {
    const messages = tree.messages.map((m) => ({ id: m.id, parentId: m.parent_id, seq: m.seq }));
    it.each(tree.cases)("$rule of $given", ({ rule, given, expect: expected }) => {
      expect(rules[rule]!(messages, given)).toEqual(expected);
    });
  });
});
