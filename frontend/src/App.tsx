import { useCallback, useEffect, useRef, useState } from "react";
import { onSessionExpired } from "./api/http";
import { fetchCurrentUser, listModels, logout } from "./api/rest";
import type { ModelList, User } from "./api/types";
import { ChatView } from "./components/ChatView";
import { LoginPage } from "./components/LoginPage";
import { ResourcesView } from "./components/ResourcesView";
import { MenuButton, SIDEBAR_ID } from "./components/MenuButton";
import { Sidebar } from "./components/Sidebar";
import { useConversationList } from "./hooks/useConversationList";
import { openConversationRoute, openResourcesRoute, useConversationRoute, useResourcesRoute } from "./lib/router";
import {
  clearAllCachedData,
  forgetConversation,
  loadToken,
  saveToken,
  watchSessionEndedElsewhere,
} from "./state/cache";

const SESSION_EXPIRED = "Your session has ended. Please log in again.";

export function App() {
  const [token, setToken] = useState<string | null>(loadToken);
  const [loginNotice, setLoginNotice] = useState<string | null>(null);

  const endSession = useCallback((notice: string | null) => {
    clearAllCachedData();
    setLoginNotice(notice);
    setToken(null);
    openConversationRoute(null, { replace: true });
  }, []);

  useEffect(() => {
    onSessionExpired(() => endSession(SESSION_EXPIRED));
    const stopWatching = watchSessionEndedElsewhere(() => endSession(null));
    return () => {
      onSessionExpired(null);
      stopWatching();
    };
  }, [endSession]);

  if (!token) {
    return (
      <LoginPage
        notice={loginNotice}
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
      onSessionExpired={() => endSession(SESSION_EXPIRED)}
    />
  );
}

interface ChatAppProps {
  token: string;
  onLogout: () => Promise<void>;
  onSessionExpired: () => void;
}

function ChatApp({ token, onLogout, onSessionExpired: sessionExpired }: ChatAppProps) {
  const conversationId = useConversationRoute();
  const onResources = useResourcesRoute();
  const list = useConversationList(token);
  const [user, setUser] = useState<User | null>(null);
  const [models, setModels] = useState<ModelList | null | "unavailable">(null);
  const [sidebarOpen, setSidebarOpen] = useState(false);

  // The drawer takes the focus when it opens and gives it back to the menu button on Escape.
  const sidebarRef = useRef<HTMLElement | null>(null);
  useEffect(() => {
    if (!sidebarOpen) return;
    sidebarRef.current?.querySelector("button")?.focus();
    const closeOnEscape = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      setSidebarOpen(false);
      document.querySelector<HTMLButtonElement>(".main .menu-button")?.focus();
    };
    window.addEventListener("keydown", closeOnEscape);
    return () => window.removeEventListener("keydown", closeOnEscape);
  }, [sidebarOpen]);

  useEffect(() => {
    fetchCurrentUser(token).then(setUser, () => undefined);
    listModels(token).then(setModels, () => setModels("unavailable"));
  }, [token]);

  const open = (id: string | null) => {
    openConversationRoute(id);
    setSidebarOpen(false);
  };

  async function createAndOpen() {
    try {
      open((await list.create()).id);
    } catch {
      // useConversationList shows the error in the sidebar.
    }
  }

  const listed = list.conversations.find((item) => item.id === conversationId) ?? null;

  return (
    <div className={`app${sidebarOpen ? " sidebar-open" : ""}`}>
      <aside className="sidebar" id={SIDEBAR_ID} aria-label="Conversation list" ref={sidebarRef}>
        <Sidebar
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
          onCreate={() => void createAndOpen()}
          onDeleted={(id) => id === conversationId && open(null)}
          onLogout={() => void onLogout()}
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
          />
        ) : (
          <section className="welcome" aria-labelledby="welcome-title">
            <header className="chat-header">
              <MenuButton expanded={sidebarOpen} onClick={() => setSidebarOpen(!sidebarOpen)} />
              <h1 id="welcome-title" className="chat-title">
                Parley
              </h1>
            </header>
            <div className="welcome-body">
              <p>Pick a conversation, or start a new one.</p>
              <button type="button" className="primary" onClick={() => void createAndOpen()}>
                New chat
              </button>
            </div>
          </section>
        )}
      </main>
    </div>
  );
}
