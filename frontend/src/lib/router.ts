// Two routes: `/` and `/c/<conversation id>`. The server falls back to index.html for both.
import { useEffect, useState } from "react";

const CONVERSATION_PATH = /^\/c\/([^/]+)\/?$/;

function conversationIdFromPath(pathname: string): string | null {
  const match = CONVERSATION_PATH.exec(pathname);
  return match ? decodeURIComponent(match[1]!) : null;
}

const listeners = new Set<() => void>();

export function openConversationRoute(id: string | null, { replace = false } = {}): void {
  const path = id ? `/c/${encodeURIComponent(id)}` : "/";
  if (path === window.location.pathname) return;
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  for (const listener of listeners) listener();
}

export function useConversationRoute(): string | null {
  const [conversationId, setConversationId] = useState(() => conversationIdFromPath(window.location.pathname));
  useEffect(() => {
    const update = () => setConversationId(conversationIdFromPath(window.location.pathname));
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return conversationId;
}
