"""chat library: full-text search, uploaded files, attachments, branches, thinking per conversation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 05:10:00.000000

On SQLite the search index is an FTS5 table with the trigram tokenizer (any script, Chinese
included), kept in step with titles and messages by triggers. Its rows are numbered by
`search_docs`, an ordinary table, so the index never depends on the rowids of `messages`,
which VACUUM and table copies may renumber. A later migration that copies `conversations` or
`messages` (a batch alter that cannot be done in place) drops these triggers: it must create
them again (`tests/library/test_search.py` checks they are there after every migration).

On PostgreSQL the index is pg_trgm's: trigram GIN indexes on titles and message texts, which
serve the search's case-insensitive substring match (ILIKE) with no table or trigger of its
own. pg_trgm is a trusted extension: the database's owner may create it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A title row: message_id NULL. An answer is indexed once it stops streaming, so the index is
# not rewritten at every save of a growing answer.
_SEARCH_SCHEMA = """
CREATE TABLE search_docs (
    id INTEGER PRIMARY KEY,
    conversation_id VARCHAR NOT NULL,
    message_id VARCHAR UNIQUE
);
CREATE INDEX ix_search_docs_conversation ON search_docs (conversation_id);
CREATE VIRTUAL TABLE search_index USING fts5(title, body, tokenize = 'trigram');

CREATE TRIGGER search_conversation_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO search_docs (conversation_id, message_id) VALUES (new.id, NULL);
    INSERT INTO search_index (rowid, title, body) VALUES (last_insert_rowid(), new.title, '');
END;
CREATE TRIGGER search_conversation_title AFTER UPDATE OF title ON conversations
WHEN new.title IS NOT old.title BEGIN
    UPDATE search_index SET title = new.title WHERE rowid = (
        SELECT id FROM search_docs WHERE conversation_id = new.id AND message_id IS NULL
    );
END;
CREATE TRIGGER search_conversation_delete AFTER DELETE ON conversations BEGIN
    DELETE FROM search_index WHERE rowid IN (
        SELECT id FROM search_docs WHERE conversation_id = old.id
    );
    DELETE FROM search_docs WHERE conversation_id = old.id;
END;

CREATE TRIGGER search_message_insert AFTER INSERT ON messages BEGIN
    INSERT INTO search_docs (conversation_id, message_id) VALUES (new.conversation_id, new.id);
    INSERT INTO search_index (rowid, title, body) VALUES (
        last_insert_rowid(), '', CASE WHEN new.status = 'streaming' THEN '' ELSE new.content END
    );
END;
CREATE TRIGGER search_message_update AFTER UPDATE OF content, status ON messages
WHEN new.status != 'streaming' AND (new.content IS NOT old.content OR old.status = 'streaming')
BEGIN
    UPDATE search_index SET body = new.content WHERE rowid = (
        SELECT id FROM search_docs WHERE message_id = new.id
    );
END;
CREATE TRIGGER search_message_delete AFTER DELETE ON messages BEGIN
    DELETE FROM search_index WHERE rowid = (SELECT id FROM search_docs WHERE message_id = old.id);
    DELETE FROM search_docs WHERE message_id = old.id;
END;

INSERT INTO search_docs (conversation_id, message_id)
    SELECT id, NULL FROM conversations
    UNION ALL SELECT conversation_id, id FROM messages;
INSERT INTO search_index (rowid, title, body)
    SELECT d.id, COALESCE(c.title, ''),
           CASE WHEN m.status = 'streaming' THEN '' ELSE COALESCE(m.content, '') END
    FROM search_docs d
    LEFT JOIN conversations c ON d.message_id IS NULL AND c.id = d.conversation_id
    LEFT JOIN messages m ON m.id = d.message_id;
"""

_SEARCH_DROP = """
DROP TRIGGER IF EXISTS search_message_delete;
DROP TRIGGER IF EXISTS search_message_update;
DROP TRIGGER IF EXISTS search_message_insert;
DROP TRIGGER IF EXISTS search_conversation_delete;
DROP TRIGGER IF EXISTS search_conversation_title;
DROP TRIGGER IF EXISTS search_conversation_insert;
DROP TABLE IF EXISTS search_index;
DROP TABLE IF EXISTS search_docs;
"""


_POSTGRES_SEARCH = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_search_conversation_title ON conversations USING gin (title gin_trgm_ops)",
    "CREATE INDEX ix_search_message_content ON messages USING gin (content gin_trgm_ops)",
)
# The extension stays: other schemas of the database may use it.
_POSTGRES_SEARCH_DROP = (
    "DROP INDEX IF EXISTS ix_search_message_content",
    "DROP INDEX IF EXISTS ix_search_conversation_title",
)


def _statements(script: str) -> list[str]:
    """The script's statements; a trigger's body keeps its inner semicolons."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.strip().splitlines():
        current.append(line)
        text = "\n".join(current).strip()
        inside_trigger = text.upper().startswith("CREATE TRIGGER") and not text.endswith("END;")
        if text.endswith(";") and not inside_trigger:
            statements.append(text)
            current = []
    return statements


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("owner_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_owner_id"), ["owner_id"], unique=False)
    # Added in place (ALTER TABLE ADD COLUMN): neither table is copied.
    op.add_column("messages", sa.Column("attachments", sa.JSON(), nullable=True))
    op.add_column("conversations", sa.Column("thinking", sa.Boolean(), nullable=True))
    op.add_column("conversations", sa.Column("current_leaf_id", sa.String(), nullable=True))
    dialect = op.get_bind().dialect.name
    search = _statements(_SEARCH_SCHEMA) if dialect == "sqlite" else _POSTGRES_SEARCH
    for statement in search:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _statements(_SEARCH_DROP) if dialect == "sqlite" else _POSTGRES_SEARCH_DROP:
        op.execute(statement)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("current_leaf_id")
        batch_op.drop_column("thinking")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_owner_id"))
    op.drop_table("files")
