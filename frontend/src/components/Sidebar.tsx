import { useState, type KeyboardEvent } from "react";
import type { ConversationList } from "../hooks/useConversationList";
import type { Conversation } from "../api/types";
import { formatRelativeTime } from "../lib/format";
import { RESOURCES_PATH } from "../lib/router";
import { Icon } from "./Icon";

interface SidebarProps {
  list: ConversationList;
  activeId: string | null;
  username: string | null;
  /** Administrators get a link to the resources view. */
  isAdmin: boolean;
  resourcesOpen: boolean;
  onOpenResources: () => void;
  onOpen: (id: string) => void;
  onCreate: () => void;
  onDeleted: (id: string) => void;
  onLogout: () => void;
}

export function Sidebar({
  list,
  activeId,
  username,
  isAdmin,
  resourcesOpen,
  onOpenResources,
  onOpen,
  onCreate,
  onDeleted,
  onLogout,
}: SidebarProps) {
  const [filter, setFilter] = useState("");
  const needle = filter.trim().toLowerCase();
  const shown = needle
    ? list.conversations.filter((item) => item.title.toLowerCase().includes(needle))
    : list.conversations;

  return (
    <div className="sidebar-inner">
      <div className="sidebar-top">
        <span className="brand">Parley</span>
        <button type="button" className="primary" onClick={onCreate}>
          New chat
        </button>
      </div>
      <label className="visually-hidden" htmlFor="conversation-filter">
        Filter conversations by title
      </label>
      <input
        id="conversation-filter"
        type="search"
        className="filter"
        placeholder="Filter by title"
        value={filter}
        onChange={(event) => setFilter(event.target.value)}
      />
      {list.error && (
        <p className="form-error" role="alert">
          {list.error}
        </p>
      )}
      <nav aria-label="Conversations" className="conversation-nav">
        <ul className="conversation-list">
          {shown.map((conversation) => (
            <ConversationRow
              key={conversation.id}
              conversation={conversation}
              active={conversation.id === activeId}
              onOpen={() => onOpen(conversation.id)}
              onRename={(title) => list.update(conversation.id, { title })}
              onDelete={async () => {
                await list.remove(conversation.id);
                onDeleted(conversation.id);
              }}
            />
          ))}
        </ul>
        {shown.length === 0 && !list.loading && (
          <p className="muted empty-list">{needle ? "No conversation matches." : "No conversations yet."}</p>
        )}
        {list.hasMore && (
          <button
            type="button"
            className="secondary load-more"
            onClick={() => void list.loadMore()}
            disabled={list.loading}
          >
            {list.loading ? "Loading…" : "Load more"}
          </button>
        )}
      </nav>
      <div className="sidebar-bottom">
        <span className="muted" title="Signed in as">
          {username ?? ""}
        </span>
        <div className="sidebar-actions">
          {isAdmin && (
            <a
              href={RESOURCES_PATH}
              className="button-link secondary"
              aria-current={resourcesOpen ? "page" : undefined}
              onClick={(event) => {
                if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
                event.preventDefault();
                onOpenResources();
              }}
            >
              Resources
            </a>
          )}
          <button type="button" className="secondary" onClick={onLogout}>
            Log out
          </button>
        </div>
      </div>
    </div>
  );
}

interface RowProps {
  conversation: Conversation;
  active: boolean;
  onOpen: () => void;
  onRename: (title: string) => Promise<unknown>;
  onDelete: () => Promise<void>;
}

function ConversationRow({ conversation, active, onOpen, onRename, onDelete }: RowProps) {
  const [mode, setMode] = useState<"view" | "rename" | "confirm-delete">("view");
  const [draft, setDraft] = useState(conversation.title);
  const [problem, setProblem] = useState<string | null>(null);

  async function saveTitle() {
    const title = draft.trim();
    if (!title || title === conversation.title) return setMode("view");
    try {
      await onRename(title);
      setMode("view");
      setProblem(null);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : "Rename failed.");
    }
  }

  function onRenameKey(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "Enter") {
      event.preventDefault();
      void saveTitle();
    } else if (event.key === "Escape") {
      setDraft(conversation.title);
      setMode("view");
    }
  }

  return (
    <li className={`conversation-row${active ? " active" : ""}`}>
      {mode === "rename" ? (
        <div className="row-edit">
          <input
            aria-label="New title"
            value={draft}
            maxLength={200}
            autoFocus
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={onRenameKey}
          />
          <button type="button" className="secondary small" onClick={() => void saveTitle()}>
            Save
          </button>
          <button type="button" className="secondary small" onClick={() => setMode("view")}>
            Cancel
          </button>
        </div>
      ) : (
        <button type="button" className="row-open" aria-current={active ? "page" : undefined} onClick={onOpen}>
          <span className="row-title">{conversation.title}</span>
          <span className="row-meta">
            {conversation.generating && (
              <span className="generating-dot" role="img" aria-label="Generating" title="Generating now" />
            )}
            {formatRelativeTime(conversation.updated_at)}
          </span>
        </button>
      )}
      {mode === "view" && (
        <div className="row-actions">
          <button
            type="button"
            className="icon-button"
            aria-label={`Rename “${conversation.title}”`}
            title="Rename"
            onClick={() => {
              setDraft(conversation.title);
              setMode("rename");
            }}
          >
            <Icon name="pencil" />
          </button>
          <button
            type="button"
            className="icon-button"
            aria-label={`Delete “${conversation.title}”`}
            title="Delete"
            onClick={() => setMode("confirm-delete")}
          >
            <Icon name="trash" />
          </button>
        </div>
      )}
      {mode === "confirm-delete" && (
        <div className="row-confirm" role="group" aria-label="Confirm deletion">
          <span>Delete this conversation?</span>
          <button
            type="button"
            className="danger small"
            onClick={() => void onDelete().catch((error: Error) => setProblem(error.message))}
          >
            Delete
          </button>
          <button type="button" className="secondary small" autoFocus onClick={() => setMode("view")}>
            Cancel
          </button>
        </div>
      )}
      {problem && (
        <p className="form-error" role="alert">
          {problem}
        </p>
      )}
    </li>
  );
}
