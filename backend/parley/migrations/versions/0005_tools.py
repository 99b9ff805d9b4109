"""tools: the tools a conversation picked, the tool calls of an answer

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:30:00.000000

Both columns are added in place (ALTER TABLE ADD COLUMN), so no table is copied and the
search triggers of 0004 stay as they are; the downgrade drops them in place too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("tools", sa.JSON(), nullable=True))
    op.add_column("messages", sa.Column("tool_calls", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "tool_calls")
    op.drop_column("conversations", "tools")
