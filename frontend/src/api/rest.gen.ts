/* Generated from shared/openapi.json by scripts/gen-api-types.mjs. Do not edit; run `npm run gen:api`. */
export interface paths {
    "/api/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Register */
        post: operations["register_api_auth_register_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Login */
        post: operations["login_api_auth_login_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Me */
        get: operations["me_api_auth_me_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Logout */
        post: operations["logout_api_auth_logout_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Keys */
        get: operations["list_keys_api_keys_get"];
        put?: never;
        /**
         * Create Key
         * @description Create a key for scripts, sent as `Authorization: Bearer <key>` (or as the WebSocket `auth` frame's token). The key is in this answer only; the server keeps its hash. Keys survive logout: revoke them here. A key may carry an `expires_at`. Managing keys takes a login token: an API key gets 403 `api_key_not_allowed`.
         */
        post: operations["create_key_api_keys_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/keys/{key_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Revoke Key
         * @description The key stops working at once, and sockets it opened close with 4401.
         */
        delete: operations["revoke_key_api_keys__key_id__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/conversations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Conversations */
        get: operations["list_conversations_api_conversations_get"];
        put?: never;
        /** Create Conversation */
        post: operations["create_conversation_api_conversations_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/conversations/{conversation_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get Conversation */
        get: operations["get_conversation_api_conversations__conversation_id__get"];
        put?: never;
        post?: never;
        /** Delete Conversation */
        delete: operations["delete_conversation_api_conversations__conversation_id__delete"];
        options?: never;
        head?: never;
        /** Update Conversation */
        patch: operations["update_conversation_api_conversations__conversation_id__patch"];
        trace?: never;
    };
    "/api/conversations/{conversation_id}/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Export Conversation
         * @description `format=json` (default): the conversation with every branch, in the document `POST /api/import` reads. `format=markdown`: the current branch, for reading, with thinking in a collapsed `<details>` block.
         */
        get: operations["export_conversation_api_conversations__conversation_id__export_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Export Everything
         * @description Every conversation of the caller, every branch, as one JSON document.
         */
        get: operations["export_everything_api_export_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/import": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Import Conversations
         * @description Import a Parley export (`/api/export` or one conversation's JSON) or ChatGPT's `conversations.json` (or the zip it comes in), branches kept, under new ids. A file that is neither, or over the limits: 422 `bad_import` saying why, and nothing is stored. Larger than `PARLEY_MAX_IMPORT_MB`: 413 `too_large`.
         */
        post: operations["import_conversations_api_import_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/search": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Search
         * @description Titles and message text of the caller's conversations, best matches first. Every word of `q` (split at spaces) must occur, in any case and any script; Chinese words of one or two characters are found too. `snippet` is HTML: the text around the match, escaped, each match inside `<mark>`. `message_id` is null for a title match.
         */
        get: operations["search_api_search_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/files": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Upload File
         * @description Upload a file to attach to a message (its id goes in a `send` frame's `attachments`). Text-like files (plain text, Markdown, code, CSV, JSON) in UTF-8 and PDFs (their text) are read; anything else is 415 `unsupported_file`. Larger than `PARLEY_MAX_UPLOAD_MB`: 413 `too_large`.
         */
        post: operations["upload_file_api_files_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/files/{file_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get File */
        get: operations["get_file_api_files__file_id__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Models */
        get: operations["list_models_api_models_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/models/{model_id}/load": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Load Model
         * @description Start loading a model in the background (administrators only); poll the list for its
         *     state. Loading past the bound on loaded models unloads the least recently used idle one;
         *     when every loaded model is answering, 409 `model_unavailable` (no answer is cut).
         */
        post: operations["load_model_api_models__model_id__load_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/models/{model_id}/unload": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Unload Model
         * @description Free a model's memory (administrators only); answers being generated with it end as
         *     cancelled, and the next use loads it again.
         */
        post: operations["unload_model_api_models__model_id__unload_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tools": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Tools
         * @description The servers the caller may use (each server's `allow` list) with their states, and the
         *     tools of those that are ready, which a conversation may pick as "<server>.<name>". Why a
         *     server `failed` is shown to administrators only.
         */
        get: operations["list_tools_api_tools_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/resources": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Resources */
        get: operations["resources_api_admin_resources_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Users
         * @description Every user, oldest first.
         */
        get: operations["users_api_admin_users_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/users/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Update User
         * @description Disabling stops the user's tokens and keys at once and closes their sockets (4401).
         */
        patch: operations["update_user_api_admin_users__user_id__patch"];
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness
         * @description Cheap liveness: the process answers.
         */
        get: operations["liveness_health_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Health
         * @description The default model's load state and device; 503 when it failed to load (a load
         *     balancer then stops sending users to a server that cannot answer).
         */
        get: operations["health_api_v1_health_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Stats
         * @description Requests, runs and tokens since the server started; latency percentiles over the most
         *     recent 10,000 of each.
         */
        get: operations["stats_api_v1_stats_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Service information */
        get: operations["service_info_api_v1_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/chat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Chat */
        post: operations["chat_api_v1_chat_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/chat/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Chat Stream */
        post: operations["chat_stream_api_v1_chat_stream_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/generate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Generate */
        post: operations["generate_api_v1_generate_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Batch */
        post: operations["batch_api_v1_batch_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/model/info": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Model Info */
        get: operations["model_info_api_v1_model_info_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/model/load": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Load Model */
        post: operations["load_model_api_v1_model_load_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Models */
        get: operations["list_models_v1_models_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/models/{model_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get Model
         * @description One model, as listed; an unknown id is `model_not_found`.
         */
        get: operations["get_model_v1_models__model_id__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/chat/completions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Chat Completions */
        post: operations["chat_completions_v1_chat_completions_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/embeddings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Embeddings
         * @description Vectors of texts (or token ids) from a model the models file marks as embedding
         *     (`"embeddings": "mean"`, on llama.cpp) or a remote's, passed through.
         */
        post: operations["embeddings_v1_embeddings_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/responses": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create Response
         * @description Answer `input` (a text, or message and function-call items) after `instructions` and
         *     the response `previous_response_id` names.
         */
        post: operations["create_response_v1_responses_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/responses/{response_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get Response
         * @description A stored response; a background one can be streamed again from any sequence number.
         */
        get: operations["get_response_v1_responses__response_id__get"];
        put?: never;
        post?: never;
        /**
         * Delete Response
         * @description Delete a stored response (a background one still running is cancelled first).
         */
        delete: operations["delete_response_v1_responses__response_id__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/responses/{response_id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel Response
         * @description Stop a background response; one that has ended is answered as it is.
         */
        post: operations["cancel_response_v1_responses__response_id__cancel_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/responses/{response_id}/input_items": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Input Items
         * @description The items a stored response was made from (those of the responses it continues,
         *     then its input), `limit` at a time after the item `after`.
         */
        get: operations["list_input_items_v1_responses__response_id__input_items_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** ApiKeyCreate */
        ApiKeyCreate: {
            /**
             * Name
             * @description What the key is for.
             */
            name: string;
            /**
             * Expires At
             * @description When the key stops working (with a time zone); never if left out.
             */
            expires_at?: string | null;
        };
        /** ApiKeyCreated */
        ApiKeyCreated: {
            /**
             * Name
             * @description What the key is for.
             */
            name: string;
            /** Id */
            id: string;
            /** Hint */
            hint: string;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Expires At */
            expires_at: string | null;
            /**
             * Key
             * @description The key itself; shown this once and never again.
             */
            key: string;
        };
        /** ApiKeyPublic */
        ApiKeyPublic: {
            /**
             * Name
             * @description What the key is for.
             */
            name: string;
            /** Id */
            id: string;
            /** Hint */
            hint: string;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Expires At */
            expires_at: string | null;
        };
        /** AssistantMessage */
        AssistantMessage: {
            /**
             * Role
             * @default assistant
             * @constant
             */
            role: "assistant";
            /** Content */
            content: string | null;
            /** Reasoning Content */
            reasoning_content: string | null;
            /** Tool Calls */
            tool_calls: components["schemas"]["MessageToolCall"][] | null;
        };
        /**
         * AttachmentPublic
         * @description A file as a message (or an upload's answer) shows it; its text stays on the server.
         */
        AttachmentPublic: {
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Size */
            size: number;
            /** Mime */
            mime: string;
        };
        /**
         * BatchRequest
         * @example {
         *       "max_tokens": 150,
         *       "prompts": [
         *         "What is AI?",
         *         "What is Python good at?"
         *       ]
         *     }
         */
        BatchRequest: {
            /**
             * Temperature
             * @description 0-2; server default 0.7.
             */
            temperature?: number | null;
            /**
             * Top P
             * @description Nucleus sampling, (0, 1].
             */
            top_p?: number | null;
            /**
             * Max Tokens
             * @description Answer length limit, 1 up to the model's context length.
             */
            max_tokens?: number | null;
            /**
             * Thinking
             * @description False asks a thinking model not to think, where its template can.
             */
            thinking?: boolean | null;
            /**
             * Model
             * @description A model id; default if unset.
             */
            model?: string | null;
            /** @description JSON output, as OpenAI's `response_format`: `json_object` or `json_schema` (made with thinking off). */
            response_format?: components["schemas"]["ResponseFormat"] | null;
            /**
             * Prompts
             * @description Run concurrently; at most the server's max_batch_prompts.
             */
            prompts: string[];
            /** System Prompt */
            system_prompt?: string | null;
        };
        /** BatchResponse */
        BatchResponse: {
            /** Results */
            results: string[];
            /** Thinking */
            thinking: string[];
            usage: components["schemas"]["UsageInfo"];
            /** Model */
            model: string;
            /** Generation Time Ms */
            generation_time_ms: number;
        };
        /** ChatCompletion */
        ChatCompletion: {
            /** Id */
            id: string;
            /**
             * Object
             * @default chat.completion
             * @constant
             */
            object: "chat.completion";
            /** Created */
            created: number;
            /** Model */
            model: string;
            /** Choices */
            choices: components["schemas"]["Choice"][];
            usage: components["schemas"]["CompletionUsage"];
        };
        /**
         * ChatCompletionRequest
         * @description Every field of OpenAI's request is either honoured or refused (check_supported), and
         *     an unknown one is refused as OpenAI refuses it.
         * @example {
         *       "max_completion_tokens": 200,
         *       "messages": [
         *         {
         *           "content": "You are helpful.",
         *           "role": "system"
         *         },
         *         {
         *           "content": "Hello!",
         *           "role": "user"
         *         }
         *       ],
         *       "model": "scripted",
         *       "stream": false,
         *       "temperature": 0.7
         *     }
         */
        ChatCompletionRequest: {
            /** Model */
            model: string;
            /** Messages */
            messages: components["schemas"]["OpenAIMessage"][];
            /**
             * Stream
             * @default false
             */
            stream: boolean;
            stream_options?: components["schemas"]["StreamOptions"] | null;
            /** Max Tokens */
            max_tokens?: number | null;
            /** Max Completion Tokens */
            max_completion_tokens?: number | null;
            /** Temperature */
            temperature?: number | null;
            /** Top P */
            top_p?: number | null;
            /** Stop */
            stop?: string | string[] | null;
            /** Seed */
            seed?: number | null;
            /**
             * N
             * @description Only one choice is generated.
             * @default 1
             */
            n: number;
            chat_template_kwargs?: components["schemas"]["ChatTemplateArguments"] | null;
            /** Tools */
            tools?: components["schemas"]["ToolDefinition"][] | null;
            /** Tool Choice */
            tool_choice?: ("auto" | "none" | "required") | components["schemas"]["NamedToolChoice"] | null;
            /** Parallel Tool Calls */
            parallel_tool_calls?: boolean | null;
            /** Reasoning Effort */
            reasoning_effort?: ("none" | "minimal" | "low" | "medium" | "high" | "xhigh") | null;
            /** User */
            user?: string | null;
            /** Safety Identifier */
            safety_identifier?: string | null;
            /** Prompt Cache Key */
            prompt_cache_key?: string | null;
            /** Metadata */
            metadata?: {
                [key: string]: string;
            } | null;
            /** Service Tier */
            service_tier?: string | null;
            /** Store */
            store?: boolean | null;
            /** Logprobs */
            logprobs?: boolean | null;
            /** Top Logprobs */
            top_logprobs?: number | null;
            /** Frequency Penalty */
            frequency_penalty?: number | null;
            /** Presence Penalty */
            presence_penalty?: number | null;
            /** Logit Bias */
            logit_bias?: {
                [key: string]: number;
            } | null;
            response_format?: components["schemas"]["ResponseFormat"] | null;
            /** Verbosity */
            verbosity?: ("low" | "medium" | "high") | null;
            /** Modalities */
            modalities?: string[] | null;
            /** Audio */
            audio?: {
                [key: string]: unknown;
            } | null;
            /** Prediction */
            prediction?: {
                [key: string]: unknown;
            } | null;
            /** Web Search Options */
            web_search_options?: {
                [key: string]: unknown;
            } | null;
            /** Functions */
            functions?: {
                [key: string]: unknown;
            }[] | null;
            /** Function Call */
            function_call?: string | {
                [key: string]: unknown;
            } | null;
        } & {
            [key: string]: unknown;
        };
        /** ChatMessage */
        ChatMessage: {
            /**
             * Role
             * @enum {string}
             */
            role: "system" | "user" | "assistant";
            /** Content */
            content: string;
        };
        /**
         * ChatRequest
         * @description Either `message` (+ `history`, optional `system_prompt`) or `messages`.
         * @example {
         *       "history": [],
         *       "message": "Hello, who are you?",
         *       "temperature": 0.7
         *     }
         * @example {
         *       "max_tokens": 300,
         *       "messages": [
         *         {
         *           "content": "You are a concise assistant.",
         *           "role": "system"
         *         },
         *         {
         *           "content": "What is machine learning?",
         *           "role": "user"
         *         }
         *       ],
         *       "temperature": 0.5,
         *       "top_p": 0.9
         *     }
         */
        ChatRequest: {
            /**
             * Temperature
             * @description 0-2; server default 0.7.
             */
            temperature?: number | null;
            /**
             * Top P
             * @description Nucleus sampling, (0, 1].
             */
            top_p?: number | null;
            /**
             * Max Tokens
             * @description Answer length limit, 1 up to the model's context length.
             */
            max_tokens?: number | null;
            /**
             * Thinking
             * @description False asks a thinking model not to think, where its template can.
             */
            thinking?: boolean | null;
            /**
             * Model
             * @description A model id; default if unset.
             */
            model?: string | null;
            /** @description JSON output, as OpenAI's `response_format`: `json_object` or `json_schema` (made with thinking off). */
            response_format?: components["schemas"]["ResponseFormat"] | null;
            /**
             * Message
             * @description The new user message.
             */
            message?: string | null;
            /**
             * Conversation Id
             * @description Answer inside this conversation of yours: the message and the answer are stored and seen by its open sockets. Takes `message` alone (no history, system_prompt or model: the conversation has them).
             */
            conversation_id?: string | null;
            /**
             * History
             * @description Earlier turns.
             */
            history?: components["schemas"]["HistoryTurn"][];
            /** System Prompt */
            system_prompt?: string | null;
            /**
             * Messages
             * @description The whole conversation, OpenAI style.
             */
            messages?: components["schemas"]["ChatMessage"][] | null;
        };
        /** ChatResponse */
        ChatResponse: {
            /** Response */
            response: string;
            /**
             * Message Id
             * @description The stored answer, with conversation_id.
             */
            message_id: string | null;
            /**
             * Thinking
             * @default
             */
            thinking: string;
            /**
             * Success
             * @default true
             */
            success: boolean;
            /** Error */
            error: string | null;
            usage: components["schemas"]["UsageInfo"] | null;
            /** Model */
            model: string | null;
            /** Finish Reason */
            finish_reason: string | null;
        };
        /**
         * ChatTemplateArguments
         * @description vLLM's way to turn thinking off: `chat_template_kwargs: {"enable_thinking": false}`.
         */
        ChatTemplateArguments: {
            /** Enable Thinking */
            enable_thinking?: boolean | null;
        } & {
            [key: string]: unknown;
        };
        /** Choice */
        Choice: {
            /**
             * Index
             * @default 0
             */
            index: number;
            message: components["schemas"]["AssistantMessage"];
            /**
             * Finish Reason
             * @enum {string}
             */
            finish_reason: "stop" | "length" | "tool_calls";
            logprobs: components["schemas"]["ChoiceLogprobs"] | null;
        };
        /**
         * ChoiceLogprobs
         * @description The answer's tokens' log probabilities (thinking and tool-call markup included).
         */
        ChoiceLogprobs: {
            /** Content */
            content: components["schemas"]["TokenLogprobObject"][] | null;
            /** Refusal */
            refusal: components["schemas"]["TokenLogprobObject"][] | null;
        };
        /** CompletionUsage */
        CompletionUsage: {
            /** Prompt Tokens */
            prompt_tokens: number;
            /** Completion Tokens */
            completion_tokens: number;
            /** Total Tokens */
            total_tokens: number;
            prompt_tokens_details: components["schemas"]["PromptTokensDetails"];
        };
        /**
         * ContentPart
         * @description `input_text` (or an assistant's `output_text`) is read; other parts are refused.
         */
        ContentPart: {
            /** Type */
            type: string;
            /** Text */
            text?: string | null;
        } & {
            [key: string]: unknown;
        };
        /** ConversationCreate */
        ConversationCreate: {
            /** Title */
            title?: string | null;
            /** Model */
            model?: string | null;
            /** System Prompt */
            system_prompt?: string | null;
            /**
             * Thinking
             * @description Whether answers think first; null leaves it to the model.
             */
            thinking?: boolean | null;
        };
        /** ConversationDetail */
        ConversationDetail: {
            conversation: components["schemas"]["ConversationPublic"];
            /** Messages */
            messages: components["schemas"]["MessagePublic"][];
        };
        /** ConversationPage */
        ConversationPage: {
            /** Items */
            items: components["schemas"]["ConversationPublic"][];
            /** Next Cursor */
            next_cursor: string | null;
        };
        /** ConversationPublic */
        ConversationPublic: {
            /**
             * Title
             * @default New conversation
             */
            title: string;
            /** Model */
            model: string | null;
            /**
             * System Prompt
             * @default
             */
            system_prompt: string;
            /** Thinking */
            thinking: boolean | null;
            /** Current Leaf Id */
            current_leaf_id: string | null;
            /** Id */
            id: string;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            /** Last Seq */
            last_seq: number;
            /**
             * Generating
             * @default false
             */
            generating: boolean;
            /**
             * Tools
             * @default []
             */
            tools: string[];
        };
        /** ConversationUpdate */
        ConversationUpdate: {
            /** Title */
            title?: string | null;
            /** Model */
            model?: string | null;
            /** System Prompt */
            system_prompt?: string | null;
            /**
             * Thinking
             * @description Whether answers think first; null leaves it to the model.
             */
            thinking?: boolean | null;
            /**
             * Tools
             * @description The tools answers may call, "<server>.<tool>" as GET /api/tools lists them; [] for none.
             */
            tools?: string[] | null;
            /**
             * Current Leaf Id
             * @description Show this branch: a message of the conversation, the newest of the branch shown; the next message sent without a parent_id follows it.
             */
            current_leaf_id?: string | null;
        };
        /** CpuInfo */
        CpuInfo: {
            /** Logical Cores */
            logical_cores: number;
            /** Percent */
            percent: number;
            /** Process Percent */
            process_percent: number;
            /** Load Average */
            load_average: number[];
        };
        /** DeletedResponse */
        DeletedResponse: {
            /** Id */
            id: string;
            /**
             * Object
             * @default response
             * @constant
             */
            object: "response";
            /**
             * Deleted
             * @default true
             * @constant
             */
            deleted: true;
        };
        /** DiskInfo */
        DiskInfo: {
            /** Path */
            path: string;
            /** Total Bytes */
            total_bytes: number;
            /** Used Bytes */
            used_bytes: number;
            /** Free Bytes */
            free_bytes: number;
            /** Percent */
            percent: number;
            /** Data Dir Bytes */
            data_dir_bytes: number;
        };
        /** EmbeddingList */
        EmbeddingList: {
            /**
             * Object
             * @default list
             * @constant
             */
            object: "list";
            /** Data */
            data: components["schemas"]["EmbeddingObject"][];
            /** Model */
            model: string;
            usage: components["schemas"]["EmbeddingUsage"];
        };
        /** EmbeddingObject */
        EmbeddingObject: {
            /**
             * Object
             * @default embedding
             * @constant
             */
            object: "embedding";
            /** Index */
            index: number;
            /** Embedding */
            embedding: number[] | string;
        };
        /**
         * EmbeddingRequest
         * @description Texts, or token ids of the model's own vocabulary, to embed; an unknown field or one
         *     this server does not do is refused (check_supported).
         * @example {
         *       "input": [
         *         "first text",
         *         "second text"
         *       ],
         *       "model": "smollm2-embed"
         *     }
         */
        EmbeddingRequest: {
            /** Model */
            model: string;
            /**
             * Input
             * @description A text, a list of texts, token ids, or a list of token-id lists.
             */
            input: string | string[] | number[] | number[][];
            /**
             * Encoding Format
             * @default float
             * @enum {string}
             */
            encoding_format: "float" | "base64";
            /** Dimensions */
            dimensions?: number | null;
            /** User */
            user?: string | null;
        } & {
            [key: string]: unknown;
        };
        /** EmbeddingUsage */
        EmbeddingUsage: {
            /** Prompt Tokens */
            prompt_tokens: number;
            /** Total Tokens */
            total_tokens: number;
        };
        /** ExportDocument */
        ExportDocument: {
            /**
             * Format
             * @default parley.export
             * @constant
             */
            format: "parley.export";
            /**
             * Version
             * @default 1
             * @constant
             */
            version: 1;
            /**
             * Exported At
             * Format: date-time
             */
            exported_at: string;
            /** Conversations */
            conversations: components["schemas"]["ExportedConversation"][];
        };
        /** ExportedAttachment */
        ExportedAttachment: {
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Size */
            size: number;
            /** Mime */
            mime: string;
            /**
             * Text
             * @default
             */
            text: string;
        };
        /** ExportedConversation */
        ExportedConversation: {
            /** Id */
            id: string;
            /**
             * Title
             * @default New conversation
             */
            title: string;
            /** Model */
            model: string | null;
            /**
             * System Prompt
             * @default
             */
            system_prompt: string;
            /** Thinking */
            thinking: boolean | null;
            /** Current Leaf Id */
            current_leaf_id: string | null;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            /**
             * Messages
             * @default []
             */
            messages: components["schemas"]["ExportedMessage"][];
        };
        /** ExportedMessage */
        ExportedMessage: {
            /** Id */
            id: string;
            /** Parent Id */
            parent_id: string | null;
            /**
             * Role
             * @enum {string}
             */
            role: "user" | "assistant";
            /**
             * Content
             * @default
             */
            content: string;
            /**
             * Thinking
             * @default
             */
            thinking: string;
            /**
             * Status
             * @default complete
             * @enum {string}
             */
            status: "complete" | "streaming" | "cancelled" | "interrupted" | "error";
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Model */
            model: string | null;
            /** Finish Reason */
            finish_reason: ("stop" | "length" | "cancelled") | null;
            usage: components["schemas"]["Usage"] | null;
            /**
             * Attachments
             * @default []
             */
            attachments: components["schemas"]["ExportedAttachment"][];
            /**
             * Tool Calls
             * @default []
             */
            tool_calls: components["schemas"]["ToolCallRecord"][];
        };
        /** FunctionCall */
        FunctionCall: {
            /** Name */
            name: string;
            /** Arguments */
            arguments: string;
        } & {
            [key: string]: unknown;
        };
        /** FunctionCallItem */
        FunctionCallItem: {
            /**
             * Type
             * @default function_call
             * @constant
             */
            type: "function_call";
            /** Id */
            id: string;
            /**
             * Status
             * @default completed
             * @enum {string}
             */
            status: "in_progress" | "completed" | "incomplete";
            /** Call Id */
            call_id: string;
            /** Name */
            name: string;
            /** Arguments */
            arguments: string;
        };
        /** FunctionDefinition */
        FunctionDefinition: {
            /** Name */
            name: string;
            /**
             * Description
             * @default
             */
            description: string;
            /** Parameters */
            parameters?: {
                [key: string]: unknown;
            };
            /** Strict */
            strict?: boolean | null;
        } & {
            [key: string]: unknown;
        };
        /** FunctionTool */
        FunctionTool: {
            /**
             * Type
             * @constant
             */
            type: "function";
            /** Name */
            name: string;
            /** Description */
            description?: string | null;
            /** Parameters */
            parameters?: {
                [key: string]: unknown;
            };
            /** Strict */
            strict?: boolean | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * GenerateRequest
         * @example {
         *       "max_tokens": 300,
         *       "prompt": "Write a Python function for Fibonacci numbers."
         *     }
         */
        GenerateRequest: {
            /**
             * Temperature
             * @description 0-2; server default 0.7.
             */
            temperature?: number | null;
            /**
             * Top P
             * @description Nucleus sampling, (0, 1].
             */
            top_p?: number | null;
            /**
             * Max Tokens
             * @description Answer length limit, 1 up to the model's context length.
             */
            max_tokens?: number | null;
            /**
             * Thinking
             * @description False asks a thinking model not to think, where its template can.
             */
            thinking?: boolean | null;
            /**
             * Model
             * @description A model id; default if unset.
             */
            model?: string | null;
            /** @description JSON output, as OpenAI's `response_format`: `json_object` or `json_schema` (made with thinking off). */
            response_format?: components["schemas"]["ResponseFormat"] | null;
            /** Prompt */
            prompt: string;
            /** System Prompt */
            system_prompt?: string | null;
            /**
             * Stream
             * @description Answer as Server-Sent Events, like /chat/stream.
             * @default false
             */
            stream: boolean;
        };
        /** GenerateResponse */
        GenerateResponse: {
            /** Generated Text */
            generated_text: string;
            /**
             * Thinking
             * @default
             */
            thinking: string;
            usage: components["schemas"]["UsageInfo"];
            /** Model */
            model: string;
            /** Finish Reason */
            finish_reason: string;
            /** Generation Time Ms */
            generation_time_ms: number;
        };
        /** GpuInfo */
        GpuInfo: {
            /** Index */
            index: number;
            /** Name */
            name: string;
            /** Memory Used Bytes */
            memory_used_bytes: number;
            /** Memory Total Bytes */
            memory_total_bytes: number;
            /** Utilization Percent */
            utilization_percent: number | null;
            /** Temperature C */
            temperature_c: number | null;
        };
        /** HTTPValidationError */
        HTTPValidationError: {
            /** Detail */
            detail: components["schemas"]["ValidationError"][];
        };
        /**
         * Health
         * @description The seed services' `status`, `model_loaded` and `model_name`, and more.
         */
        Health: {
            /**
             * Status
             * @enum {string}
             */
            status: "healthy" | "loading" | "unhealthy";
            /** Model Loaded */
            model_loaded: boolean;
            /** Model Name */
            model_name: string;
            /** Message */
            message: string;
            /** Device */
            device: string;
            /** Models */
            models: components["schemas"]["ModelStatus"][];
            /** Version */
            version: string;
            /** Uptime S */
            uptime_s: number;
        };
        /** HistoryTurn */
        HistoryTurn: {
            /**
             * Role
             * @enum {string}
             */
            role: "user" | "assistant";
            /** Content */
            content: string;
        };
        /** ImportResult */
        ImportResult: {
            /** Imported */
            imported: number;
            /** Conversation Ids */
            conversation_ids: string[];
        };
        /** IncompleteDetails */
        IncompleteDetails: {
            /**
             * Reason
             * @constant
             */
            reason: "max_output_tokens";
        };
        /**
         * InputItem
         * @description One item of `input`: a message (its `type` may be left out), a `function_call` or a
         *     `function_call_output`; a `reasoning` item (an earlier answer's thinking) is history the
         *     model is not shown again, as in a chat.
         */
        InputItem: {
            /**
             * Type
             * @default message
             */
            type: string;
            /** Role */
            role?: ("user" | "assistant" | "system" | "developer") | null;
            /** Content */
            content?: string | components["schemas"]["ContentPart"][] | null;
            /** Call Id */
            call_id?: string | null;
            /** Name */
            name?: string | null;
            /** Arguments */
            arguments?: string | null;
            /** Output */
            output?: string | components["schemas"]["ContentPart"][] | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * InputItemList
         * @description A page of a stored response's input items, in OpenAI's list shape.
         */
        InputItemList: {
            /**
             * Object
             * @default list
             * @constant
             */
            object: "list";
            /** Data */
            data: {
                [key: string]: unknown;
            }[];
            /** First Id */
            first_id: string | null;
            /** Last Id */
            last_id: string | null;
            /** Has More */
            has_more: boolean;
        };
        /** InputTokensDetails */
        InputTokensDetails: {
            /**
             * Cached Tokens
             * @default 0
             */
            cached_tokens: number;
        };
        /**
         * JsonSchemaFormat
         * @description OpenAI's `json_schema` response format: the answer is JSON valid against `schema`.
         */
        JsonSchemaFormat: {
            /**
             * Name
             * @default response
             */
            name: string;
            /** Description */
            description?: string | null;
            /** Schema */
            schema: {
                [key: string]: unknown;
            };
            /** Strict */
            strict?: boolean | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * LoadRequest
         * @example {}
         * @example {
         *       "model": "smollm2"
         *     }
         */
        LoadRequest: {
            /** Model */
            model?: string | null;
        };
        /** LoadResponse */
        LoadResponse: {
            /**
             * Status
             * @constant
             */
            status: "loaded";
            /** Model */
            model: string;
            /** Message */
            message: string;
        };
        /** MemoryInfo */
        MemoryInfo: {
            /** Total Bytes */
            total_bytes: number;
            /** Available Bytes */
            available_bytes: number;
            /** Used Bytes */
            used_bytes: number;
            /** Percent */
            percent: number;
            /** Process Rss Bytes */
            process_rss_bytes: number;
        };
        /** MessagePublic */
        MessagePublic: {
            /** Id */
            id: string;
            /** Parent Id */
            parent_id: string | null;
            /**
             * Role
             * @enum {string}
             */
            role: "user" | "assistant";
            /** Content */
            content: string;
            /** Thinking */
            thinking: string;
            /**
             * Status
             * @enum {string}
             */
            status: "complete" | "streaming" | "cancelled" | "interrupted" | "error";
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Seq */
            seq: number;
            usage: components["schemas"]["Usage"] | null;
            /** Client Id */
            client_id: string | null;
            /** Model */
            model: string | null;
            /** Finish Reason */
            finish_reason: ("stop" | "length" | "cancelled" | "tool_calls") | null;
            timings: components["schemas"]["Timings"] | null;
            /**
             * Attachments
             * @default []
             */
            attachments: components["schemas"]["AttachmentPublic"][];
            /**
             * Tool Calls
             * @default []
             */
            tool_calls: components["schemas"]["ToolCallRecord"][];
        };
        /**
         * MessageToolCall
         * @description A call in an assistant message: of a history, or of an answer.
         */
        MessageToolCall: {
            /** Id */
            id: string;
            /**
             * Type
             * @default function
             * @constant
             */
            type: "function";
            function: components["schemas"]["FunctionCall"];
        } & {
            [key: string]: unknown;
        };
        /** ModelInfo */
        ModelInfo: {
            /** Model Name */
            model_name: string;
            /** Model Path */
            model_path: string | null;
            /**
             * State
             * @enum {string}
             */
            state: "available" | "loading" | "loaded" | "failed";
            /** Is Loaded */
            is_loaded: boolean;
            /** Device */
            device: string | null;
            /** Dtype */
            dtype: string | null;
            /** Context Length */
            context_length: number | null;
            /** Parameter Count */
            parameter_count: number | null;
            /** Memory Bytes */
            memory_bytes: number | null;
            /** Error */
            error: string | null;
        };
        /** ModelList */
        ModelList: {
            /** Models */
            models: components["schemas"]["ModelStatus"][];
            /** Default */
            default: string;
        };
        /** ModelListObject */
        ModelListObject: {
            /**
             * Object
             * @default list
             * @constant
             */
            object: "list";
            /** Data */
            data: components["schemas"]["ModelObject"][];
        };
        /** ModelObject */
        ModelObject: {
            /** Id */
            id: string;
            /**
             * Object
             * @default model
             * @constant
             */
            object: "model";
            /** Created */
            created: number;
            /**
             * Owned By
             * @default parley
             */
            owned_by: string;
            /** Max Model Len */
            max_model_len: number | null;
        };
        /** ModelStatus */
        ModelStatus: {
            /** Id */
            id: string;
            /**
             * State
             * @enum {string}
             */
            state: "available" | "loading" | "loaded" | "failed";
            /** Is Default */
            is_default: boolean;
            /** Error */
            error: string | null;
            /** Device */
            device: string | null;
            /** Dtype */
            dtype: string | null;
            /** Engine */
            engine: ("transformers" | "llamacpp" | "openai") | null;
            /** Engine Note */
            engine_note: string | null;
            /** Memory Bytes */
            memory_bytes: number | null;
            /** Progress */
            progress: number | null;
            /** Context Length */
            context_length: number | null;
            /** Thinking Toggle */
            thinking_toggle: boolean | null;
        };
        /** NamedFunction */
        "NamedFunction-Output": {
            /**
             * Type
             * @constant
             */
            type: "function";
            /** Name */
            name: string;
        } & {
            [key: string]: unknown;
        };
        /**
         * NamedToolChoice
         * @description `{"type": "function", "function": {"name": ...}}`: the model must call that function.
         */
        NamedToolChoice: {
            /**
             * Type
             * @constant
             */
            type: "function";
            function: components["schemas"]["parley__api__openai_schemas__NamedFunction"];
        } & {
            [key: string]: unknown;
        };
        /** OpenAIMessage */
        OpenAIMessage: {
            /**
             * Role
             * @enum {string}
             */
            role: "system" | "developer" | "user" | "assistant" | "tool";
            /** Content */
            content?: string | components["schemas"]["TextPart"][] | null;
            /** Tool Calls */
            tool_calls?: components["schemas"]["MessageToolCall"][] | null;
            /** Tool Call Id */
            tool_call_id?: string | null;
        } & {
            [key: string]: unknown;
        };
        /** OutputMessage */
        OutputMessage: {
            /**
             * Type
             * @default message
             * @constant
             */
            type: "message";
            /** Id */
            id: string;
            /**
             * Status
             * @default completed
             * @enum {string}
             */
            status: "in_progress" | "completed" | "incomplete";
            /**
             * Role
             * @default assistant
             * @constant
             */
            role: "assistant";
            /** Content */
            content: components["schemas"]["OutputText"][];
        };
        /** OutputText */
        OutputText: {
            /**
             * Type
             * @default output_text
             * @constant
             */
            type: "output_text";
            /** Text */
            text: string;
            /** Annotations */
            annotations: unknown[];
        };
        /** OutputTokensDetails */
        OutputTokensDetails: {
            /**
             * Reasoning Tokens
             * @default 0
             */
            reasoning_tokens: number;
        };
        /** Percentiles */
        Percentiles: {
            /** P50 */
            p50: number | null;
            /** P90 */
            p90: number | null;
            /** P95 */
            p95: number | null;
            /** P99 */
            p99: number | null;
            /** Samples */
            samples: number;
        };
        /** PromptTokensDetails */
        PromptTokensDetails: {
            /**
             * Cached Tokens
             * @description Prompt tokens not read again: already cached.
             * @default 0
             */
            cached_tokens: number;
        };
        /** Reasoning */
        Reasoning: {
            /** Effort */
            effort?: ("none" | "minimal" | "low" | "medium" | "high" | "xhigh") | null;
            /** Summary */
            summary?: string | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * ReasoningItem
         * @description The model's thinking, as it thought it (`content`); where the request asked for a
         *     summary (`reasoning.summary`), the same text as its one summary part: the models here
         *     think in the open, so no shorter summary is made of it.
         */
        ReasoningItem: {
            /**
             * Type
             * @default reasoning
             * @constant
             */
            type: "reasoning";
            /** Id */
            id: string;
            /**
             * Status
             * @default completed
             * @enum {string}
             */
            status: "in_progress" | "completed" | "incomplete";
            /** Summary */
            summary: components["schemas"]["SummaryText"][];
            /** Content */
            content: components["schemas"]["ReasoningText"][];
        };
        /** ReasoningText */
        ReasoningText: {
            /**
             * Type
             * @default reasoning_text
             * @constant
             */
            type: "reasoning_text";
            /** Text */
            text: string;
        };
        /** RequestStats */
        RequestStats: {
            /** Total */
            total: number;
            /** Client Errors */
            client_errors: number;
            /** Server Errors */
            server_errors: number;
            /** Success Rate */
            success_rate: number | null;
            latency_ms: components["schemas"]["Percentiles"];
        };
        /** Resources */
        Resources: {
            /** Gpus */
            gpus: components["schemas"]["GpuInfo"][];
            cpu: components["schemas"]["CpuInfo"];
            memory: components["schemas"]["MemoryInfo"];
            disk: components["schemas"]["DiskInfo"];
            /** Models */
            models: components["schemas"]["ModelStatus"][];
        };
        /**
         * ResponseCreateRequest
         * @example {
         *       "input": "Hello!",
         *       "instructions": "Be terse.",
         *       "model": "scripted"
         *     }
         */
        ResponseCreateRequest: {
            /** Model */
            model: string;
            /** Input */
            input: string | components["schemas"]["InputItem"][];
            /** Instructions */
            instructions?: string | null;
            /**
             * Stream
             * @default false
             */
            stream: boolean;
            /** Max Output Tokens */
            max_output_tokens?: number | null;
            /** Temperature */
            temperature?: number | null;
            /** Top P */
            top_p?: number | null;
            /** Tools */
            tools?: components["schemas"]["FunctionTool"][] | null;
            /** Tool Choice */
            tool_choice?: ("auto" | "none" | "required") | components["schemas"]["parley__api__responses_schemas__NamedFunction"] | null;
            /** Parallel Tool Calls */
            parallel_tool_calls?: boolean | null;
            reasoning?: components["schemas"]["Reasoning"] | null;
            text?: components["schemas"]["TextOptions"] | null;
            /** Truncation */
            truncation?: ("auto" | "disabled") | null;
            /** Metadata */
            metadata?: {
                [key: string]: string;
            } | null;
            /** User */
            user?: string | null;
            /** Safety Identifier */
            safety_identifier?: string | null;
            /** Prompt Cache Key */
            prompt_cache_key?: string | null;
            /** Service Tier */
            service_tier?: string | null;
            /** Stream Options */
            stream_options?: {
                [key: string]: unknown;
            } | null;
            /**
             * Store
             * @default true
             */
            store: boolean;
            /** Previous Response Id */
            previous_response_id?: string | null;
            /**
             * Background
             * @default false
             */
            background: boolean;
            /** Include */
            include?: string[] | null;
            /** Top Logprobs */
            top_logprobs?: number | null;
            /** Max Tool Calls */
            max_tool_calls?: number | null;
            /** Conversation */
            conversation?: string | {
                [key: string]: unknown;
            } | null;
            /** Prompt */
            prompt?: {
                [key: string]: unknown;
            } | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * ResponseFormat
         * @description What the answer must be, in OpenAI's shape: `text` (anything), `json_object` (a JSON
         *     object) or `json_schema` (JSON valid against the schema given).
         */
        ResponseFormat: {
            /**
             * Type
             * @enum {string}
             */
            type: "text" | "json_object" | "json_schema";
            json_schema?: components["schemas"]["JsonSchemaFormat"] | null;
        };
        /**
         * ResponseObject
         * @description OpenAI's Response: the request's settings echoed, the output items and the usage.
         */
        ResponseObject: {
            /** Id */
            id: string;
            /**
             * Object
             * @default response
             * @constant
             */
            object: "response";
            /** Created At */
            created_at: number;
            /**
             * Status
             * @default in_progress
             * @enum {string}
             */
            status: "queued" | "in_progress" | "completed" | "incomplete" | "failed" | "cancelled";
            /** Model */
            model: string;
            /** Output */
            output: (components["schemas"]["OutputMessage"] | components["schemas"]["ReasoningItem"] | components["schemas"]["FunctionCallItem"])[];
            usage: components["schemas"]["ResponseUsage"] | null;
            /** Error */
            error: {
                [key: string]: unknown;
            } | null;
            incomplete_details: components["schemas"]["IncompleteDetails"] | null;
            /** Instructions */
            instructions: string | null;
            /** Max Output Tokens */
            max_output_tokens: number | null;
            /** Temperature */
            temperature: number | null;
            /** Top P */
            top_p: number | null;
            /** Tools */
            tools: components["schemas"]["FunctionTool"][];
            /**
             * Tool Choice
             * @default auto
             */
            tool_choice: ("auto" | "none" | "required") | components["schemas"]["NamedFunction-Output"];
            /**
             * Parallel Tool Calls
             * @default true
             */
            parallel_tool_calls: boolean;
            /** Previous Response Id */
            previous_response_id: string | null;
            /**
             * Store
             * @default false
             */
            store: boolean;
            /**
             * Background
             * @default false
             */
            background: boolean;
            /** Metadata */
            metadata: {
                [key: string]: string;
            };
            text: components["schemas"]["TextOptions"];
            /**
             * Truncation
             * @default disabled
             * @enum {string}
             */
            truncation: "auto" | "disabled";
            reasoning: components["schemas"]["Reasoning"] | null;
        };
        /** ResponseUsage */
        ResponseUsage: {
            /** Input Tokens */
            input_tokens: number;
            input_tokens_details: components["schemas"]["InputTokensDetails"];
            /** Output Tokens */
            output_tokens: number;
            output_tokens_details: components["schemas"]["OutputTokensDetails"];
            /** Total Tokens */
            total_tokens: number;
        };
        /** RunStats */
        RunStats: {
            /** Total */
            total: number;
            /** Completed */
            completed: number;
            /** Cancelled */
            cancelled: number;
            /** Failed */
            failed: number;
            /** Interrupted */
            interrupted: number;
            /** Success Rate */
            success_rate: number | null;
            /** Active */
            active: number;
            /** Queued */
            queued: number;
            ttft_ms: components["schemas"]["Percentiles"];
            tokens_per_s: components["schemas"]["Percentiles"];
        };
        /** SearchItem */
        SearchItem: {
            /** Conversation Id */
            conversation_id: string;
            /** Message Id */
            message_id: string | null;
            /** Title */
            title: string;
            /** Snippet */
            snippet: string;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
        };
        /** SearchResults */
        SearchResults: {
            /** Items */
            items: components["schemas"]["SearchItem"][];
        };
        /** ServiceInfo */
        ServiceInfo: {
            /** Name */
            name: string;
            /** Version */
            version: string;
            /** Docs */
            docs: string;
            /** Redoc */
            redoc: string;
            /** Openai Base Url */
            openai_base_url: string;
            /** Health */
            health: string;
        };
        /** StatsPublic */
        StatsPublic: {
            /**
             * Started At
             * Format: date-time
             */
            started_at: string;
            /** Uptime S */
            uptime_s: number;
            requests: components["schemas"]["RequestStats"];
            runs: components["schemas"]["RunStats"];
            tokens: components["schemas"]["TokenStats"];
        };
        /** StreamOptions */
        StreamOptions: {
            /**
             * Include Usage
             * @default false
             */
            include_usage: boolean;
        } & {
            [key: string]: unknown;
        };
        /** SummaryText */
        SummaryText: {
            /**
             * Type
             * @default summary_text
             * @constant
             */
            type: "summary_text";
            /** Text */
            text: string;
        };
        /**
         * TextFormat
         * @description `text.format`: a response format in the Responses API's shape, the schema's fields
         *     beside `type` (chat completions nest them under `json_schema`).
         */
        TextFormat: {
            /**
             * Type
             * @enum {string}
             */
            type: "text" | "json_object" | "json_schema";
            /** Name */
            name?: string | null;
            /** Schema */
            schema?: {
                [key: string]: unknown;
            } | null;
            /** Strict */
            strict?: boolean | null;
        } & {
            [key: string]: unknown;
        };
        /** TextOptions */
        TextOptions: {
            format?: components["schemas"]["TextFormat"] | null;
            /** Verbosity */
            verbosity?: ("low" | "medium" | "high") | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * TextPart
         * @description A part of a message's content. Only text parts are read; the others (images, audio,
         *     files) are refused by ChatCompletionRequest.check_supported.
         */
        TextPart: {
            /** Type */
            type: string;
            /** Text */
            text?: string | null;
        } & {
            [key: string]: unknown;
        };
        /** Timings */
        Timings: {
            /** Ttft Ms */
            ttft_ms: number | null;
            /** Tokens Per S */
            tokens_per_s: number | null;
        };
        /** TokenLogprobObject */
        TokenLogprobObject: {
            /** Token */
            token: string;
            /** Logprob */
            logprob: number;
            /** Bytes */
            bytes: number[] | null;
            /** Top Logprobs */
            top_logprobs: components["schemas"]["TopLogprobObject"][];
        };
        /** TokenResponse */
        TokenResponse: {
            /** Access Token */
            access_token: string;
            /**
             * Token Type
             * @default bearer
             */
            token_type: string;
            /** Expires In */
            expires_in: number;
        };
        /** TokenStats */
        TokenStats: {
            /** Generated */
            generated: number;
            /** Prompt */
            prompt: number;
        };
        /**
         * ToolCallRecord
         * @description One tool call of an answer as stored and replayed; `content_offset` is the length of the
         *     answer's `content` when the call was made, so a client can place it in the text.
         */
        ToolCallRecord: {
            /** Call Id */
            call_id: string;
            /** Name */
            name: string;
            /** Arguments */
            arguments: string;
            /** Result */
            result: string | null;
            /**
             * Is Error
             * @default false
             */
            is_error: boolean;
            /** Content Offset */
            content_offset: number;
            /** Duration Ms */
            duration_ms: number | null;
        };
        /** ToolDefinition */
        ToolDefinition: {
            /**
             * Type
             * @constant
             */
            type: "function";
            function: components["schemas"]["FunctionDefinition"];
        } & {
            [key: string]: unknown;
        };
        /** ToolPublic */
        ToolPublic: {
            /** Server */
            server: string;
            /** Name */
            name: string;
            /** Description */
            description: string;
            /** Input Schema */
            input_schema: {
                [key: string]: unknown;
            };
        };
        /** ToolServerStatus */
        ToolServerStatus: {
            /** Id */
            id: string;
            /**
             * State
             * @enum {string}
             */
            state: "starting" | "ready" | "failed";
            /** Error */
            error: string | null;
        };
        /** ToolsPublic */
        ToolsPublic: {
            /** Tools */
            tools: components["schemas"]["ToolPublic"][];
            /** Servers */
            servers: components["schemas"]["ToolServerStatus"][];
        };
        /** TopLogprobObject */
        TopLogprobObject: {
            /** Token */
            token: string;
            /** Logprob */
            logprob: number;
            /** Bytes */
            bytes: number[] | null;
        };
        /** Usage */
        Usage: {
            /**
             * Prompt Tokens
             * @default 0
             */
            prompt_tokens: number;
            /**
             * Completion Tokens
             * @default 0
             */
            completion_tokens: number;
            /**
             * Cached Tokens
             * @default 0
             */
            cached_tokens: number;
        };
        /** UsageInfo */
        UsageInfo: {
            /** Prompt Tokens */
            prompt_tokens: number;
            /** Completion Tokens */
            completion_tokens: number;
            /** Total Tokens */
            total_tokens: number;
            prompt_tokens_details: components["schemas"]["PromptTokensDetails"];
        };
        /**
         * UserAdminUpdate
         * @description What an administrator may change of a user; fields left out stay as they are.
         * @example {
         *       "disabled": true
         *     }
         * @example {
         *       "is_admin": true
         *     }
         */
        UserAdminUpdate: {
            /** Disabled */
            disabled?: boolean | null;
            /** Is Admin */
            is_admin?: boolean | null;
        };
        /** UserCreate */
        UserCreate: {
            /** Username */
            username: string;
            /** Password */
            password: string;
        };
        /** UserPublic */
        UserPublic: {
            /** Username */
            username: string;
            /** Id */
            id: string;
            /**
             * Is Admin
             * @default false
             */
            is_admin: boolean;
            /**
             * Disabled
             * @default false
             */
            disabled: boolean;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
        };
        /** ValidationError */
        ValidationError: {
            /** Location */
            loc: (string | number)[];
            /** Message */
            msg: string;
            /** Error Type */
            type: string;
            /** Input */
            input: unknown;
            /** Context */
            ctx: Record<string, never>;
        };
        /** NamedFunction */
        parley__api__openai_schemas__NamedFunction: {
            /** Name */
            name: string;
        } & {
            [key: string]: unknown;
        };
        /** NamedFunction */
        parley__api__responses_schemas__NamedFunction: {
            /**
             * Type
             * @constant
             */
            type: "function";
            /** Name */
            name: string;
        } & {
            [key: string]: unknown;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    register_api_auth_register_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    login_api_auth_login_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "username": "alice",
                 *       "password": "correct horse battery"
                 *     }
                 */
                "application/json": {
                    /** Username */
                    username: string;
                    /** Password */
                    password: string;
                };
                "application/x-www-form-urlencoded": {
                    /** Username */
                    username: string;
                    /** Password */
                    password: string;
                };
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenResponse"];
                };
            };
        };
    };
    me_api_auth_me_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserPublic"];
                };
            };
        };
    };
    logout_api_auth_logout_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    list_keys_api_keys_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyPublic"][];
                };
            };
        };
    };
    create_key_api_keys_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "nightly script",
                 *       "expires_at": "2027-01-01T00:00:00Z"
                 *     }
                 */
                "application/json": components["schemas"]["ApiKeyCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyCreated"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    revoke_key_api_keys__key_id__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                key_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    list_conversations_api_conversations_get: {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationPage"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    create_conversation_api_conversations_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ConversationCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    get_conversation_api_conversations__conversation_id__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                conversation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationDetail"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    delete_conversation_api_conversations__conversation_id__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                conversation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    update_conversation_api_conversations__conversation_id__patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                conversation_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ConversationUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    export_conversation_api_conversations__conversation_id__export_get: {
        parameters: {
            query?: {
                format?: "json" | "markdown";
            };
            header?: never;
            path: {
                conversation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExportDocument"];
                    "text/markdown": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    export_everything_api_export_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExportDocument"];
                };
            };
        };
    };
    import_conversations_api_import_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "file": "[]"
                 *     }
                 */
                "multipart/form-data": {
                    /** Format: binary */
                    file: Blob;
                };
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ImportResult"];
                };
            };
            /** @description too_large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description bad_import */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    search_api_search_get: {
        parameters: {
            query: {
                q: string;
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SearchResults"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    upload_file_api_files_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "file": "# Notes\nPack an umbrella.\n"
                 *     }
                 */
                "multipart/form-data": {
                    /** Format: binary */
                    file: Blob;
                };
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AttachmentPublic"];
                };
            };
            /** @description too_large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description unsupported_file */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    get_file_api_files__file_id__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                file_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AttachmentPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    list_models_api_models_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelList"];
                };
            };
        };
    };
    load_model_api_models__model_id__load_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                model_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelStatus"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    unload_model_api_models__model_id__unload_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                model_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelStatus"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    list_tools_api_tools_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ToolsPublic"];
                };
            };
        };
    };
    resources_api_admin_resources_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Resources"];
                };
            };
        };
    };
    users_api_admin_users_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserPublic"][];
                };
            };
        };
    };
    update_user_api_admin_users__user_id__patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserAdminUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    liveness_health_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: string;
                    };
                };
            };
        };
    };
    health_api_v1_health_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            /** @description The default model failed to load. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    stats_api_v1_stats_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StatsPublic"];
                };
            };
        };
    };
    service_info_api_v1_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ServiceInfo"];
                };
            };
        };
    };
    chat_api_v1_chat_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ChatRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ChatResponse"];
                };
            };
            /** @description unknown model */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description model_not_loaded: the model is loading or failed to load */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    chat_stream_api_v1_chat_stream_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ChatRequest"];
            };
        };
        responses: {
            /** @description Server-Sent Events: start, thinking*, chunk*, then end (or error). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example data: {"type": "start", "content": ""}
                     *
                     *     data: {"type": "chunk", "content": "Hello"}
                     *
                     *     data: {"type": "end", "content": "", "finish_reason": "stop"}
                     */
                    "text/event-stream": unknown;
                };
            };
            /** @description unknown model */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description model_not_loaded: the model is loading or failed to load */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    generate_api_v1_generate_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["GenerateRequest"];
            };
        };
        responses: {
            /** @description Server-Sent Events: start, thinking*, chunk*, then end (or error). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GenerateResponse"];
                    /**
                     * @example data: {"type": "start", "content": ""}
                     *
                     *     data: {"type": "chunk", "content": "Hello"}
                     *
                     *     data: {"type": "end", "content": "", "finish_reason": "stop"}
                     */
                    "text/event-stream": unknown;
                };
            };
            /** @description unknown model */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description model_not_loaded: the model is loading or failed to load */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    batch_api_v1_batch_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BatchRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BatchResponse"];
                };
            };
            /** @description unknown model */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description model_not_loaded: the model is loading or failed to load */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    model_info_api_v1_model_info_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelInfo"];
                };
            };
        };
    };
    load_model_api_v1_model_load_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["LoadRequest"] | null;
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LoadResponse"];
                };
            };
            /** @description unknown model */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description model_not_loaded: the model is loading or failed to load */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    list_models_v1_models_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelListObject"];
                };
            };
        };
    };
    get_model_v1_models__model_id__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                model_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelObject"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    chat_completions_v1_chat_completions_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ChatCompletionRequest"];
            };
        };
        responses: {
            /** @description A chat.completion, or with `stream: true` chat.completion.chunk events ending with `data: [DONE]`. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ChatCompletion"];
                    "text/event-stream": unknown;
                };
            };
            /** @description A parameter this server does not support (`param` names it) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description model_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description model_not_loaded */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    embeddings_v1_embeddings_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EmbeddingRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EmbeddingList"];
                };
            };
            /** @description A model that does not embed, an input it cannot read (too long, empty, an unknown token id), or a parameter this server does not support */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description model_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description model_not_loaded */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    create_response_v1_responses_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ResponseCreateRequest"];
            };
        };
        responses: {
            /** @description A Response, or with `stream: true` its typed events (`response.created` ... `response.completed`). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ResponseObject"];
                    "text/event-stream": unknown;
                };
            };
            /** @description A parameter this server does not support (`param` names it) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description model_not_found, or no such `previous_response_id` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description model_not_loaded */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    get_response_v1_responses__response_id__get: {
        parameters: {
            query?: {
                stream?: boolean;
                starting_after?: number | null;
            };
            header?: never;
            path: {
                response_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The Response as it stands, or with `stream=true` a background response's events after `starting_after`, then each as it is made. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ResponseObject"];
                    "text/event-stream": unknown;
                };
            };
            /** @description No such response of this user */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    delete_response_v1_responses__response_id__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                response_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeletedResponse"];
                };
            };
            /** @description No such response */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    cancel_response_v1_responses__response_id__cancel_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                response_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ResponseObject"];
                };
            };
            /** @description Not a background response */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No such response */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    list_input_items_v1_responses__response_id__input_items_get: {
        parameters: {
            query?: {
                after?: string | null;
                limit?: number;
                order?: "asc" | "desc";
            };
            header?: never;
            path: {
                response_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InputItemList"];
                };
            };
            /** @description No such response */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
}
