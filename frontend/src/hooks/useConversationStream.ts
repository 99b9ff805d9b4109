// One open conversation: cached state at once, the socket (resume with after_seq), the
// REST reconcile after every (re)connect, and the cache written as the state changes.
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { ApiError } from "../api/http";
import { fetchConversation, updateConversation } from "../api/rest";
import { ConversationSocket, type ConnectionState } from "../api/socket";
import type { ClientFrame, ServerFrame } from "../api/protocol.gen";
import type { Attachment } from "../api/types";
import i18n from "../i18n";
import { announceLeaf, loadConversationState, saveConversationState, watchLeafElsewhere } from "../state/cache";
import {
  streamReducer,
  visibleThread,
  type ChatMessage,
  type ConversationState,
  type StreamAction,
} from "../state/streamReducer";
import { newClientId } from "../lib/ids";

const CACHE_WRITE_INTERVAL_MS = 300;
const FRAME_BATCH_MS = 30;

export interface OutgoingMessage {
  content: string;
  attachments?: Attachment[];
  /** A fixed client_id (the first message of a new chat, queued before the socket opens). */
  clientId?: string;
}

export interface ConversationStream {
  state: ConversationState;
  connection: ConnectionState;
  dispatch: (action: StreamAction) => void;
  /** Continues the branch shown; sent once the socket is open. */
  send: (message: OutgoingMessage) => void;
  /** Edit and resend: a new version of a user message, on a branch of its own. */
  resend: (original: ChatMessage, content: string) => void;
  stop: () => void;
  /** A new answer beside `messageId` (an assistant message). */
  regenerate: (messageId: string) => void;
  /** Sends a failed message again, with its client_id: the server never stores it twice. */
  retry: (clientId: string) => void;
  /** Shows the branch ending at `leafId` here, in this browser's other tabs, and after a reload. */
  chooseBranch: (leafId: string) => void;
}

interface StreamHandlers {
  onSessionExpired: () => void;
  onNotFound: () => void;
  /** A run started, ended or failed here: the conversation list should refresh. */
  onRunActivity: () => void;
}

const RUN_BOUNDARY_FRAMES = new Set<ServerFrame["type"]>(["start", "end", "error"]);

export function useConversationStream(
  conversationId: string,
  token: string,
  handlers: StreamHandlers,
): ConversationStream {
  const [state, dispatch] = useReducer(streamReducer, conversationId, loadConversationState);
  const [connection, setConnection] = useState<ConnectionState>({ kind: "connecting", attempt: 1 });
  const stateRef = useRef(state);
  stateRef.current = state;
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;
  const socketRef = useRef<ConversationSocket | null>(null);

  const reconcile = useCallback(async () => {
    try {
      dispatch({ type: "loaded", detail: await fetchConversation(token, conversationId) });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) handlersRef.current.onNotFound();
      // Other failures: the cached state stays, the next reconnect tries again.
    }
  }, [token, conversationId]);

  useEffect(() => {
    // Frames are applied in batches, one render per batch, not one per token.
    let batch: StreamAction[] = [];
    let batchTimer: ReturnType<typeof setTimeout> | null = null;
    const applyBatch = () => {
      batchTimer = null;
      const actions = batch;
      batch = [];
      for (const action of actions) dispatch(action);
    };

    const socket = new ConversationSocket(conversationId, token, {
      afterSeq: () => stateRef.current.lastSeq,
      onFrame: (frame) => {
        batch.push({ type: "frame", frame, receivedAt: Date.now() });
        batchTimer ??= setTimeout(applyBatch, FRAME_BATCH_MS);
        if (frame.type === "ready") {
          void reconcile();
          // Messages sent just before the connection dropped: the server answers a client_id
          // it already has with the original message event, so resending is safe.
          for (const message of stateRef.current.messages) {
            if (message.status === "sending") socket.send(sendFrame(message));
          }
        }
        if (RUN_BOUNDARY_FRAMES.has(frame.type)) handlersRef.current.onRunActivity();
      },
      onStateChange: (next) => {
        setConnection(next);
        if (next.kind === "closed" && next.reason === "session_expired") handlersRef.current.onSessionExpired();
        if (next.kind === "closed" && next.reason === "not_found") handlersRef.current.onNotFound();
      },
    });
    socketRef.current = socket;
    socket.start();
    return () => {
      socket.stop();
      socketRef.current = null;
      // Frames not applied yet are replayed (after_seq) the next time this conversation opens.
      if (batchTimer) clearTimeout(batchTimer);
    };
  }, [conversationId, token, reconcile]);

  // The server lost events this client had: start over from the server's state.
  useEffect(() => {
    if (!state.resyncNeeded) return;
    dispatch({ type: "resyncStarted" });
    socketRef.current?.reconnectNow();
  }, [state.resyncNeeded]);

  // Write the cache at most every CACHE_WRITE_INTERVAL_MS while streaming, and on leaving.
  useEffect(() => {
    const timer = setTimeout(() => saveConversationState(stateRef.current), CACHE_WRITE_INTERVAL_MS);
    return () => clearTimeout(timer);
  }, [state]);
  useEffect(() => {
    const flush = () => saveConversationState(stateRef.current);
    window.addEventListener("pagehide", flush);
    return () => {
      window.removeEventListener("pagehide", flush);
      flush();
    };
  }, []);

  // Another tab of this browser picked a branch: show the same one.
  useEffect(
    () => watchLeafElsewhere(conversationId, (leafId) => dispatch({ type: "branchSynced", leafId })),
    [conversationId],
  );

  /** Sends a queued message now, or leaves it queued for the next `ready` when the socket is not open. */
  const transmit = useCallback((clientId: string) => {
    const socket = socketRef.current;
    const message = stateRef.current.messages.find((item) => item.clientId === clientId && item.role === "user");
    if (!socket || message?.status !== "sending") return;
    if (socket.isOpen()) socket.send(sendFrame(message));
  }, []);

  const queue = useCallback(
    (content: string, parentId: string | null, attachments: Attachment[], clientId: string = newClientId()) => {
      const action: StreamAction = {
        type: "sendQueued",
        clientId,
        content,
        createdAt: new Date().toISOString(),
        parentId,
        attachments,
      };
      // Applied at once (not batched), so `transmit` finds the message in the state it reads.
      stateRef.current = streamReducer(stateRef.current, action);
      dispatch(action);
      transmit(clientId);
    },
    [transmit],
  );

  const send = useCallback(
    ({ content, attachments = [], clientId }: OutgoingMessage) =>
      queue(content, lastConfirmedId(stateRef.current), attachments, clientId),
    [queue],
  );

  const resend = useCallback(
    (original: ChatMessage, content: string) => queue(content, original.parentId, original.attachments),
    [queue],
  );

  const retry = useCallback(
    (clientId: string) => {
      const message = stateRef.current.messages.find((item) => item.clientId === clientId && item.status === "failed");
      if (!message) return;
      const action: StreamAction = { type: "sendRetried", clientId };
      stateRef.current = streamReducer(stateRef.current, action);
      dispatch(action);
      if (!socketRef.current?.isOpen()) {
        dispatch({ type: "sendFailed", clientId, message: i18n.t("message.notConnected") });
        return;
      }
      transmit(clientId);
    },
    [transmit],
  );

  const stop = useCallback(() => {
    socketRef.current?.send({ type: "stop" });
  }, []);

  const regenerate = useCallback((messageId: string) => {
    socketRef.current?.send({ type: "regenerate", message_id: messageId });
  }, []);

  const chooseBranch = useCallback(
    (leafId: string) => {
      dispatch({ type: "branchChosen", leafId });
      announceLeaf(conversationId, leafId);
      updateConversation(token, conversationId, { current_leaf_id: leafId }).then(
        () => dispatch({ type: "branchSaved", leafId }),
        // Not saved: this tab keeps showing it; the next reconnect asks the server again.
        () => undefined,
      );
    },
    [token, conversationId],
  );

  return { state, connection, dispatch, send, resend, stop, regenerate, retry, chooseBranch };
}

/** The message a new one continues: the end of the branch shown, past messages not sent. */
function lastConfirmedId(state: ConversationState): string | null {
  const thread = visibleThread(state.messages, state.currentLeafId);
  return thread.findLast((message) => message.status !== "sending" && message.status !== "failed")?.id ?? null;
}

function sendFrame(message: ChatMessage): ClientFrame {
  return {
    type: "send",
    content: message.content,
    client_id: message.clientId ?? "",
    parent_id: message.parentId,
    ...(message.attachments.length ? { attachments: message.attachments.map((file) => file.id) } : {}),
  };
}
