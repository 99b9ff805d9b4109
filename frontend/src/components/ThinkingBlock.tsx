import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { useLanguage } from "../i18n";
import { secondsValue } from "../lib/format";
import "./ThinkingBlock.css";

interface ThinkingBlockProps {
  thinking: string;
  /** The model is still thinking: the block stays open unless the reader closed it. */
  inProgress: boolean;
  durationMs: number | null;
}

export function ThinkingBlock({ thinking, inProgress, durationMs }: ThinkingBlockProps) {
  const [openedByReader, setOpenedByReader] = useState<boolean | null>(null);
  const open = openedByReader ?? inProgress;
  const bodyId = useId();
  const { t } = useTranslation();
  const language = useLanguage();
  const label = inProgress
    ? t("thinking.inProgress")
    : durationMs !== null
      ? t("thinking.thoughtFor", { duration: t("thinking.seconds", { value: secondsValue(durationMs, language) }) })
      : t("thinking.thoughts");

  return (
    <div className={`thinking${inProgress ? " in-progress" : ""}`}>
      <button
        type="button"
        className="thinking-toggle"
        aria-expanded={open}
        aria-controls={bodyId}
        onClick={() => setOpenedByReader(!open)}
      >
        <span aria-hidden="true" className="chevron">
          {open ? "▾" : "▸"}
        </span>{" "}
        {label}
      </button>
      <div id={bodyId} className="thinking-text" hidden={!open}>
        {thinking}
      </div>
    </div>
  );
}
