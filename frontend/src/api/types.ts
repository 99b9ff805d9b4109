// The REST shapes the SPA uses, named as the SPA calls them. Each is an alias onto the types
// generated from the backend's OpenAPI document (rest.gen.ts, `npm run gen:api`); the WebSocket
// frames are generated from the protocol schema in protocol.gen.ts.
import type { AttachmentPublic, MessagePublic } from "./protocol.gen";
import type { components } from "./rest.gen";

type Schemas = components["schemas"];

export type User = Schemas["UserPublic"];
export type LoginAnswer = Schemas["TokenResponse"];
export type Conversation = Schemas["ConversationPublic"];
export type ConversationPage = Schemas["ConversationPage"];
// Messages keep the one type the socket frames use too (the REST copy only marks more fields
// as always present), so stored and streamed messages mix freely.
export type ConversationDetail = Omit<Schemas["ConversationDetail"], "messages"> & { messages: MessagePublic[] };
export type ConversationChanges = Schemas["ConversationUpdate"];
export type ModelInfo = Schemas["ModelStatus"];
export type ModelState = ModelInfo["state"];
export type ModelList = Schemas["ModelList"];
/** GET /api/admin/resources (administrators only). */
export type HostResources = Schemas["Resources"];
export type GpuInfo = Schemas["GpuInfo"];
export type Percentiles = Schemas["Percentiles"];
/** GET /api/v1/stats: activity since the server started. */
export type ServerStats = Schemas["StatsPublic"];
/** A file attached to a message (POST /api/files answers one). */
export type Attachment = AttachmentPublic;
/** GET /api/search */
export type SearchHit = Schemas["SearchItem"];
export type SearchAnswer = Schemas["SearchResults"];
/** POST /api/import */
export type ImportAnswer = Schemas["ImportResult"];
export type ExportFormat = "json" | "markdown";
/** GET /api/tools: the tools of the MCP servers that are ready, and every server's state. */
export type ToolList = Schemas["ToolsPublic"];
export type ToolInfo = Schemas["ToolPublic"];
export type ToolServer = Schemas["ToolServerStatus"];
