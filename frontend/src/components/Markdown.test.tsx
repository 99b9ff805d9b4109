// @vitest-environment jsdom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import "../i18n";
import { renderMarkdown } from "../lib/markdown";
import { Markdown } from "./Markdown";

// Counts the renders, and which text each was for, while keeping the real output.
vi.mock("../lib/markdown", async (importOriginal) => {
  const original = await importOriginal<typeof import("../lib/markdown")>();
  return { ...original, renderMarkdown: vi.fn(original.renderMarkdown) };
});
const renders = vi.mocked(renderMarkdown);

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let container: HTMLDivElement;
let root: Root;

beforeEach(() => {
  container = document.createElement("div");
  root = createRoot(container);
});

afterEach(() => {
  act(() => root.unmount());
  renders.mockClear();
});

function show(text: string): HTMLElement {
  act(() => root.render(<Markdown text={text} />));
  return container.querySelector(".markdown") as HTMLElement;
}

/** The HTML of the whole text rendered in one piece, as the browser parses it. */
function wholeRender(text: string): string {
  const reference = document.createElement("div");
  reference.innerHTML = renderMarkdown(text);
  return reference.innerHTML;
}

/** The blocks' HTML without their layout-neutral wrappers. */
function unwrapped(markdown: HTMLElement): string {
  return [...markdown.children].map((block) => block.innerHTML).join("");
}

describe("Markdown", () => {
  it("renders only the growing last block while the text streams", () => {
    const done = "# Title\n\nA finished paragraph.\n\n```js\nconst x = 1;\n```\n\n";
    show(done + "The tail");
    renders.mockClear();

    const markdown = show(done + "The tail grows");
    expect(renders.mock.calls.map(([text]) => text)).toEqual(["The tail grows"]);
    expect(markdown.children).toHaveLength(4);
    expect(unwrapped(markdown)).toBe(wholeRender(done + "The tail grows"));
  });

  it("matches the whole render at every step of a stream", () => {
    const answer = "Steps:\n\n1. one\n2. two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nDone.";
    for (let end = 0; end <= answer.length; end += 3) {
      const markdown = show(answer.slice(0, end));
      expect(unwrapped(markdown), answer.slice(0, end)).toBe(wholeRender(answer.slice(0, end)));
    }
  });
});
