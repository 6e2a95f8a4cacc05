"""The verifier's read-ahead of a PostgreSQL cursor: every chunk once and in order, the
cursor's errors raised in the reader, and the helper gone when the reader stops early."""

from __future__ import annotations

import threading

import pytest

from porchlight.audit.adapters.sql_source import read_ahead


class FakeCursor:
    def __init__(self, rows: int, *, fail_at: int | None = None) -> None:
        self.rows, self.at, self.fail_at = list(range(rows)), 0, fail_at
        self.fetches: list[str] = []  # the thread of each fetch

    def fetchmany(self, size: int) -> list[int]:
        self.fetches.append(threading.current_thread().name)
        if self.fail_at is not None and self.at >= self.fail_at:
            raise RuntimeError("connection lost")
        chunk = self.rows[self.at:self.at + size]
        self.at += len(chunk)
        return chunk


def helpers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "audit-read-ahead"]


def test_every_chunk_comes_once_in_order_fetched_by_the_helper() -> None:
    cursor = FakeCursor(10)
    assert list(read_ahead(cursor, 3)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert set(cursor.fetches) == {"audit-read-ahead"}
    assert len(cursor.fetches) == 5  # the last, empty, fetch ends it
    assert helpers() == []


def test_an_error_of_the_cursor_is_raised_in_the_reader() -> None:
    chunks = read_ahead(FakeCursor(10, fail_at=6), 3)
    assert next(chunks) == [0, 1, 2]
    assert next(chunks) == [3, 4, 5]
    with pytest.raises(RuntimeError, match="connection lost"):
        next(chunks)
    assert helpers() == []


def test_a_reader_that_stops_early_leaves_no_helper_fetching() -> None:
    cursor = FakeCursor(1000)
    chunks = read_ahead(cursor, 1)
    assert next(chunks) == [0]
    chunks.close()  # what a for loop left by return or an exception does
    assert helpers() == []
    fetched = len(cursor.fetches)
    assert fetched <= 5  # at most two chunks waited, not the whole cursor
    assert len(cursor.fetches) == fetched
