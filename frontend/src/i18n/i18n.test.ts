// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import i18n, { LANGUAGE_STORAGE_KEY, chooseLanguage, supportedLanguage } from ".";
import { formatBytes, formatDateTime, formatNumber, formatRelativeTime, secondsValue } from "../lib/format";
import { en } from "./en";
import { zhCN } from "./zh-CN";

function keys(tree: object, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === "string" ? [`${prefix}${key}`] : keys(value as object, `${prefix}${key}.`),
  );
}

describe("i18n", () => {
  it("has every English string in Chinese too, with the same placeholders", () => {
    expect(keys(zhCN)).toEqual(keys(en));
    const placeholders = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((match) => match[1]).sort();
    for (const key of keys(en)) {
      const read = (tree: object) =>
        key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], tree);
      expect(placeholders(read(zhCN) as string), key).toEqual(placeholders(read(en) as string));
    }
  });

  it("serves any Chinese the browser asks for in Simplified Chinese, anything else in English", () => {
    expect(supportedLanguage("zh")).toBe("zh-CN");
    expect(supportedLanguage("zh-TW")).toBe("zh-CN");
    expect(supportedLanguage("en-GB")).toBe("en");
    expect(supportedLanguage("fr")).toBe("en");
  });

  it("switches language, remembers the choice and marks the document", async () => {
    chooseLanguage("zh-CN");
    await i18n.loadLanguages("zh-CN");
    expect(localStorage.getItem(LANGUAGE_STORAGE_KEY)).toBe("zh-CN");
    expect(document.documentElement.lang).toBe("zh-CN");
    expect(i18n.t("composer.send")).toBe("发送");
    expect(i18n.t("message.tokens", { count: 3, value: "3" })).toBe("3 个词元");
    chooseLanguage("en");
    expect(i18n.t("composer.send")).toBe("Send");
    expect(i18n.t("message.tokens", { count: 1, value: "1" })).toBe("1 token");
    expect(i18n.t("message.tokens", { count: 2, value: "2" })).toBe("2 tokens");
  });
});

describe("formatting for the language", () => {
  const now = Date.parse("2026-12-02T12:00:00Z");

  it("says how long ago in each language", () => {
    expect(formatRelativeTime("2026-12-02T11:59:30Z", "en", now)).toBe("now");
    expect(formatRelativeTime("2026-12-02T11:55:00Z", "en", now)).toBe("5 minutes ago");
    expect(formatRelativeTime("2026-12-02T11:55:00Z", "zh-CN", now)).toBe("5分钟前");
    expect(formatRelativeTime("2026-12-02T09:00:00Z", "zh-CN", now)).toBe("3小时前");
    expect(formatRelativeTime("2026-11-20T09:00:00Z", "en", now)).toBe("Nov 20, 2026");
    expect(formatRelativeTime("2026-11-20T09:00:00Z", "zh-CN", now)).toBe("2026年11月20日");
    expect(formatRelativeTime("not a date", "en", now)).toBe("");
  });

  it("writes dates and times the way each language does", () => {
    const iso = "2026-12-02T04:05:00Z";
    const en = formatDateTime(iso, "en");
    const zh = formatDateTime(iso, "zh-CN");
    expect(en).toMatch(/^Dec 2, 2026, \d{1,2}:\d{2}\s?[AP]M$/);
    expect(zh).toMatch(/^2026年12月2日 \d{2}:\d{2}$/);
  });

  it("groups and rounds numbers for the language", () => {
    expect(formatNumber(1234567.891, "en", { maximumFractionDigits: 1 })).toBe("1,234,567.9");
    expect(formatNumber(1234567.891, "zh-CN", { maximumFractionDigits: 1 })).toBe("1,234,567.9");
    expect(secondsValue(1234, "en")).toBe("1.2");
    expect(secondsValue(12_345, "zh-CN")).toBe("12");
    expect(formatBytes(1536, "zh-CN")).toBe("1.50 KiB");
  });
});
