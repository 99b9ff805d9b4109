import type { ChatMessage } from "../state/streamReducer";
import { Markdown } from "./Markdown";
import { ThinkingBlock } from "./ThinkingBlock";

/** What the footer says about an answer that did not end normally (the server's reason wins). */
function statusNote(message: ChatMessage): string | null {
  switch (message.status) {
    case "cancelled":
      return "Stopped";
    case "interrupted":
      return `Interrupted: ${message.errorMessage ?? "the server stopped before this answer was finished."}`;
    case "error":
      return `Failed: ${message.errorMessage ?? "the answer could not be generated."}`;
    default:
      return null;
  }
}

interface MessageItemProps {
  message: ChatMessage;
  waitingState: "queued" | "prefill" | null;
  canRegenerate: boolean;
  onRegenerate: () => void;
  /** Offered on a user message that was not sent; null while it cannot be sent. */
  onRetry: ((clientId: string) => void) | null;
}

export function MessageItem({ message, waitingState, canRegenerate, onRegenerate, onRetry }: MessageItemProps) {
  if (message.role === "user") {
    const clientId = message.clientId;
    return (
      <li className={`message user${message.status === "failed" ? " failed" : ""}`} data-status={message.status}>
        <h3 className="visually-hidden">You</h3>
        <div className="bubble">{message.content}</div>
        {message.status === "failed" && (
          <p className="message-note error">
            {message.errorMessage ?? "Not sent."}
            {onRetry && clientId && (
              <button type="button" className="secondary small retry" onClick={() => onRetry(clientId)}>
                Retry
              </button>
            )}
          </p>
        )}
      </li>
    );
  }

  const streaming = message.status === "streaming";
  const thinkingInProgress = streaming && message.thinking !== "" && message.content === "";
  const waiting = streaming && message.thinking === "" && message.content === "";
  const note = statusNote(message);

  return (
    <li className="message assistant" data-status={message.status} aria-busy={streaming}>
      <h3 className="visually-hidden">Assistant</h3>
      {message.thinking !== "" && (
        <ThinkingBlock thinking={message.thinking} inProgress={thinkingInProgress} durationMs={message.thinkingMs} />
      )}
      {waiting && (
        <p className="waiting" role="status">
          {waitingState === "queued"
            ? "Queued…"
            : waitingState === "prefill"
              ? "Reading the conversation…"
              : "Starting…"}
        </p>
      )}
      {message.content !== "" && <Markdown text={message.content} />}
      {streaming && message.content !== "" && <span className="cursor" aria-hidden="true" />}
      <div className="message-footer">
        {note && <span className={`message-note${message.status === "error" ? " error" : ""}`}>{note}</span>}
        <AnswerStats message={message} />
        {canRegenerate && (
          <button type="button" className="secondary small" onClick={onRegenerate}>
            Regenerate
          </button>
        )}
      </div>
    </li>
  );
}

function AnswerStats({ message }: { message: ChatMessage }) {
  const parts: string[] = [];
  const timings = message.timings;
  if (timings?.tokens_per_s !== null && timings?.tokens_per_s !== undefined)
    parts.push(`${timings.tokens_per_s.toFixed(1)} tokens/s`);
  if (timings?.ttft_ms !== null && timings?.ttft_ms !== undefined)
    parts.push(`first token ${Math.round(timings.ttft_ms)} ms`);
  if (message.usage?.completion_tokens) parts.push(`${message.usage.completion_tokens} tokens`);
  if (message.finishReason === "length") parts.push("cut at the length limit");
  if (parts.length === 0) return null;
  return <span className="stats">{parts.join(" · ")}</span>;
}
