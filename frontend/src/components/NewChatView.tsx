// A chat not created yet: what a signed-in reader lands on. The first message creates the
// conversation (with the model and thinking picked here) and is sent in it.
import { useState, type RefObject } from "react";
import { useTranslation } from "react-i18next";
import type { Attachment, ConversationChanges, ModelList } from "../api/types";
import { useAttachments } from "../hooks/useAttachments";
import { ChatLayout } from "./ChatLayout";
import { Composer } from "./Composer";
import { ModelPicker, ThinkingToggle, chosenModel, supportsThinkingToggle } from "./ModelPicker";
// The empty message area looks like the chat view's.
import "./ChatView.css";

interface NewChatViewProps {
  token: string;
  models: ModelList | null | "unavailable";
  sidebarOpen: boolean;
  onToggleSidebar: () => void;
  /** Creates the conversation and opens it with this first message; answers an error text. */
  onStart: (content: string, attachments: Attachment[], settings: ConversationChanges) => Promise<string | null>;
  composerRef: RefObject<HTMLTextAreaElement | null>;
}

export function NewChatView({ token, models, sidebarOpen, onToggleSidebar, onStart, composerRef }: NewChatViewProps) {
  const { t } = useTranslation();
  const attachments = useAttachments(token);
  const [model, setModel] = useState<string | null>(null);
  const [thinking, setThinking] = useState<boolean | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);

  async function start(content: string, files: Attachment[]) {
    setStarting(true);
    const settings: ConversationChanges = { ...(model ? { model } : {}), ...(thinking !== null ? { thinking } : {}) };
    const failure = await onStart(content, files, settings);
    setStarting(false);
    setProblem(failure && t("chat.createFailed", { message: failure }));
    return failure === null;
  }

  return (
    <ChatLayout
      title={t("chat.newChat")}
      sidebarOpen={sidebarOpen}
      onToggleSidebar={onToggleSidebar}
      onFiles={attachments.add}
      controls={
        <>
          <ModelPicker models={models} value={model} disabled={false} onChange={setModel} />
          {supportsThinkingToggle(chosenModel(models, model)) && (
            <ThinkingToggle value={thinking} disabled={false} onChange={setThinking} />
          )}
        </>
      }
      banners={
        problem && (
          <p className="banner error" role="alert">
            {problem}
          </p>
        )
      }
      composer={
        <Composer
          generating={false}
          connected={!starting}
          attachments={attachments}
          inputRef={composerRef}
          onSend={start}
          onStop={() => undefined}
        />
      }
    >
      <div className="messages">
        <p className="muted empty-chat">{t("chat.emptyNew")}</p>
      </div>
    </ChatLayout>
  );
}
