import { memo, useMemo, type MouseEvent } from "react";
import { useTranslation } from "react-i18next";
import { copyText } from "../lib/clipboard";
import { COPY_CODE_CLASS, markdownBlocks, renderMarkdown, type CodeLabels } from "../lib/markdown";
import "highlight.js/styles/github.css";
import "./Markdown.css";

/**
 * Model output as Markdown; `renderMarkdown` escapes raw HTML and sanitises the result. Each
 * top-level block renders on its own, so a streaming answer re-renders only its growing tail
 * rather than the whole text on every chunk.
 */
export function Markdown({ text }: { text: string }) {
  const { t, i18n } = useTranslation();
  const language = i18n.language;
  const labels = useMemo<CodeLabels>(
    () => ({ copy: t("message.copy"), copyCode: t("message.copyCode") }),
    [t, language],
  );
  const blocks = useMemo(() => markdownBlocks(text), [text]);

  function onClick(event: MouseEvent<HTMLDivElement>) {
    const button = (event.target as HTMLElement).closest(`button.${COPY_CODE_CLASS}`);
    const code = button?.closest(".code-block")?.querySelector("code");
    if (!button || !code) return;
    void copyText(code.textContent ?? "").then(() => {
      button.textContent = t("message.copied");
      setTimeout(() => (button.textContent = t("message.copy")), 1500);
    });
  }

  return (
    <div className="markdown" onClick={onClick}>
      {blocks.map((block, index) => (
        // Keyed by position: a finished block keeps its key and text, so memo skips it.
        <MarkdownBlock key={index} text={block} labels={labels} />
      ))}
    </div>
  );
}

/** One top-level block; its wrapper is `display: contents`, so layout sees only the block's HTML. */
const MarkdownBlock = memo(function MarkdownBlock({ text, labels }: { text: string; labels: CodeLabels }) {
  return <div className="markdown-block" dangerouslySetInnerHTML={{ __html: renderMarkdown(text, labels) }} />;
});
