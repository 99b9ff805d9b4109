import { describe, expect, it } from "vitest";
import { shortcutFor, shortcutKeys } from "./shortcuts";

const press = (
  key: string,
  modifiers: Partial<Record<"ctrlKey" | "metaKey" | "shiftKey" | "altKey", boolean>> = {},
) => ({
  key,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  typing: false,
  ...modifiers,
});

describe("shortcuts", () => {
  it("reads Ctrl on Linux and Windows, ⌘ on a Mac", () => {
    expect(shortcutFor(press("k", { ctrlKey: true }), false)).toBe("search");
    expect(shortcutFor(press("k", { metaKey: true }), false)).toBeNull();
    expect(shortcutFor(press("k", { metaKey: true }), true)).toBe("search");
    expect(shortcutFor(press("O", { ctrlKey: true, shiftKey: true }), false)).toBe("newChat");
    expect(shortcutFor(press("/", { ctrlKey: true }), false)).toBe("help");
    expect(shortcutFor(press("Escape"), false)).toBe("stop");
  });

  it("leaves a plain key to a text field", () => {
    expect(shortcutFor(press("/"), false)).toBe("focusComposer");
    expect(shortcutFor({ ...press("/"), typing: true }, false)).toBeNull();
    expect(shortcutFor({ ...press("k", { ctrlKey: true }), typing: true }, false)).toBe("search");
  });

  it("shows the keys for the platform", () => {
    expect(shortcutKeys("newChat", false)).toEqual(["Ctrl", "Shift", "O"]);
    expect(shortcutKeys("newChat", true)).toEqual(["⌘", "⇧", "O"]);
    expect(shortcutKeys("stop", false)).toEqual(["Esc"]);
  });
});
