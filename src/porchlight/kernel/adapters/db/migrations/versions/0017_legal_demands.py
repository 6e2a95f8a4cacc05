"""Legal demands: warrants, subpoenas, court orders and emergency requests.

``legal_demands``: one row per demand a platform admin recorded, with its terms (type,
agency, court, docket, coverage, notice delay, retention: immutable, by triggers) and its
progress (fulfilled or withdrawn, delivered, documented, owners told).
``evidence_items``: an item now has a consent and a request, or else a legal demand
(``legal_demand_id``), so ``consent_id`` and ``request_id`` become nullable, and one item
per covered clip holds for a demand's items (``one_per_demanded_clip``).

SQLite cannot make a column nullable without rebuilding the table, and a rebuild cannot
drop ``evidence_items`` while ``evidence_shares`` rows refer to it (foreign keys are on,
inside the migration's transaction). Removing a NOT NULL constraint changes nothing on
disk, so this migration takes SQLite's documented short way for it instead: the table's
CREATE statement is edited in ``sqlite_schema`` under ``writable_schema`` and the schema
version bumped (https://sqlite.org/lang_altertable.html, "making other kinds of table
schema changes"). The downgrade restores the constraints the same way, after checking that
no item without a consent exists, and drops the demand column once its foreign key is
edited out (SQLite drops no column a foreign key names).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.kernel.adapters.db.ddl import make_immutable_columns
from porchlight.kernel.adapters.db.types import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

DEMANDED = sa.text("legal_demand_id IS NOT NULL")
DEMAND_FK = "fk_evidence_items_legal_demand_id_legal_demands"
TERMS = ["id", "demand_type", "agency_id", "court", "docket", "coverage", "account_ids",
         "camera_ids", "covers_from", "covers_to", "notice_delayed_until", "retention_days",
         "terms_nonce", "recorded_by", "recorded_at"]
NOT_NULL = {"consent_id CHAR(32) NOT NULL,": "consent_id CHAR(32),",
            "request_id CHAR(32) NOT NULL,": "request_id CHAR(32),"}
SQLITE_FK = f" CONSTRAINT {DEMAND_FK} REFERENCES legal_demands (id)"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _edit_sqlite_schema(table: str, replacements: dict[str, str]) -> None:
    """Rewrite a table's CREATE statement in place (changes that leave the file as it is)."""
    bind = op.get_bind()
    sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                               "name = :name"), {"name": table}).scalar_one()
    for old, new in replacements.items():
        if old not in sql:
            raise RuntimeError(f"{table}: expected {old!r} in its schema; nothing changed")
        sql = sql.replace(old, new)
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND "
                         "name = :name"), {"sql": sql, "name": table})
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _create_demands() -> None:
    op.create_table(
        "legal_demands",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("demand_type", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("court", sa.String(length=200), nullable=True),
        sa.Column("docket", sa.String(length=80), nullable=True),
        sa.Column("coverage", sa.String(length=32), nullable=False),
        sa.Column("account_ids", sa.JSON(), nullable=False),
        sa.Column("camera_ids", sa.JSON(), nullable=False),
        sa.Column("covers_from", UTCDateTime(), nullable=True),
        sa.Column("covers_to", UTCDateTime(), nullable=True),
        sa.Column("notice_delayed_until", UTCDateTime(), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("terms_nonce", sa.String(length=32), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("fulfilled_by", sa.Uuid(), nullable=True),
        sa.Column("fulfilled_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.Uuid(), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("owner_ids", sa.JSON(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("clips_disclosed", sa.Integer(), nullable=False),
        sa.Column("account_records", sa.JSON(), nullable=True),
        sa.Column("documentation", sa.Text(), nullable=True),
        sa.Column("documentation_nonce", sa.String(length=32), nullable=True),
        sa.Column("documented_by", sa.Uuid(), nullable=True),
        sa.Column("documented_at", UTCDateTime(), nullable=True),
        sa.Column("notice_sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"],
                                name=op.f("fk_legal_demands_agency_id_agencies")),
        *(sa.ForeignKeyConstraint([column], ["accounts.id"],
                                  name=op.f(f"fk_legal_demands_{column}_accounts"))
          for column in ("recorded_by", "fulfilled_by", "withdrawn_by", "documented_by")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_demands")),
    )
    op.create_index(op.f("ix_legal_demands_agency_id"), "legal_demands", ["agency_id"])
    make_immutable_columns("legal_demands", TERMS)


def upgrade() -> None:
    _create_demands()
    if _sqlite():
        op.execute(f"ALTER TABLE evidence_items ADD COLUMN legal_demand_id CHAR(32){SQLITE_FK}")
        _edit_sqlite_schema("evidence_items", NOT_NULL)
    else:
        op.add_column("evidence_items", sa.Column("legal_demand_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(DEMAND_FK, "evidence_items", "legal_demands",
                              ["legal_demand_id"], ["id"])
        op.alter_column("evidence_items", "consent_id", existing_type=sa.Uuid(), nullable=True)
        op.alter_column("evidence_items", "request_id", existing_type=sa.Uuid(), nullable=True)
    op.create_index("one_per_demanded_clip", "evidence_items",
                    ["legal_demand_id", "source_clip_id"], unique=True,
                    sqlite_where=DEMANDED, postgresql_where=DEMANDED)


def downgrade() -> None:
    items = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM evidence_items WHERE consent_id IS NULL OR request_id IS NULL "
        "OR legal_demand_id IS NOT NULL")).scalar_one()
    if items:
        raise RuntimeError(
            f"{items} evidence items were delivered under legal demands: the schema before "
            "0017 cannot hold them (every item had a consent). Nothing was changed.")
    op.drop_index("one_per_demanded_clip", table_name="evidence_items")
    if _sqlite():
        _edit_sqlite_schema("evidence_items", {
            **{new: old for old, new in NOT_NULL.items()}, SQLITE_FK: ""})
        op.execute("ALTER TABLE evidence_items DROP COLUMN legal_demand_id")
    else:
        op.alter_column("evidence_items", "request_id", existing_type=sa.Uuid(), nullable=False)
        op.alter_column("evidence_items", "consent_id", existing_type=sa.Uuid(), nullable=False)
        op.drop_constraint(DEMAND_FK, "evidence_items", type_="foreignkey")
        op.drop_column("evidence_items", "legal_demand_id")
    op.drop_table("legal_demands")  # its triggers go with it
