import { useTranslation } from "react-i18next";
import type { ModelInfo, ModelList } from "../api/types";
import "./ModelPicker.css";

interface ModelPickerProps {
  /** null while loading; "unavailable" when the server could not list them. */
  models: ModelList | null | "unavailable";
  /** The conversation's model; null means the server's default. */
  value: string | null;
  disabled: boolean;
  onChange: (model: string) => void;
}

/** The model a conversation's model id names (null: the server's default), if listed. */
export function chosenModel(models: ModelList | null | "unavailable", value: string | null): ModelInfo | null {
  if (models === null || models === "unavailable") return null;
  const id = value ?? models.default;
  return models.models.find((model) => model.id === id) ?? null;
}

/** Whether the model's chat template can turn thinking off (Qwen3's `enable_thinking`). */
export function supportsThinkingToggle(model: ModelInfo | null): boolean {
  return model?.thinking_toggle === true;
}

export function ModelPicker({ models, value, disabled, onChange }: ModelPickerProps) {
  const { t } = useTranslation();
  const listed = models !== null && models !== "unavailable" ? models : null;
  const selected = value ?? listed?.default ?? "";
  const options = listed?.models ?? [];
  const selectedIsListed = options.some((model) => model.id === selected);
  const stateNotes: Record<ModelInfo["state"], string> = {
    available: "",
    loaded: "",
    loading: t("model.stateLoading"),
    failed: t("model.stateFailed"),
  };
  return (
    <label className="model-picker">
      <span className="model-label">{t("model.label")}</span>
      <select value={selected} disabled={disabled || !listed} onChange={(event) => onChange(event.target.value)}>
        {!selectedIsListed && (
          <option value={selected}>
            {selected || (models === null ? t("model.loading") : t("model.serverDefault"))}
          </option>
        )}
        {options.map((model) => (
          <option key={model.id} value={model.id} disabled={model.state === "failed"} title={model.error ?? undefined}>
            {model.id}
            {stateNotes[model.state]}
          </option>
        ))}
      </select>
    </label>
  );
}

interface ThinkingToggleProps {
  /** The conversation's choice; null leaves it to the model, which thinks. */
  value: boolean | null;
  disabled: boolean;
  onChange: (thinking: boolean) => void;
}

/** Thinking on or off, for a model whose chat template can turn it off. */
export function ThinkingToggle({ value, disabled, onChange }: ThinkingToggleProps) {
  const { t } = useTranslation();
  const on = value ?? true;
  return (
    <label className="thinking-switch" title={on ? t("model.thinkingOn") : t("model.thinkingOff")}>
      <input
        type="checkbox"
        role="switch"
        checked={on}
        disabled={disabled}
        onChange={(event) => onChange(event.target.checked)}
      />
      <span>{t("model.thinking")}</span>
    </label>
  );
}
