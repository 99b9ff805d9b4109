// The conversation socket: authenticates with the first frame, resumes with after_seq,
// reconnects with backoff, and reports why it closed for good.
import type { ClientFrame, ServerFrame } from "./protocol.gen";

export type ConnectionState =
  | { kind: "connecting"; attempt: number }
  | { kind: "open" }
  | { kind: "waiting"; attempt: number; retryAt: number }
  | { kind: "closed"; reason: "session_expired" | "not_found" | "stopped" };

export interface SocketCallbacks {
  /** The seq to resume after, read at every (re)connect. */
  afterSeq: () => number;
  onFrame: (frame: ServerFrame) => void;
  onStateChange: (state: ConnectionState) => void;
}

/** Close codes from the contract. */
const CLOSE_POLICY_VIOLATION = 1008; // missing, invalid, expired or revoked token
const CLOSE_SESSION_REVOKED = 4401; // logout elsewhere
const CLOSE_NOT_FOUND = 4404;

const PING_INTERVAL_MS = 25_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15_000;

export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function conversationSocketUrl(conversationId: string, location: Location = window.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws/conversations/${encodeURIComponent(conversationId)}`;
}

export class ConversationSocket {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private ready = false;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly conversationId: string,
    private readonly token: string,
    private readonly callbacks: SocketCallbacks,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Closes this socket and opens a fresh one at once (used after the cache was reset). */
  reconnectNow(): void {
    this.clearTimers();
    this.detach()?.close(1000);
    this.attempt = 0;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.detach()?.close(1000);
    this.callbacks.onStateChange({ kind: "closed", reason: "stopped" });
  }

  /** Open and authenticated: the server has answered `ready`. */
  isOpen(): boolean {
    return this.ready && this.socket?.readyState === WebSocket.OPEN;
  }

  /** Sends a frame if the socket is open; answers whether it went out. */
  send(frame: ClientFrame): boolean {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private connect(): void {
    this.attempt += 1;
    this.ready = false;
    this.callbacks.onStateChange({ kind: "connecting", attempt: this.attempt });
    const socket = new WebSocket(conversationSocketUrl(this.conversationId));
    this.socket = socket;
    socket.onopen = () => {
      socket.send(
        JSON.stringify({ type: "auth", token: this.token, after_seq: this.callbacks.afterSeq() } satisfies ClientFrame),
      );
    };
    socket.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== "string") return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(event.data) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === "ready") {
        this.attempt = 0;
        this.ready = true;
        this.callbacks.onStateChange({ kind: "open" });
        this.startPinging();
      }
      this.callbacks.onFrame(frame);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return; // replaced or stopped already
      this.detach();
      this.clearTimers();
      if (event.code === CLOSE_POLICY_VIOLATION || event.code === CLOSE_SESSION_REVOKED) {
        this.stopped = true;
        this.callbacks.onStateChange({ kind: "closed", reason: "session_expired" });
      } else if (event.code === CLOSE_NOT_FOUND) {
        this.stopped = true;
        this.callbacks.onStateChange({ kind: "closed", reason: "not_found" });
      } else if (!this.stopped) {
        const retryInMs = backoffDelayMs(this.attempt);
        this.callbacks.onStateChange({ kind: "waiting", attempt: this.attempt, retryAt: Date.now() + retryInMs });
        this.retryTimer = setTimeout(() => this.connect(), retryInMs);
      }
    };
  }

  private startPinging(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_INTERVAL_MS);
  }

  private detach(): WebSocket | null {
    const socket = this.socket;
    this.socket = null;
    this.ready = false;
    if (socket) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
    }
    return socket;
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.retryTimer = null;
    this.pingTimer = null;
  }
}
