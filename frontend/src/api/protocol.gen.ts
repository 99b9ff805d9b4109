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
  | ToolCallFrame
  | ToolResultFrame
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
  response_format?: ResponseFormat | null;
}
/**
 * What the answer must be, in OpenAI's shape: `text` (anything), `json_object` (a JSON
 * object) or `json_schema` (JSON valid against the schema given).
 */
export interface ResponseFormat {
  type: "text" | "json_object" | "json_schema";
  json_schema?: JsonSchemaFormat | null;
}
/**
 * OpenAI's `json_schema` response format: the answer is JSON valid against `schema`.
 */
export interface JsonSchemaFormat {
  name?: string;
  description?: string | null;
  schema: {
    [k: string]: unknown;
  };
  strict?: boolean | null;
  [k: string]: unknown;
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
  finish_reason?: ("stop" | "length" | "cancelled" | "tool_calls") | null;
  timings?: Timings | null;
  attachments?: AttachmentPublic[];
  tool_calls?: ToolCallRecord[];
}
export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  cached_tokens?: number;
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
/**
 * One tool call of an answer as stored and replayed; `content_offset` is the length of the
 * answer's `content` when the call was made, so a client can place it in the text.
 */
export interface ToolCallRecord {
  call_id: string;
  name: string;
  arguments: string;
  result?: string | null;
  is_error?: boolean;
  content_offset: number;
  duration_ms?: number | null;
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
/**
 * The model called a tool; the server runs it and sends its `tool_result`.
 */
export interface ToolCallFrame {
  type: "tool_call";
  seq: number;
  message_id: string;
  call_id: string;
  name: string;
  arguments: string;
}
export interface ToolResultFrame {
  type: "tool_result";
  seq: number;
  call_id: string;
  content: string;
  is_error: boolean;
  duration_ms?: number | null;
}
export interface EndFrame {
  type: "end";
  seq: number;
  message_id: string;
  finish_reason: "stop" | "length" | "cancelled" | "tool_calls";
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
