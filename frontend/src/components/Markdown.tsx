import { useMemo, type MouseEvent } from "react";
import { useTranslation } from "react-i18next";
import { copyText } from "../lib/clipboard";
import { COPY_CODE_CLASS, renderMarkdown } from "../lib/markdown";

/** Model output as Markdown; `renderMarkdown` escapes raw HTML and sanitises the result. */
export function Markdown({ text }: { text: string }) {
  const { t, i18n } = useTranslation();
  const language = i18n.language;
  const html = useMemo(
    () => renderMarkdown(text, { copy: t("message.copy"), copyCode: t("message.copyCode") }),
    [text, t, language],
  );

  function onClick(event: MouseEvent<HTMLDivElement>) {
    const button = (event.target as HTMLElement).closest(`button.${COPY_CODE_CLASS}`);
    const code = button?.closest(".code-block")?.querySelector("code");
    if (!button || !code) return;
    void copyText(code.textContent ?? "").then(() => {
      button.textContent = t("message.copied");
      setTimeout(() => (button.textContent = t("message.copy")), 1500);
    });
  }

  return <div className="markdown" onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} />;
}
