// REST shapes from /work/shared/CONTRACT.md. The WebSocket frames (and MessagePublic) are
// generated from the backend's schema in protocol.gen.ts; these are the REST-only shapes.
import type { MessagePublic } from "./protocol.gen";

export interface User {
  id: string;
  username: string;
  created_at: string;
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
}

export interface ConversationPage {
  items: Conversation[];
  next_cursor: string | null;
}

export interface ConversationDetail {
  conversation: Conversation;
  messages: MessagePublic[];
}

export interface ConversationChanges {
  title?: string;
  model?: string | null;
  system_prompt?: string;
}

export type ModelState = "available" | "loading" | "loaded" | "failed";

export interface ModelInfo {
  id: string;
  state: ModelState;
  is_default: boolean;
  error: string | null;
  device: string | null;
  dtype: string | null;
}

export interface ModelList {
  models: ModelInfo[];
  default: string;
}
