"""A witness's memory in its own SQLite file: the last checkpoint cosigned per log.

Each update is a compare-and-set in one ``BEGIN IMMEDIATE`` transaction, so two requests
racing for one log cannot both move it: the loser is told the size the winner stored.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_SCHEMA = ("CREATE TABLE IF NOT EXISTS witnessed (origin TEXT PRIMARY KEY, size INTEGER NOT "
           "NULL, body TEXT NOT NULL, note TEXT NOT NULL)")


class SqliteWitnessState:
    """Implements WitnessState on a SQLite file (created 0600 on first use)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        self.path = path
        with self._connect() as connection:
            connection.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def latest(self, origin: str) -> tuple[str, str] | None:
        connection = self._connect()
        try:
            row = connection.execute("SELECT body, note FROM witnessed WHERE origin = ?",
                                     (origin,)).fetchone()
        finally:
            connection.close()
        return None if row is None else (row[0], row[1])

    def advance(self, origin: str, expected_size: int | None, size: int, body: str,
                note: str) -> bool:
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            row = connection.execute("SELECT size FROM witnessed WHERE origin = ?",
                                     (origin,)).fetchone()
            if (row[0] if row else None) != expected_size:
                connection.execute("ROLLBACK")
                return False
            connection.execute("INSERT INTO witnessed (origin, size, body, note) VALUES "
                               "(?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size = "
                               "excluded.size, body = excluded.body, note = excluded.note",
                               (origin, size, body, note))
            connection.execute("COMMIT")
            return True
        finally:
            connection.close()
