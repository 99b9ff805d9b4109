// The one i18n layer: i18next with react-i18next. The language comes from what the reader
// chose before (localStorage), else from the browser; a choice is remembered across logouts
// (its key is outside the `parley:` cache that logout clears).
import i18n from "i18next";
import LanguageDetector from "i18next-browser-languagedetector";
import { initReactI18next, useTranslation } from "react-i18next";
import { en } from "./en";
import { zhCN } from "./zh-CN";

export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "zh-CN", name: "简体中文" },
] as const;
export type Language = (typeof LANGUAGES)[number]["code"];

export const LANGUAGE_STORAGE_KEY = "parley-language";

declare module "i18next" {
  interface CustomTypeOptions {
    resources: { translation: typeof en };
  }
}

/** Any Chinese the browser asks for is served in Simplified Chinese; anything else in English. */
export function supportedLanguage(requested: string): Language {
  return requested.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

void i18n
  .use(LanguageDetector)
  .use(initReactI18next)
  .init({
    resources: { en: { translation: en }, "zh-CN": { translation: zhCN } },
    supportedLngs: LANGUAGES.map((language) => language.code),
    fallbackLng: "en",
    interpolation: { escapeValue: false }, // React escapes
    detection: {
      order: ["localStorage", "navigator"],
      lookupLocalStorage: LANGUAGE_STORAGE_KEY,
      caches: [],
      convertDetectedLanguage: supportedLanguage,
    },
    returnNull: false,
  });

function applyDocumentLanguage(language: string) {
  if (typeof document !== "undefined") document.documentElement.lang = language;
}
applyDocumentLanguage(i18n.language);
i18n.on("languageChanged", applyDocumentLanguage);

export function chooseLanguage(language: Language): void {
  try {
    localStorage.setItem(LANGUAGE_STORAGE_KEY, language);
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
  void i18n.changeLanguage(language);
}

/** The current language, as the formatting functions in lib/format take it. */
export function useLanguage(): Language {
  const { i18n: instance } = useTranslation();
  return supportedLanguage(instance.resolvedLanguage ?? instance.language ?? "en");
}

export default i18n;
