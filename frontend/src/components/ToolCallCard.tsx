import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import type { TFunction } from "i18next";
import type { ToolCallRecord } from "../api/protocol.gen";
import { useLanguage } from "../i18n";
import { secondsValue } from "../lib/format";
import { prettyJson } from "../lib/tools";
import { Icon } from "./Icon";
import "./ToolCallCard.css";

/** running: waiting for the result; cut: the answer ended without one (stopped, interrupted). */
type CallState = "running" | "done" | "error" | "cut";

function callState(call: ToolCallRecord, answerStreaming: boolean): CallState {
  if (call.result === null || call.result === undefined) return answerStreaming ? "running" : "cut";
  return call.is_error ? "error" : "done";
}

function headline(state: CallState, name: string, t: TFunction): string {
  switch (state) {
    case "running":
      return t("tools.calling", { name });
    case "done":
      return t("tools.called", { name });
    case "error":
      return t("tools.failed", { name });
    case "cut":
      return t("tools.noResult", { name });
  }
}

interface ToolCallCardProps {
  call: ToolCallRecord;
  /** The answer is still being written: a call without a result is running. */
  answerStreaming: boolean;
}

/** One tool call where the answer made it: closed, the name, the state and the duration;
 * open, the arguments and the result or the error. */
export function ToolCallCard({ call, answerStreaming }: ToolCallCardProps) {
  const [open, setOpen] = useState(false);
  const bodyId = useId();
  const { t } = useTranslation();
  const language = useLanguage();
  const state = callState(call, answerStreaming);
  const duration = call.duration_ms ?? null;
  return (
    <div className="tool-call" data-state={state}>
      <button
        type="button"
        className="tool-call-toggle"
        aria-expanded={open}
        aria-controls={bodyId}
        onClick={() => setOpen(!open)}
      >
        <span aria-hidden="true" className="chevron">
          {open ? "▾" : "▸"}
        </span>
        {state === "running" ? <span className="spinner" aria-hidden="true" /> : <Icon name="tool" />}
        <span className="tool-call-name">{headline(state, call.name, t)}</span>
        {duration !== null && (
          <span className="tool-call-duration">
            {t("thinking.seconds", { value: secondsValue(duration, language) })}
          </span>
        )}
      </button>
      <div id={bodyId} className="tool-call-body" hidden={!open}>
        <p className="tool-call-label">{t("tools.arguments")}</p>
        <pre className="tool-call-text">{prettyJson(call.arguments)}</pre>
        {state === "done" || state === "error" ? (
          <>
            <p className="tool-call-label">{state === "error" ? t("tools.error") : t("tools.result")}</p>
            <pre className={`tool-call-text${state === "error" ? " error" : ""}`}>{prettyJson(call.result ?? "")}</pre>
          </>
        ) : null}
      </div>
    </div>
  );
}
