"""What schema comparisons (autogenerate, the migration tests) look at."""

from __future__ import annotations

from typing import Any

# Tables of the SQLite index (the FTS5 table has shadow tables named after it) and the
# PostgreSQL trigram indexes: no SQLModel tables or indexes, so schema comparisons leave them out.
SEARCH_TABLE_PREFIXES = ("search_docs", "search_index")
SEARCH_INDEX_PREFIX = "ix_search_"


def is_search_table(name: str | None) -> bool:
    return name is not None and name.startswith(SEARCH_TABLE_PREFIXES)


def is_search_index(name: str | None) -> bool:
    return name is not None and name.startswith(SEARCH_INDEX_PREFIX)


def schema_object_included(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Everything but the full-text search's tables and indexes, which SQLModel has not."""
    return not (
        (type_ == "table" and is_search_table(name)) or (type_ == "index" and is_search_index(name))
    )
