// Search across every conversation (GET /api/search): results as the reader types, each with
// its snippet's matches marked; choosing one opens its conversation at that message.
import DOMPurify from "dompurify";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { searchMessages } from "../api/rest";
import type { SearchHit } from "../api/types";
import { useLanguage } from "../i18n";
import { formatRelativeTime } from "../lib/format";
import { Dialog } from "./Dialog";
import "./SearchDialog.css";

const DEBOUNCE_MS = 200;
const MIN_QUERY_CHARS = 2;

/** The server's snippet is escaped text with <mark> around matches: nothing else may pass. */
export function sanitizeSnippet(snippet: string): string {
  return DOMPurify.sanitize(snippet, { ALLOWED_TAGS: ["mark"], ALLOWED_ATTR: [] });
}

type Results =
  | { kind: "idle" }
  | { kind: "searching" }
  | { kind: "done"; query: string; items: SearchHit[] }
  | { kind: "failed"; message: string };

interface SearchDialogProps {
  token: string;
  onOpen: (hit: SearchHit) => void;
  onClose: () => void;
}

export function SearchDialog({ token, onOpen, onClose }: SearchDialogProps) {
  const { t } = useTranslation();
  const language = useLanguage();
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<Results>({ kind: "idle" });

  useEffect(() => {
    const text = query.trim();
    if ([...text].length < MIN_QUERY_CHARS) {
      setResults({ kind: "idle" });
      return;
    }
    let current = true;
    setResults({ kind: "searching" });
    const timer = setTimeout(() => {
      searchMessages(token, text).then(
        (answer) => current && setResults({ kind: "done", query: text, items: answer.items }),
        (error: unknown) =>
          current && setResults({ kind: "failed", message: error instanceof Error ? error.message : String(error) }),
      );
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query, token]);

  return (
    <Dialog title={t("search.title")} className="search-dialog" onClose={onClose}>
      <input
        type="search"
        className="search-input"
        aria-label={t("search.label")}
        placeholder={t("search.placeholder")}
        value={query}
        data-autofocus
        onChange={(event) => setQuery(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && results.kind === "done" && results.items[0]) onOpen(results.items[0]);
        }}
      />
      <div className="search-results" role="status" aria-live="polite">
        {results.kind === "idle" && <p className="muted">{t("search.hint")}</p>}
        {results.kind === "searching" && <p className="muted">{t("search.searching")}</p>}
        {results.kind === "failed" && <p className="form-error">{t("search.failed", { message: results.message })}</p>}
        {results.kind === "done" && results.items.length === 0 && (
          <p className="muted">{t("search.noResults", { query: results.query })}</p>
        )}
      </div>
      {results.kind === "done" && results.items.length > 0 && (
        <ul className="search-hits" aria-label={t("search.results")}>
          {results.items.map((hit) => (
            <li key={`${hit.conversation_id}:${hit.message_id ?? ""}`}>
              <button type="button" className="search-hit" onClick={() => onOpen(hit)}>
                <span className="hit-title">{hit.title}</span>
                <span className="hit-time">{formatRelativeTime(hit.created_at, language)}</span>
                <span className="hit-snippet" dangerouslySetInnerHTML={{ __html: sanitizeSnippet(hit.snippet) }} />
              </button>
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
}
