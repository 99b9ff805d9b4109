// The typed REST client (openapi-fetch over rest.gen.ts): the bearer token, JSON or multipart
// bodies, and the contract's error shape turned into ApiError.
import createClient from "openapi-fetch";
import i18n from "../i18n";
import type { paths } from "./rest.gen";

/** An HTTP error from the server, with the contract's `code` when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds to wait, from a 429's Retry-After header. */
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

let sessionExpiredHandler: (() => void) | null = null;

/** Called once whenever an authenticated request answers 401 (the session is gone). */
export function onSessionExpired(handler: (() => void) | null): void {
  sessionExpiredHandler = handler;
}

/**
 * The fetch under the typed client: a network failure or an error status becomes an ApiError
 * (so callers only ever see a successful answer), and a 401 on a request that carried a token
 * means the session is gone.
 */
async function send(request: Request): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(request);
  } catch {
    throw new ApiError(0, "network_error", i18n.t("errors.network"));
  }
  if (response.ok) return response;
  const error = await errorFromResponse(response);
  if (error.status === 401 && request.headers.has("Authorization")) sessionExpiredHandler?.();
  throw error;
}

/**
 * Every REST call of the contract, typed by path and method from rest.gen.ts. Calls go to the
 * page's own origin, spelled out because Node's Request (under the tests) needs absolute URLs.
 */
export const api = createClient<paths>({
  baseUrl: location.origin,
  fetch: send,
  headers: { Accept: "application/json" },
});

/** The header that authenticates a call. */
export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

/** A successful answer's body (undefined for 204); `send` has thrown for every other answer. */
export async function body<T>(answer: Promise<{ data?: T }>): Promise<T> {
  return (await answer).data as T;
}

/** Multipart bodies (uploads) as the browser encodes them; the client would send JSON. */
export function formData(fields: Record<string, Blob>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return form;
}

/** A file the server sends (an export), with the name it suggests. */
export interface DownloadedFile {
  blob: Blob;
  filename: string | null;
}

/** A file answer (asked for with `parseAs: "blob"`) with its suggested name. */
export async function download(answer: Promise<{ data?: Blob; response: Response }>): Promise<DownloadedFile> {
  const { data, response } = await answer;
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const plain = /filename="?([^";]+)"?/i.exec(disposition)?.[1];
  return { blob: data ?? new Blob(), filename: encoded ? decodeURIComponent(encoded) : (plain ?? null) };
}

async function errorFromResponse(response: Response): Promise<ApiError> {
  const retryAfterHeader = response.headers.get("Retry-After");
  const retryAfterS = retryAfterHeader === null ? null : Number(retryAfterHeader) || null;
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page): fall back to the status text.
  }
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    const { code, message } = detail as { code?: unknown; message?: unknown };
    return new ApiError(
      response.status,
      typeof code === "string" ? code : `http_${response.status}`,
      typeof message === "string" ? message : response.statusText,
      retryAfterS,
    );
  }
  if (Array.isArray(detail)) {
    // FastAPI validation errors: [{loc, msg, type}, ...]
    const messages = detail
      .map((item) => (item as { msg?: unknown }).msg)
      .filter((msg): msg is string => typeof msg === "string");
    return new ApiError(
      response.status,
      "validation_error",
      messages.join("; ") || i18n.t("errors.invalidInput"),
      retryAfterS,
    );
  }
  const text = typeof detail === "string" ? detail : response.statusText || `HTTP ${response.status}`;
  return new ApiError(response.status, `http_${response.status}`, text, retryAfterS);
}
