"""The search index on a real database (SQLite's FTS5 kept in step by triggers, or PostgreSQL's
pg_trgm under `--db postgresql`) and the scan fallback: any script, owner only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlmodel import Session, select

from parley.db import MIGRATIONS_DIR, Database, upgrade_schema
from parley.library.search import (
    BadQuery,
    ScanSearch,
    SearchIndex,
    SqliteSearch,
    query_words,
    search_index_for,
    snippet,
)
from parley.models import Conversation, Message, User

TRIGGERS = {
    "search_conversation_insert",
    "search_conversation_title",
    "search_conversation_delete",
    "search_message_insert",
    "search_message_update",
    "search_message_delete",
}


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.migrate()
    yield database
    database.close()


def add_user(db: Database, name: str) -> str:
    user = User(username=name, password_hash="x")
    db.run_write(lambda session: session.add(user))
    return user.id


def add_conversation(db: Database, owner_id: str, title: str, *texts: str) -> Conversation:
    conversation = Conversation.model_validate({"owner_id": owner_id, "title": title})
    db.run_write(lambda session: session.add(conversation))
    parent: str | None = None
    for seq, content in enumerate(texts, start=1):
        message = Message(
            conversation_id=conversation.id,
            parent_id=parent,
            role="user" if seq % 2 else "assistant",
            content=content,
            seq=seq,
        )
        db.run_write(lambda session, m=message: session.add(m))  # type: ignore[misc]
        parent = message.id
    return conversation


def messages_of(db: Database, conversation_id: str) -> list[Message]:
    return db.run_read(
        lambda session: list(
            session.exec(select(Message).where(Message.conversation_id == conversation_id)).all()
        )
    )


@pytest.fixture(params=["native", "scan"])
def index(request: pytest.FixtureRequest, db: Database) -> SearchIndex:
    """The database's own index (FTS5 or pg_trgm), and the scan every database can do."""
    return search_index_for(db) if request.param == "native" else ScanSearch(db)


async def found(index: SearchIndex, owner: str, query: str) -> list[tuple[str, str | None]]:
    return [(hit.conversation_id, hit.message_id) for hit in await index.search(owner, query, 20)]


@pytest.mark.sqlite_only
def test_every_trigger_is_there_after_migrating(db: Database) -> None:
    names = db.run_read(
        lambda session: set(
            session.connection()
            .execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            .scalars()
        )
    )
    assert names >= TRIGGERS


async def test_english_words_in_any_case_and_order(db: Database, index: SearchIndex) -> None:
    owner = add_user(db, "alice")
    trip = add_conversation(db, owner, "Trip", "Plan a journey to Lisbon", "Lisbon in spring")
    add_conversation(db, owner, "Other", "Nothing about that city")
    hits = await found(index, owner, "lisbon JOURNEY")
    assert hits == [(trip.id, messages_of(db, trip.id)[0].id)]


async def test_chinese_words_of_two_characters_and_more(db: Database, index: SearchIndex) -> None:
    owner = add_user(db, "li")
    beijing = add_conversation(db, owner, "旅行", "我想去北京看看故宫", "北京的秋天很美")
    add_conversation(db, owner, "天气", "上海今天下雨")
    two = await found(index, owner, "北京")
    assert set(two) == {(beijing.id, m.id) for m in messages_of(db, beijing.id)}
    assert await found(index, owner, "故宫") == [(beijing.id, messages_of(db, beijing.id)[0].id)]
    assert await found(index, owner, "去北京看") == [
        (beijing.id, messages_of(db, beijing.id)[0].id)
    ]
    assert await found(index, owner, "雨") != []
    assert await found(index, owner, "广州") == []


async def test_titles_are_found(db: Database, index: SearchIndex) -> None:
    owner = add_user(db, "bob")
    conversation = add_conversation(db, owner, "Quarterly budget review", "hello")
    assert await found(index, owner, "budget") == [(conversation.id, None)]


async def test_a_long_word_and_a_short_one_together(db: Database, index: SearchIndex) -> None:
    owner = add_user(db, "mix")
    wanted = add_conversation(db, owner, "a", "我在北京学习 python")
    add_conversation(db, owner, "b", "我在上海学习 python")
    assert await found(index, owner, "python 北京") == [
        (wanted.id, messages_of(db, wanted.id)[0].id)
    ]


async def test_only_the_callers_conversations(db: Database, index: SearchIndex) -> None:
    alice, mallory = add_user(db, "alice2"), add_user(db, "mallory")
    add_conversation(db, alice, "Secret plans", "the password is swordfish", "好的 密码")
    for query in ("swordfish", "Secret", "密码", "码"):
        assert await found(index, mallory, query) == []
        assert await found(index, alice, query) != []


async def test_like_wildcards_in_a_query_are_plain_characters(
    db: Database, index: SearchIndex
) -> None:
    owner = add_user(db, "carol")
    add_conversation(db, owner, "t", "100% sure", "a_b")
    assert len(await found(index, owner, "0%")) == 1
    assert await found(index, owner, "%") != []
    assert await found(index, owner, "x%") == []
    assert await found(index, owner, "_") != []
    assert await found(index, owner, "ab") == []


async def test_control_characters_in_a_query_separate_words(
    db: Database, index: SearchIndex
) -> None:
    # A NUL inside an FTS5 phrase used to end its string early (a 500 found by schemathesis).
    owner = add_user(db, "erin")
    add_conversation(db, owner, "t", "alpha beta", "gamma")
    assert len(await found(index, owner, "alpha\x00beta")) == 1
    assert await found(index, owner, 'zzz\x00"\x0e\\') == []


async def test_the_index_follows_updates_and_deletes(db: Database) -> None:
    index = search_index_for(db)
    owner = add_user(db, "dave")
    conversation = add_conversation(db, owner, "Old title", "first text")
    message = messages_of(db, conversation.id)[0]

    def edit(session: Session) -> None:
        stored = session.get(Message, message.id)
        assert stored is not None
        stored.content = "second text"
        session.add(stored)
        renamed = session.get(Conversation, conversation.id)
        assert renamed is not None
        renamed.title = "New heading"
        session.add(renamed)

    db.run_write(edit)
    assert await found(index, owner, "first") == []
    assert await found(index, owner, "second") == [(conversation.id, message.id)]
    assert await found(index, owner, "Old title") == []
    assert await found(index, owner, "heading") == [(conversation.id, None)]

    def delete_message(session: Session) -> None:
        session.delete(session.get(Message, message.id))

    db.run_write(delete_message)
    assert await found(index, owner, "second") == []

    other = add_conversation(db, owner, "Gone soon", "cascade me")

    def delete_conversation(session: Session) -> None:
        session.delete(session.get(Conversation, other.id))

    db.run_write(delete_conversation)
    assert await found(index, owner, "cascade") == []
    assert await found(index, owner, "soon") == []
    if db.dialect != "sqlite":
        return  # pg_trgm indexes the rows themselves; FTS5 keeps a table of its own
    leftovers = db.run_read(
        lambda session: (
            session.connection()
            .execute(
                text("SELECT count(*) FROM search_docs WHERE conversation_id = :c"), {"c": other.id}
            )
            .scalar()
        )
    )
    assert leftovers == 0


async def test_an_answer_is_indexed_once_it_stops_streaming(db: Database) -> None:
    index = search_index_for(db)
    owner = add_user(db, "erin")
    conversation = add_conversation(db, owner, "t", "question")
    answer = Message(
        conversation_id=conversation.id, role="assistant", status="streaming", content="partial"
    )
    db.run_write(lambda session: session.add(answer))
    assert await found(index, owner, "partial") == []

    def finish(session: Session) -> None:
        stored = session.get(Message, answer.id)
        assert stored is not None
        stored.content, stored.status = "partial and whole", "complete"
        session.add(stored)

    db.run_write(finish)
    assert await found(index, owner, "whole") == [(conversation.id, answer.id)]


@pytest.mark.sqlite_only
async def test_rows_written_before_the_index_existed_are_indexed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0003")  # the revision before the index
    old = Database(url)
    try:
        owner = add_user(old, "frank")
        with old.write_session() as session, session.begin():
            session.connection().execute(
                text(
                    "INSERT INTO conversations (id, owner_id, title, model, system_prompt,"
                    " last_seq, seq_reserved, created_at, updated_at) VALUES ('c1', :o,"
                    " 'Archived notes', NULL, '', 1, 1, '2026-01-01', '2026-01-01')"
                ),
                {"o": owner},
            )
            session.connection().execute(
                text(
                    "INSERT INTO messages (id, conversation_id, role, content, thinking, status,"
                    " seq, created_at) VALUES ('m1', 'c1', 'user', '很久以前的消息', '',"
                    " 'complete', 1, '2026-01-01')"
                )
            )
        upgrade_schema(url)
        index = SqliteSearch(old)
        assert await found(index, owner, "Archived") == [("c1", None)]
        assert await found(index, owner, "以前的") == [("c1", "m1")]
    finally:
        old.close()


async def test_titles_rank_above_messages(db: Database) -> None:
    owner = add_user(db, "gina")
    in_text = add_conversation(db, owner, "Misc", "some words about the kettle here")
    in_title = add_conversation(db, owner, "Kettle", "nothing")
    hits = await found(search_index_for(db), owner, "kettle")
    assert hits[0] == (in_title.id, None)
    assert (in_text.id, messages_of(db, in_text.id)[0].id) in hits


def test_a_query_needs_a_word_and_not_too_many() -> None:
    with pytest.raises(BadQuery):
        query_words("   ")
    with pytest.raises(BadQuery):
        query_words(" ".join(f"w{i}" for i in range(11)))
    assert query_words("a bb a ccc") == ["ccc", "bb", "a"]


def test_a_snippet_is_escaped_html_with_marks() -> None:
    text_ = "x" * 300 + " <b>Tom & Jerry</b> " + "y" * 300
    result = snippet(text_, ["jerry"])
    assert "<mark>Jerry</mark>" in result
    assert "&lt;b&gt;Tom &amp; " in result
    assert "<b>" not in result
    assert result.startswith("…") and result.endswith("…")
    assert snippet("北京的秋天", ["北京"]) == "<mark>北京</mark>的秋天"
