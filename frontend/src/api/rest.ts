// One function per REST call of the contract. Paths, parameters, bodies and answers are typed
// by path and method from rest.gen.ts, so a call the backend does not accept fails to compile.
import { api, bearer, body, download, formData, type DownloadedFile } from "./http";
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
  return body(api.POST("/api/auth/register", { body: { username, password } }));
}

export function login(username: string, password: string): Promise<LoginAnswer> {
  return body(api.POST("/api/auth/login", { body: { username, password } }));
}

export function logout(token: string): Promise<void> {
  return body(api.POST("/api/auth/logout", { headers: bearer(token) }));
}

export function fetchCurrentUser(token: string): Promise<User> {
  return body(api.GET("/api/auth/me", { headers: bearer(token) }));
}

export function listConversations(token: string, limit: number, cursor: string | null): Promise<ConversationPage> {
  return body(
    api.GET("/api/conversations", {
      params: { query: { limit, cursor: cursor || undefined } },
      headers: bearer(token),
    }),
  );
}

export function createConversation(token: string, changes: ConversationChanges = {}): Promise<Conversation> {
  return body(api.POST("/api/conversations", { body: changes, headers: bearer(token) }));
}

export function fetchConversation(token: string, id: string): Promise<ConversationDetail> {
  return body(
    api.GET("/api/conversations/{conversation_id}", {
      params: { path: { conversation_id: id } },
      headers: bearer(token),
    }),
  );
}

export function updateConversation(token: string, id: string, changes: ConversationChanges): Promise<Conversation> {
  return body(
    api.PATCH("/api/conversations/{conversation_id}", {
      params: { path: { conversation_id: id } },
      body: changes,
      headers: bearer(token),
    }),
  );
}

export function deleteConversation(token: string, id: string): Promise<void> {
  return body(
    api.DELETE("/api/conversations/{conversation_id}", {
      params: { path: { conversation_id: id } },
      headers: bearer(token),
    }),
  );
}

export function listModels(token: string): Promise<ModelList> {
  return body(api.GET("/api/models", { headers: bearer(token) }));
}

export function listTools(token: string): Promise<ToolList> {
  return body(api.GET("/api/tools", { headers: bearer(token) }));
}

export function fetchResources(token: string): Promise<HostResources> {
  return body(api.GET("/api/admin/resources", { headers: bearer(token) }));
}

export function fetchStats(token: string): Promise<ServerStats> {
  return body(api.GET("/api/v1/stats", { headers: bearer(token) }));
}

export function loadModel(token: string, id: string): Promise<ModelInfo> {
  return body(api.POST("/api/models/{model_id}/load", { params: { path: { model_id: id } }, headers: bearer(token) }));
}

export function unloadModel(token: string, id: string): Promise<ModelInfo> {
  return body(
    api.POST("/api/models/{model_id}/unload", { params: { path: { model_id: id } }, headers: bearer(token) }),
  );
}

export function searchMessages(token: string, query: string, limit = 20): Promise<SearchAnswer> {
  return body(api.GET("/api/search", { params: { query: { q: query, limit } }, headers: bearer(token) }));
}

export function exportConversation(token: string, id: string, format: ExportFormat): Promise<DownloadedFile> {
  return download(
    api.GET("/api/conversations/{conversation_id}/export", {
      params: { path: { conversation_id: id }, query: { format } },
      headers: bearer(token),
      parseAs: "blob",
    }),
  );
}

export function exportAllConversations(token: string): Promise<DownloadedFile> {
  return download(api.GET("/api/export", { headers: bearer(token), parseAs: "blob" }));
}

export function importConversations(token: string, file: File): Promise<ImportAnswer> {
  return body(api.POST("/api/import", { body: { file }, bodySerializer: formData, headers: bearer(token) }));
}

export function uploadFile(token: string, file: File): Promise<Attachment> {
  return body(api.POST("/api/files", { body: { file }, bodySerializer: formData, headers: bearer(token) }));
}
