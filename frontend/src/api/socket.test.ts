import { describe, expect, it } from "vitest";
import { backoffDelayMs, conversationSocketUrl } from "./socket";

describe("backoffDelayMs", () => {
  it("doubles from half a second up to 15 s, with jitter in the upper half", () => {
    expect(backoffDelayMs(1, () => 0)).toBe(250);
    expect(backoffDelayMs(1, () => 1)).toBe(500);
    expect(backoffDelayMs(3, () => 1)).toBe(2000);
    expect(backoffDelayMs(30, () => 1)).toBe(15_000);
    expect(backoffDelayMs(30, () => 0)).toBe(7500);
  });
});

describe("conversationSocketUrl", () => {
  it("uses the page's host and wss behind https, with no token in the URL", () => {
    const secure = { protocol: "https:", host: "chat.example:8443" } as Location;
    expect(conversationSocketUrl("a b", secure)).toBe("wss://chat.example:8443/ws/conversations/a%20b");
    const plain = { protocol: "http:", host: "127.0.0.1:8000" } as Location;
    expect(conversationSocketUrl("c1", plain)).toBe("ws://127.0.0.1:8000/ws/conversations/c1");
  });
});
