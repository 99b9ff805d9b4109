// fetch with the bearer token, JSON bodies, and the contract's error shape turned into ApiError.
import i18n from "../i18n";

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

interface RequestOptions {
  method?: string;
  /** JSON, or a form (file uploads) that the browser encodes itself. */
  body?: unknown;
  token?: string | null;
}

async function request(path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const form = options.body instanceof FormData ? options.body : null;
  if (options.body !== undefined && !form) headers["Content-Type"] = "application/json";
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: form ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    });
  } catch {
    throw new ApiError(0, "network_error", i18n.t("errors.network"));
  }
  if (response.ok) return response;
  const error = await errorFromResponse(response);
  if (error.status === 401 && options.token) sessionExpiredHandler?.();
  throw error;
}

export async function requestJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await request(path, options);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** A file the server sends (an export), with the name it suggests. */
export interface DownloadedFile {
  blob: Blob;
  filename: string | null;
}

export async function requestFile(path: string, options: RequestOptions = {}): Promise<DownloadedFile> {
  const response = await request(path, options);
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const plain = /filename="?([^";]+)"?/i.exec(disposition)?.[1];
  return { blob: await response.blob(), filename: encoded ? decodeURIComponent(encoded) : (plain ?? null) };
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
