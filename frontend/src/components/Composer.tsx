import { useState, type FormEvent, type KeyboardEvent } from "react";

interface ComposerProps {
  generating: boolean;
  connected: boolean;
  onSend: (content: string) => void;
  onStop: () => void;
}

export function Composer({ generating, connected, onSend, onStop }: ComposerProps) {
  const [draft, setDraft] = useState("");
  const canSend = connected && !generating && draft.trim() !== "";

  function submit(event?: FormEvent) {
    event?.preventDefault();
    if (!canSend) return;
    onSend(draft);
    setDraft("");
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter adds a line; Enter while composing (IME) belongs to the IME.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="composer-input" className="visually-hidden">
        Message
      </label>
      <textarea
        id="composer-input"
        rows={2}
        autoFocus
        value={draft}
        placeholder={connected ? "Message…" : "Waiting for the connection…"}
        aria-describedby="composer-hint"
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={onKeyDown}
      />
      <p id="composer-hint" className="composer-hint">
        Enter sends, Shift+Enter adds a line
      </p>
      {generating ? (
        <button type="button" className="danger" onClick={onStop}>
          Stop
        </button>
      ) : (
        <button type="submit" className="primary" disabled={!canSend}>
          Send
        </button>
      )}
    </form>
  );
}
