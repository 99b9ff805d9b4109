// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from "vitest";
import {
  clearAllCachedData,
  forgetConversation,
  loadConversationList,
  loadConversationState,
  loadToken,
  saveConversationList,
  saveConversationState,
  saveToken,
} from "./cache";
import type { ServerFrame } from "../api/protocol.gen";
import { emptyConversationState, streamReducer } from "./streamReducer";

function stateWithPendingMessage(id: string) {
  return streamReducer(emptyConversationState(id), {
    type: "sendQueued",
    clientId: "client-1",
    content: "Hi",
    createdAt: "2026-01-01T00:00:00Z",
  });
}

describe("cache", () => {
  beforeEach(() => localStorage.clear());

  it("round-trips a conversation, turning a message still sending into a failed one", () => {
    saveToken("token");
    saveConversationState({ ...stateWithPendingMessage("c1"), lastSeq: 7 });
    const loaded = loadConversationState("c1");
    expect(loaded.lastSeq).toBe(7);
    expect(loaded.messages[0]).toMatchObject({ content: "Hi", status: "failed" });
    expect(loaded.activeRun).toBeNull();
  });

  it("writes nothing without a session, so nothing survives a logout", () => {
    saveToken("token");
    saveConversationList([]);
    clearAllCachedData();
    expect(loadToken()).toBeNull();
    saveConversationState(stateWithPendingMessage("c2"));
    saveConversationList([]);
    expect(Object.keys(localStorage)).toEqual([]);
  });

  it("keeps other sites' keys on logout", () => {
    localStorage.setItem("unrelated", "1");
    saveToken("token");
    saveConversationState(stateWithPendingMessage("c3"));
    clearAllCachedData();
    expect(Object.keys(localStorage)).toEqual(["unrelated"]);
  });

  it("never writes a forgotten (deleted) conversation back", () => {
    saveToken("token");
    saveConversationState(stateWithPendingMessage("c4"));
    forgetConversation("c4");
    saveConversationState(stateWithPendingMessage("c4"));
    expect(loadConversationState("c4").messages).toEqual([]);
  });

  it("keeps a running tool call over a reload, and the replay completes it", () => {
    saveToken("token");
    const running = [
      {
        type: "message",
        seq: 1,
        message: {
          id: "u1",
          parent_id: null,
          role: "user",
          content: "Hi",
          thinking: "",
          status: "complete",
          created_at: "2026-01-01T00:00:00Z",
          seq: 1,
        },
      },
      { type: "start", seq: 2, run_id: "r1", message_id: "a1", parent_id: "u1" },
      { type: "chunk", seq: 3, content: "Let me look. " },
      { type: "tool_call", seq: 4, message_id: "a1", call_id: "call-1", name: "demo.lookup", arguments: "{}" },
    ] satisfies ServerFrame[];
    saveConversationState(
      running.reduce(
        (state, frame) => streamReducer(state, { type: "frame", frame, receivedAt: 0 }),
        emptyConversationState("c5"),
      ),
    );
    const reloaded = loadConversationState("c5");
    const call = { call_id: "call-1", name: "demo.lookup", arguments: "{}", is_error: false, content_offset: 13 };
    expect(reloaded.messages[1]?.toolCalls).toEqual([{ ...call, result: null, duration_ms: null }]);
    const resumed = (
      [
        { type: "ready", conversation_id: "c5", last_seq: 5, active_run: { run_id: "r1", message_id: "a1" } },
        { type: "tool_result", seq: 5, call_id: "call-1", content: "found", is_error: false, duration_ms: 40 },
      ] satisfies ServerFrame[]
    ).reduce((state, frame) => streamReducer(state, { type: "frame", frame, receivedAt: 0 }), reloaded);
    expect(resumed.messages[1]?.toolCalls).toEqual([{ ...call, result: "found", duration_ms: 40 }]);
  });

  it("survives a corrupt entry", () => {
    localStorage.setItem("parley:conversations", "{not json");
    expect(loadConversationList()).toEqual([]);
  });
});
