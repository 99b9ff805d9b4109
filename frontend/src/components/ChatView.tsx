import { useEffect, useLayoutEffect, useRef, useState } from "react";
import type { ConnectionState } from "../api/socket";
import type { Conversation, ConversationChanges, ModelList } from "../api/types";
import { useConversationStream } from "../hooks/useConversationStream";
import { visibleThread } from "../state/streamReducer";
import { Composer } from "./Composer";
import { Icon } from "./Icon";
import { MenuButton } from "./MenuButton";
import { MessageItem } from "./MessageItem";
import { ModelPicker } from "./ModelPicker";
import { SystemPromptEditor } from "./SystemPromptEditor";

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
}

export function ChatView(props: ChatViewProps) {
  const { conversationId, token, listed, models, onUpdate } = props;
  const { state, connection, dispatch, send, stop, regenerate, retry } = useConversationStream(conversationId, token, {
    onSessionExpired: props.onSessionExpired,
    onNotFound: props.onNotFound,
    onRunActivity: props.onRunActivity,
  });
  const [editingPrompt, setEditingPrompt] = useState(false);
  const [settingsProblem, setSettingsProblem] = useState<string | null>(null);
  const conversation = newerConversation(state.conversation, listed);
  const thread = visibleThread(state.messages);
  const generating = state.activeRun !== null;
  const connected = connection.kind === "open";
  const lastMessage = thread.at(-1);
  // Announced to screen readers only for runs seen in this view, not on opening an old chat.
  const [answeredHere, setAnsweredHere] = useState(false);
  if (generating && !answeredHere) setAnsweredHere(true);

  async function change(changes: ConversationChanges) {
    try {
      const updated = await onUpdate(changes);
      dispatch({ type: "conversationChanged", conversation: updated });
      setSettingsProblem(null);
      return true;
    } catch (error) {
      setSettingsProblem(error instanceof Error ? error.message : "The change was not saved.");
      return false;
    }
  }

  const scroller = useStickToBottom(state.messages);

  const title = conversation?.title;
  useEffect(() => {
    document.title = title ? `${title} · Parley` : "Parley";
    return () => {
      document.title = "Parley";
    };
  }, [title]);

  return (
    <section className="chat-view" aria-labelledby="chat-title">
      <header className="chat-header">
        <MenuButton expanded={props.sidebarOpen} onClick={props.onToggleSidebar} />
        <h1 id="chat-title" className="chat-title">
          {conversation?.title ?? "Conversation"}
        </h1>
        <div className="header-controls">
          <ModelPicker
            models={models}
            value={conversation?.model ?? null}
            disabled={!conversation}
            onChange={(model) => void change({ model })}
          />
          <button
            type="button"
            className="secondary"
            aria-expanded={editingPrompt}
            aria-controls="system-prompt-editor"
            onClick={() => setEditingPrompt(!editingPrompt)}
          >
            System prompt
          </button>
        </div>
      </header>
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
        {generating ? "The assistant is answering." : answeredHere ? "The answer is complete." : ""}
      </p>
      <div className="messages" ref={scroller}>
        {thread.length === 0 ? (
          <p className="muted empty-chat">Send a message to start.</p>
        ) : (
          <ol className="message-list" aria-label="Messages">
            {thread.map((message) => (
              <MessageItem
                key={message.id}
                message={message}
                waitingState={state.waitingState}
                canRegenerate={message === lastMessage && message.role === "assistant" && !generating && connected}
                onRegenerate={regenerate}
                onRetry={connected && !generating ? retry : null}
              />
            ))}
          </ol>
        )}
      </div>
      {state.notice && (
        <div className="banner error" role="alert">
          <span>{state.notice.message}</span>
          <button
            type="button"
            className="icon-button"
            aria-label="Dismiss"
            onClick={() => dispatch({ type: "noticeDismissed" })}
          >
            <Icon name="close" />
          </button>
        </div>
      )}
      <Composer generating={generating} connected={connected} onSend={send} onStop={stop} />
    </section>
  );
}

/** The list and the open chat each hold a copy of the conversation; the later edit wins. */
function newerConversation(first: Conversation | null, second: Conversation | null): Conversation | null {
  if (!first || !second) return first ?? second;
  return second.updated_at > first.updated_at ? second : first;
}

function ConnectionBanner({ connection }: { connection: ConnectionState }) {
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
    text = `Connection lost. Reconnecting in ${seconds} s…`;
  } else if (connection.kind === "connecting" && connection.attempt > 1) {
    text = "Reconnecting…";
  } else if (connection.kind === "closed" && connection.reason === "not_found") {
    text = "This conversation does not exist any more.";
  }
  return (
    <div className="connection-status" role="status" aria-live="polite">
      {text && <p className="banner warning">{text}</p>}
    </div>
  );
}

/** Keeps the list scrolled to the bottom while new text arrives, unless the reader scrolled up. */
function useStickToBottom(content: unknown) {
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
