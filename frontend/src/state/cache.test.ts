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

  it("survives a corrupt entry", () => {
    localStorage.setItem("parley:conversations", "{not json");
    expect(loadConversationList()).toEqual([]);
  });
});
