"""What schema comparisons (autogenerate, the migration tests) look at."""

from __future__ import annotations

from typing import Any

from parley.chat.search import is_search_table


def schema_object_included(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Everything but the full-text index's tables, which are no SQLModel tables."""
    return not (type_ == "table" and is_search_table(name))
