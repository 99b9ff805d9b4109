import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import type { TFunction } from "i18next";
import { useLanguage } from "../i18n";
import { copyText } from "../lib/clipboard";
import { formatBytes, formatDateTime, formatNumber } from "../lib/format";
import { answerParts } from "../lib/tools";
import type { ChatMessage } from "../state/streamReducer";
import { Icon } from "./Icon";
import { Markdown } from "./Markdown";
import { ThinkingBlock } from "./ThinkingBlock";
import { ToolCallCard } from "./ToolCallCard";
import "./attachments.css";
import "./MessageItem.css";

/** What the footer says about an answer that did not end normally (the server's reason wins). */
function statusNote(message: ChatMessage, t: TFunction): string | null {
  switch (message.status) {
    case "cancelled":
      return t("message.stopped");
    case "interrupted":
      return t("message.interrupted", { reason: message.errorMessage ?? t("message.interruptedDefault") });
    case "error":
      return t("message.failed", { reason: message.errorMessage ?? t("message.failedDefault") });
    default:
      return null;
  }
}

/** Where a message stands among its versions (same parent), and how to show another. */
export interface Versions {
  index: number;
  count: number;
  /** Shows the version `offset` away (-1 the previous one, +1 the next). */
  onPick: (offset: -1 | 1) => void;
}

interface MessageItemProps {
  message: ChatMessage;
  waitingState: "queued" | "prefill" | null;
  versions: Versions | null;
  /** Null while no new answer can be asked for (one is being written, or no connection). */
  onRegenerate: (() => void) | null;
  /** Edit and resend a user message; null while it cannot be sent. */
  onResend: ((content: string) => void) | null;
  /** Offered on a user message that was not sent; null while it cannot be sent. */
  onRetry: ((clientId: string) => void) | null;
  /** The message a search result opened: scrolled to and marked for a moment. */
  highlighted: boolean;
}

export function MessageItem(props: MessageItemProps) {
  const { message, highlighted } = props;
  const ref = useRef<HTMLLIElement | null>(null);
  useEffect(() => {
    if (highlighted) ref.current?.scrollIntoView({ block: "center" });
  }, [highlighted]);
  const className = [
    "message",
    message.role,
    message.status === "failed" ? "failed" : "",
    highlighted ? "highlighted" : "",
  ]
    .filter(Boolean)
    .join(" ");
  return (
    <li
      ref={ref}
      id={`message-${message.id}`}
      className={className}
      data-status={message.status}
      aria-busy={message.status === "streaming"}
    >
      {message.role === "user" ? <UserMessage {...props} /> : <AssistantMessage {...props} />}
    </li>
  );
}

function UserMessage({ message, versions, onResend, onRetry }: MessageItemProps) {
  const { t } = useTranslation();
  const [editing, setEditing] = useState(false);
  const clientId = message.clientId;
  return (
    <>
      <h3 className="visually-hidden">{t("message.you")}</h3>
      {editing && onResend ? (
        <EditForm
          initial={message.content}
          onSend={(content) => {
            setEditing(false);
            onResend(content);
          }}
          onCancel={() => setEditing(false)}
        />
      ) : (
        <div className="bubble">{message.content}</div>
      )}
      {message.attachments.length > 0 && <AttachmentList attachments={message.attachments} />}
      {message.status === "failed" && (
        <p className="message-note error">
          {message.errorMessage ?? t("message.notSent")}
          {onRetry && clientId && (
            <button type="button" className="secondary small retry" onClick={() => onRetry(clientId)}>
              {t("message.retry")}
            </button>
          )}
        </p>
      )}
      {!editing && (
        <div className="message-footer">
          <VersionSwitcher versions={versions} />
          <MessageTime iso={message.createdAt} />
          <CopyButton text={message.content} />
          {onResend && message.status !== "sending" && message.status !== "failed" && (
            <button
              type="button"
              className="icon-button"
              aria-label={t("message.editMessage")}
              title={t("message.edit")}
              onClick={() => setEditing(true)}
            >
              <Icon name="pencil" />
            </button>
          )}
        </div>
      )}
    </>
  );
}

function AssistantMessage({ message, waitingState, versions, onRegenerate }: MessageItemProps) {
  const { t } = useTranslation();
  const streaming = message.status === "streaming";
  const nothingWritten = message.content === "" && message.toolCalls.length === 0;
  const thinkingInProgress = streaming && message.thinking !== "" && nothingWritten;
  const waiting = streaming && message.thinking === "" && nothingWritten;
  const note = statusNote(message, t);
  return (
    <>
      <h3 className="visually-hidden">{t("message.assistant")}</h3>
      {message.thinking !== "" && (
        <ThinkingBlock thinking={message.thinking} inProgress={thinkingInProgress} durationMs={message.thinkingMs} />
      )}
      {waiting && (
        <p className="waiting" role="status">
          {waitingState === "queued"
            ? t("message.queued")
            : waitingState === "prefill"
              ? t("message.prefill")
              : t("message.starting")}
        </p>
      )}
      {answerParts(message.content, message.toolCalls).map((part, index) =>
        part.kind === "text" ? (
          <Markdown key={`text-${index}`} text={part.text} />
        ) : (
          <ToolCallCard key={part.call.call_id} call={part.call} answerStreaming={streaming} />
        ),
      )}
      {streaming && message.content !== "" && <span className="cursor" aria-hidden="true" />}
      <div className="message-footer">
        <VersionSwitcher versions={versions} />
        {note && <span className={`message-note${message.status === "error" ? " error" : ""}`}>{note}</span>}
        <AnswerStats message={message} />
        {!streaming && <MessageTime iso={message.createdAt} />}
        {!streaming && message.content !== "" && <CopyButton text={message.content} />}
        {onRegenerate && !streaming && (
          <button type="button" className="secondary small" onClick={onRegenerate}>
            {t("message.regenerate")}
          </button>
        )}
      </div>
    </>
  );
}

function EditForm({
  initial,
  onSend,
  onCancel,
}: {
  initial: string;
  onSend: (content: string) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [draft, setDraft] = useState(initial);
  const canSend = draft.trim() !== "";
  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      onCancel();
    } else if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      if (canSend) onSend(draft);
    }
  }
  return (
    <form
      className="edit-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (canSend) onSend(draft);
      }}
    >
      <textarea
        aria-label={t("message.editLabel")}
        value={draft}
        rows={Math.min(10, Math.max(2, draft.split("\n").length))}
        autoFocus
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="form-actions">
        <button type="submit" className="primary small" disabled={!canSend}>
          {t("message.saveAndSend")}
        </button>
        <button type="button" className="secondary small" onClick={onCancel}>
          {t("message.cancel")}
        </button>
      </div>
    </form>
  );
}

function VersionSwitcher({ versions }: { versions: Versions | null }) {
  const { t } = useTranslation();
  const language = useLanguage();
  if (!versions || versions.count < 2) return null;
  const { index, count, onPick } = versions;
  return (
    <span className="versions" role="group" aria-label={t("message.branchPosition", { index: index + 1, count })}>
      <button
        type="button"
        className="icon-button small"
        aria-label={t("message.previousBranch")}
        disabled={index === 0}
        onClick={() => onPick(-1)}
      >
        <Icon name="left" />
      </button>
      <span className="versions-position" aria-hidden="true">
        {formatNumber(index + 1, language)}/{formatNumber(count, language)}
      </span>
      <button
        type="button"
        className="icon-button small"
        aria-label={t("message.nextBranch")}
        disabled={index === count - 1}
        onClick={() => onPick(1)}
      >
        <Icon name="right" />
      </button>
    </span>
  );
}

function MessageTime({ iso }: { iso: string }) {
  const { t } = useTranslation();
  const language = useLanguage();
  const text = formatDateTime(iso, language);
  if (!text) return null;
  return (
    <time className="message-time" dateTime={iso} title={t("message.sentAt", { time: text })}>
      {text}
    </time>
  );
}

function CopyButton({ text }: { text: string }) {
  const { t } = useTranslation();
  const [result, setResult] = useState<"copied" | "failed" | null>(null);
  useEffect(() => {
    if (!result) return;
    const timer = setTimeout(() => setResult(null), 1500);
    return () => clearTimeout(timer);
  }, [result]);
  const label = result === "copied" ? t("message.copied") : result === "failed" ? t("message.copyFailed") : null;
  return (
    <button
      type="button"
      className="icon-button copy-message"
      aria-label={t("message.copyMessage")}
      title={label ?? t("message.copy")}
      onClick={() =>
        copyText(text).then(
          () => setResult("copied"),
          () => setResult("failed"),
        )
      }
    >
      <Icon name={result === "copied" ? "check" : "copy"} />
      <span className="copy-result" role="status">
        {label}
      </span>
    </button>
  );
}

function AttachmentList({ attachments }: { attachments: ChatMessage["attachments"] }) {
  const { t } = useTranslation();
  const language = useLanguage();
  return (
    <ul className="attachment-chips" aria-label={t("message.attachments")}>
      {attachments.map((file) => (
        <li key={file.id} className="chip" title={file.mime}>
          <Icon name="file" />
          <span className="chip-name">{file.name}</span>
          <span className="chip-size">{formatBytes(file.size, language)}</span>
        </li>
      ))}
    </ul>
  );
}

function AnswerStats({ message }: { message: ChatMessage }) {
  const { t } = useTranslation();
  const language = useLanguage();
  const parts: string[] = [];
  const timings = message.timings;
  if (timings?.tokens_per_s !== null && timings?.tokens_per_s !== undefined)
    parts.push(
      t("message.tokensPerSecond", {
        value: formatNumber(timings.tokens_per_s, language, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
      }),
    );
  if (timings?.ttft_ms !== null && timings?.ttft_ms !== undefined)
    parts.push(
      t("message.firstToken", { value: formatNumber(Math.round(timings.ttft_ms), language, { useGrouping: false }) }),
    );
  if (message.usage?.completion_tokens)
    parts.push(
      t("message.tokens", {
        count: message.usage.completion_tokens,
        value: formatNumber(message.usage.completion_tokens, language),
      }),
    );
  if (message.finishReason === "length") parts.push(t("message.cutAtLength"));
  if (parts.length === 0) return null;
  return <span className="stats">{parts.join(" · ")}</span>;
}
