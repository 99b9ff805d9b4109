// Three routes: `/`, `/c/<conversation id>` and `/admin/resources`. The server falls back to
// index.html for all of them.
import { useEffect, useState } from "react";

const CONVERSATION_PATH = /^\/c\/([^/]+)\/?$/;
export const RESOURCES_PATH = "/admin/resources";

function conversationIdFromPath(pathname: string): string | null {
  const match = CONVERSATION_PATH.exec(pathname);
  return match ? decodeURIComponent(match[1]!) : null;
}

export function isResourcesPath(pathname: string): boolean {
  return pathname.replace(/\/+$/, "") === RESOURCES_PATH;
}

const listeners = new Set<() => void>();

function navigate(path: string, replace: boolean): void {
  if (path === window.location.pathname) return;
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  for (const listener of listeners) listener();
}

export function openConversationRoute(id: string | null, { replace = false } = {}): void {
  navigate(id ? `/c/${encodeURIComponent(id)}` : "/", replace);
}

export function openResourcesRoute(): void {
  navigate(RESOURCES_PATH, false);
}

function usePathname(): string {
  const [pathname, setPathname] = useState(() => window.location.pathname);
  useEffect(() => {
    const update = () => setPathname(window.location.pathname);
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return pathname;
}

export function useConversationRoute(): string | null {
  return conversationIdFromPath(usePathname());
}

export function useResourcesRoute(): boolean {
  return isResourcesPath(usePathname());
}
