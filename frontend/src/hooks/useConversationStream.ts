// One open conversation: cached state at once, the socket (resume with after_seq), the
// REST reconcile after every (re)connect, and the cache written as the state changes.
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { ApiError } from "../api/http";
import { fetchConversation } from "../api/rest";
import { ConversationSocket, type ConnectionState } from "../api/socket";
import type { ServerFrame } from "../api/protocol.gen";
import { loadConversationState, saveConversationState } from "../state/cache";
import { streamReducer, type ConversationState, type StreamAction } from "../state/streamReducer";
import { newClientId } from "../lib/ids";

const CACHE_WRITE_INTERVAL_MS = 300;
const FRAME_BATCH_MS = 30;

export interface ConversationStream {
  state: ConversationState;
  connection: ConnectionState;
  dispatch: (action: StreamAction) => void;
  send: (content: string) => void;
  stop: () => void;
  regenerate: () => void;
  /** Sends a failed message again, with its client_id: the server never stores it twice. */
  retry: (clientId: string) => void;
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
            if (message.status === "sending" && message.clientId) {
              socket.send({ type: "send", content: message.content, client_id: message.clientId, options: {} });
            }
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

  const transmit = useCallback((clientId: string, content: string) => {
    const sent = socketRef.current?.send({ type: "send", content, client_id: clientId, options: {} }) ?? false;
    if (!sent) dispatch({ type: "sendFailed", clientId, message: "Not connected: the message was not sent." });
  }, []);

  const send = useCallback(
    (content: string) => {
      const clientId = newClientId();
      dispatch({ type: "sendQueued", clientId, content, createdAt: new Date().toISOString() });
      transmit(clientId, content);
    },
    [transmit],
  );

  const retry = useCallback(
    (clientId: string) => {
      const message = stateRef.current.messages.find((item) => item.clientId === clientId && item.status === "failed");
      if (!message) return;
      dispatch({ type: "sendRetried", clientId });
      transmit(clientId, message.content);
    },
    [transmit],
  );

  const stop = useCallback(() => {
    socketRef.current?.send({ type: "stop" });
  }, []);

  const regenerate = useCallback(() => {
    socketRef.current?.send({ type: "regenerate", options: {} });
  }, []);

  return { state, connection, dispatch, send, stop, regenerate, retry };
}
