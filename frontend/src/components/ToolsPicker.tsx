// The tools a conversation offers the model (GET /api/tools), picked in a dialog from the
// composer; the choice is saved as a whole with Save.
import { useCallback, useEffect, useState } from "react";
import { createPortal } from "react-dom";
import { useTranslation } from "react-i18next";
import { listTools } from "../api/rest";
import type { ToolList, ToolServer } from "../api/types";
import { toolGroups, type ToolGroup } from "../lib/tools";
import { Dialog } from "./Dialog";
import { Icon } from "./Icon";
import "./ToolsPicker.css";

interface ToolsPickerProps {
  token: string;
  /** The tools chosen now, as "<server>.<name>". */
  chosen: readonly string[];
  disabled: boolean;
  /** Saves the choice; a rejection's message is shown and the dialog stays open. */
  onSave: (tools: string[]) => Promise<void>;
}

export function ToolsPicker({ token, chosen, disabled, onSave }: ToolsPickerProps) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const label = chosen.length > 0 ? t("tools.buttonChosen", { count: chosen.length }) : t("tools.button");
  return (
    <>
      <button
        type="button"
        className={`icon-button tools-button${chosen.length > 0 ? " active" : ""}`}
        aria-label={label}
        aria-haspopup="dialog"
        title={label}
        disabled={disabled}
        onClick={() => setOpen(true)}
      >
        <Icon name="tool" />
        {chosen.length > 0 && (
          <span className="tools-count" aria-hidden="true">
            {chosen.length}
          </span>
        )}
      </button>
      {/* In the body, not in the composer's <form>: a form in a form is submitted by the browser. */}
      {open &&
        createPortal(
          <ToolsDialog token={token} chosen={chosen} onSave={onSave} onClose={() => setOpen(false)} />,
          document.body,
        )}
    </>
  );
}

type Loaded = { kind: "loading" } | { kind: "failed"; message: string } | { kind: "ready"; list: ToolList };

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function ToolsDialog({ token, chosen, onSave, onClose }: Omit<ToolsPickerProps, "disabled"> & { onClose: () => void }) {
  const { t } = useTranslation();
  const [loaded, setLoaded] = useState<Loaded>({ kind: "loading" });
  const [draft, setDraft] = useState<string[]>([...chosen]);
  const [saving, setSaving] = useState(false);
  const [saveProblem, setSaveProblem] = useState<string | null>(null);

  const load = useCallback(() => {
    setLoaded({ kind: "loading" });
    let current = true;
    listTools(token).then(
      (list) => current && setLoaded({ kind: "ready", list }),
      (error: unknown) => current && setLoaded({ kind: "failed", message: errorText(error) }),
    );
    return () => {
      current = false;
    };
  }, [token]);
  useEffect(load, [load]);

  function toggle(id: string, on: boolean) {
    setDraft((current) => (on ? [...current, id] : current.filter((item) => item !== id)));
  }

  async function save() {
    setSaving(true);
    try {
      await onSave(draft);
      onClose();
    } catch (error) {
      setSaveProblem(t("tools.saveFailed", { message: errorText(error) }));
      setSaving(false);
    }
  }

  return (
    <Dialog title={t("tools.title")} className="tools-dialog" onClose={onClose}>
      <form
        className="tools-form"
        onSubmit={(event) => {
          event.preventDefault();
          // React events cross the portal: the composer's form must not see this submit.
          event.stopPropagation();
          void save();
        }}
      >
        <p className="muted tools-intro">{t("tools.intro")}</p>
        {loaded.kind === "loading" && (
          <p className="muted" role="status">
            {t("tools.loading")}
          </p>
        )}
        {loaded.kind === "failed" && (
          <div className="banner error" role="alert">
            <span>{t("tools.loadFailed", { message: loaded.message })}</span>
            <button type="button" className="secondary small" onClick={load}>
              {t("tools.retry")}
            </button>
          </div>
        )}
        {loaded.kind === "ready" &&
          (loaded.list.servers.length === 0 && draft.length === 0 ? (
            <p className="muted">{t("tools.none")}</p>
          ) : (
            toolGroups(loaded.list, draft).map((group) => (
              <ServerGroup key={group.server?.id ?? ""} group={group} chosen={draft} onToggle={toggle} />
            ))
          ))}
        {saveProblem && (
          <p className="form-error" role="alert">
            {saveProblem}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="primary small" disabled={saving || loaded.kind !== "ready"}>
            {t("tools.save")}
          </button>
          <button type="button" className="secondary small" onClick={onClose}>
            {t("tools.cancel")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ServerGroup({
  group,
  chosen,
  onToggle,
}: {
  group: ToolGroup;
  chosen: readonly string[];
  onToggle: (id: string, on: boolean) => void;
}) {
  const { t } = useTranslation();
  const { server, options } = group;
  return (
    <fieldset className="tool-server" data-state={server?.state ?? "gone"}>
      <legend>{server?.id ?? t("tools.unavailable")}</legend>
      {server && <ServerState server={server} />}
      {server?.state === "ready" && options.length === 0 && <p className="muted">{t("tools.serverNoTools")}</p>}
      {options.map((option) => (
        <label key={option.id} className={`tool-option${option.available ? "" : " unavailable"}`}>
          <input
            type="checkbox"
            checked={chosen.includes(option.id)}
            onChange={(event) => onToggle(option.id, event.target.checked)}
          />
          <span className="tool-option-text">
            <span className="tool-option-name">
              {option.name}
              {!option.available && <span className="muted"> ({t("tools.unavailable")})</span>}
            </span>
            {option.description && <span className="tool-option-description">{option.description}</span>}
          </span>
        </label>
      ))}
    </fieldset>
  );
}

function ServerState({ server }: { server: ToolServer }) {
  const { t } = useTranslation();
  if (server.state === "starting") return <p className="muted tool-server-state">{t("tools.serverStarting")}</p>;
  if (server.state === "failed")
    return (
      <p className="form-error tool-server-state">
        {t("tools.serverFailed", { reason: server.error ?? t("tools.serverFailedDefault") })}
      </p>
    );
  return null;
}
