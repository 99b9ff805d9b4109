import { useTranslation } from "react-i18next";
import { Icon } from "./Icon";

export const SIDEBAR_ID = "conversation-sidebar";

/** Opens the conversation list, a drawer on narrow screens (hidden on wide ones). */
export function MenuButton({ expanded, onClick }: { expanded: boolean; onClick: () => void }) {
  const { t } = useTranslation();
  return (
    <button
      type="button"
      className="icon-button menu-button"
      aria-label={t("menu.showConversations")}
      aria-controls={SIDEBAR_ID}
      aria-expanded={expanded}
      onClick={onClick}
    >
      <Icon name="menu" />
    </button>
  );
}
