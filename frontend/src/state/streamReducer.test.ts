import { describe, expect, it } from "vitest";
import type { MessagePublic, ServerFrame } from "../api/protocol.gen";
import type { Conversation, ConversationDetail } from "../api/types";
import {
  emptyConversationState,
  localMessageId,
  streamReducer,
  visibleThread,
  type ConversationState,
  type StreamAction,
} from "./streamReducer";

const CONVERSATION_ID = "c1";
const T0 = 1_000_000;

function frames(state: ConversationState, list: ServerFrame[], receivedAt = T0): ConversationState {
  return list.reduce(
    (current, frame, index) => streamReducer(current, { type: "frame", frame, receivedAt: receivedAt + index * 100 }),
    state,
  );
}

function apply(state: ConversationState, ...actions: StreamAction[]): ConversationState {
  return actions.reduce(streamReducer, state);
}

function userMessage(overrides: Partial<MessagePublic> = {}): MessagePublic {
  return {
    id: "u1",
    parent_id: null,
    role: "user",
    content: "Hi",
    thinking: "",
    status: "complete",
    created_at: "2026-01-01T00:00:00Z",
    seq: 1,
    client_id: "client-1",
    ...overrides,
  };
}

function assistantMessage(overrides: Partial<MessagePublic> = {}): MessagePublic {
  return {
    id: "a1",
    parent_id: "u1",
    role: "assistant",
    content: "",
    thinking: "",
    status: "streaming",
    created_at: "2026-01-01T00:00:01Z",
    seq: 2,
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

const ready = (lastSeq: number, activeRun: { run_id: string; message_id: string } | null = null): ServerFrame => ({
  type: "ready",
  conversation_id: CONVERSATION_ID,
  last_seq: lastSeq,
  active_run: activeRun,
});

/** A whole run: user message, start, two thinking deltas, three chunks, end (seq 1..8). */
const fullRun: ServerFrame[] = [
  { type: "message", seq: 1, message: userMessage() },
  { type: "start", seq: 2, run_id: "r1", message_id: "a1", parent_id: "u1" },
  { type: "thinking", seq: 3, content: "Let me " },
  { type: "thinking", seq: 4, content: "think." },
  { type: "chunk", seq: 5, content: "You " },
  { type: "chunk", seq: 6, content: "said: " },
  { type: "chunk", seq: 7, content: "Hi" },
  {
    type: "end",
    seq: 8,
    message_id: "a1",
    finish_reason: "stop",
    usage: { prompt_tokens: 5, completion_tokens: 3 },
    timings: { ttft_ms: 120, tokens_per_s: 42.5 },
  },
];

function answer(state: ConversationState) {
  return state.messages.find((message) => message.id === "a1");
}

describe("streamReducer: live run", () => {
  it("builds the answer and the thinking from deltas and ends with timings", () => {
    const state = frames(
      apply(emptyConversationState(CONVERSATION_ID), { type: "frame", frame: ready(0), receivedAt: T0 }),
      fullRun,
    );
    expect(state.lastSeq).toBe(8);
    expect(state.activeRun).toBeNull();
    expect(answer(state)).toMatchObject({
      content: "You said: Hi",
      thinking: "Let me think.",
      status: "complete",
      finishReason: "stop",
      timings: { ttft_ms: 120, tokens_per_s: 42.5 },
      usage: { completion_tokens: 3 },
    });
  });

  it("measures the thinking time from the first thinking delta to the first chunk", () => {
    const state = frames(
      apply(emptyConversationState(CONVERSATION_ID), { type: "frame", frame: ready(0), receivedAt: T0 }),
      fullRun,
    );
    // thinking at index 2 (T0+200), first chunk at index 4 (T0+400)
    expect(answer(state)?.thinkingMs).toBe(200);
  });

  it("leaves the thinking time unknown for replayed events", () => {
    const state = frames(
      apply(emptyConversationState(CONVERSATION_ID), { type: "frame", frame: ready(8), receivedAt: T0 }),
      fullRun,
    );
    expect(answer(state)?.content).toBe("You said: Hi");
    expect(answer(state)?.thinkingMs).toBeNull();
  });

  it("ignores events whose seq was already applied", () => {
    const once = frames(emptyConversationState(CONVERSATION_ID), fullRun.slice(0, 6));
    const twice = frames(once, [fullRun[4]!, fullRun[5]!, ...fullRun.slice(4)]);
    expect(answer(twice)?.content).toBe("You said: Hi");
  });

  it("marks a stopped answer cancelled", () => {
    const state = frames(emptyConversationState(CONVERSATION_ID), [
      ...fullRun.slice(0, 5),
      {
        type: "end",
        seq: 6,
        message_id: "a1",
        finish_reason: "cancelled",
        usage: {},
        timings: { ttft_ms: null, tokens_per_s: null },
      },
    ]);
    expect(answer(state)).toMatchObject({ status: "cancelled", content: "You " });
    expect(state.activeRun).toBeNull();
  });

  it("ends a failed run with the error on its message", () => {
    const state = frames(emptyConversationState(CONVERSATION_ID), [
      ...fullRun.slice(0, 5),
      { type: "error", seq: 6, code: "generation_failed", message: "boom", message_id: "a1" },
    ]);
    expect(answer(state)).toMatchObject({ status: "error", errorMessage: "boom", content: "You " });
    expect(state.activeRun).toBeNull();
  });

  it("marks an answer cut by a server crash interrupted, keeping its text", () => {
    const state = frames(emptyConversationState(CONVERSATION_ID), [
      ...fullRun.slice(0, 5),
      { type: "error", seq: 1001, code: "interrupted", message: "The server stopped.", message_id: "a1" },
    ]);
    expect(answer(state)).toMatchObject({
      status: "interrupted",
      content: "You ",
      errorMessage: "The server stopped.",
    });
    expect(state.activeRun).toBeNull();
  });

  it("tracks queued/prefill status until the first delta", () => {
    let state = frames(emptyConversationState(CONVERSATION_ID), fullRun.slice(0, 2));
    state = frames(state, [{ type: "status", state: "prefill" }]);
    expect(state.waitingState).toBe("prefill");
    expect(state.lastSeq).toBe(2);
    state = frames(state, [fullRun[2]!]);
    expect(state.waitingState).toBeNull();
  });
});

describe("streamReducer: optimistic messages", () => {
  it("replaces the optimistic user message when the server echoes its client_id", () => {
    let state = apply(emptyConversationState(CONVERSATION_ID), {
      type: "sendQueued",
      clientId: "client-1",
      content: "Hi",
      createdAt: "2026-01-01T00:00:00Z",
    });
    expect(state.messages.map((message) => message.id)).toEqual([localMessageId("client-1")]);
    state = frames(state, [fullRun[0]!]);
    expect(state.messages).toHaveLength(1);
    expect(state.messages[0]).toMatchObject({ id: "u1", status: "complete", clientId: "client-1" });
  });

  it("marks the pending message failed when the server answers busy", () => {
    let state = apply(emptyConversationState(CONVERSATION_ID), {
      type: "sendQueued",
      clientId: "client-2",
      content: "Again",
      createdAt: "2026-01-01T00:00:00Z",
    });
    state = frames(state, [{ type: "error", code: "busy", message: "A run is active." }]);
    expect(state.messages[0]).toMatchObject({ status: "failed", errorMessage: "A run is active." });
    expect(state.notice).toEqual({ code: "busy", message: "A run is active." });
    expect(state.lastSeq).toBe(0);
  });

  it("sends a failed message again under the same client_id", () => {
    let state = apply(
      emptyConversationState(CONVERSATION_ID),
      { type: "sendQueued", clientId: "client-1", content: "Hi", createdAt: "2026-01-01T00:00:00Z" },
      { type: "sendFailed", clientId: "client-1", message: "Not connected." },
    );
    expect(state.messages[0]).toMatchObject({ status: "failed", errorMessage: "Not connected." });
    state = apply(state, { type: "sendRetried", clientId: "client-1" });
    expect(state.messages[0]).toMatchObject({ status: "sending", errorMessage: null });
    state = frames(state, [fullRun[0]!]);
    expect(state.messages).toHaveLength(1);
    expect(state.messages[0]).toMatchObject({ id: "u1", status: "complete" });
  });

  it("shows a message sent from another tab (unknown client_id)", () => {
    const state = frames(emptyConversationState(CONVERSATION_ID), [fullRun[0]!]);
    expect(state.messages).toHaveLength(1);
  });
});

describe("streamReducer: resume and reconciliation", () => {
  it("continues a cached, half-streamed answer from after_seq without losing or doubling text", () => {
    const cached = frames(emptyConversationState(CONVERSATION_ID), fullRun.slice(0, 5));
    const reloaded: ConversationState = {
      ...emptyConversationState(CONVERSATION_ID),
      messages: cached.messages,
      lastSeq: cached.lastSeq,
    };
    const resumed = frames(reloaded, [ready(5, { run_id: "r1", message_id: "a1" }), ...fullRun.slice(5)]);
    expect(answer(resumed)?.content).toBe("You said: Hi");
    expect(answer(resumed)?.status).toBe("complete");
  });

  it("rebuilds the answer when the replay starts before the run's start event", () => {
    const partial = frames(emptyConversationState(CONVERSATION_ID), fullRun.slice(0, 6));
    const replayedFromStart = frames({ ...partial, lastSeq: 1 }, [ready(8), ...fullRun.slice(1)]);
    expect(answer(replayedFromStart)?.content).toBe("You said: Hi");
    expect(answer(replayedFromStart)?.thinking).toBe("Let me think.");
  });

  it("drops the cache and asks for a resync when the server's last_seq is lower", () => {
    const cached = frames(emptyConversationState(CONVERSATION_ID), fullRun);
    const state = frames(cached, [ready(3)]);
    expect(state.resyncNeeded).toBe(true);
    expect(state.messages).toEqual([]);
    expect(state.lastSeq).toBe(0);
    // After the server restart the seq restarts lower; new events apply.
    const after = frames(apply(state, { type: "resyncStarted" }), [
      ready(3),
      { type: "message", seq: 4, message: userMessage({ id: "u9", seq: 4, client_id: "x" }) },
    ]);
    expect(after.resyncNeeded).toBe(false);
    expect(after.messages.map((message) => message.id)).toEqual(["u9"]);
  });

  it("lets the REST copy of a finished answer win over late replayed deltas", () => {
    const streaming = frames(emptyConversationState(CONVERSATION_ID), fullRun.slice(0, 5));
    const detail: ConversationDetail = {
      conversation: conversation({ last_seq: 8 }),
      messages: [
        userMessage(),
        assistantMessage({ content: "You said: Hi", thinking: "Let me think.", status: "complete" }),
      ],
    };
    const reconciled = apply(streaming, { type: "loaded", detail });
    expect(reconciled.activeRun).toBeNull();
    const afterReplay = frames(reconciled, fullRun.slice(5));
    expect(answer(afterReplay)).toMatchObject({ content: "You said: Hi", status: "complete" });
  });

  it("keeps the socket's text for a message the server still reports streaming", () => {
    const streaming = frames(emptyConversationState(CONVERSATION_ID), fullRun.slice(0, 6));
    const detail: ConversationDetail = {
      conversation: conversation({ generating: true }),
      messages: [userMessage(), assistantMessage({ content: "You ", thinking: "Let me think." })],
    };
    const reconciled = frames(apply(streaming, { type: "loaded", detail }), fullRun.slice(6));
    expect(answer(reconciled)?.content).toBe("You said: Hi");
  });

  it("keeps what the socket applied after the REST snapshot was taken", () => {
    const live = frames(emptyConversationState(CONVERSATION_ID), fullRun.slice(0, 6));
    const staleDetail: ConversationDetail = { conversation: conversation({ last_seq: 0 }), messages: [] };
    const reconciled = frames(apply(live, { type: "loaded", detail: staleDetail }), fullRun.slice(6));
    expect(reconciled.messages.map((message) => message.id)).toEqual(["u1", "a1"]);
    expect(answer(reconciled)).toMatchObject({ content: "You said: Hi", status: "complete" });
  });

  it("never turns a finished answer back to streaming from an older REST copy", () => {
    const finished = frames(emptyConversationState(CONVERSATION_ID), fullRun);
    const staleDetail: ConversationDetail = {
      conversation: conversation({ last_seq: 5, generating: true }),
      messages: [userMessage(), assistantMessage({ content: "You ", thinking: "Let me think." })],
    };
    const reconciled = apply(finished, { type: "loaded", detail: staleDetail });
    expect(answer(reconciled)).toMatchObject({ content: "You said: Hi", status: "complete" });
  });

  it("keeps unconfirmed messages and drops what the server no longer has", () => {
    let state = frames(emptyConversationState(CONVERSATION_ID), fullRun);
    state = apply(state, {
      type: "sendQueued",
      clientId: "pending",
      content: "Next",
      createdAt: "2026-01-01T00:01:00Z",
    });
    const detail: ConversationDetail = { conversation: conversation({ last_seq: 8 }), messages: [userMessage()] };
    state = apply(state, { type: "loaded", detail });
    expect(state.messages.map((message) => message.id)).toEqual(["u1", localMessageId("pending")]);
    expect(state.conversation?.title).toBe("Chat");
  });
});

/** A run with a tool call: text, the call, its result, more text (seq 1..7). */
const toolRun: ServerFrame[] = [
  { type: "message", seq: 1, message: userMessage() },
  { type: "start", seq: 2, run_id: "r1", message_id: "a1", parent_id: "u1" },
  { type: "chunk", seq: 3, content: "Checking 🙂 " },
  { type: "tool_call", seq: 4, message_id: "a1", call_id: "call-1", name: "demo.add", arguments: '{"a":1,"b":2}' },
  { type: "tool_result", seq: 5, call_id: "call-1", content: "3", is_error: false, duration_ms: 12.5 },
  { type: "chunk", seq: 6, content: "tool said: 3" },
  {
    type: "end",
    seq: 7,
    message_id: "a1",
    finish_reason: "stop",
    usage: { prompt_tokens: 5, completion_tokens: 3 },
    timings: { ttft_ms: 120, tokens_per_s: 42.5 },
  },
];

const finishedCall = {
  call_id: "call-1",
  name: "demo.add",
  arguments: '{"a":1,"b":2}',
  result: "3",
  is_error: false,
  // "Checking 🙂 " is 11 code points (12 UTF-16 units): the server counts code points.
  content_offset: 11,
  duration_ms: 12.5,
};

describe("streamReducer: tool calls", () => {
  it("adds a running call where the text stands and completes it with its result", () => {
    const running = frames(emptyConversationState(CONVERSATION_ID), toolRun.slice(0, 4));
    expect(answer(running)?.toolCalls).toEqual([{ ...finishedCall, result: null, duration_ms: null }]);
    const done = frames(running, toolRun.slice(4));
    expect(answer(done)).toMatchObject({ content: "Checking 🙂 tool said: 3", status: "complete" });
    expect(answer(done)?.toolCalls).toEqual([finishedCall]);
  });

  it("marks a failed call as an error and goes on", () => {
    const failed = frames(emptyConversationState(CONVERSATION_ID), [
      ...toolRun.slice(0, 4),
      { type: "tool_result", seq: 5, call_id: "call-1", content: "timed out after 30 s", is_error: true },
    ]);
    expect(answer(failed)?.toolCalls[0]).toMatchObject({
      result: "timed out after 30 s",
      is_error: true,
      duration_ms: null,
    });
    expect(answer(failed)?.status).toBe("streaming");
  });

  it("ignores a call or a result delivered twice", () => {
    const state = frames(emptyConversationState(CONVERSATION_ID), [
      ...toolRun.slice(0, 4),
      toolRun[3]!,
      toolRun[4]!,
      toolRun[4]!,
      ...toolRun.slice(5),
    ]);
    expect(answer(state)?.toolCalls).toEqual([finishedCall]);
    expect(answer(state)?.content).toBe("Checking 🙂 tool said: 3");
  });

  it("continues from after_seq with the call still running when the socket dropped", () => {
    const cut = frames(emptyConversationState(CONVERSATION_ID), toolRun.slice(0, 4));
    const resumed = frames({ ...cut, activeRun: null }, [
      ready(7, { run_id: "r1", message_id: "a1" }),
      ...toolRun.slice(4),
    ]);
    expect(answer(resumed)?.toolCalls).toEqual([finishedCall]);
    expect(answer(resumed)?.content).toBe("Checking 🙂 tool said: 3");
  });

  it("rebuilds the calls exactly when the replay starts before the run's start event", () => {
    const partial = frames(emptyConversationState(CONVERSATION_ID), toolRun.slice(0, 5));
    const replayed = frames({ ...partial, lastSeq: 1 }, [ready(7), ...toolRun.slice(1)]);
    expect(answer(replayed)?.toolCalls).toEqual([finishedCall]);
  });

  it("takes the stored calls from the REST copy of a finished answer, and ignores a late result", () => {
    const running = frames(emptyConversationState(CONVERSATION_ID), toolRun.slice(0, 4));
    const detail: ConversationDetail = {
      conversation: conversation({ last_seq: 7 }),
      messages: [
        userMessage(),
        assistantMessage({ content: "Checking 🙂 tool said: 3", status: "complete", tool_calls: [finishedCall] }),
      ],
    };
    const reconciled = frames(apply(running, { type: "loaded", detail }), toolRun.slice(4));
    expect(answer(reconciled)?.toolCalls).toEqual([finishedCall]);
    expect(answer(reconciled)?.content).toBe("Checking 🙂 tool said: 3");
  });

  it("keeps the socket's running call when the REST copy still streams", () => {
    const running = frames(emptyConversationState(CONVERSATION_ID), toolRun.slice(0, 4));
    const detail: ConversationDetail = {
      conversation: conversation({ generating: true }),
      messages: [userMessage(), assistantMessage({ content: "Checking 🙂 ", tool_calls: [] })],
    };
    const reconciled = apply(running, { type: "loaded", detail });
    expect(answer(reconciled)?.toolCalls).toHaveLength(1);
  });
});

describe("visibleThread", () => {
  it("shows only the latest regenerated reply to a user message", () => {
    const state = frames(emptyConversationState(CONVERSATION_ID), [
      ...fullRun,
      { type: "start", seq: 9, run_id: "r2", message_id: "a2", parent_id: "u1" },
      { type: "chunk", seq: 10, content: "Again" },
      {
        type: "end",
        seq: 11,
        message_id: "a2",
        finish_reason: "stop",
        usage: {},
        timings: { ttft_ms: 1, tokens_per_s: 1 },
      },
    ]);
    expect(visibleThread(state.messages).map((message) => message.id)).toEqual(["u1", "a2"]);
    expect(state.messages.find((message) => message.id === "a2")?.content).toBe("Again");
  });
});
