// The localStorage cache: the session token, the conversation list, and each open
// conversation's state, so a reload shows everything at once. Every key starts with
// `parley:`, and logout removes them all.
import type { Conversation } from "../api/types";
import i18n from "../i18n";
import type { ConversationState } from "./streamReducer";
import { emptyConversationState } from "./streamReducer";

const PREFIX = "parley:";
const TOKEN_KEY = `${PREFIX}token`;
const CONVERSATION_LIST_KEY = `${PREFIX}conversations`;
const conversationKey = (id: string) => `${PREFIX}conversation:${id}`;
const leafKey = (id: string) => `${PREFIX}leaf:${id}`;
// 2: messages carry attachments, the state its current leaf; 3: messages carry tool calls.
const CACHE_VERSION = 3;

function readJson<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? null : (JSON.parse(raw) as T);
  } catch {
    return null;
  }
}

/** Writes only while a session is active, so nothing is left behind after logout. */
function writeJson(key: string, value: unknown): void {
  if (loadToken() === null) return;
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the cache is an optimisation, the server has everything.
  }
}

export function loadToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token);
}

/** Calls `onEnded` when another tab of this browser logs out (removes the token). */
export function watchSessionEndedElsewhere(onEnded: () => void): () => void {
  const listener = (event: StorageEvent) => {
    if (event.key === TOKEN_KEY && event.newValue === null) onEnded();
    if (event.key === null) onEnded(); // localStorage.clear()
  };
  window.addEventListener("storage", listener);
  return () => window.removeEventListener("storage", listener);
}

/** Removes the token and every cached conversation. */
export function clearAllCachedData(): void {
  // The token first: other tabs write their caches only while it exists, so none can put a
  // conversation back while the rest is being removed.
  localStorage.removeItem(TOKEN_KEY);
  const keys: string[] = [];
  for (let index = 0; index < localStorage.length; index += 1) {
    const key = localStorage.key(index);
    if (key?.startsWith(PREFIX)) keys.push(key);
  }
  for (const key of keys) localStorage.removeItem(key);
}

export function loadConversationList(): Conversation[] {
  return readJson<Conversation[]>(CONVERSATION_LIST_KEY) ?? [];
}

export function saveConversationList(conversations: Conversation[]): void {
  writeJson(CONVERSATION_LIST_KEY, conversations);
}

interface CachedConversation {
  version: number;
  state: Pick<ConversationState, "conversation" | "messages" | "lastSeq" | "currentLeafId">;
}

export function loadConversationState(id: string): ConversationState {
  const cached = readJson<CachedConversation>(conversationKey(id));
  const empty = emptyConversationState(id);
  if (!cached || cached.version !== CACHE_VERSION) return empty;
  // A message still `sending` when the page went away was never confirmed: if the server got
  // it, the REST reconcile brings it back by its client_id.
  const messages = cached.state.messages.map((message) =>
    message.status === "sending"
      ? { ...message, status: "failed" as const, errorMessage: i18n.t("message.notSent") }
      : message,
  );
  return { ...empty, ...cached.state, messages };
}

/** Conversations deleted or gone in this page's life: a late write must not bring them back. */
const forgotten = new Set<string>();

export function saveConversationState(state: ConversationState): void {
  if (forgotten.has(state.conversationId)) return;
  const { conversation, messages, lastSeq, currentLeafId } = state;
  writeJson(conversationKey(state.conversationId), {
    version: CACHE_VERSION,
    state: { conversation, messages, lastSeq, currentLeafId },
  });
}

export function forgetConversation(id: string): void {
  forgotten.add(id);
  localStorage.removeItem(conversationKey(id));
  localStorage.removeItem(leafKey(id));
}

/** Tells this browser's other tabs that the reader picked another branch here. */
export function announceLeaf(conversationId: string, leafId: string): void {
  writeJson(leafKey(conversationId), { leafId, at: Date.now() });
}

/** Calls `onLeaf` when another tab picks a branch of this conversation. */
export function watchLeafElsewhere(conversationId: string, onLeaf: (leafId: string) => void): () => void {
  const listener = (event: StorageEvent) => {
    if (event.key !== leafKey(conversationId) || event.newValue === null) return;
    try {
      const { leafId } = JSON.parse(event.newValue) as { leafId?: unknown };
      if (typeof leafId === "string") onLeaf(leafId);
    } catch {
      // Not ours: ignore.
    }
  };
  window.addEventListener("storage", listener);
  return () => window.removeEventListener("storage", listener);
}
