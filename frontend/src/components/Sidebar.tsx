import { useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import { exportAllConversations, importConversations } from "../api/rest";
import type { ConversationList } from "../hooks/useConversationList";
import type { Conversation } from "../api/types";
import { useLanguage } from "../i18n";
import { saveDownload } from "../lib/download";
import { formatRelativeTime } from "../lib/format";
import { RESOURCES_PATH } from "../lib/router";
import { shortcutKeys } from "../lib/shortcuts";
import { Icon } from "./Icon";
import { LanguagePicker } from "./LanguagePicker";
import "./Sidebar.css";

interface SidebarProps {
  token: string;
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
  onSearch: () => void;
  onShowShortcuts: () => void;
}

export function Sidebar({
  token,
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
  onSearch,
  onShowShortcuts,
}: SidebarProps) {
  const { t } = useTranslation();
  const [filter, setFilter] = useState("");
  const needle = filter.trim().toLowerCase();
  const shown = needle
    ? list.conversations.filter((item) => item.title.toLowerCase().includes(needle))
    : list.conversations;

  return (
    <div className="sidebar-inner">
      <div className="sidebar-top">
        <span className="brand">{t("app.name")}</span>
        <button type="button" className="primary" onClick={onCreate} title={shortcutKeys("newChat").join("+")}>
          {t("sidebar.newChat")}
        </button>
      </div>
      <div className="sidebar-search">
        <label className="visually-hidden" htmlFor="conversation-filter">
          {t("sidebar.filterLabel")}
        </label>
        <input
          id="conversation-filter"
          type="search"
          className="filter"
          placeholder={t("sidebar.filterPlaceholder")}
          value={filter}
          onChange={(event) => setFilter(event.target.value)}
        />
        <button
          type="button"
          className="icon-button"
          aria-label={t("sidebar.searchAll")}
          title={`${t("sidebar.searchAll")} (${shortcutKeys("search").join("+")})`}
          onClick={onSearch}
        >
          <Icon name="search" />
        </button>
      </div>
      {list.error && (
        <p className="form-error" role="alert">
          {list.error}
        </p>
      )}
      <nav aria-label={t("sidebar.conversations")} className="conversation-nav">
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
          <p className="muted empty-list">{needle ? t("sidebar.noMatch") : t("sidebar.empty")}</p>
        )}
        {list.hasMore && (
          <button
            type="button"
            className="secondary load-more"
            onClick={() => void list.loadMore()}
            disabled={list.loading}
          >
            {list.loading ? t("sidebar.loading") : t("sidebar.loadMore")}
          </button>
        )}
      </nav>
      <Library token={token} onImported={() => void list.refresh()} />
      <div className="sidebar-bottom">
        <span className="muted username" title={t("sidebar.signedInAs")}>
          {username ?? ""}
        </span>
        <div className="sidebar-actions">
          <LanguagePicker />
          <button
            type="button"
            className="icon-button"
            aria-label={t("sidebar.shortcuts")}
            title={`${t("sidebar.shortcuts")} (${shortcutKeys("help").join("+")})`}
            onClick={onShowShortcuts}
          >
            <Icon name="keyboard" />
          </button>
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
              {t("sidebar.resources")}
            </a>
          )}
          <button type="button" className="secondary" onClick={onLogout}>
            {t("sidebar.logOut")}
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
  const { t } = useTranslation();
  const language = useLanguage();
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
      setProblem(error instanceof Error ? error.message : t("sidebar.renameFailed"));
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
            aria-label={t("sidebar.newTitle")}
            value={draft}
            maxLength={200}
            autoFocus
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={onRenameKey}
          />
          <button type="button" className="secondary small" onClick={() => void saveTitle()}>
            {t("sidebar.save")}
          </button>
          <button type="button" className="secondary small" onClick={() => setMode("view")}>
            {t("sidebar.cancel")}
          </button>
        </div>
      ) : (
        <button type="button" className="row-open" aria-current={active ? "page" : undefined} onClick={onOpen}>
          <span className="row-title">{conversation.title}</span>
          <span className="row-meta">
            {conversation.generating && (
              <span
                className="generating-dot"
                role="img"
                aria-label={t("sidebar.generating")}
                title={t("sidebar.generatingNow")}
              />
            )}
            {formatRelativeTime(conversation.updated_at, language)}
          </span>
        </button>
      )}
      {mode === "view" && (
        <div className="row-actions">
          <button
            type="button"
            className="icon-button"
            aria-label={t("sidebar.renameNamed", { title: conversation.title })}
            title={t("sidebar.rename")}
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
            aria-label={t("sidebar.deleteNamed", { title: conversation.title })}
            title={t("sidebar.delete")}
            onClick={() => setMode("confirm-delete")}
          >
            <Icon name="trash" />
          </button>
        </div>
      )}
      {mode === "confirm-delete" && (
        <div className="row-confirm" role="group" aria-label={t("sidebar.confirmDeletion")}>
          <span>{t("sidebar.deleteQuestion")}</span>
          <button
            type="button"
            className="danger small"
            onClick={() => void onDelete().catch((error: Error) => setProblem(error.message))}
          >
            {t("sidebar.delete")}
          </button>
          <button type="button" className="secondary small" autoFocus onClick={() => setMode("view")}>
            {t("sidebar.cancel")}
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

/** Every conversation out as one JSON file, and conversations in from a file. */
function Library({ token, onImported }: { token: string; onImported: () => void }) {
  const { t } = useTranslation();
  const picker = useRef<HTMLInputElement | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);

  async function exportAll() {
    try {
      saveDownload(await exportAllConversations(token), "parley-export.json");
      setOutcome(null);
    } catch (error) {
      setOutcome({ ok: false, text: t("sidebar.exportFailed", { message: (error as Error).message }) });
    }
  }

  async function importFile(file: File) {
    setBusy(true);
    setOutcome(null);
    try {
      const answer = await importConversations(token, file);
      setOutcome({ ok: true, text: t("sidebar.imported", { count: answer.imported }) });
      onImported();
    } catch (error) {
      setOutcome({ ok: false, text: t("sidebar.importFailed", { message: (error as Error).message }) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="library">
      <div className="library-actions">
        <button type="button" className="secondary small" onClick={() => void exportAll()}>
          {t("sidebar.exportAll")}
        </button>
        <button type="button" className="secondary small" disabled={busy} onClick={() => picker.current?.click()}>
          {busy ? t("sidebar.importing") : t("sidebar.import")}
        </button>
        <input
          ref={picker}
          type="file"
          accept=".json,.zip,application/json,application/zip"
          hidden
          aria-label={t("sidebar.import")}
          onChange={(event) => {
            const file = event.target.files?.[0];
            event.target.value = "";
            if (file) void importFile(file);
          }}
        />
      </div>
      {outcome && (
        <p className={outcome.ok ? "library-note" : "form-error"} role={outcome.ok ? "status" : "alert"}>
          {outcome.text}
        </p>
      )}
    </div>
  );
}
