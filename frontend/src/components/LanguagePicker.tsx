import { useTranslation } from "react-i18next";
import { LANGUAGES, chooseLanguage, useLanguage, type Language } from "../i18n";
import "./LanguagePicker.css";

/** The interface language; each is named in itself, so a reader finds theirs in either. */
export function LanguagePicker() {
  const { t } = useTranslation();
  const language = useLanguage();
  return (
    <label className="language-picker">
      <span className="visually-hidden">{t("app.language")}</span>
      <select
        value={language}
        aria-label={t("app.language")}
        onChange={(event) => chooseLanguage(event.target.value as Language)}
      >
        {LANGUAGES.map(({ code, name }) => (
          <option key={code} value={code} lang={code}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
}
