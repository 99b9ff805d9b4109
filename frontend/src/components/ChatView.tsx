import { useEffect, useLayoutEffect, useRef, useState, type RefObject } from "react";
import { useTranslation } from "react-i18next";
import { exportConversation } from "../api/rest";
import type { ConnectionState } from "../api/socket";
import type { Conversation, ConversationChanges, ExportFormat, ModelList } from "../api/types";
import { useAttachments } from "../hooks/useAttachments";
import { useConversationStream, type OutgoingMessage } from "../hooks/useConversationStream";
import { saveDownload } from "../lib/download";
import { isTypingTarget, shortcutFor } from "../lib/shortcuts";
import { newestLeafUnder, siblingsOf } from "../state/branches";
import { visibleThread, type ChatMessage } from "../state/streamReducer";
import { ChatLayout } from "./ChatLayout";
import { COMPOSER_ID, Composer } from "./Composer";
import { Icon } from "./Icon";
import { MessageItem, type Versions } from "./MessageItem";
import { ModelPicker, ThinkingToggle, chosenModel, supportsThinkingToggle } from "./ModelPicker";
import { SystemPromptEditor } from "./SystemPromptEditor";
import { ToolsPicker } from "./ToolsPicker";
import "./ChatView.css";

interface ChatViewProps {
  conversationId: string;
  token: string;
  /** The list's copy, shown until the conversation itself is loaded. */
  listed: Conversation | null;
  models: ModelList | null | "unavailable";
  onUpdate: (changes: ConversationChanges) => Promise<Conversation>;
  sidebarOpen: boolean;
  onToggleSidebar: () => void;
  onSessionExpired: () => void;
  onNotFound: () => void;
  onRunActivity: () => void;
  /** The first message of a chat created for it: sent as soon as the socket is ready. */
  firstMessage: OutgoingMessage | null;
  /** A message to scroll to (a search result), showing its branch. */
  target: string | null;
  onTargetShown: () => void;
  composerRef: RefObject<HTMLTextAreaElement | null>;
}

export function ChatView(props: ChatViewProps) {
  const { conversationId, token, listed, models, onUpdate, firstMessage, target, onTargetShown } = props;
  const { t } = useTranslation();
  const stream = useConversationStream(conversationId, token, {
    onSessionExpired: props.onSessionExpired,
    onNotFound: props.onNotFound,
    onRunActivity: props.onRunActivity,
  });
  const { state, connection, dispatch, send, resend, stop, regenerate, retry, chooseBranch } = stream;
  const attachments = useAttachments(token);
  const [editingPrompt, setEditingPrompt] = useState(false);
  const [settingsProblem, setSettingsProblem] = useState<string | null>(null);
  const conversation = newerConversation(state.conversation, listed);
  const thread = visibleThread(state.messages, state.currentLeafId);
  const generating = state.activeRun !== null;
  const connected = connection.kind === "open";
  const canWrite = connected && !generating;
  // Announced to screen readers only for runs seen in this view, not on opening an old chat.
  const [answeredHere, setAnsweredHere] = useState(false);
  if (generating && !answeredHere) setAnsweredHere(true);

  useEffect(() => {
    if (firstMessage) send(firstMessage);
  }, [firstMessage, send]);

  // A search result: show the branch holding the message, then scroll to it (MessageItem).
  const [highlighted, setHighlighted] = useState<string | null>(null);
  useEffect(() => {
    if (!target || !state.messages.some((message) => message.id === target)) return;
    if (!thread.some((message) => message.id === target)) chooseBranch(newestLeafUnder(state.messages, target));
    setHighlighted(target);
    onTargetShown();
  }, [target, state.messages, thread, chooseBranch, onTargetShown]);
  useEffect(() => {
    if (!highlighted) return;
    const timer = setTimeout(() => setHighlighted(null), 2500);
    return () => clearTimeout(timer);
  }, [highlighted]);

  // Esc stops the answer being written (not while a dialog, the drawer or another field has it).
  useEffect(() => {
    if (!generating) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || document.querySelector("dialog[open], .app.sidebar-open")) return;
      const inOtherField = isTypingTarget(event.target) && (event.target as HTMLElement).id !== COMPOSER_ID;
      if (inOtherField) return;
      const shortcut = shortcutFor({ ...keyPress(event), typing: false });
      if (shortcut !== "stop") return;
      event.preventDefault();
      stop();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [generating, stop]);

  async function save(changes: ConversationChanges) {
    dispatch({ type: "conversationChanged", conversation: await onUpdate(changes) });
  }

  async function change(changes: ConversationChanges) {
    try {
      await save(changes);
      setSettingsProblem(null);
      return true;
    } catch (error) {
      setSettingsProblem(error instanceof Error ? error.message : t("chat.notSaved"));
      return false;
    }
  }

  async function download(format: ExportFormat) {
    try {
      const file = await exportConversation(token, conversationId, format);
      saveDownload(file, `${conversation?.title ?? "conversation"}.${format === "json" ? "json" : "md"}`);
      setSettingsProblem(null);
    } catch (error) {
      setSettingsProblem(
        t("sidebar.exportFailed", { message: error instanceof Error ? error.message : String(error) }),
      );
    }
  }

  function versionsOf(message: ChatMessage): Versions | null {
    const siblings = siblingsOf(state.messages, message);
    if (siblings.length < 2) return null;
    const index = siblings.findIndex((sibling) => sibling.id === message.id);
    return {
      index,
      count: siblings.length,
      onPick: (offset) => {
        const picked = siblings[index + offset];
        if (picked && !generating) chooseBranch(newestLeafUnder(state.messages, picked.id));
      },
    };
  }

  const scroller = useStickToBottom(state.messages);

  const title = conversation?.title;
  useEffect(() => {
    document.title = title ? `${title} · Parley` : "Parley";
    return () => {
      document.title = "Parley";
    };
  }, [title]);

  const model = chosenModel(models, conversation?.model ?? null);

  return (
    <ChatLayout
      title={conversation?.title ?? t("chat.conversation")}
      sidebarOpen={props.sidebarOpen}
      onToggleSidebar={props.onToggleSidebar}
      onFiles={attachments.add}
      controls={
        <>
          <ModelPicker
            models={models}
            value={conversation?.model ?? null}
            disabled={!conversation}
            onChange={(id) => void change({ model: id })}
          />
          {supportsThinkingToggle(model) && (
            <ThinkingToggle
              value={conversation?.thinking ?? null}
              disabled={!conversation}
              onChange={(thinking) => void change({ thinking })}
            />
          )}
          <button
            type="button"
            className="secondary"
            aria-expanded={editingPrompt}
            aria-controls="system-prompt-editor"
            onClick={() => setEditingPrompt(!editingPrompt)}
          >
            {t("chat.systemPrompt")}
          </button>
          <ExportMenu onExport={(format) => void download(format)} />
        </>
      }
      banners={
        <>
          {editingPrompt && conversation && (
            <SystemPromptEditor
              id="system-prompt-editor"
              initial={conversation.system_prompt}
              onSave={async (systemPrompt) => {
                if (await change({ system_prompt: systemPrompt })) setEditingPrompt(false);
              }}
              onCancel={() => setEditingPrompt(false)}
            />
          )}
          {settingsProblem && (
            <p className="banner error" role="alert">
              {settingsProblem}
            </p>
          )}
          <ConnectionBanner connection={connection} />
          <p className="visually-hidden" role="status">
            {generating ? t("chat.answering") : answeredHere ? t("chat.answerComplete") : ""}
          </p>
        </>
      }
      composer={
        <>
          {state.notice && (
            <div className="banner error" role="alert">
              <span>{state.notice.message}</span>
              <button
                type="button"
                className="icon-button"
                aria-label={t("chat.dismiss")}
                onClick={() => dispatch({ type: "noticeDismissed" })}
              >
                <Icon name="close" />
              </button>
            </div>
          )}
          <Composer
            generating={generating}
            connected={connected}
            attachments={attachments}
            inputRef={props.composerRef}
            onSend={(content, files) => send({ content, attachments: files })}
            onStop={stop}
            tools={
              <ToolsPicker
                token={token}
                chosen={conversation?.tools ?? []}
                disabled={!conversation}
                onSave={(tools) => save({ tools })}
              />
            }
          />
        </>
      }
    >
      <div className="messages" ref={scroller}>
        {thread.length === 0 ? (
          <p className="muted empty-chat">{t("chat.empty")}</p>
        ) : (
          <ol className="message-list" aria-label={t("chat.messages")}>
            {thread.map((message) => (
              <MessageItem
                key={message.id}
                message={message}
                waitingState={state.waitingState}
                versions={versionsOf(message)}
                onRegenerate={message.role === "assistant" && canWrite ? () => regenerate(message.id) : null}
                onResend={message.role === "user" && canWrite ? (content) => resend(message, content) : null}
                onRetry={canWrite ? retry : null}
                highlighted={message.id === highlighted}
              />
            ))}
          </ol>
        )}
      </div>
    </ChatLayout>
  );
}

function keyPress(event: KeyboardEvent) {
  const { key, ctrlKey, metaKey, shiftKey, altKey } = event;
  return { key, ctrlKey, metaKey, shiftKey, altKey };
}

function ExportMenu({ onExport }: { onExport: (format: ExportFormat) => void }) {
  const { t } = useTranslation();
  return (
    <details className="menu export-menu">
      <summary className="secondary button-like" aria-label={t("chat.export")}>
        <Icon name="download" />
        <span className="menu-label">{t("chat.export")}</span>
      </summary>
      <div className="menu-items" role="group" aria-label={t("chat.export")}>
        {(["markdown", "json"] as const).map((format) => (
          <button
            key={format}
            type="button"
            className="menu-item"
            onClick={(event) => {
              event.currentTarget.closest("details")?.removeAttribute("open");
              onExport(format);
            }}
          >
            {format === "markdown" ? t("chat.exportMarkdown") : t("chat.exportJson")}
          </button>
        ))}
      </div>
    </details>
  );
}

/** The list and the open chat each hold a copy of the conversation; the later edit wins. */
function newerConversation(first: Conversation | null, second: Conversation | null): Conversation | null {
  if (!first || !second) return first ?? second;
  return second.updated_at > first.updated_at ? second : first;
}

function ConnectionBanner({ connection }: { connection: ConnectionState }) {
  const { t } = useTranslation();
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (connection.kind !== "waiting") return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [connection]);

  let text: string | null = null;
  if (connection.kind === "waiting") {
    const seconds = Math.max(0, Math.ceil((connection.retryAt - now) / 1000));
    text = t("chat.connectionLost", { count: seconds });
  } else if (connection.kind === "connecting" && connection.attempt > 1) {
    text = t("chat.reconnecting");
  } else if (connection.kind === "closed" && connection.reason === "not_found") {
    text = t("chat.gone");
  }
  return (
    <div className="connection-status" role="status" aria-live="polite">
      {text && <p className="banner warning">{text}</p>}
    </div>
  );
}

/** Keeps the list scrolled to the bottom while new text arrives, unless the reader scrolled up. */
export function useStickToBottom(content: unknown) {
  const ref = useRef<HTMLDivElement | null>(null);
  const stuck = useRef(true);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const onScroll = () => {
      stuck.current = element.scrollHeight - element.scrollTop - element.clientHeight < 48;
    };
    element.addEventListener("scroll", onScroll, { passive: true });
    return () => element.removeEventListener("scroll", onScroll);
  }, []);
  useLayoutEffect(() => {
    const element = ref.current;
    if (element && stuck.current) element.scrollTop = element.scrollHeight;
  }, [content]);
  return ref;
}
