// The stream reducer: every server frame and every REST snapshot of one conversation goes
// through here, and the conversation's state comes out. It holds all the rules of deltas,
// replay after reconnect (after_seq), and reconciliation with the server:
//  - run events carry a strictly increasing per-conversation `seq`; an event whose seq is not
//    above the last applied one is a duplicate and is ignored;
//  - `ready.last_seq` below the last applied seq means the server lost events (it restarted):
//    the cached messages are dropped and `resyncNeeded` asks for a REST refetch + reconnect;
//  - a `start` (re)creates its assistant message empty, so a replay from before it rebuilds
//    the exact text; deltas apply only to the active run's message while it is streaming, so
//    a message the server already reported final is never appended to twice;
//  - `tool_call` adds a running call to the streaming answer where its text stands then
//    (`content_offset`, counted in code points as the server counts it), and `tool_result`
//    completes it; both follow the rules of deltas;
//  - a user `message` event replaces the optimistic message with the same client_id;
//  - the branch shown ends at `currentLeafId`: a new message (from this tab or another) moves
//    it there, picking another version moves it too, and the server's `current_leaf_id` wins
//    on reconcile unless this client's own choice is newer (not saved yet, or newer messages).
import type { Attachment, ConversationDetail, Conversation } from "../api/types";
import { codePointLength } from "../lib/tools";
import { branchTo } from "./branches";
import type {
  ErrorFrame,
  MessagePublic,
  PongFrame,
  ReadyFrame,
  ServerFrame,
  StatusFrame,
  Timings,
  ToolCallRecord,
  Usage,
} from "../api/protocol.gen";

export type ChatMessageStatus = MessagePublic["status"] | "sending" | "failed";
export type FinishReason = NonNullable<MessagePublic["finish_reason"]>;

export interface ChatMessage {
  /** The server's id; `local:<client_id>` for a user message the server has not confirmed. */
  id: string;
  parentId: string | null;
  role: MessagePublic["role"];
  content: string;
  thinking: string;
  status: ChatMessageStatus;
  createdAt: string;
  seq: number;
  clientId: string | null;
  model: string | null;
  usage: Usage | null;
  /** Known only to a client that saw the run's `end`. */
  timings: Timings | null;
  finishReason: FinishReason | null;
  errorMessage: string | null;
  /** Client clock (ms) at the first live thinking delta; null when it was not seen live. */
  thinkingStartedAt: number | null;
  /** How long the thinking took, measured live; null when unknown. */
  thinkingMs: number | null;
  attachments: Attachment[];
  /** The answer's tool calls in the order made; a call without a result is running (or was cut short). */
  toolCalls: ToolCallRecord[];
}

export interface ActiveRun {
  runId: string | null;
  messageId: string;
}

export interface Notice {
  code: string;
  message: string;
}

export interface ConversationState {
  conversationId: string;
  conversation: Conversation | null;
  messages: ChatMessage[];
  /** The seq of the last applied run event. */
  lastSeq: number;
  /** Events up to this seq were emitted before the socket connected (replayed, not live). */
  replayThroughSeq: number;
  activeRun: ActiveRun | null;
  /** `status` frames while a run waits for its first token. */
  waitingState: "queued" | "prefill" | null;
  notice: Notice | null;
  resyncNeeded: boolean;
  /** The last message of the branch shown; null: the newest message's branch. */
  currentLeafId: string | null;
  /** This client picked the leaf and the server has not confirmed it yet. */
  leafPending: boolean;
}

export type StreamAction =
  | { type: "frame"; frame: ServerFrame; receivedAt: number }
  | { type: "loaded"; detail: ConversationDetail }
  | { type: "conversationChanged"; conversation: Conversation }
  | {
      type: "sendQueued";
      clientId: string;
      content: string;
      createdAt: string;
      /** The message answered; omitted: the end of the branch shown. */
      parentId?: string | null;
      attachments?: Attachment[];
    }
  | { type: "branchChosen"; leafId: string }
  | { type: "branchSaved"; leafId: string }
  | { type: "branchSynced"; leafId: string }
  | { type: "sendFailed"; clientId: string; message: string }
  | { type: "sendRetried"; clientId: string }
  | { type: "resyncStarted" }
  | { type: "noticeDismissed" };

/** Client frame errors that mean the pending message was not accepted. */
const SEND_REJECTIONS = new Set(["busy", "too_long", "rate_limited", "bad_request"]);

export function emptyConversationState(conversationId: string): ConversationState {
  return {
    conversationId,
    conversation: null,
    messages: [],
    lastSeq: 0,
    replayThroughSeq: 0,
    activeRun: null,
    waitingState: null,
    notice: null,
    resyncNeeded: false,
    currentLeafId: null,
    leafPending: false,
  };
}

export function localMessageId(clientId: string): string {
  return `local:${clientId}`;
}

function chatMessageFromServer(message: MessagePublic): ChatMessage {
  return {
    id: message.id,
    parentId: message.parent_id,
    role: message.role,
    content: message.content,
    thinking: message.thinking,
    status: message.status,
    createdAt: message.created_at,
    seq: message.seq,
    clientId: message.client_id ?? null,
    model: message.model ?? null,
    usage: message.usage ?? null,
    timings: message.timings ?? null,
    finishReason: message.finish_reason ?? null,
    errorMessage: null,
    thinkingStartedAt: null,
    thinkingMs: null,
    attachments: message.attachments ?? [],
    toolCalls: message.tool_calls ?? [],
  };
}

export function streamReducer(state: ConversationState, action: StreamAction): ConversationState {
  switch (action.type) {
    case "frame":
      return applyFrame(state, action.frame, action.receivedAt);
    case "loaded":
      return applyServerDetail(state, action.detail);
    case "conversationChanged":
      return { ...state, conversation: action.conversation };
    case "sendQueued": {
      // Queued again (a view mounted twice, or reopened): the message already there stands.
      if (state.messages.some((item) => item.clientId === action.clientId && item.role === "user")) return state;
      const message = optimisticUserMessage(state, action);
      return { ...state, notice: null, currentLeafId: message.id, messages: [...state.messages, message] };
    }
    case "branchChosen":
      return { ...state, currentLeafId: action.leafId, leafPending: true };
    case "branchSaved":
      return action.leafId === state.currentLeafId ? { ...state, leafPending: false } : state;
    case "branchSynced":
      return state.messages.some((message) => message.id === action.leafId)
        ? { ...state, currentLeafId: action.leafId }
        : state;
    case "sendFailed":
      return {
        ...state,
        messages: state.messages.map((message) =>
          message.id === localMessageId(action.clientId)
            ? { ...message, status: "failed", errorMessage: action.message }
            : message,
        ),
      };
    case "sendRetried":
      return {
        ...state,
        notice: null,
        messages: state.messages.map((message) =>
          message.id === localMessageId(action.clientId)
            ? { ...message, status: "sending", errorMessage: null }
            : message,
        ),
      };
    case "resyncStarted":
      return { ...state, resyncNeeded: false };
    case "noticeDismissed":
      return { ...state, notice: null };
  }
}

function optimisticUserMessage(
  state: ConversationState,
  { clientId, content, createdAt, parentId, attachments }: Extract<StreamAction, { type: "sendQueued" }>,
): ChatMessage {
  return {
    id: localMessageId(clientId),
    parentId:
      parentId === undefined ? (visibleThread(state.messages, state.currentLeafId).at(-1)?.id ?? null) : parentId,
    role: "user",
    content,
    thinking: "",
    status: "sending",
    createdAt,
    seq: Number.MAX_SAFE_INTEGER,
    clientId,
    model: null,
    usage: null,
    timings: null,
    finishReason: null,
    errorMessage: null,
    thinkingStartedAt: null,
    thinkingMs: null,
    attachments: attachments ?? [],
    toolCalls: [],
  };
}

type RunEvent =
  Exclude<ServerFrame, ReadyFrame | PongFrame | StatusFrame | ErrorFrame> | (ErrorFrame & { seq: number });

function applyFrame(state: ConversationState, frame: ServerFrame, receivedAt: number): ConversationState {
  switch (frame.type) {
    case "ready":
      return applyReady(state, frame.last_seq, frame.active_run);
    case "pong":
      return state;
    case "status":
      return { ...state, waitingState: frame.state };
    case "error":
      // Without a seq, the error answers this client's own frame and is not part of a run.
      if (frame.seq === null || frame.seq === undefined) return applyClientError(state, frame.code, frame.message);
      return applyRunEvent(state, { ...frame, seq: frame.seq }, receivedAt);
    default:
      return applyRunEvent(state, frame, receivedAt);
  }
}

function applyRunEvent(state: ConversationState, frame: RunEvent, receivedAt: number): ConversationState {
  if (frame.seq <= state.lastSeq) return state;
  const next: ConversationState = { ...state, lastSeq: frame.seq };
  const live = frame.seq > state.replayThroughSeq;
  switch (frame.type) {
    case "message": {
      const incoming = chatMessageFromServer(frame.message);
      return { ...next, currentLeafId: incoming.id, messages: upsertMessage(state.messages, incoming) };
    }
    case "start": {
      const parentId = frame.parent_id ?? lastUserMessageId(visibleThread(state.messages, state.currentLeafId));
      const known = state.messages.find((message) => message.id === frame.message_id);
      const started: ChatMessage = {
        ...(known ??
          chatMessageFromServer({
            id: frame.message_id,
            parent_id: parentId,
            role: "assistant",
            content: "",
            thinking: "",
            status: "streaming",
            created_at: new Date(receivedAt).toISOString(),
            seq: frame.seq,
          })),
        // A replayed start rebuilds the message from nothing: the deltas that follow are all of it.
        content: "",
        thinking: "",
        toolCalls: [],
        status: "streaming",
        finishReason: null,
        errorMessage: null,
        timings: null,
        thinkingStartedAt: null,
        thinkingMs: null,
      };
      return {
        ...next,
        activeRun: { runId: frame.run_id, messageId: frame.message_id },
        currentLeafId: frame.message_id,
        messages: known
          ? state.messages.map((message) => (message === known ? started : message))
          : sortBySeq([...state.messages, started]),
      };
    }
    case "thinking":
      return updateStreamingMessage(next, (message) => ({
        ...message,
        thinking: message.thinking + frame.content,
        thinkingStartedAt: message.thinkingStartedAt ?? (live && message.thinking === "" ? receivedAt : null),
      }));
    case "chunk":
      return updateStreamingMessage(next, (message) => ({
        ...message,
        content: message.content + frame.content,
        thinkingMs: message.thinkingMs ?? measuredThinkingMs(message, live, receivedAt),
      }));
    case "end":
      return finishRun(next, frame.message_id, (message) => ({
        ...message,
        status: frame.finish_reason === "cancelled" ? "cancelled" : "complete",
        finishReason: frame.finish_reason,
        usage: frame.usage,
        timings: frame.timings,
        thinkingMs: message.thinkingMs ?? measuredThinkingMs(message, live, receivedAt),
      }));
    case "error":
      return finishRun(next, frame.message_id ?? state.activeRun?.messageId ?? null, (message) => ({
        ...message,
        // `interrupted`: the server stopped or died mid-answer; the text so far is kept.
        status: frame.code === "interrupted" ? "interrupted" : "error",
        errorMessage: frame.message,
      }));
    case "tool_call":
      return updateStreamingMessage(next, (message) => ({
        ...message,
        toolCalls: [
          ...message.toolCalls.filter((call) => call.call_id !== frame.call_id),
          {
            call_id: frame.call_id,
            name: frame.name,
            arguments: frame.arguments,
            result: null,
            is_error: false,
            content_offset: codePointLength(message.content),
            duration_ms: null,
          },
        ],
      }));
    case "tool_result":
      return updateStreamingMessage(next, (message) => ({
        ...message,
        toolCalls: message.toolCalls.map((call) =>
          call.call_id === frame.call_id
            ? { ...call, result: frame.content, is_error: frame.is_error, duration_ms: frame.duration_ms ?? null }
            : call,
        ),
      }));
  }
}

function applyReady(
  state: ConversationState,
  serverLastSeq: number,
  activeRun: { run_id: string; message_id: string } | null,
): ConversationState {
  const base = { ...state, replayThroughSeq: serverLastSeq, waitingState: null };
  if (serverLastSeq < state.lastSeq) {
    // The server has forgotten events this client applied: the cache cannot be trusted.
    return {
      ...emptyConversationState(state.conversationId),
      conversation: state.conversation,
      replayThroughSeq: serverLastSeq,
      activeRun: activeRun && { runId: activeRun.run_id, messageId: activeRun.message_id },
      resyncNeeded: true,
    };
  }
  return { ...base, activeRun: activeRun && { runId: activeRun.run_id, messageId: activeRun.message_id } };
}

function applyClientError(state: ConversationState, code: string, message: string): ConversationState {
  const rejected = SEND_REJECTIONS.has(code);
  return {
    ...state,
    notice: { code, message },
    messages: rejected
      ? state.messages.map((item) =>
          item.status === "sending" ? { ...item, status: "failed", errorMessage: message } : item,
        )
      : state.messages,
  };
}

function measuredThinkingMs(message: ChatMessage, live: boolean, now: number): number | null {
  if (!live || message.thinking === "" || message.thinkingStartedAt === null) return null;
  return now - message.thinkingStartedAt;
}

function updateStreamingMessage(
  state: ConversationState,
  update: (message: ChatMessage) => ChatMessage,
): ConversationState {
  const messageId = state.activeRun?.messageId;
  const target = state.messages.find((message) => message.id === messageId);
  // No run, or the server already reported this message final (a REST reconcile got there
  // first): the delta is already part of the stored text.
  if (!target || target.status !== "streaming") return state;
  return {
    ...state,
    waitingState: null,
    messages: state.messages.map((message) => (message === target ? update(message) : message)),
  };
}

function finishRun(
  state: ConversationState,
  messageId: string | null,
  update: (message: ChatMessage) => ChatMessage,
): ConversationState {
  const activeRun = state.activeRun && state.activeRun.messageId !== messageId ? state.activeRun : null;
  return {
    ...state,
    activeRun,
    waitingState: null,
    messages: state.messages.map((message) =>
      message.id === messageId && (message.status === "streaming" || message.status === "error")
        ? update(message)
        : message,
    ),
  };
}

/** Fields the server owns; the rest (thinking duration) only this client knows. Timings and the
 * finish reason come from the server once an answer has ended, and never erase local ones. */
function serverFields(message: ChatMessage): Partial<ChatMessage> {
  const {
    id,
    parentId,
    role,
    content,
    thinking,
    status,
    createdAt,
    seq,
    clientId,
    model,
    usage,
    attachments,
    toolCalls,
  } = message;
  return {
    attachments,
    toolCalls,
    id,
    parentId,
    role,
    content,
    thinking,
    status,
    createdAt,
    seq,
    clientId,
    model,
    usage: usage ?? null,
    ...(message.timings ? { timings: message.timings } : {}),
    ...(message.finishReason ? { finishReason: message.finishReason } : {}),
  };
}

function upsertMessage(messages: ChatMessage[], incoming: ChatMessage): ChatMessage[] {
  const index = messages.findIndex(
    (message) =>
      message.id === incoming.id ||
      (incoming.clientId !== null && message.clientId === incoming.clientId && message.role === incoming.role),
  );
  if (index === -1) return sortBySeq([...messages, incoming]);
  const known = messages[index]!;
  const merged = { ...known, ...serverFields(incoming) };
  return sortBySeq(messages.map((message, position) => (position === index ? merged : message)));
}

function sortBySeq(messages: ChatMessage[]): ChatMessage[] {
  return [...messages].sort((a, b) => a.seq - b.seq);
}

/**
 * Merges the REST copy of the conversation. The REST answer may be older than what the
 * socket has applied since it was asked for, so: a message the server reports final wins;
 * a server copy still streaming never replaces the socket's copy; local messages newer
 * than the snapshot's last_seq (or not yet confirmed) are kept; older ones it lacks are gone.
 */
function applyServerDetail(state: ConversationState, detail: ConversationDetail): ConversationState {
  const localById = new Map(state.messages.map((message) => [message.id, message]));
  const serverIds = new Set(detail.messages.map((message) => message.id));
  const serverClientIds = new Set(detail.messages.map((message) => message.client_id).filter(Boolean));
  const fromServer = detail.messages.map((serverMessage) => {
    const incoming = chatMessageFromServer(serverMessage);
    const local = localById.get(incoming.id);
    if (!local) return incoming;
    if (incoming.status === "streaming") return local;
    return { ...local, ...serverFields(incoming) };
  });
  const newerOrUnconfirmed = state.messages.filter((message) => {
    if (
      serverIds.has(message.id) ||
      (message.clientId !== null && message.role === "user" && serverClientIds.has(message.clientId))
    ) {
      return false;
    }
    return message.status === "sending" || message.status === "failed" || message.seq > detail.conversation.last_seq;
  });
  const messages = sortBySeq([...fromServer, ...newerOrUnconfirmed]);
  const activeMessage = messages.find((message) => message.id === state.activeRun?.messageId);
  const activeRun = activeMessage?.status === "streaming" ? state.activeRun : null;
  return {
    ...state,
    conversation: detail.conversation,
    messages,
    activeRun,
    currentLeafId: reconciledLeaf(state, messages, detail.conversation),
  };
}

/** The server's leaf, unless this client's is newer: picked here and not saved yet, or a
 * message the snapshot does not have yet. */
function reconciledLeaf(state: ConversationState, messages: ChatMessage[], conversation: Conversation): string | null {
  const local = messages.find((message) => message.id === state.currentLeafId);
  if (local && (state.leafPending || local.seq > conversation.last_seq)) return local.id;
  const serverLeaf = conversation.current_leaf_id ?? null;
  if (serverLeaf && messages.some((message) => message.id === serverLeaf)) return serverLeaf;
  return local?.id ?? null;
}

function lastUserMessageId(messages: ChatMessage[]): string | null {
  return (
    messages.findLast(
      (message) => message.role === "user" && message.status !== "sending" && message.status !== "failed",
    )?.id ?? null
  );
}

/** The thread shown: the branch ending at `leafId` (default: the newest message's branch). */
export function visibleThread(messages: ChatMessage[], leafId: string | null = null): ChatMessage[] {
  return branchTo(messages, leafId);
}
