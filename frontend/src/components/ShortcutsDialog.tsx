import { useTranslation } from "react-i18next";
import { SHORTCUTS, shortcutKeys } from "../lib/shortcuts";
import { Dialog } from "./Dialog";
import "./ShortcutsDialog.css";

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Dialog title={t("shortcuts.title")} className="shortcuts-dialog" onClose={onClose}>
      <dl className="shortcut-list">
        {SHORTCUTS.map((shortcut) => (
          <div key={shortcut.id} className="shortcut-row">
            <dt>{t(`shortcuts.${shortcut.id}`)}</dt>
            <dd>
              {shortcutKeys(shortcut.id).map((key, index) => (
                <span key={key}>
                  {index > 0 && " + "}
                  <kbd>{key}</kbd>
                </span>
              ))}
            </dd>
          </div>
        ))}
      </dl>
    </Dialog>
  );
}
