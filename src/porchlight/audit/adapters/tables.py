"""Tables of the tamper-evident audit log: leaves, complete tree nodes, signed checkpoints.

They live on the shared ``metadata`` so Alembic sees them, and migration 0003 makes all
three append-only with database triggers.  Storage layout:

* ``audit_leaves``: one row per log entry, keyed by its log index.  ``data`` is the
  canonical leaf (the bytes that are hashed), ``leaf_hash`` is ``SHA-256(0x00 || data)``.
* ``audit_nodes``: every complete node of the tree, leaves (level 0) included, written
  exactly once, when the leaf that completes it is appended (about two rows per leaf).
  Roots and proofs of any tree size are folds of O(log n) of these.  Proofs never read
  the leaf table, so a changed, removed or inserted leaf cannot also spoil the proofs that
  locate it: the verifier finds the exact index unless this table was rewritten as well.
* ``audit_checkpoints``: the signed notes, one per tree size the log committed to.
* ``audit_cosignatures``: witnesses' cosignature lines on those notes (migration 0012),
  at most one per witness and checkpoint; served appended to the note.
* ``audit_openings`` (migration 0013): the secrets that open commitments, never public
  and not append-only: deleting an account's rows makes its commitments unopenable.
  Padding leaves (version 2) have no event: ``audit_leaves.event_id`` is then NULL.

``event_id`` of leaves and openings names an existing audit event, checked by a trigger
once per statement (migration 0021) rather than a foreign key row by row; the events
themselves are append-only, so what a row names stays there.

On SQLite, integer keys are rowid aliases (``Integer`` variant) and the node table is
``WITHOUT ROWID``: range scans by log index read the table b-tree directly.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
)

from porchlight.kernel.adapters.db.tables import metadata
from porchlight.kernel.adapters.db.types import UTCDateTime

LOG_INTEGER = BigInteger().with_variant(Integer, "sqlite")
APPEND_ONLY_TABLES = ("audit_leaves", "audit_nodes", "audit_checkpoints", "audit_cosignatures")

audit_leaves = Table(
    "audit_leaves",
    metadata,
    Column("leaf_index", LOG_INTEGER, primary_key=True, autoincrement=False),
    # The event must exist: checked by a trigger per statement, not a foreign key per row
    # (migration 0021).
    Column("event_id", LOG_INTEGER, nullable=True, unique=True),
    Column("data", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    CheckConstraint("leaf_index >= 0", name="index_not_negative"),
)

audit_nodes = Table(
    "audit_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("node_index", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
    CheckConstraint("level BETWEEN 0 AND 63", name="level_range"),
    CheckConstraint("node_index >= 0", name="index_not_negative"),
    sqlite_with_rowid=False,
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("size", LOG_INTEGER, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("verifier_key", String(200), nullable=False),
    Column("signed_at", UTCDateTime, nullable=False),
    CheckConstraint("size > 0", name="size_positive"),
)

audit_cosignatures = Table(
    "audit_cosignatures",
    metadata,
    Column("size", LOG_INTEGER, ForeignKey("audit_checkpoints.size"), primary_key=True,
           autoincrement=False),
    Column("witness", String(200), primary_key=True),
    Column("line", Text, nullable=False),
    Column("cosigned_at", BigInteger, nullable=False),
)

audit_openings = Table(
    "audit_openings",
    metadata,
    Column("leaf_index", LOG_INTEGER, primary_key=True, autoincrement=False),
    Column("slot", String(64), primary_key=True),
    Column("event_id", LOG_INTEGER, nullable=False),  # an existing event (migration 0021)
    Column("account_id", Uuid, nullable=True, index=True),
    Column("agency_id", Uuid, nullable=True, index=True),
    Column("secret", LargeBinary(32), nullable=False),
)
