// The keyboard shortcuts: one table that the listeners and the help dialog both read.

export type ShortcutId = "newChat" | "focusComposer" | "stop" | "search" | "help";

interface Shortcut {
  id: ShortcutId;
  key: string;
  /** Ctrl, or ⌘ on a Mac. */
  primary?: boolean;
  shift?: boolean;
  /** Also while typing in a text field (a plain key would type itself there). */
  whileTyping: boolean;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { id: "newChat", key: "o", primary: true, shift: true, whileTyping: true },
  { id: "focusComposer", key: "/", whileTyping: false },
  { id: "stop", key: "Escape", whileTyping: true },
  { id: "search", key: "k", primary: true, whileTyping: true },
  { id: "help", key: "/", primary: true, whileTyping: true },
];

export function isMac(platform: string = typeof navigator === "undefined" ? "" : navigator.platform): boolean {
  return /mac|iphone|ipad/i.test(platform);
}

interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  /** Typing in a text field (input, textarea, contenteditable). */
  typing: boolean;
}

/** The shortcut a key press means, if any. */
export function shortcutFor(press: KeyPress, mac: boolean = isMac()): ShortcutId | null {
  const primary = mac ? press.metaKey : press.ctrlKey;
  const other = mac ? press.ctrlKey : press.metaKey;
  if (press.altKey || other) return null;
  for (const shortcut of SHORTCUTS) {
    if (press.key.toLowerCase() !== shortcut.key.toLowerCase()) continue;
    if (Boolean(shortcut.primary) !== primary || Boolean(shortcut.shift) !== press.shiftKey) continue;
    if (press.typing && !shortcut.whileTyping) continue;
    return shortcut.id;
  }
  return null;
}

/** The keys to press, as the help dialog shows them: ["Ctrl", "Shift", "O"] or ["⌘", "⇧", "O"]. */
export function shortcutKeys(id: ShortcutId, mac: boolean = isMac()): string[] {
  const shortcut = SHORTCUTS.find((item) => item.id === id)!;
  const keys: string[] = [];
  if (shortcut.primary) keys.push(mac ? "⌘" : "Ctrl");
  if (shortcut.shift) keys.push(mac ? "⇧" : "Shift");
  keys.push(shortcut.key === "Escape" ? "Esc" : shortcut.key.toUpperCase());
  return keys;
}

export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}
