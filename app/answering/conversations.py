"""Conversations kept on the server: per key, in SQLite in the data dir, with their citations."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from app.answering.errors import RequestError
from models.generator import Message

DB_FILE = "conversations.sqlite3"
TITLE_CHARS = 80
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    n INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    collection TEXT, sources TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (conversation, n));
"""


class ConversationNotFound(RequestError):
    """No conversation with this id belongs to this key."""


class Conversations:
    """The store; every call names the owner (a key id), and sees only that owner's rows."""

    def __init__(self, path: Path, retention_days: float = 0) -> None:
        self.path = path
        self.retention_days = retention_days
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @classmethod
    def in_dir(cls, data_dir: Path, retention_days: float = 0) -> Conversations:
        return cls(data_dir / DB_FILE, retention_days)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            with db:  # one transaction, committed on success
                yield db

    def create(self, owner: str, title: str = "") -> dict[str, Any]:
        now, cid = time.time(), uuid.uuid4().hex
        with self._db() as db:
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                (cid, owner, title[:TITLE_CHARS], now, now),
            )
        return self.get(owner, cid)

    def listing(self, owner: str) -> list[dict[str, Any]]:
        self.prune()
        with self._db() as db:
            rows = db.execute(
                "SELECT c.*, (SELECT count(*) FROM turns t WHERE t.conversation = c.id) AS turns"
                " FROM conversations c WHERE owner = ? ORDER BY updated DESC",
                (owner,),
            ).fetchall()
        return [_summary(r) for r in rows]

    def get(self, owner: str, cid: str) -> dict[str, Any]:
        """The conversation with its turns, oldest first; ConversationNotFound otherwise."""
        with self._db() as db:
            row = db.execute(
                "SELECT *, 0 AS turns FROM conversations WHERE id = ? AND owner = ?", (cid, owner)
            ).fetchone()
            if row is None:
                raise ConversationNotFound("no such conversation")
            turns = db.execute(
                "SELECT * FROM turns WHERE conversation = ? ORDER BY n", (cid,)
            ).fetchall()
        found = _summary(row)
        found["turns"] = [_turn(t) for t in turns]
        return found

    def rename(self, owner: str, cid: str, title: str) -> dict[str, Any]:
        with self._db() as db:
            changed = db.execute(
                "UPDATE conversations SET title = ?, updated = ? WHERE id = ? AND owner = ?",
                (title[:TITLE_CHARS], time.time(), cid, owner),
            ).rowcount
        if not changed:
            raise ConversationNotFound("no such conversation")
        return self.get(owner, cid)

    def delete(self, owner: str, cid: str) -> None:
        with self._db() as db:
            gone = db.execute(
                "DELETE FROM conversations WHERE id = ? AND owner = ?", (cid, owner)
            ).rowcount
        if not gone:
            raise ConversationNotFound("no such conversation")

    def history(self, owner: str, cid: str) -> list[Message]:
        """The turns as chat messages, for rewriting a follow-up question."""
        messages: list[Message] = []
        for turn in self.get(owner, cid)["turns"]:
            messages.append({"role": "user", "content": turn["question"]})
            messages.append({"role": "assistant", "content": turn["answer"]})
        return messages

    def append(self, owner: str, cid: str, turn: dict[str, Any]) -> None:
        """Add one answered turn (question, answer, collection, sources); the first names it."""
        self.get(owner, cid)  # refuses another key's conversation
        now = time.time()
        with self._db() as db:
            n = db.execute(
                "SELECT coalesce(max(n), 0) + 1 FROM turns WHERE conversation = ?", (cid,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    n,
                    turn["question"],
                    turn["answer"],
                    turn.get("collection"),
                    json.dumps(turn.get("sources", [])),
                    now,
                ),
            )
            db.execute(
                "UPDATE conversations SET updated = ?, title = CASE title WHEN '' THEN ? "
                "ELSE title END WHERE id = ?",
                (now, turn["question"][:TITLE_CHARS], cid),
            )

    def prune(self) -> int:
        """Delete conversations untouched for longer than the retention; how many went."""
        if not self.retention_days:
            return 0
        cutoff = time.time() - self.retention_days * 86400
        with self._db() as db:
            return db.execute("DELETE FROM conversations WHERE updated < ?", (cutoff,)).rowcount


def _summary(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"] or "New conversation",
        "created": row["created"],
        "updated": row["updated"],
        "turns": row["turns"],
    }


def _turn(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "n": row["n"],
        "question": row["question"],
        "answer": row["answer"],
        "collection": row["collection"],
        "sources": json.loads(row["sources"]),
        "created": row["created"],
    }


def as_markdown(conversation: dict[str, Any]) -> str:
    """The conversation as Markdown: each question, its answer, then its numbered sources."""
    lines = [f"# {conversation['title']}", ""]
    for turn in conversation["turns"]:
        lines += [f"## {turn['question']}", "", turn["answer"], ""]
        lines += [_source_line(s) for s in turn["sources"]]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _source_line(source: dict[str, Any]) -> str:
    page = f", page {source['page']}" if source.get("page") else ""
    quote = f" — “{source['quote']}”" if source.get("quote") else ""
    return f"[{source.get('n')}] {source.get('source')}{page}{quote}"
