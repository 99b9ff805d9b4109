// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { markdownBlocks, renderMarkdown } from "./markdown";

function render(markdown: string): HTMLElement {
  return parse(renderMarkdown(markdown));
}

function parse(html: string): HTMLElement {
  const container = document.createElement("div");
  container.innerHTML = html;
  return container;
}

describe("renderMarkdown", () => {
  it("shows raw HTML as text", () => {
    const container = render('Look: <img src=x onerror="alert(1)"> <script>alert(2)</script>');
    expect(container.querySelector("img, script")).toBeNull();
    expect(container.textContent).toContain('<img src=x onerror="alert(1)">');
  });

  it("keeps javascript: links inert", () => {
    const container = render("[click](javascript:alert(1)) and [ok](https://example.com)");
    const hrefs = [...container.querySelectorAll("a")].map((link) => link.getAttribute("href"));
    expect(hrefs).toEqual(["https://example.com"]);
    expect(container.textContent).toContain("click");
    expect(container.innerHTML).not.toContain("javascript:");
  });

  it("does not load images from model output", () => {
    expect(render("![pixel](https://tracker.example/p.png)").querySelector("img")).toBeNull();
  });

  it("highlights fenced code and adds a copy button", () => {
    const container = render("```python\ndef f():\n    return 1\n```");
    expect(container.querySelector("button.copy-code")?.getAttribute("aria-label")).toBe("Copy code");
    expect(container.querySelector("pre code .hljs-keyword")?.textContent).toBe("def");
  });

  it("escapes code in an unknown language", () => {
    const container = render("```weird\n<b>x</b>\n```");
    expect(container.querySelector("pre code b")).toBeNull();
    expect(container.querySelector("pre code")?.textContent).toBe("<b>x</b>");
  });
});

// Streamed the way answers arrive: every prefix of this text is rendered at some point.
const ANSWER = [
  "# Plan\r\n",
  "Intro with **bold**, `code` and a [link](https://example.com).",
  "Second line of the same paragraph.\n\n\n",
  "Setext heading\n---\n",
  "- one\n- two\n\n  still two\n\n- three\n",
  "1. first\n2. second\n\n",
  "> quoted\n> more\n\n",
  "```python\ndef f():\n\n    return 1\n```\n",
  "| a | b |\n|---|---|\n| 1 | 2 |\n\n",
  "    indented code\n\n",
  "***\n",
  "<div>raw</div>\n\n",
  "last words",
].join("");

describe("markdownBlocks", () => {
  it("renders, block by block, what the whole text renders, at every point of a stream", () => {
    // Blocks begin and end at line breaks: every prefix near one, and a sample of the rest
    // (a render costs milliseconds under jsdom).
    const ends = [...Array(ANSWER.length + 1).keys()].filter(
      (end) => end % 5 === 0 || ANSWER.slice(Math.max(0, end - 2), end).includes("\n"),
    );
    for (const end of ends) {
      const text = ANSWER.slice(0, end);
      // Compared as parsed HTML: DOMPurify returns a text without tags as it came (`&#60;`)
      // but serialises one with tags (`&lt;`), which the browser shows alike.
      const joined = markdownBlocks(text)
        .map((block) => renderMarkdown(block))
        .join("");
      expect(parse(joined).innerHTML, JSON.stringify(text)).toBe(render(text).innerHTML);
    }
    // Hundreds of renders: seconds on a loaded CI machine, past vitest's 5 s default.
  }, 60_000);

  it("cuts at top-level blocks and keeps a fenced block whole", () => {
    expect(markdownBlocks("\nHi\n\n```\na\n\nb\n```\n\n- x\n- y")).toEqual([
      "\nHi\n\n",
      "```\na\n\nb\n```\n\n",
      "- x\n- y",
    ]);
  });

  it("keeps a text with reference definitions in one block", () => {
    const text = "See [docs].\n\n[docs]: https://example.com\n";
    expect(markdownBlocks(text)).toEqual([text]);
  });
});
