import type { ModelInfo, ModelList } from "../api/types";

const STATE_NOTES: Record<ModelInfo["state"], string> = {
  available: "",
  loaded: "",
  loading: " (loading)",
  failed: " (failed)",
};

interface ModelPickerProps {
  /** null while loading; "unavailable" when the server could not list them. */
  models: ModelList | null | "unavailable";
  /** The conversation's model; null means the server's default. */
  value: string | null;
  disabled: boolean;
  onChange: (model: string) => void;
}

export function ModelPicker({ models, value, disabled, onChange }: ModelPickerProps) {
  const listed = models !== null && models !== "unavailable" ? models : null;
  const selected = value ?? listed?.default ?? "";
  const options = listed?.models ?? [];
  const selectedIsListed = options.some((model) => model.id === selected);
  return (
    <label className="model-picker">
      <span className="model-label">Model</span>
      <select value={selected} disabled={disabled || !listed} onChange={(event) => onChange(event.target.value)}>
        {!selectedIsListed && (
          <option value={selected}>{selected || (models === null ? "Loading…" : "Server default")}</option>
        )}
        {options.map((model) => (
          <option key={model.id} value={model.id} disabled={model.state === "failed"} title={model.error ?? undefined}>
            {model.id}
            {STATE_NOTES[model.state]}
          </option>
        ))}
      </select>
    </label>
  );
}
