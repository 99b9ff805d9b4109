import { useState } from "react";

interface SystemPromptEditorProps {
  id: string;
  initial: string;
  onSave: (systemPrompt: string) => Promise<void>;
  onCancel: () => void;
}

export function SystemPromptEditor({ id, initial, onSave, onCancel }: SystemPromptEditorProps) {
  const [draft, setDraft] = useState(initial);
  const [saving, setSaving] = useState(false);
  return (
    <form
      id={id}
      className="system-prompt"
      onSubmit={async (event) => {
        event.preventDefault();
        setSaving(true);
        await onSave(draft);
        setSaving(false);
      }}
    >
      <label htmlFor={`${id}-text`}>System prompt</label>
      <textarea
        id={`${id}-text`}
        rows={3}
        value={draft}
        placeholder="Instructions the model follows in this conversation"
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={(event) => event.key === "Escape" && onCancel()}
      />
      <div className="form-actions">
        <button type="submit" className="primary small" disabled={saving}>
          Save
        </button>
        <button type="button" className="secondary small" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
