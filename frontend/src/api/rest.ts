// One function per REST call of the contract.
import { requestFile, requestJson, type DownloadedFile } from "./http";
import type {
  Attachment,
  ExportFormat,
  ImportAnswer,
  SearchAnswer,
  Conversation,
  ConversationChanges,
  ConversationDetail,
  ConversationPage,
  HostResources,
  LoginAnswer,
  ModelInfo,
  ModelList,
  ServerStats,
  ToolList,
  User,
} from "./types";

export function register(username: string, password: string): Promise<User> {
  return requestJson("/api/auth/register", { method: "POST", body: { username, password } });
}

export function login(username: string, password: string): Promise<LoginAnswer> {
  return requestJson("/api/auth/login", { method: "POST", body: { username, password } });
}

export function logout(token: string): Promise<void> {
  return requestJson("/api/auth/logout", { method: "POST", token });
}

export function fetchCurrentUser(token: string): Promise<User> {
  return requestJson("/api/auth/me", { token });
}

export function listConversations(token: string, limit: number, cursor: string | null): Promise<ConversationPage> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set("cursor", cursor);
  return requestJson(`/api/conversations?${query}`, { token });
}

export function createConversation(token: string, changes: ConversationChanges = {}): Promise<Conversation> {
  return requestJson("/api/conversations", { method: "POST", body: changes, token });
}

export function fetchConversation(token: string, id: string): Promise<ConversationDetail> {
  return requestJson(`/api/conversations/${encodeURIComponent(id)}`, { token });
}

export function updateConversation(token: string, id: string, changes: ConversationChanges): Promise<Conversation> {
  return requestJson(`/api/conversations/${encodeURIComponent(id)}`, { method: "PATCH", body: changes, token });
}

export function deleteConversation(token: string, id: string): Promise<void> {
  return requestJson(`/api/conversations/${encodeURIComponent(id)}`, { method: "DELETE", token });
}

export function listModels(token: string): Promise<ModelList> {
  return requestJson("/api/models", { token });
}

export function listTools(token: string): Promise<ToolList> {
  return requestJson("/api/tools", { token });
}

export function fetchResources(token: string): Promise<HostResources> {
  return requestJson("/api/admin/resources", { token });
}

export function fetchStats(token: string): Promise<ServerStats> {
  return requestJson("/api/v1/stats", { token });
}

export function loadModel(token: string, id: string): Promise<ModelInfo> {
  return requestJson(`/api/models/${encodeURIComponent(id)}/load`, { method: "POST", token });
}

export function unloadModel(token: string, id: string): Promise<ModelInfo> {
  return requestJson(`/api/models/${encodeURIComponent(id)}/unload`, { method: "POST", token });
}

export function searchMessages(token: string, query: string, limit = 20): Promise<SearchAnswer> {
  const params = new URLSearchParams({ q: query, limit: String(limit) });
  return requestJson(`/api/search?${params}`, { token });
}

export function exportConversation(token: string, id: string, format: ExportFormat): Promise<DownloadedFile> {
  return requestFile(`/api/conversations/${encodeURIComponent(id)}/export?format=${format}`, { token });
}

export function exportAllConversations(token: string): Promise<DownloadedFile> {
  return requestFile("/api/export", { token });
}

export function importConversations(token: string, file: File): Promise<ImportAnswer> {
  const form = new FormData();
  form.append("file", file);
  return requestJson("/api/import", { method: "POST", body: form, token });
}

export function uploadFile(token: string, file: File): Promise<Attachment> {
  const form = new FormData();
  form.append("file", file);
  return requestJson("/api/files", { method: "POST", body: form, token });
}
