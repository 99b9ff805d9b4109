// What the open chat and a new one share: the header, a message area that takes dropped
// files, and the composer below.
import { useState, type DragEvent, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { MenuButton } from "./MenuButton";
import "./ChatLayout.css";

interface ChatLayoutProps {
  title: string;
  sidebarOpen: boolean;
  onToggleSidebar: () => void;
  controls: ReactNode;
  /** Under the header: settings, banners. */
  banners?: ReactNode;
  children: ReactNode;
  composer: ReactNode;
  onFiles: (files: File[]) => void;
}

function carriesFiles(event: DragEvent) {
  return [...event.dataTransfer.types].includes("Files");
}

export function ChatLayout(props: ChatLayoutProps) {
  const { t } = useTranslation();
  const [dropping, setDropping] = useState(false);
  return (
    <section
      className={`chat-view${dropping ? " dropping" : ""}`}
      aria-labelledby="chat-title"
      onDragOver={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "copy";
        setDropping(true);
      }}
      onDragLeave={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDropping(false);
      }}
      onDrop={(event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        setDropping(false);
        props.onFiles([...event.dataTransfer.files]);
      }}
    >
      <header className="chat-header">
        <MenuButton expanded={props.sidebarOpen} onClick={props.onToggleSidebar} />
        <h1 id="chat-title" className="chat-title">
          {props.title}
        </h1>
        <div className="header-controls">{props.controls}</div>
      </header>
      {props.banners}
      {props.children}
      {props.composer}
      {dropping && (
        <div className="drop-hint" aria-hidden="true">
          {t("chat.dropFiles")}
        </div>
      )}
    </section>
  );
}
