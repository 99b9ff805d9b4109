// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, formData, onSessionExpired } from "./http";
import {
  exportConversation,
  fetchConversation,
  fetchCurrentUser,
  listConversations,
  login,
  logout,
  searchMessages,
  updateConversation,
  uploadFile,
} from "./rest";

/** What the server saw of each request. */
const requests: Request[] = [];
let answer: () => Response | Promise<Response>;

function json(status: number, value: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

beforeEach(() => {
  requests.length = 0;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (request: Request) => {
      requests.push(request);
      return answer();
    }),
  );
});

afterEach(() => {
  vi.unstubAllGlobals();
  onSessionExpired(null);
});

function only(): Request {
  expect(requests).toHaveLength(1);
  return requests[0] as Request;
}

describe("the typed REST client", () => {
  it("sends the token and asks for JSON", async () => {
    answer = () => json(200, { id: "u1", username: "ada" });
    await expect(fetchCurrentUser("t0k")).resolves.toEqual({ id: "u1", username: "ada" });
    const request = only();
    expect(request.method).toBe("GET");
    expect(new URL(request.url).pathname).toBe("/api/auth/me");
    expect(request.headers.get("Authorization")).toBe("Bearer t0k");
    expect(request.headers.get("Accept")).toBe("application/json");
  });

  it("fills path parameters encoded and leaves out absent query values", async () => {
    answer = () => json(200, { items: [], next_cursor: null });
    await fetchConversation("t", "a/b c");
    await listConversations("t", 30, null);
    await listConversations("t", 30, "next");
    await searchMessages("t", "two words");
    const urls = requests.map((request) => new URL(request.url));
    expect(urls[0]?.pathname).toBe("/api/conversations/a%2Fb%20c");
    expect(urls[1]?.search).toBe("?limit=30");
    expect(urls[2]?.search).toBe("?limit=30&cursor=next");
    expect(urls[3]?.searchParams.get("q")).toBe("two words");
    expect(urls[3]?.searchParams.get("limit")).toBe("20");
  });

  it("sends JSON bodies", async () => {
    answer = () => json(200, { id: "c1" });
    await updateConversation("t", "c1", { title: "Renamed" });
    const request = only();
    expect(request.method).toBe("PATCH");
    expect(request.headers.get("Content-Type")).toBe("application/json");
    expect(await request.json()).toEqual({ title: "Renamed" });
  });

  it("uploads files as multipart forms", async () => {
    answer = () => json(201, { id: "f1", name: "notes.md", size: 5, mime: "text/markdown" });
    await uploadFile("t", new File(["notes"], "notes.md", { type: "text/markdown" }));
    const request = only();
    expect(request.headers.get("Content-Type")).toMatch(/^multipart\/form-data; boundary=/);
    // Node's Request cannot read jsdom's File back, so the part's content is checked on the
    // form that `formData` builds.
    expect((await request.formData()).has("file")).toBe(true);
    const file = formData({ file: new File(["notes"], "notes.md") }).get("file") as File;
    expect(file.name).toBe("notes.md");
    expect(await file.text()).toBe("notes");
  });

  it("answers undefined for 204", async () => {
    answer = () => new Response(null, { status: 204 });
    await expect(logout("t")).resolves.toBeUndefined();
    expect(only().method).toBe("POST");
  });

  it("downloads files with the name the server suggests", async () => {
    answer = () =>
      new Response("# Chat", {
        headers: { "Content-Disposition": "attachment; filename*=UTF-8''caf%C3%A9.md" },
      });
    const file = await exportConversation("t", "c1", "markdown");
    expect(file.filename).toBe("café.md");
    expect(await file.blob.text()).toBe("# Chat");
    expect(new URL(only().url).search).toBe("?format=markdown");
  });
});

describe("errors from the typed REST client", () => {
  it("carry the contract's code, message and Retry-After", async () => {
    answer = () => json(429, { detail: { code: "rate_limited", message: "Slow down" } }, { "Retry-After": "7" });
    const error = await login("ada", "pw").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429, code: "rate_limited", message: "Slow down", retryAfterS: 7 });
  });

  it("join validation messages", async () => {
    answer = () => json(422, { detail: [{ msg: "too short" }, { msg: "bad" }] });
    await expect(login("ada", "")).rejects.toMatchObject({ code: "validation_error", message: "too short; bad" });
  });

  it("fall back to the status text for a body that is not JSON", async () => {
    answer = () => new Response("<html>", { status: 502, statusText: "Bad Gateway" });
    await expect(fetchCurrentUser("t")).rejects.toMatchObject({
      status: 502,
      code: "http_502",
      message: "Bad Gateway",
    });
  });

  it("end the session on a 401 to an authenticated call only", async () => {
    const expired = vi.fn();
    onSessionExpired(expired);
    answer = () => json(401, { detail: { code: "unauthorized", message: "Log in" } });
    await expect(login("ada", "wrong")).rejects.toMatchObject({ status: 401 });
    expect(expired).not.toHaveBeenCalled();
    await expect(fetchCurrentUser("old")).rejects.toMatchObject({ status: 401, code: "unauthorized" });
    expect(expired).toHaveBeenCalledOnce();
  });

  it("report a network failure as status 0", async () => {
    answer = () => Promise.reject(new TypeError("Failed to fetch"));
    await expect(fetchCurrentUser("t")).rejects.toMatchObject({ status: 0, code: "network_error" });
  });
});
