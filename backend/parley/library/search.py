"""Full-text search over a user's conversations: titles and message text, best matches first.

A query is split into words at whitespace; a hit holds every word, in any case. Words are
matched as substrings, which is how people search text without spaces between words
(Chinese, Japanese) and what a trigram index finds. On SQLite an FTS5 trigram index
(migration 0004, kept in step by triggers) finds and ranks words of three characters or more;
shorter words, which a trigram cannot hold, are checked on the rows themselves, within the
caller's conversations only. On PostgreSQL pg_trgm's trigram indexes (migration 0004) serve
the same substring match, ranked by trigram similarity to the query.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, String, and_, func, literal, text, union_all
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from parley.db import Database
from parley.models import Conversation, Message
from parley.protocol import ParleyError

MAX_QUERY_CHARS = 200
MAX_WORDS = 10
# Trigram tokens: a shorter word is in no token.
INDEXED_WORD_CHARS = 3
SNIPPET_CHARS = 160
# Weights of a match in a title and in a message's text: a title that matches counts more.
_TITLE_WEIGHT, _BODY_WEIGHT = 2.0, 1.0


class BadQuery(ParleyError):
    default_code = "bad_query"
    default_kind = "invalid"


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation_id: str
    # None for a match in the title.
    message_id: str | None
    title: str
    snippet: str
    created_at: datetime


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def query_words(query: str) -> list[str]:
    """The distinct words of a query, longest first; BadQuery for one with none or too many."""
    if len(query) > MAX_QUERY_CHARS:
        raise BadQuery(f"A search holds at most {MAX_QUERY_CHARS} characters.")
    # Control characters separate words too: a NUL would end FTS5's phrase string early.
    words = list(dict.fromkeys(_CONTROL_CHARACTERS.sub(" ", query).split()))
    if not words:
        raise BadQuery("Give a word to search for.")
    if len(words) > MAX_WORDS:
        raise BadQuery(f"A search holds at most {MAX_WORDS} words.")
    return sorted(words, key=len, reverse=True)


def snippet(text_: str, words: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """About `width` characters of `text_` around its first match, as HTML: the text escaped,
    every match in it inside <mark>, an ellipsis where the text was cut."""
    flat = " ".join(text_.split())
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    first = pattern.search(flat)
    start = 0 if first is None else max(0, first.start() - width // 3)
    end = min(len(flat), start + width)
    start = max(0, min(start, end - width))
    window = flat[start:end]
    parts: list[str] = ["…" if start > 0 else ""]
    position = 0
    for match in pattern.finditer(window):
        parts.append(html.escape(window[position : match.start()], quote=False))
        parts.append(f"<mark>{html.escape(match.group(), quote=False)}</mark>")
        position = match.end()
    parts.append(html.escape(window[position:], quote=False))
    parts.append("…" if end < len(flat) else "")
    return "".join(parts)


class SearchIndex(Protocol):
    async def search(self, owner_id: str, query: str, limit: int) -> list[SearchHit]:
        """The caller's best `limit` hits for `query`; raises BadQuery."""
        ...


def _hits(
    session: Session, ranked: Sequence[tuple[str, str | None]], words: Sequence[str]
) -> list[SearchHit]:
    """Hits for (conversation_id, message_id) pairs, in the given order."""
    conversation_ids = {conversation_id for conversation_id, _ in ranked}
    message_ids = {message_id for _, message_id in ranked if message_id is not None}
    conversations = {
        c.id: c
        for c in session.exec(
            select(Conversation).where(col(Conversation.id).in_(conversation_ids))
        ).all()
    }
    messages = {
        m.id: m for m in session.exec(select(Message).where(col(Message.id).in_(message_ids))).all()
    }
    hits: list[SearchHit] = []
    for conversation_id, message_id in ranked:
        conversation = conversations.get(conversation_id)
        message = messages.get(message_id) if message_id is not None else None
        if conversation is None or (message_id is not None and message is None):
            continue  # deleted between the two reads
        source = message.content if message is not None else conversation.title
        hits.append(
            SearchHit(
                conversation_id=conversation_id,
                message_id=message_id,
                title=conversation.title,
                snippet=snippet(source, words),
                created_at=(message or conversation).created_at,
            )
        )
    return hits


def _title_holds(words: Sequence[str]) -> ColumnElement[bool]:
    return and_(*(col(Conversation.title).icontains(w, autoescape=True) for w in words))


def _content_holds(words: Sequence[str]) -> ColumnElement[bool]:
    return and_(*(col(Message.content).icontains(w, autoescape=True) for w in words))


class ScanSearch:
    """Every row of the caller read with LIKE: any database, no index. Titles first, then
    messages, newest first."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(self, owner_id: str, query: str, limit: int) -> list[SearchHit]:
        words = query_words(query)
        return await self.db.read(lambda session: self.scan(session, owner_id, words, limit))

    @staticmethod
    def scan(session: Session, owner_id: str, words: Sequence[str], limit: int) -> list[SearchHit]:
        titles = session.exec(
            select(Conversation.id)
            .where(Conversation.owner_id == owner_id)
            .where(_title_holds(words))
            .order_by(col(Conversation.updated_at).desc())
            .limit(limit)
        ).all()
        ranked: list[tuple[str, str | None]] = [(c, None) for c in titles]
        if len(ranked) < limit:
            rows = session.exec(
                select(Message.conversation_id, Message.id)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(Conversation.owner_id == owner_id)
                .where(Message.status != "streaming")
                .where(_content_holds(words))
                .order_by(col(Message.created_at).desc())
                .limit(limit - len(ranked))
            ).all()
            ranked.extend(rows)
        return _hits(session, ranked, words)


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


class SqliteSearch:
    """The FTS5 trigram index, ranked by bm25. Words under three characters filter the
    index's hits; a query of only such words reads the caller's rows (`ScanSearch`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(self, owner_id: str, query: str, limit: int) -> list[SearchHit]:
        words = query_words(query)
        indexed = [w for w in words if len(w) >= INDEXED_WORD_CHARS]
        if not indexed:
            return await self.db.read(lambda s: ScanSearch.scan(s, owner_id, words, limit))
        short = [w for w in words if len(w) < INDEXED_WORD_CHARS]
        # instr on lower(): the same case-folding as the index's (ASCII); other scripts exact.
        short_filters = "".join(
            f" AND instr(lower(COALESCE(m.content, c.title)), lower(:short{i})) > 0"
            for i in range(len(short))
        )
        statement = text(
            "SELECT d.conversation_id, d.message_id FROM search_index"
            " JOIN search_docs d ON d.id = search_index.rowid"
            " JOIN conversations c ON c.id = d.conversation_id"
            " LEFT JOIN messages m ON m.id = d.message_id"
            " WHERE search_index MATCH :match AND c.owner_id = :owner"
            f"{short_filters}"
            f" ORDER BY bm25(search_index, {_TITLE_WEIGHT}, {_BODY_WEIGHT}), d.id DESC"
            " LIMIT :limit"
        )
        params: dict[str, object] = {
            "match": " AND ".join(_fts_phrase(w) for w in indexed),
            "owner": owner_id,
            "limit": limit,
            **{f"short{i}": w for i, w in enumerate(short)},
        }

        def work(session: Session) -> list[SearchHit]:
            rows = session.connection().execute(statement, params).all()
            return _hits(session, [(row[0], row[1]) for row in rows], words)

        return await self.db.read(work)


class PostgresSearch:
    """pg_trgm: its trigram indexes (migration 0004) find the rows holding every word (ILIKE,
    which they serve for words of three characters or more; shorter ones are checked on the
    rows), and trigram similarity to the query ranks them, titles weighted above messages."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(self, owner_id: str, query: str, limit: int) -> list[SearchHit]:
        words = query_words(query)
        phrase = " ".join(words)
        titles = core_select(
            col(Conversation.id).label("conversation_id"),
            literal(None, String).label("message_id"),
            (func.similarity(Conversation.title, phrase) * _TITLE_WEIGHT).label("score"),
            col(Conversation.updated_at).label("at"),
        ).where(col(Conversation.owner_id) == owner_id, _title_holds(words))
        messages = (
            core_select(
                col(Message.conversation_id),
                col(Message.id),
                func.similarity(Message.content, phrase) * _BODY_WEIGHT,
                col(Message.created_at),
            )
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(col(Conversation.owner_id) == owner_id)
            .where(col(Message.status) != "streaming", _content_holds(words))
        )
        ranked = union_all(titles, messages).subquery()
        statement = (
            core_select(ranked.c.conversation_id, ranked.c.message_id)
            .order_by(ranked.c.score.desc(), ranked.c.at.desc())
            .limit(limit)
        )

        def work(session: Session) -> list[SearchHit]:
            rows = session.connection().execute(statement).all()
            return _hits(session, [(row[0], row[1]) for row in rows], words)

        return await self.db.read(work)


def search_index_for(db: Database) -> SearchIndex:
    return SqliteSearch(db) if db.dialect == "sqlite" else PostgresSearch(db)
