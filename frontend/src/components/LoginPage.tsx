import { useState, type FormEvent } from "react";
import { ApiError } from "../api/http";
import { login, register } from "../api/rest";

const USERNAME_RULE = /^[A-Za-z0-9_.-]{3,32}$/;
const utf8Length = (text: string) => new TextEncoder().encode(text).length;

type Mode = "login" | "register";

/** What is wrong with the form before asking the server, or null. */
function localProblem(mode: Mode, username: string, password: string): string | null {
  if (mode === "login") return username && password ? null : "Enter your username and password.";
  if (!USERNAME_RULE.test(username)) return "Username: 3 to 32 characters, letters, digits, _ . or -.";
  const bytes = utf8Length(password);
  if (bytes < 8) return "Password: at least 8 characters.";
  if (bytes > 72) return "Password: at most 72 bytes (fewer characters if you use accents or emoji).";
  return null;
}

function explain(error: unknown, mode: Mode): string {
  if (!(error instanceof ApiError)) return "Something went wrong. Try again.";
  switch (error.code) {
    case "username_taken":
      return "That username is taken. Choose another one.";
    case "invalid_credentials":
      return "Wrong username or password.";
    case "too_many_attempts": {
      const wait = error.retryAfterS
        ? ` Try again in ${Math.ceil(error.retryAfterS / 60)} min (${error.retryAfterS} s).`
        : " Try again later.";
      return `Too many failed attempts.${wait}`;
    }
  }
  if (error.status === 422) return mode === "register" ? `Not accepted: ${error.message}` : error.message;
  return error.message;
}

export function LoginPage({ notice, onLoggedIn }: { notice: string | null; onLoggedIn: (token: string) => void }) {
  const [mode, setMode] = useState<Mode>("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const local = localProblem(mode, username, password);
    if (local) return setProblem(local);
    setBusy(true);
    setProblem(null);
    try {
      if (mode === "register") await register(username, password);
      const answer = await login(username, password);
      onLoggedIn(answer.access_token);
    } catch (error) {
      setProblem(explain(error, mode));
    } finally {
      setBusy(false);
    }
  }

  const title = mode === "login" ? "Log in" : "Create an account";
  return (
    <main className="login-page">
      <form className="login-card" onSubmit={submit} noValidate aria-labelledby="login-title">
        <h1 className="brand">Parley</h1>
        <h2 id="login-title">{title}</h2>
        {notice && !problem && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <label htmlFor="username">Username</label>
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
        <label htmlFor="password">Password</label>
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
            8 to 72 bytes.
          </p>
        )}
        {problem && (
          <p className="form-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Please wait…" : title}
        </button>
        <button
          type="button"
          className="link-button"
          onClick={() => {
            setMode(mode === "login" ? "register" : "login");
            setProblem(null);
          }}
        >
          {mode === "login" ? "No account? Create one" : "Have an account? Log in"}
        </button>
      </form>
    </main>
  );
}
