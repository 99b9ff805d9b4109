import { describe, expect, it } from "vitest";
import type { MessagePublic, ServerFrame } from "../api/protocol.gen";
import type { Conversation, ConversationDetail } from "../api/types";
import { branchTo, childrenOf, newestLeafUnder, siblingsOf } from "./branches";
import {
  emptyConversationState,
  localMessageId,
  streamReducer,
  visibleThread,
  type ConversationState,
  type StreamAction,
} from "./streamReducer";

const node = (id: string, parentId: string | null, seq: number) => ({ id, parentId, seq });

//        u1 ── a1
//   root ┤      └─ a1b (regenerated)
//        u2 ── a2 ── u3 ── a3
const TREE = [
  node("u1", null, 1),
  node("a1", "u1", 2),
  node("u2", null, 5),
  node("a2", "u2", 6),
  node("a1b", "u1", 8),
  node("u3", "a2", 9),
  node("a3", "u3", 10),
];

describe("branches", () => {
  it("lists a message's versions oldest first", () => {
    expect(childrenOf(TREE, null).map((m) => m.id)).toEqual(["u1", "u2"]);
    expect(siblingsOf(TREE, TREE[1]!).map((m) => m.id)).toEqual(["a1", "a1b"]);
  });

  it("shows the branch of the newest message when no leaf is known", () => {
    expect(branchTo(TREE, null).map((m) => m.id)).toEqual(["u2", "a2", "u3", "a3"]);
  });

  it("shows the path to the leaf and on along the newest replies", () => {
    expect(branchTo(TREE, "a1").map((m) => m.id)).toEqual(["u1", "a1"]);
    expect(branchTo(TREE, "u1").map((m) => m.id)).toEqual(["u1", "a1b"]);
    expect(branchTo(TREE, "u2").map((m) => m.id)).toEqual(["u2", "a2", "u3", "a3"]);
  });

  it("picks a version's newest leaf", () => {
    expect(newestLeafUnder(TREE, "u1")).toBe("a1b");
    expect(newestLeafUnder(TREE, "u2")).toBe("a3");
    expect(newestLeafUnder(TREE, "a3")).toBe("a3");
  });

  it("falls back to the newest branch for an unknown leaf and survives a cycle", () => {
    expect(branchTo(TREE, "gone").at(-1)?.id).toBe("a3");
    const cycle = [node("x", "y", 1), node("y", "x", 2)];
    expect(branchTo(cycle, "y").map((m) => m.id)).toEqual(["x", "y"]);
  });
});

// ---- the reducer's branch handling ----

const CONVERSATION_ID = "c1";

function message(overrides: Partial<MessagePublic> & Pick<MessagePublic, "id" | "seq">): MessagePublic {
  return {
    parent_id: null,
    role: "user",
    content: overrides.id,
    thinking: "",
    status: "complete",
    created_at: "2026-01-01T00:00:00Z",
    ...overrides,
  };
}

function conversation(overrides: Partial<Conversation> = {}): Conversation {
  return {
    id: CONVERSATION_ID,
    title: "Chat",
    model: null,
    system_prompt: "",
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    last_seq: 0,
    generating: false,
    thinking: null,
    current_leaf_id: null,
    tools: [],
    ...overrides,
  };
}

function frames(state: ConversationState, list: ServerFrame[]): ConversationState {
  return list.reduce((current, frame) => streamReducer(current, { type: "frame", frame, receivedAt: 1 }), state);
}

function apply(state: ConversationState, ...actions: StreamAction[]): ConversationState {
  return actions.reduce(streamReducer, state);
}

function run(seq: number, userId: string, parentId: string | null, answerId: string, text: string): ServerFrame[] {
  return [
    { type: "message", seq, message: message({ id: userId, seq, parent_id: parentId, client_id: `client-${userId}` }) },
    { type: "start", seq: seq + 1, run_id: `run-${answerId}`, message_id: answerId, parent_id: userId },
    { type: "chunk", seq: seq + 2, content: text },
    {
      type: "end",
      seq: seq + 3,
      message_id: answerId,
      finish_reason: "stop",
      usage: {},
      timings: { ttft_ms: 1, tokens_per_s: 1 },
    },
  ];
}

const shown = (state: ConversationState) => visibleThread(state.messages, state.currentLeafId).map((m) => m.id);

describe("streamReducer: branches", () => {
  const firstRun = run(1, "u1", null, "a1", "first");

  it("edits a user message onto a branch of its own and switches between the versions", () => {
    let state = frames(emptyConversationState(CONVERSATION_ID), firstRun);
    expect(shown(state)).toEqual(["u1", "a1"]);
    // Edit u1: a sibling (same parent, null), shown at once while unconfirmed.
    state = apply(state, {
      type: "sendQueued",
      clientId: "client-u2",
      content: "edited",
      createdAt: "2026-01-01T00:01:00Z",
      parentId: null,
    });
    expect(shown(state)).toEqual([localMessageId("client-u2")]);
    state = frames(state, run(5, "u2", null, "a2", "second"));
    expect(shown(state)).toEqual(["u2", "a2"]);
    expect(
      siblingsOf(
        state.messages,
        state.messages.find((m) => m.id === "u2")!,
      ).map((m) => m.id),
    ).toEqual(["u1", "u2"]);
    // Back to the first version: its own answer comes with it.
    state = apply(state, { type: "branchChosen", leafId: newestLeafUnder(state.messages, "u1") });
    expect(shown(state)).toEqual(["u1", "a1"]);
    expect(state.leafPending).toBe(true);
    state = apply(state, { type: "branchSaved", leafId: "a1" });
    expect(state.leafPending).toBe(false);
  });

  it("continues the branch shown, not the newest one", () => {
    let state = frames(emptyConversationState(CONVERSATION_ID), [...firstRun, ...run(5, "u2", null, "a2", "b")]);
    state = apply(state, { type: "branchChosen", leafId: "a1" });
    state = apply(state, { type: "sendQueued", clientId: "next", content: "more", createdAt: "2026-01-01T00:02:00Z" });
    const pending = state.messages.find((m) => m.id === localMessageId("next"));
    expect(pending?.parentId).toBe("a1");
    expect(shown(state)).toEqual(["u1", "a1", localMessageId("next")]);
  });

  it("regenerates an earlier answer as a sibling and shows it", () => {
    let state = frames(emptyConversationState(CONVERSATION_ID), [...firstRun, ...run(5, "u2", "a1", "a2", "b")]);
    expect(shown(state)).toEqual(["u1", "a1", "u2", "a2"]);
    state = frames(state, [
      { type: "start", seq: 9, run_id: "r3", message_id: "a1b", parent_id: "u1" },
      { type: "chunk", seq: 10, content: "again" },
    ]);
    expect(shown(state)).toEqual(["u1", "a1b"]);
    expect(state.messages.find((m) => m.id === "a1b")).toMatchObject({ parentId: "u1", content: "again" });
  });

  it("follows the branch another tab picked, and ignores a leaf it does not know", () => {
    let state = frames(emptyConversationState(CONVERSATION_ID), [...firstRun, ...run(5, "u2", null, "a2", "b")]);
    state = apply(state, { type: "branchSynced", leafId: "a1" });
    expect(shown(state)).toEqual(["u1", "a1"]);
    state = apply(state, { type: "branchSynced", leafId: "nope" });
    expect(shown(state)).toEqual(["u1", "a1"]);
  });

  it("takes the server's current leaf on reconcile unless its own pick is not saved yet", () => {
    const all = [...firstRun, ...run(5, "u2", null, "a2", "b")];
    const live = frames(emptyConversationState(CONVERSATION_ID), all);
    const detail = (leaf: string): ConversationDetail => ({
      conversation: conversation({ last_seq: 8, current_leaf_id: leaf }),
      messages: live.messages.map((m) =>
        message({ id: m.id, seq: m.seq, parent_id: m.parentId, role: m.role, content: m.content }),
      ),
    });
    // Another client picked a1: the server says so after a reconnect.
    expect(shown(apply(live, { type: "loaded", detail: detail("a1") }))).toEqual(["u1", "a1"]);
    // Picked here (a1) and not saved yet: an older server answer (a2) does not undo it.
    const picked = apply(live, { type: "branchChosen", leafId: "a1" });
    expect(shown(apply(picked, { type: "loaded", detail: detail("a2") }))).toEqual(["u1", "a1"]);
  });

  it("keeps a message newer than the REST snapshot as the leaf", () => {
    let state = frames(emptyConversationState(CONVERSATION_ID), [...firstRun, ...run(5, "u2", null, "a2", "b")]);
    const stale: ConversationDetail = {
      conversation: conversation({ last_seq: 4, current_leaf_id: "a1" }),
      messages: [message({ id: "u1", seq: 1 }), message({ id: "a1", seq: 2, parent_id: "u1", role: "assistant" })],
    };
    state = apply(state, { type: "loaded", detail: stale });
    expect(shown(state)).toEqual(["u2", "a2"]);
  });

  it("replays two branches from seq 0 to the exact stored text of each", () => {
    const all = [...firstRun, ...run(5, "u2", null, "a2", "second answer"), ...run(9, "u3", "a1", "a3", "third")];
    const live = frames(emptyConversationState(CONVERSATION_ID), all);
    const replayed = frames(
      frames(emptyConversationState(CONVERSATION_ID), [
        { type: "ready", conversation_id: CONVERSATION_ID, last_seq: 12, active_run: null },
      ]),
      all,
    );
    const texts = (state: ConversationState) => state.messages.map((m) => [m.id, m.parentId, m.content]);
    expect(texts(replayed)).toEqual(texts(live));
    expect(shown(replayed)).toEqual(["u1", "a1", "u3", "a3"]);
  });
});

describe("streamReducer: a first message queued twice", () => {
  it("keeps one message, also once the server has confirmed it", () => {
    const queue: StreamAction = {
      type: "sendQueued",
      clientId: "client-u1",
      content: "u1",
      createdAt: "2026-01-01T00:00:00Z",
      parentId: null,
    };
    let state = apply(emptyConversationState(CONVERSATION_ID), queue, queue);
    expect(state.messages).toHaveLength(1);
    state = frames(state, run(1, "u1", null, "a1", "answer"));
    state = apply(state, queue);
    expect(state.messages.map((m) => m.id)).toEqual(["u1", "a1"]);
  });
});
