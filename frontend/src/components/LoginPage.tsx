import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import type { TFunction } from "i18next";
import { ApiError } from "../api/http";
import { login, register } from "../api/rest";
import { LanguagePicker } from "./LanguagePicker";
import "./LoginPage.css";

const USERNAME_RULE = /^[A-Za-z0-9_.-]{3,32}$/;
const utf8Length = (text: string) => new TextEncoder().encode(text).length;

type Mode = "login" | "register";

/** What is wrong with the form before asking the server, or null. */
function localProblem(mode: Mode, username: string, password: string, t: TFunction): string | null {
  if (mode === "login") return username && password ? null : t("login.enterBoth");
  if (!USERNAME_RULE.test(username)) return t("login.usernameRule");
  const bytes = utf8Length(password);
  if (bytes < 8) return t("login.passwordTooShort");
  if (bytes > 72) return t("login.passwordTooLong");
  return null;
}

function explain(error: unknown, mode: Mode, t: TFunction): string {
  if (!(error instanceof ApiError)) return t("login.somethingWrong");
  switch (error.code) {
    case "username_taken":
      return t("login.usernameTaken");
    case "invalid_credentials":
      return t("login.invalidCredentials");
    case "too_many_attempts": {
      const wait = error.retryAfterS
        ? t("login.tryAgainIn", { minutes: Math.ceil(error.retryAfterS / 60), seconds: error.retryAfterS })
        : t("login.tryAgainLater");
      return `${t("login.tooManyAttempts")} ${wait}`;
    }
  }
  if (error.status === 422)
    return mode === "register" ? t("login.notAccepted", { message: error.message }) : error.message;
  return error.message;
}

export function LoginPage({ notice, onLoggedIn }: { notice: string | null; onLoggedIn: (token: string) => void }) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<Mode>("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const local = localProblem(mode, username, password, t);
    if (local) return setProblem(local);
    setBusy(true);
    setProblem(null);
    try {
      if (mode === "register") await register(username, password);
      const answer = await login(username, password);
      onLoggedIn(answer.access_token);
    } catch (error) {
      setProblem(explain(error, mode, t));
    } finally {
      setBusy(false);
    }
  }

  const title = mode === "login" ? t("login.logIn") : t("login.createAccount");
  return (
    <main className="login-page">
      <form className="login-card" onSubmit={submit} noValidate aria-labelledby="login-title">
        <div className="login-top">
          <h1 className="brand">{t("app.name")}</h1>
          <LanguagePicker />
        </div>
        <h2 id="login-title">{title}</h2>
        {notice && !problem && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <label htmlFor="username">{t("login.username")}</label>
        <input
          id="username"
          name="username"
          autoComplete="username"
          autoFocus
          value={username}
          onChange={(event) => setUsername(event.target.value)}
          maxLength={32}
          required
        />
        <label htmlFor="password">{t("login.password")}</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete={mode === "login" ? "current-password" : "new-password"}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          aria-describedby={mode === "register" ? "password-rule" : undefined}
          required
        />
        {mode === "register" && (
          <p id="password-rule" className="hint">
            {t("login.passwordRule")}
          </p>
        )}
        {problem && (
          <p className="form-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t("login.pleaseWait") : title}
        </button>
        <button
          type="button"
          className="link-button"
          onClick={() => {
            setMode(mode === "login" ? "register" : "login");
            setProblem(null);
          }}
        >
          {mode === "login" ? t("login.noAccount") : t("login.haveAccount")}
        </button>
      </form>
    </main>
  );
}
