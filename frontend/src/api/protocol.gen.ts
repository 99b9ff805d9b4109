/* Generated from shared/protocol.schema.json by scripts/gen-protocol-types.mjs. Do not edit; run `npm run gen:types`. */

export type ClientFrame = AuthFrame | SendFrame | StopFrame | RegenerateFrame | PingFrame;
export type ServerFrame =
  | ReadyFrame
  | PongFrame
  | StatusFrame
  | MessageFrame
  | StartFrame
  | ThinkingFrame
  | ChunkFrame
  | EndFrame
  | ErrorFrame;

export interface ParleyProtocol {
  ClientFrame?: ClientFrame;
  ServerFrame?: ServerFrame;
  MessagePublic?: MessagePublic;
}
export interface AuthFrame {
  type: "auth";
  token: string;
  after_seq?: number | null;
}
export interface SendFrame {
  type: "send";
  content: string;
  client_id: string;
  options?: SendOptions;
  parent_id?: string | null;
  /**
   * @maxItems 10
   */
  attachments?: string[];
}
export interface SendOptions {
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  thinking?: boolean | null;
}
export interface StopFrame {
  type: "stop";
}
export interface RegenerateFrame {
  type: "regenerate";
  options?: SendOptions;
  message_id?: string | null;
}
export interface PingFrame {
  type: "ping";
}
export interface ReadyFrame {
  type: "ready";
  conversation_id: string;
  last_seq: number;
  active_run: ActiveRun | null;
}
export interface ActiveRun {
  run_id: string;
  message_id: string;
}
export interface PongFrame {
  type: "pong";
}
/**
 * Sent while a run waits for its first token; no seq, never replayed.
 */
export interface StatusFrame {
  type: "status";
  state: "queued" | "prefill";
  position?: number | null;
}
export interface MessageFrame {
  type: "message";
  seq: number;
  message: MessagePublic;
}
export interface MessagePublic {
  id: string;
  parent_id: string | null;
  role: "user" | "assistant";
  content: string;
  thinking: string;
  status: "complete" | "streaming" | "cancelled" | "interrupted" | "error";
  created_at: string;
  seq: number;
  usage?: Usage | null;
  client_id?: string | null;
  model?: string | null;
  finish_reason?: ("stop" | "length" | "cancelled") | null;
  timings?: Timings | null;
  attachments?: AttachmentPublic[];
}
export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
}
export interface Timings {
  ttft_ms: number | null;
  tokens_per_s: number | null;
}
/**
 * A file as a message (or an upload's answer) shows it; its text stays on the server.
 */
export interface AttachmentPublic {
  id: string;
  name: string;
  size: number;
  mime: string;
}
export interface StartFrame {
  type: "start";
  seq: number;
  run_id: string;
  message_id: string;
  parent_id?: string | null;
}
export interface ThinkingFrame {
  type: "thinking";
  seq: number;
  content: string;
}
export interface ChunkFrame {
  type: "chunk";
  seq: number;
  content: string;
}
export interface EndFrame {
  type: "end";
  seq: number;
  message_id: string;
  finish_reason: "stop" | "length" | "cancelled";
  usage: Usage;
  timings: Timings;
}
export interface ErrorFrame {
  type: "error";
  seq?: number | null;
  code:
    | "bad_request"
    | "too_long"
    | "rate_limited"
    | "busy"
    | "no_active_run"
    | "model_unavailable"
    | "generation_failed"
    | "interrupted"
    | "internal_error";
  message: string;
  message_id?: string | null;
}
