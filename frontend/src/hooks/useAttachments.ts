// Files picked, dropped or pasted for the next message: each is uploaded at once (POST
// /api/files) and shown as a chip; a refused one stays as a chip that says why.
import { useCallback, useState } from "react";
import { ApiError } from "../api/http";
import { uploadFile } from "../api/rest";
import type { Attachment } from "../api/types";
import i18n from "../i18n";
import { newClientId } from "../lib/ids";

export type PendingFile =
  | { key: string; name: string; size: number; state: "uploading" }
  | { key: string; name: string; size: number; state: "ready"; attachment: Attachment }
  | { key: string; name: string; size: number; state: "refused"; problem: string };

export interface Attachments {
  files: PendingFile[];
  uploading: boolean;
  ready: Attachment[];
  add: (files: Iterable<File>) => void;
  remove: (key: string) => void;
  clear: () => void;
}

function refusal(name: string, error: unknown): string {
  if (error instanceof ApiError && error.code === "unsupported_file")
    return i18n.t("composer.unsupportedFile", { name });
  if (error instanceof ApiError && error.code === "too_large")
    return i18n.t("composer.tooLarge", { name, message: error.message });
  return i18n.t("composer.uploadFailed", { name, message: error instanceof Error ? error.message : String(error) });
}

export function useAttachments(token: string): Attachments {
  const [files, setFiles] = useState<PendingFile[]>([]);

  const add = useCallback(
    (picked: Iterable<File>) => {
      for (const file of picked) {
        const key = newClientId();
        const base = { key, name: file.name, size: file.size };
        setFiles((current) => [...current, { ...base, state: "uploading" }]);
        const settle = (next: PendingFile) =>
          // Removed while uploading: it stays removed.
          setFiles((current) => current.map((item) => (item.key === key ? next : item)));
        uploadFile(token, file).then(
          (attachment) => settle({ ...base, state: "ready", attachment }),
          (error: unknown) => settle({ ...base, state: "refused", problem: refusal(file.name, error) }),
        );
      }
    },
    [token],
  );

  const remove = useCallback((key: string) => setFiles((current) => current.filter((item) => item.key !== key)), []);
  const clear = useCallback(() => setFiles([]), []);

  return {
    files,
    uploading: files.some((item) => item.state === "uploading"),
    ready: files.flatMap((item) => (item.state === "ready" ? [item.attachment] : [])),
    add,
    remove,
    clear,
  };
}
