"""Engines: SQLite in WAL mode with foreign keys on, or PostgreSQL through psycopg 3."""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, QueuePool

from porchlight.kernel.adapters.files import private_file

# The execution option a unit of work that only reads sets on its connection: on SQLite its
# transaction begins deferred (a snapshot, no write lock), on PostgreSQL it is READ ONLY.
READ_ONLY = "porchlight_read_only"
# The execution option of a write that can wait for another time: on SQLite its BEGIN
# IMMEDIATE fails at once ("database is locked") instead of waiting while another
# writer holds the lock. PostgreSQL has no database-wide write lock and ignores it.
NO_WAIT = "porchlight_no_wait"
_QUERY_ONLY = "porchlight_query_only"  # set on a pooled connection while query_only is on
_WROTE = "porchlight_wrote"  # set on a pooled connection that began a write transaction
BUSY_TIMEOUT_MS = 30_000
# SQLite connections kept open between units of work. Opening one (the file, its WAL index
# and five pragmas) and closing it (the last one to close checkpoints the WAL) cost more
# than most requests' queries; beyond these, a busy moment opens more, closed on return.
SQLITE_POOL_SIZE = 8


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """``pool_size``: PostgreSQL connections kept open (SQLite: SQLITE_POOL_SIZE); as many
    again may open at a busy moment and are closed when returned. A pool smaller than
    the requests a process serves at once opens and closes a connection (a PostgreSQL
    server process, its caches cold) per request over it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    # JIT compilation costs milliseconds and pays off only for long analytic queries; this
    # application runs short indexed lookups (see adapters/db/camera_search.py).
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=pool_size,
                         max_overflow=pool_size, connect_args={"options": "-c jit=off"})


def _private_database(path: Path) -> None:
    """The database file 0600 before SQLite opens it: SQLite gives its -wal and -shm files
    the database file's mode, so they are private too (and tightened if they exist)."""
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            private_file(sidecar)


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        _private_database(Path(database))
    in_memory = not database or database == ":memory:" or "mode=memory" in database
    # A private in-memory database lives and dies with its connection: one per use, as
    # before. A file is shared: keep connections open (SQLITE_POOL_SIZE).
    pool = {"poolclass": NullPool} if in_memory else {
        "poolclass": QueuePool, "pool_size": SQLITE_POOL_SIZE, "max_overflow": -1}
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": 30},
        **pool,
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so
        # BEGIN IMMEDIATE can be issued for the audit sequencer's single writer.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Overwrite deleted content with zeros, so a shredded clip key leaves no copy behind.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "checkin")
    def _writable_again(dbapi_connection, record) -> None:
        if dbapi_connection is None:
            return
        # the pool's next user may write (or run a checkpoint): undo a reader's query_only
        if record.info.pop(_QUERY_ONLY, False):
            dbapi_connection.execute("PRAGMA query_only=OFF")
        if record.info.pop(_WROTE, False):
            _checkpoint(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        options = connection.get_execution_options()
        # An AUTOCOMMIT connection (maintenance such as a WAL checkpoint, which cannot run
        # inside a transaction, or the health check) runs each statement on its own.
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        if options.get(READ_ONLY):
            # Writes are refused by SQLite itself. The setting lasts as long as the
            # connection: it is turned off again when the connection returns to the pool.
            connection.exec_driver_sql("PRAGMA query_only=ON")
            connection.info[_QUERY_ONLY] = True
        mode = "BEGIN" if options.get(READ_ONLY) else "BEGIN IMMEDIATE"
        if not options.get(READ_ONLY):
            connection.info[_WROTE] = True  # the pool record's: checkpoint at check-in
        if not options.get(NO_WAIT):
            connection.exec_driver_sql(mode)
            return
        connection.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            connection.exec_driver_sql(mode)
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    return engine


def _checkpoint(dbapi_connection) -> None:
    """Write the WAL back into the database file and truncate it, without waiting.

    Deleted secrets (a shredded clip key, a forgotten audit opening) are zeroed by
    ``secure_delete`` in the page's new version, which goes to the WAL; until a checkpoint
    copies it over the old page, the database file (and the WAL's earlier frames) still
    hold them, and a copy of the data folder taken meanwhile would too. With connections
    closed after each use the last close did this; pooled connections stay open, so each
    write transaction's connection does it as it returns to the pool. It never waits: a
    reader still on an older snapshot makes it stop where that reader is (SQLITE_BUSY, not
    an error), and the next write's checkpoint finishes the job.
    """
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:  # busy or locked: the next write transaction's checkpoint takes it further
        with suppress(sqlite3.OperationalError):
            dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def is_sqlite_busy(error: BaseException) -> bool:
    """Whether a database error is SQLite's "database is locked" (another writer)."""
    original = getattr(error, "orig", error)
    return (isinstance(original, sqlite3.OperationalError)
            and (getattr(original, "sqlite_errorcode", 0) or 0) & 0xFF == sqlite3.SQLITE_BUSY)


def read_only_options(dialect_name: str) -> dict[str, bool]:
    """The execution options of a connection that only reads (see ``READ_ONLY``)."""
    if dialect_name == "postgresql":
        return {READ_ONLY: True, "postgresql_readonly": True}
    return {READ_ONLY: True}


def read_snapshot(connection: Connection) -> Connection:
    """The connection, set so that its transactions are consistent read-only snapshots:
    REPEATABLE READ and READ ONLY on PostgreSQL; on SQLite, whose transactions are
    snapshots anyway, a deferred BEGIN (no write lock: a long read such as ``audit
    verify`` must not stop every writer) with ``query_only``."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        return connection.execution_options(**read_only_options(dialect))
    return connection.execution_options(isolation_level="REPEATABLE READ",
                                        **read_only_options(dialect))


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
