import {
  useRef,
  useState,
  type ClipboardEvent,
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
  type RefObject,
} from "react";
import { useTranslation } from "react-i18next";
import type { Attachment } from "../api/types";
import type { Attachments } from "../hooks/useAttachments";
import { useLanguage } from "../i18n";
import { formatBytes } from "../lib/format";
import { Icon } from "./Icon";
import "./attachments.css";
import "./Composer.css";

export const COMPOSER_ID = "composer-input";

interface ComposerProps {
  generating: boolean;
  connected: boolean;
  attachments: Attachments;
  /** Answers false (or a promise of false) when the message was not taken: the draft stays. */
  onSend: (content: string, attachments: Attachment[]) => void | boolean | Promise<boolean>;
  onStop: () => void;
  inputRef?: RefObject<HTMLTextAreaElement | null>;
  /** Beside the attach button: the tools picker. */
  tools?: ReactNode;
}

export function Composer({ generating, connected, attachments, onSend, onStop, inputRef, tools }: ComposerProps) {
  const { t } = useTranslation();
  const language = useLanguage();
  const [draft, setDraft] = useState("");
  const picker = useRef<HTMLInputElement | null>(null);
  const canSend = connected && !generating && draft.trim() !== "" && !attachments.uploading;

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    if (!canSend) return;
    const sent = draft;
    if ((await onSend(sent, attachments.ready)) === false) return;
    setDraft((current) => (current === sent ? "" : current));
    attachments.clear();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter adds a line; Enter while composing (IME) belongs to the IME.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    const files = [...event.clipboardData.files];
    if (files.length === 0) return; // text pastes as text
    event.preventDefault();
    attachments.add(files);
  }

  return (
    <form className="composer" onSubmit={(event) => void submit(event)}>
      {attachments.files.length > 0 && (
        <ul className="attachment-chips composer-chips" aria-label={t("message.attachments")}>
          {attachments.files.map((file) => (
            <li
              key={file.key}
              className={`chip${file.state === "refused" ? " refused" : ""}`}
              data-state={file.state}
              role={file.state === "refused" ? "alert" : undefined}
            >
              <Icon name="file" />
              {file.state === "refused" ? (
                <span className="chip-name">{file.problem}</span>
              ) : (
                <>
                  <span className="chip-name">{file.name}</span>
                  <span className="chip-size">
                    {file.state === "uploading" ? t("composer.uploading") : formatBytes(file.size, language)}
                  </span>
                </>
              )}
              <button
                type="button"
                className="icon-button small"
                aria-label={t("composer.removeAttachment", { name: file.name })}
                onClick={() => attachments.remove(file.key)}
              >
                <Icon name="close" />
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="composer-row">
        {tools}
        <button
          type="button"
          className="icon-button attach"
          aria-label={t("composer.attach")}
          title={t("composer.attach")}
          onClick={() => picker.current?.click()}
        >
          <Icon name="paperclip" />
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          aria-label={t("composer.attach")}
          onChange={(event) => {
            attachments.add([...(event.target.files ?? [])]);
            event.target.value = "";
          }}
        />
        <label htmlFor={COMPOSER_ID} className="visually-hidden">
          {t("composer.message")}
        </label>
        <textarea
          id={COMPOSER_ID}
          ref={inputRef}
          rows={2}
          autoFocus
          value={draft}
          placeholder={connected ? t("composer.placeholder") : t("composer.waiting")}
          aria-describedby="composer-hint"
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
        />
        {generating ? (
          <button type="button" className="danger" onClick={onStop}>
            {t("composer.stop")}
          </button>
        ) : (
          <button type="submit" className="primary" disabled={!canSend}>
            {t("composer.send")}
          </button>
        )}
      </div>
      <p id="composer-hint" className="composer-hint">
        {t("composer.hint")}
      </p>
    </form>
  );
}
