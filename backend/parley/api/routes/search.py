"""Search every conversation of the current user."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from parley.api.deps import ArchiveDep, CurrentUser
from parley.library.search import MAX_QUERY_CHARS

router = APIRouter(prefix="/api/search", tags=["search"])


class SearchItem(BaseModel):
    conversation_id: str
    message_id: str | None
    title: str
    snippet: str
    created_at: datetime


class SearchResults(BaseModel):
    items: list[SearchItem]


@router.get(
    "",
    response_model=SearchResults,
    description=(
        "Titles and message text of the caller's conversations, best matches first. Every "
        "word of `q` (split at spaces) must occur, in any case and any script; Chinese words "
        "of one or two characters are found too. `snippet` is HTML: the text around the "
        "match, escaped, each match inside `<mark>`. `message_id` is null for a title match."
    ),
)
async def search(
    user: CurrentUser,
    archive: ArchiveDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResults:
    hits = await archive.search(user.id, q, limit)
    items = [SearchItem.model_validate(hit, from_attributes=True) for hit in hits]
    return SearchResults(items=items)
