// Tool calls in an answer's text, and the tools a conversation can pick (GET /api/tools).
import type { ToolCallRecord } from "../api/protocol.gen";
import type { ToolInfo, ToolList, ToolServer } from "../api/types";

/** The length of `text` as the server counts it (Python's `len`): code points, not UTF-16 units. */
export function codePointLength(text: string): number {
  return Array.from(text).length;
}

/** A piece of an answer: text, or the tool call made at that point of the text. */
export type AnswerPart = { kind: "text"; text: string } | { kind: "tool"; call: ToolCallRecord };

/** The answer's text cut where each tool call was made (`content_offset`, in code points); calls
 * at the same offset keep the order they were made in. An offset past the end (the text is
 * behind the calls) puts the call at the end. */
export function answerParts(content: string, toolCalls: ToolCallRecord[]): AnswerPart[] {
  if (toolCalls.length === 0) return content === "" ? [] : [{ kind: "text", text: content }];
  const points = Array.from(content);
  const ordered = [...toolCalls].sort((a, b) => a.content_offset - b.content_offset);
  const parts: AnswerPart[] = [];
  let start = 0;
  for (const call of ordered) {
    const end = Math.min(Math.max(call.content_offset, start), points.length);
    if (end > start) parts.push({ kind: "text", text: points.slice(start, end).join("") });
    parts.push({ kind: "tool", call });
    start = end;
  }
  if (start < points.length) parts.push({ kind: "text", text: points.slice(start).join("") });
  return parts;
}

/** JSON text indented for reading; anything else (plain text, JSON cut short) as it came. */
export function prettyJson(text: string): string {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? JSON.stringify(value, null, 2) : text;
  } catch {
    return text;
  }
}

/** How a conversation names a tool: "<server>.<name>". */
export function toolId(tool: Pick<ToolInfo, "server" | "name">): string {
  return `${tool.server}.${tool.name}`;
}

/** A tool the picker offers: one a server has now, or one chosen before that is gone. */
export interface ToolOption {
  id: string;
  name: string;
  description: string;
  available: boolean;
}

/** The picker's groups: one per server (null: chosen tools of a server no longer listed). */
export interface ToolGroup {
  server: ToolServer | null;
  options: ToolOption[];
}

/** The servers in the order listed, each with its tools, then the chosen tools not offered now
 * (their server failed, is starting, or dropped them) under their server, so they can be unchosen. */
export function toolGroups(list: ToolList, chosen: readonly string[]): ToolGroup[] {
  const offered = new Set(list.tools.map(toolId));
  const missing = chosen.filter((id) => !offered.has(id));
  const groups: ToolGroup[] = list.servers.map((server) => ({
    server,
    options: [
      ...list.tools
        .filter((tool) => tool.server === server.id)
        .map((tool) => ({ id: toolId(tool), name: tool.name, description: tool.description, available: true })),
      ...missing
        .filter((id) => id.startsWith(`${server.id}.`))
        .map((id) => ({ id, name: id.slice(server.id.length + 1), description: "", available: false })),
    ],
  }));
  const unlisted = missing.filter((id) => !list.servers.some((server) => id.startsWith(`${server.id}.`)));
  if (unlisted.length > 0) {
    groups.push({ server: null, options: unlisted.map((id) => ({ id, name: id, description: "", available: false })) });
  }
  return groups;
}
