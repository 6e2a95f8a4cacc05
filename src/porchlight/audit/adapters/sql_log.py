"""The audit log on SQLAlchemy: views of the log tables, and the single-writer lock.

Single writer: ``BEGIN IMMEDIATE`` on SQLite (the database write lock, which also stops
new audit events while a batch runs), ``pg_advisory_xact_lock`` on PostgreSQL.

Queue order on PostgreSQL: ids come from a sequence, so a transaction can commit event 41
after event 42 is already visible.  Sequencing 42 first would leave 41 out of order, or
out of the log.  ``queue_horizon`` therefore takes ``LOCK TABLE audit_events IN SHARE
MODE`` for an instant: it waits for every transaction that has inserted audit events to
end, so every id up to the maximum it then reads is final.  The wait is bounded by
``lock_timeout``; writers queue behind it only for that instant.  (SQLite serialises
writers, so ids are always final there.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.exc import OperationalError

from porchlight.audit.adapters.tables import (
    audit_checkpoints,
    audit_cosignatures,
    audit_leaves,
    audit_nodes,
    audit_openings,
)
from porchlight.audit.domain import Node, NodeId
from porchlight.audit.services.log import leaf_batch_time
from porchlight.audit.services.ports import (
    AccountFacts,
    AuditQueueBusy,
    LeafRow,
    Opening,
    OpeningRow,
    QueuedEvent,
    StoredCheckpoint,
    SubjectEvent,
)
from porchlight.kernel.adapters.db.engine import read_snapshot
from porchlight.kernel.adapters.db.tables import accounts, audit_events

SEQUENCER_LOCK = 0x504F5243_4C4F4721  # "PORCLOG!": the advisory lock of the single writer
_LOCK_NOT_AVAILABLE = "55P03"
_COPY = {  # binary COPY: hashes and leaves travel as raw bytes, not escaped hex text
    "leaves": "COPY audit_leaves (leaf_index, event_id, data, leaf_hash) FROM STDIN BINARY",
    "nodes": "COPY audit_nodes (level, node_index, hash) FROM STDIN BINARY",
    "openings": "COPY audit_openings (leaf_index, slot, event_id, account_id, agency_id, "
    "secret) FROM STDIN BINARY",
}
_COPY_TYPES = {"leaves": ["int8", "int8", "bytea", "bytea"], "nodes": ["int2", "int8", "bytea"],
               "openings": ["int8", "text", "int8", "uuid", "uuid", "bytea"]}
_INSERT = {
    "leaves": "INSERT INTO audit_leaves (leaf_index, event_id, data, leaf_hash) "
    "VALUES (?, ?, ?, ?)",
    "nodes": "INSERT INTO audit_nodes (level, node_index, hash) VALUES (?, ?, ?)",
    "openings": "INSERT INTO audit_openings (leaf_index, slot, event_id, account_id, "
    "agency_id, secret) VALUES (?, ?, ?, ?, ?, ?)",
}
_LEVELS_PER_QUERY = 16


# Keyset reads of the queue: the next events after an id, in id order.  One-sided on
# purpose: with a two-sided range (``id > a AND id <= b``) and no fresh statistics, as
# after a burst of events, PostgreSQL estimates 0.5% of the table, prefers a bitmap scan
# of the whole range and a top-N sort to the primary-key index, and every batch of a
# backlog then reads the rest of the backlog (40 ms instead of 1.4 ms for 5,000 of
# 200,000 events; quadratic in the backlog).  The horizon is applied to the rows read:
# the limit never exceeds the ids below it, so only ids lost to gaps are read past it.
_EVENTS_SQL = (
    "SELECT id, kind, version, occurred_at, actor_id, CAST(payload AS TEXT) FROM audit_events "
    "WHERE id > {mark} ORDER BY id LIMIT {mark}"
)


# ``%b``: the ids go as a binary array (psycopg's binary parameter placeholder).
_ACCOUNTS_SQL = "SELECT id, kind, staff_role, agency_id FROM accounts WHERE id = ANY(%b)"


def _sqlite_event(row: Sequence[Any]) -> QueuedEvent:
    """SQLite hands back the column types' storage: naive UTC text, hex UUID, JSON text."""
    event_id, kind, version, occurred_at, actor_id, payload = row
    return QueuedEvent(
        event_id, kind, version, datetime.fromisoformat(occurred_at).replace(tzinfo=UTC),
        None if actor_id is None else UUID(hex=actor_id), json.loads(payload),
    )


def _postgres_event(row: Sequence[Any]) -> QueuedEvent:
    """psycopg already gives an aware datetime and a UUID; the payload comes as its text
    (``json.loads`` directly: psycopg's JSON loader costs twice as much per row)."""
    event_id, kind, version, occurred_at, actor_id, payload = row
    return QueuedEvent(event_id, kind, version, occurred_at, actor_id, json.loads(payload))


def event_decoder(connection: Connection) -> Callable[[Sequence[Any]], QueuedEvent]:
    """Decode raw audit_events rows (id, kind, version, occurred_at, actor_id, payload as
    text: ``CAST(payload AS TEXT)``).

    The sequencer and the verifier read events in bulk below SQLAlchemy's type layer, which
    would otherwise cost more than encoding the leaf; both use this one decoder.
    """
    return _sqlite_event if connection.dialect.name == "sqlite" else _postgres_event


def mark(connection: Connection) -> str:
    return "?" if connection.dialect.name == "sqlite" else "%s"


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(row.size, row.root, row.note, row.verifier_key, row.signed_at)


class SqlLogView:
    """A view of the log on one connection; the caller owns the transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def size(self) -> int:
        top = self.connection.execute(select(func.max(audit_leaves.c.leaf_index))).scalar()
        return 0 if top is None else top + 1

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        query = select(audit_checkpoints).order_by(audit_checkpoints.c.size.desc()).limit(1)
        row = self.connection.execute(query).first()
        return None if row is None else _checkpoint(row)

    def checkpoints(self, after_size: int, limit: int) -> list[StoredCheckpoint]:
        query = (
            select(audit_checkpoints)
            .where(audit_checkpoints.c.size > after_size)
            .order_by(audit_checkpoints.c.size)
            .limit(limit)
        )
        return [_checkpoint(row) for row in self.connection.execute(query)]

    def cosignatures(self, sizes: Collection[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        if not sizes:
            return found
        table = audit_cosignatures
        query = (select(table.c.size, table.c.line).where(table.c.size.in_(list(sizes)))
                 .order_by(table.c.size, table.c.witness))
        for size, line in self.connection.execute(query):
            found.setdefault(size, []).append(line)
        return found

    def cosigned_size(self, witness: str) -> int:
        query = select(func.max(audit_cosignatures.c.size)).where(
            audit_cosignatures.c.witness == witness)
        return self.connection.execute(query).scalar() or 0

    def leaves(self, start: int, end: int) -> list[LeafRow]:
        c = audit_leaves.c
        query = (
            select(c.leaf_index, c.event_id, c.data, c.leaf_hash)
            .where(c.leaf_index >= start, c.leaf_index < end)
            .order_by(c.leaf_index)
        )
        return [tuple(row) for row in self.connection.execute(query)]  # type: ignore[misc]

    def leaf_data_at(self, indexes: Collection[int]) -> dict[int, bytes]:
        c, wanted, found = audit_leaves.c, sorted(set(indexes)), {}
        for start in range(0, len(wanted), 500):
            query = select(c.leaf_index, c.data).where(
                c.leaf_index.in_(wanted[start:start + 500]))
            found.update((index, data) for index, data in self.connection.execute(query))
        return found

    def secrets_at(self, indexes: Collection[int]) -> dict[int, dict[str, bytes]]:
        o, wanted, found = audit_openings.c, sorted(set(indexes)), {}
        for start in range(0, len(wanted), 500):
            query = select(o.leaf_index, o.slot, o.secret).where(
                o.leaf_index.in_(wanted[start:start + 500]))
            for index, slot, secret in self.connection.execute(query):
                found.setdefault(index, {})[slot] = secret
        return found

    def nodes(self, ids: Collection[NodeId]) -> dict[NodeId, bytes]:
        # One IN list per level, OR-ed: both databases then search the primary key for
        # each node (SQLite scans the whole table for a row-value IN list).
        by_level: dict[int, list[int]] = {}
        for level, index in set(ids):
            by_level.setdefault(level, []).append(index)
        found: dict[NodeId, bytes] = {}
        c = audit_nodes.c
        for part in _chunks(sorted(by_level.items())):
            terms = [and_(c.level == level, c.node_index.in_(sorted(indexes)))
                     for level, indexes in part]
            rows = self.connection.execute(select(audit_nodes).where(or_(*terms)))
            found.update(((row[0], row[1]), row[2]) for row in rows)
        return found


    def openings(self, *, account_id: UUID | None = None, agency_id: UUID | None = None,
                 after: int = -1, limit: int = 1000) -> list[Opening]:
        o, e = audit_openings.c, audit_events.c
        query = (select(o.leaf_index, o.slot, o.account_id, o.agency_id, o.secret, e.id,
                        e.kind, e.version, e.occurred_at, e.actor_id, e.payload)
                 .join(audit_events, e.id == o.event_id)
                 .where(o.leaf_index > after)
                 .order_by(o.leaf_index, o.slot).limit(limit))
        if account_id is not None:
            query = query.where(o.account_id == account_id)
        if agency_id is not None:  # who did what for the agency, not their own sign-ins
            query = query.where(o.agency_id == agency_id, o.slot != "event")
        return [Opening(row[0], row[1], QueuedEvent(*row[5:]), row[2], row[3], row[4])
                for row in self.connection.execute(query)]

    def subjects_events(self, field: str, values: Collection[str], kinds: Collection[str]
                        ) -> list[SubjectEvent]:
        e, leaf = audit_events.c, audit_leaves.c
        wanted, found = sorted(set(values)), []
        for first in range(0, len(wanted), _SUBJECTS_PER_QUERY):
            query = (select(e.id, e.kind, e.version, e.occurred_at, e.actor_id, e.payload,
                            leaf.leaf_index, leaf.data)
                     .outerjoin(audit_leaves, leaf.event_id == e.id)
                     .where(payload_text(self.connection, field).in_(
                         wanted[first:first + _SUBJECTS_PER_QUERY]),
                            e.kind.in_(sorted(kinds))))
            found.extend(SubjectEvent(QueuedEvent(*row[:6]), row[6], row[7])
                         for row in self.connection.execute(query))
        return sorted(found, key=lambda f: f.event.id)


_FIELD = re.compile(r"[a-z_]{1,40}")
_SUBJECTS_PER_QUERY = 500  # values per IN (...), well under SQLite's bound-value limit


def payload_text(connection: Connection, field: str) -> ColumnElement[Any]:
    """``payload.<field>`` as text, spelled as the expression indexes of migration 0015
    are (a literal path, not a bound parameter, so both databases can use them)."""
    if not _FIELD.fullmatch(field):
        raise ValueError(f"not a payload field name: {field!r}")
    payload = audit_events.c.payload
    if connection.dialect.name == "sqlite":
        return func.json_extract(payload, literal_column(f"'$.{field}'"))
    return payload.op("->>")(literal_column(f"'{field}'"))


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _LEVELS_PER_QUERY):
        yield items[start : start + _LEVELS_PER_QUERY]


class SqlLogWriter(SqlLogView):
    """The sequencer's view: reads the queue, appends leaves, nodes and checkpoints."""

    def last_event_id(self) -> int:
        query = select(func.max(audit_leaves.c.event_id))  # the unique index answers it
        return self.connection.execute(query).scalar() or 0

    def last_event_before(self, after_id: int, moment: datetime) -> int | None:
        events = audit_events.c  # a primary-key range: the events since the last batch
        query = select(func.max(events.id)).where(events.id > after_id,
                                                  events.occurred_at < moment)
        return self.connection.execute(query).scalar()

    def last_batch_time(self) -> str | None:
        query = select(audit_leaves.c.data).order_by(audit_leaves.c.leaf_index.desc())
        data = self.connection.execute(query.limit(1)).scalar()
        return None if data is None else leaf_batch_time(data)

    def accounts(self, ids: Collection[UUID]) -> dict[UUID, AccountFacts]:
        """One query, one parameter, however many ids: a binary ``uuid[]`` on PostgreSQL,
        a JSON list on SQLite.  (IN lists of 500 cost ten statements a batch, each compiled
        and parsed anew by SQLAlchemy and psycopg: 8 µs an event, more than the query.  The
        array as text, psycopg's default, took 26 ms for 5,000 ids, mostly the server
        parsing it; in binary, 1.7 ms.)"""
        found: dict[UUID, AccountFacts] = {}
        if not ids:
            return found
        if self.connection.dialect.name == "postgresql":
            raw = self.connection.connection.driver_connection
            with raw.cursor() as cursor:  # type: ignore[union-attr]
                rows = cursor.execute(_ACCOUNTS_SQL, (list(ids),)).fetchall()
        else:  # SQLite keeps UUIDs as 32 hex digits (SQLAlchemy's Uuid)
            c = accounts.c
            listed = bindparam("ids", json.dumps([value.hex for value in ids]))
            condition = c.id.in_(select(literal_column("value")).select_from(
                func.json_each(listed)))
            rows = self.connection.execute(
                select(c.id, c.kind, c.staff_role, c.agency_id).where(condition)).all()
        for account_id, kind, role, agency_id in rows:
            found[account_id] = AccountFacts(str(kind), None if role is None else str(role),
                                             agency_id)
        return found

    def forget(self, account_id: UUID) -> int:
        deleted = self.connection.execute(
            audit_openings.delete().where(audit_openings.c.account_id == account_id))
        return deleted.rowcount or 0

    def queued_events(self, after_id: int, up_to: int | None, limit: int) -> list[QueuedEvent]:
        if up_to is not None:
            limit = min(limit, up_to - after_id)
            if limit <= 0:
                return []
        sql = _EVENTS_SQL.format(mark=mark(self.connection))
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:  # plain tuples: SQLAlchemy's rows would cost a microsecond each
            cursor.execute(sql, (after_id, limit))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if up_to is not None and rows and rows[-1][0] > up_to:
            rows = [row for row in rows if row[0] <= up_to]
        return list(map(event_decoder(self.connection), rows))

    def append(self, leaves: Sequence[LeafRow], nodes: Sequence[Node],
               openings: Sequence[OpeningRow] = ()) -> None:
        # Bulk paths below SQLAlchemy: its per-row parameter processing would cost more
        # than everything else the sequencer does per leaf.
        postgres = self.connection.dialect.name == "postgresql"
        if not postgres:  # SQLite keeps UUIDs as 32 hex digits (SQLAlchemy's Uuid)
            openings = [(i, slot, e, _hex(account), _hex(agency), secret)
                        for i, slot, e, account, agency, secret in openings]
        for kind, rows in (("leaves", leaves), ("nodes", nodes), ("openings", openings)):
            if not rows:
                continue
            if postgres:
                raw = self.connection.connection.driver_connection
                with raw.cursor() as cursor, cursor.copy(_COPY[kind]) as copy:  # type: ignore[union-attr]
                    copy.set_types(_COPY_TYPES[kind])
                    for row in rows:
                        copy.write_row(row)
            else:
                self.connection.exec_driver_sql(_INSERT[kind], list(rows))

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        self.connection.execute(
            insert(audit_checkpoints).values(
                size=checkpoint.size,
                root=checkpoint.root,
                note=checkpoint.note,
                verifier_key=checkpoint.verifier_key,
                signed_at=checkpoint.signed_at,
            )
        )


    def add_cosignature(self, size: int, witness: str, line: str, cosigned_at: int) -> bool:
        table = audit_cosignatures
        known = select(table.c.size).where(table.c.size == size, table.c.witness == witness)
        if self.connection.execute(known).first() is not None:
            return False
        self.connection.execute(insert(table).values(
            size=size, witness=witness, line=line, cosigned_at=cosigned_at))
        return True


def _hex(value: UUID | None) -> str | None:
    return None if value is None else value.hex


class SqlAuditLogStore:
    """Implements AuditLogStore on an engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, *, horizon_lock_timeout_ms: int = 5000) -> None:
        self.engine = engine
        self.horizon_lock_timeout_ms = horizon_lock_timeout_ms

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def reading(self) -> Iterator[SqlLogView]:
        with self.engine.connect() as connection:
            connection = read_snapshot(connection)
            with connection.begin():
                yield SqlLogView(connection)

    @contextmanager
    def sequencing(self) -> Iterator[SqlLogWriter]:
        # On SQLite the transaction begins IMMEDIATE (the engine's default for writes).
        with self.engine.connect() as connection, connection.begin():
            if not self.is_sqlite:
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                connection.execute(lock, {"key": SEQUENCER_LOCK})
            yield SqlLogWriter(connection)

    def queue_horizon(self) -> int | None:
        if self.is_sqlite:
            return None
        with self.engine.connect() as connection, connection.begin():
            timeout = int(self.horizon_lock_timeout_ms)
            connection.execute(text(f"SET LOCAL lock_timeout = {timeout}"))
            try:
                connection.execute(text("LOCK TABLE audit_events IN SHARE MODE"))
            except OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                    raise AuditQueueBusy("audit events are still being written") from exc
                raise
            top = select(func.coalesce(func.max(audit_events.c.id), 0))
            return connection.execute(top).scalar_one()
