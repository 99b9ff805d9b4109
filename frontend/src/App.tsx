import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { onSessionExpired } from "./api/http";
import { fetchCurrentUser, listModels, logout } from "./api/rest";
import type { Attachment, ConversationChanges, ModelList, SearchHit, User } from "./api/types";
import { ChatView } from "./components/ChatView";
import { COMPOSER_ID } from "./components/Composer";
import { LoginPage } from "./components/LoginPage";
import { NewChatView } from "./components/NewChatView";
import { ResourcesView } from "./components/ResourcesView";
import { SIDEBAR_ID } from "./components/MenuButton";
import { SearchDialog } from "./components/SearchDialog";
import { ShortcutsDialog } from "./components/ShortcutsDialog";
import { Sidebar } from "./components/Sidebar";
import type { OutgoingMessage } from "./hooks/useConversationStream";
import { useConversationList } from "./hooks/useConversationList";
import { newClientId } from "./lib/ids";
import { openConversationRoute, openResourcesRoute, useConversationRoute, useResourcesRoute } from "./lib/router";
import { isTypingTarget, shortcutFor } from "./lib/shortcuts";
import {
  clearAllCachedData,
  forgetConversation,
  loadToken,
  saveToken,
  watchSessionEndedElsewhere,
} from "./state/cache";
import "./App.css";

export function App() {
  const { t } = useTranslation();
  const [token, setToken] = useState<string | null>(loadToken);
  const [loginNotice, setLoginNotice] = useState<"expired" | null>(null);

  const endSession = useCallback((notice: "expired" | null) => {
    clearAllCachedData();
    setLoginNotice(notice);
    setToken(null);
    openConversationRoute(null, { replace: true });
  }, []);

  useEffect(() => {
    onSessionExpired(() => endSession("expired"));
    const stopWatching = watchSessionEndedElsewhere(() => endSession(null));
    return () => {
      onSessionExpired(null);
      stopWatching();
    };
  }, [endSession]);

  if (!token) {
    return (
      <LoginPage
        notice={loginNotice === "expired" ? t("app.sessionExpired") : null}
        onLoggedIn={(newToken) => {
          clearAllCachedData();
          saveToken(newToken);
          setToken(newToken);
        }}
      />
    );
  }
  return (
    <ChatApp
      key={token}
      token={token}
      onLogout={async () => {
        await logout(token).catch(() => undefined);
        endSession(null);
      }}
      onSessionExpired={() => endSession("expired")}
    />
  );
}

interface ChatAppProps {
  token: string;
  onLogout: () => Promise<void>;
  onSessionExpired: () => void;
}

type DialogKind = "search" | "shortcuts" | null;

function ChatApp({ token, onLogout, onSessionExpired: sessionExpired }: ChatAppProps) {
  const { t } = useTranslation();
  const conversationId = useConversationRoute();
  const onResources = useResourcesRoute();
  const list = useConversationList(token);
  const [user, setUser] = useState<User | null>(null);
  const [models, setModels] = useState<ModelList | null | "unavailable">(null);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [dialog, setDialog] = useState<DialogKind>(null);
  const [firstMessage, setFirstMessage] = useState<{ conversationId: string; message: OutgoingMessage } | null>(null);
  const [target, setTarget] = useState<{ conversationId: string; messageId: string } | null>(null);
  const composerRef = useRef<HTMLTextAreaElement | null>(null);

  // The drawer takes the focus when it opens and gives it back to the menu button on Escape.
  const sidebarRef = useRef<HTMLElement | null>(null);
  useEffect(() => {
    if (!sidebarOpen) return;
    sidebarRef.current?.querySelector("button")?.focus();
    const closeOnEscape = (event: KeyboardEvent) => {
      if (event.key !== "Escape" || dialog) return;
      setSidebarOpen(false);
      document.querySelector<HTMLButtonElement>(".main .menu-button")?.focus();
    };
    window.addEventListener("keydown", closeOnEscape);
    return () => window.removeEventListener("keydown", closeOnEscape);
  }, [sidebarOpen, dialog]);

  useEffect(() => {
    fetchCurrentUser(token).then(setUser, () => undefined);
    listModels(token).then(setModels, () => setModels("unavailable"));
  }, [token]);

  const open = useCallback((id: string | null) => {
    openConversationRoute(id);
    setSidebarOpen(false);
  }, []);

  const startNewChat = useCallback(() => {
    open(null);
    // The new chat's composer exists after this render.
    setTimeout(() => document.getElementById(COMPOSER_ID)?.focus());
  }, [open]);

  // The app-wide shortcuts (Esc to stop lives in the chat view, which knows about the run).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented) return;
      const shortcut = shortcutFor({
        key: event.key,
        ctrlKey: event.ctrlKey,
        metaKey: event.metaKey,
        shiftKey: event.shiftKey,
        altKey: event.altKey,
        typing: isTypingTarget(event.target),
      });
      if (!shortcut || shortcut === "stop") return;
      if (dialog && shortcut !== "help" && shortcut !== "search") return;
      event.preventDefault();
      if (shortcut === "newChat") startNewChat();
      else if (shortcut === "focusComposer") document.getElementById(COMPOSER_ID)?.focus();
      else if (shortcut === "search") setDialog("search");
      else setDialog("shortcuts");
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [dialog, startNewChat]);

  async function startConversation(
    content: string,
    attachments: Attachment[],
    settings: ConversationChanges,
  ): Promise<string | null> {
    try {
      const conversation = await list.create(settings);
      setFirstMessage({ conversationId: conversation.id, message: { content, attachments, clientId: newClientId() } });
      openConversationRoute(conversation.id, { replace: true });
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  function openHit(hit: SearchHit) {
    setDialog(null);
    if (hit.message_id) setTarget({ conversationId: hit.conversation_id, messageId: hit.message_id });
    open(hit.conversation_id);
  }

  const onTargetShown = useCallback(() => setTarget(null), []);
  const listed = list.conversations.find((item) => item.id === conversationId) ?? null;

  return (
    <div className={`app${sidebarOpen ? " sidebar-open" : ""}`}>
      <aside className="sidebar" id={SIDEBAR_ID} aria-label={t("sidebar.label")} ref={sidebarRef}>
        <Sidebar
          token={token}
          list={list}
          activeId={conversationId}
          username={user?.username ?? null}
          isAdmin={user?.is_admin === true}
          resourcesOpen={onResources}
          onOpenResources={() => {
            openResourcesRoute();
            setSidebarOpen(false);
          }}
          onOpen={open}
          onCreate={startNewChat}
          onDeleted={(id) => id === conversationId && open(null)}
          onLogout={() => void onLogout()}
          onSearch={() => setDialog("search")}
          onShowShortcuts={() => setDialog("shortcuts")}
        />
      </aside>
      {sidebarOpen && <div className="scrim" aria-hidden="true" onClick={() => setSidebarOpen(false)} />}
      <main className="main">
        {onResources ? (
          <ResourcesView
            token={token}
            user={user}
            sidebarOpen={sidebarOpen}
            onToggleSidebar={() => setSidebarOpen(!sidebarOpen)}
          />
        ) : conversationId ? (
          <ChatView
            key={conversationId}
            conversationId={conversationId}
            token={token}
            listed={listed}
            models={models}
            onUpdate={(changes) => list.update(conversationId, changes)}
            sidebarOpen={sidebarOpen}
            onToggleSidebar={() => setSidebarOpen(!sidebarOpen)}
            onSessionExpired={sessionExpired}
            onNotFound={() => {
              forgetConversation(conversationId);
              open(null);
              void list.refresh();
            }}
            onRunActivity={() => void list.refresh()}
            firstMessage={firstMessage?.conversationId === conversationId ? firstMessage.message : null}
            target={target?.conversationId === conversationId ? target.messageId : null}
            onTargetShown={onTargetShown}
            composerRef={composerRef}
          />
        ) : (
          <NewChatView
            token={token}
            models={models}
            sidebarOpen={sidebarOpen}
            onToggleSidebar={() => setSidebarOpen(!sidebarOpen)}
            onStart={startConversation}
            composerRef={composerRef}
          />
        )}
      </main>
      {dialog === "search" && <SearchDialog token={token} onOpen={openHit} onClose={() => setDialog(null)} />}
      {dialog === "shortcuts" && <ShortcutsDialog onClose={() => setDialog(null)} />}
    </div>
  );
}
