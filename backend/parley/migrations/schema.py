"""What schema comparisons (autogenerate, the migration tests) look at."""

from __future__ import annotations

from typing import Any

from parley.chat.search import is_search_index, is_search_table


def schema_object_included(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Everything but the full-text search's tables and indexes, which SQLModel has not."""
    return not (
        (type_ == "table" and is_search_table(name)) or (type_ == "index" and is_search_index(name))
    )
