// REST shapes from /work/shared/CONTRACT.md. The WebSocket frames (and MessagePublic) are
// generated from the backend's schema in protocol.gen.ts; these are the REST-only shapes.
import type { MessagePublic } from "./protocol.gen";

export interface User {
  id: string;
  username: string;
  created_at: string;
  is_admin?: boolean;
}

export interface LoginAnswer {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
}

export interface Conversation {
  id: string;
  title: string;
  model: string | null;
  system_prompt: string;
  created_at: string;
  updated_at: string;
  last_seq: number;
  generating: boolean;
  /** The newest message of the branch last written to or picked (v2). */
  current_leaf_id?: string | null;
  /** Whether answers think first; null leaves it to the model (v2). */
  thinking?: boolean | null;
}

export interface ConversationPage {
  items: Conversation[];
  next_cursor: string | null;
}

/** A file attached to a message (POST /api/files answers one). */
export interface Attachment {
  id: string;
  name: string;
  size: number;
  mime: string;
}

/** A stored message as REST and the socket send it; `attachments` is v2. */
export type ServerMessage = MessagePublic & { attachments?: Attachment[] };

export interface ConversationDetail {
  conversation: Conversation;
  messages: ServerMessage[];
}

export interface ConversationChanges {
  title?: string;
  model?: string | null;
  system_prompt?: string;
  current_leaf_id?: string;
  thinking?: boolean | null;
}

// GET /api/search
export interface SearchHit {
  conversation_id: string;
  message_id: string | null;
  title: string;
  snippet: string;
  created_at: string;
}

export interface SearchAnswer {
  items: SearchHit[];
}

// POST /api/import
export interface ImportAnswer {
  imported: number;
  conversation_ids: string[];
}

export type ExportFormat = "json" | "markdown";

export type ModelState = "available" | "loading" | "loaded" | "failed";

export interface ModelInfo {
  id: string;
  state: ModelState;
  is_default: boolean;
  error: string | null;
  device: string | null;
  dtype: string | null;
  /** Weights in memory while loaded. */
  memory_bytes?: number | null;
  /** 0..1 while loading, by stage. */
  progress?: number | null;
  /** The chat template can turn thinking on and off (`options.thinking`). */
  thinking_toggle?: boolean;
}

export interface ModelList {
  models: ModelInfo[];
  default: string;
}

// GET /api/admin/resources (administrators only).
export interface GpuInfo {
  index: number;
  name: string;
  memory_used_bytes: number;
  memory_total_bytes: number;
  utilization_percent: number | null;
  temperature_c: number | null;
}

export interface HostResources {
  gpus: GpuInfo[];
  cpu: { logical_cores: number; percent: number; process_percent: number; load_average: number[] };
  memory: {
    total_bytes: number;
    available_bytes: number;
    used_bytes: number;
    percent: number;
    process_rss_bytes: number;
  };
  disk: {
    path: string;
    total_bytes: number;
    used_bytes: number;
    free_bytes: number;
    percent: number;
    data_dir_bytes: number;
  };
  models: ModelInfo[];
}

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  samples: number;
}

// GET /api/v1/stats: activity since the server started.
export interface ServerStats {
  started_at: string;
  uptime_s: number;
  requests: {
    total: number;
    client_errors: number;
    server_errors: number;
    success_rate: number | null;
    latency_ms: Percentiles;
  };
  runs: {
    total: number;
    completed: number;
    cancelled: number;
    failed: number;
    interrupted: number;
    success_rate: number | null;
    active: number;
    queued: number;
    ttft_ms: Percentiles;
    tokens_per_s: Percentiles;
  };
  tokens: { generated: number; prompt: number };
}
