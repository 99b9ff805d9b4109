import { useState } from "react";
import { useTranslation } from "react-i18next";
import "./SystemPromptEditor.css";

interface SystemPromptEditorProps {
  id: string;
  initial: string;
  onSave: (systemPrompt: string) => Promise<void>;
  onCancel: () => void;
}

export function SystemPromptEditor({ id, initial, onSave, onCancel }: SystemPromptEditorProps) {
  const { t } = useTranslation();
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
      <label htmlFor={`${id}-text`}>{t("chat.systemPrompt")}</label>
      <textarea
        id={`${id}-text`}
        rows={3}
        value={draft}
        placeholder={t("chat.systemPromptPlaceholder")}
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={(event) => event.key === "Escape" && onCancel()}
      />
      <div className="form-actions">
        <button type="submit" className="primary small" disabled={saving}>
          {t("chat.save")}
        </button>
        <button type="button" className="secondary small" onClick={onCancel}>
          {t("chat.cancel")}
        </button>
      </div>
    </form>
  );
}
