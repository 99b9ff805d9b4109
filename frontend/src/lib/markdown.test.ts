// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./markdown";

function render(markdown: string): HTMLElement {
  const container = document.createElement("div");
  container.innerHTML = renderMarkdown(markdown);
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
