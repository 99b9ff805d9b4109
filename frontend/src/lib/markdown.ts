// Model output -> safe HTML. Raw HTML in the text is shown as text (never parsed), and the
// result goes through DOMPurify as well: a second wall in case a Markdown construct slips
// something through. Links only keep http(s) and mailto targets.
import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import css from "highlight.js/lib/languages/css";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import { Marked, type Tokens } from "marked";

hljs.registerLanguage("bash", bash);
hljs.registerLanguage("css", css);
hljs.registerLanguage("javascript", javascript);
hljs.registerLanguage("json", json);
hljs.registerLanguage("python", python);
hljs.registerLanguage("typescript", typescript);
hljs.registerLanguage("xml", xml);

const SAFE_URL = /^(https?:|mailto:)/i;

export const COPY_CODE_CLASS = "copy-code";

/** The code blocks' copy button, in the reader's language. */
export interface CodeLabels {
  copy: string;
  copyCode: string;
}

const ENGLISH_LABELS: CodeLabels = { copy: "Copy", copyCode: "Copy code" };
// Read by the code renderer during one synchronous `renderMarkdown` call.
let labels = ENGLISH_LABELS;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    },
    code({ text, lang }: Tokens.Code): string {
      const language = (lang ?? "").trim().split(/\s+/)[0]?.toLowerCase() ?? "";
      const highlighted =
        language && hljs.getLanguage(language)
          ? hljs.highlight(text, { language, ignoreIllegals: true }).value
          : escapeHtml(text);
      const label = language ? `<span class="code-language">${escapeHtml(language)}</span>` : "";
      return (
        `<div class="code-block"><div class="code-toolbar">${label}` +
        `<button type="button" class="${COPY_CODE_CLASS}" aria-label="${escapeHtml(labels.copyCode)}">` +
        `${escapeHtml(labels.copy)}</button></div>` +
        `<pre><code class="hljs">${highlighted}</code></pre></div>`
      );
    },
    link({ href, title, tokens }: Tokens.Link): string {
      const text = this.parser.parseInline(tokens);
      if (!SAFE_URL.test(href.trim())) return `<span class="unsafe-link">${text}</span>`;
      const titleAttribute = title ? ` title="${escapeHtml(title)}"` : "";
      return `<a href="${escapeHtml(href)}"${titleAttribute} target="_blank" rel="noopener noreferrer nofollow">${text}</a>`;
    },
    image({ text }: Tokens.Image): string {
      // Remote images in model output would load third-party content (and track the reader).
      return escapeHtml(text ? `[image: ${text}]` : "[image]");
    },
  },
});

const PURIFY_CONFIG = {
  ALLOWED_TAGS: [
    "a",
    "b",
    "blockquote",
    "br",
    "button",
    "code",
    "del",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "span",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
  ],
  ALLOWED_ATTR: ["href", "title", "target", "rel", "class", "type", "aria-label", "align"],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
};

/** Markdown to sanitised HTML, safe to put in innerHTML. */
export function renderMarkdown(markdown: string, codeLabels: CodeLabels = ENGLISH_LABELS): string {
  labels = codeLabels;
  const html = marked.parse(markdown, { async: false });
  return DOMPurify.sanitize(html, PURIFY_CONFIG);
}

/**
 * The text cut into its top-level blocks (paragraph, list, fenced code, table...), blank lines
 * kept with the block before them, such that rendering each block alone and joining the HTML
 * gives `renderMarkdown(markdown)`. While an answer streams only the last block or two change,
 * so the others need not be rendered again.
 */
export function markdownBlocks(markdown: string): string[] {
  const tokens = marked.lexer(markdown);
  // A reference definition ([x]: url) serves the whole text: a block alone would lose it.
  if (Object.keys(tokens.links).length > 0) return [markdown];
  const blocks: string[] = [];
  let leading = "";
  for (const token of tokens) {
    if (token.type !== "space") {
      blocks.push(leading + token.raw);
      leading = "";
    } else if (blocks.length > 0) blocks[blocks.length - 1] += token.raw;
    else leading = token.raw;
  }
  if (leading !== "") blocks.push(leading);
  return blocks;
}
