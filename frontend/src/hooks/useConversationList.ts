// The sidebar's conversations: cached list at once, then pages from the server, newest first,
// refreshed periodically and whenever a run starts or ends.
import { useCallback, useEffect, useRef, useState } from "react";
import { createConversation, deleteConversation, listConversations, updateConversation } from "../api/rest";
import type { Conversation, ConversationChanges } from "../api/types";
import i18n from "../i18n";
import { forgetConversation, loadConversationList, saveConversationList } from "../state/cache";

const PAGE_SIZE = 30;
const REFRESH_INTERVAL_MS = 15_000;

export interface ConversationList {
  conversations: Conversation[];
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  refresh: () => Promise<void>;
  loadMore: () => Promise<void>;
  create: (settings?: ConversationChanges) => Promise<Conversation>;
  update: (id: string, changes: ConversationChanges) => Promise<Conversation>;
  remove: (id: string) => Promise<void>;
}

function newestFirst(conversations: Conversation[]): Conversation[] {
  return [...conversations].sort((a, b) => b.updated_at.localeCompare(a.updated_at));
}

export function useConversationList(token: string): ConversationList {
  const [conversations, setConversations] = useState<Conversation[]>(loadConversationList);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const pagesLoaded = useRef(0);

  useEffect(() => saveConversationList(conversations), [conversations]);

  /** Re-reads the first page; conversations from later pages that it does not show are kept. */
  const refresh = useCallback(async () => {
    try {
      const page = await listConversations(token, PAGE_SIZE, null);
      setError(null);
      setConversations((previous) => {
        if (pagesLoaded.current <= 1) return page.items;
        const fresh = new Set(page.items.map((item) => item.id));
        const oldest = page.items.at(-1)?.updated_at ?? "";
        const older = previous.filter((item) => !fresh.has(item.id) && item.updated_at < oldest);
        return newestFirst([...page.items, ...older]);
      });
      if (pagesLoaded.current <= 1) {
        pagesLoaded.current = 1;
        setNextCursor(page.next_cursor);
      }
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : i18n.t("sidebar.loadFailed"));
    }
  }, [token]);

  const loadMore = useCallback(async () => {
    if (!nextCursor) return;
    setLoading(true);
    try {
      const page = await listConversations(token, PAGE_SIZE, nextCursor);
      pagesLoaded.current += 1;
      setConversations((previous) => {
        const known = new Set(previous.map((item) => item.id));
        return [...previous, ...page.items.filter((item) => !known.has(item.id))];
      });
      setNextCursor(page.next_cursor);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : i18n.t("sidebar.loadFailed"));
    } finally {
      setLoading(false);
    }
  }, [token, nextCursor]);

  useEffect(() => {
    setLoading(true);
    void refresh().finally(() => setLoading(false));
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void refresh();
    }, REFRESH_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  const replace = useCallback((conversation: Conversation) => {
    setConversations((previous) =>
      newestFirst(previous.map((item) => (item.id === conversation.id ? conversation : item))),
    );
  }, []);

  const create = useCallback(
    async (settings: ConversationChanges = {}) => {
      try {
        const conversation = await createConversation(token, settings);
        setConversations((previous) => [conversation, ...previous.filter((item) => item.id !== conversation.id)]);
        return conversation;
      } catch (caught) {
        setError(caught instanceof Error ? caught.message : i18n.t("sidebar.createFailed"));
        throw caught;
      }
    },
    [token],
  );

  const update = useCallback(
    async (id: string, changes: ConversationChanges) => {
      const conversation = await updateConversation(token, id, changes);
      replace(conversation);
      return conversation;
    },
    [token, replace],
  );

  const remove = useCallback(
    async (id: string) => {
      await deleteConversation(token, id);
      forgetConversation(id);
      setConversations((previous) => previous.filter((item) => item.id !== id));
    },
    [token],
  );

  return { conversations, hasMore: nextCursor !== null, loading, error, refresh, loadMore, create, update, remove };
}
