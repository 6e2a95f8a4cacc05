"""DDL that Alembic cannot generate: append-only triggers for the log tables."""

from __future__ import annotations

from alembic import op

SQLITE_APPEND_ONLY = """
CREATE TRIGGER {table}_no_{action} BEFORE {verb} ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END
"""

POSTGRES_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION porchlight_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def make_append_only(table: str) -> None:
    """Reject UPDATE and DELETE (and TRUNCATE on PostgreSQL) on a log table, in the database."""
    if op.get_bind().dialect.name == "sqlite":
        for action, verb in (("update", "UPDATE"), ("delete", "DELETE")):
            op.execute(SQLITE_APPEND_ONLY.format(table=table, action=action, verb=verb))
        return
    op.execute(POSTGRES_APPEND_ONLY_FUNCTION)
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION porchlight_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION porchlight_append_only()"
    )


SQLITE_FROZEN = """
CREATE TRIGGER {table}_frozen_terms BEFORE UPDATE OF {columns} ON {table}
BEGIN SELECT RAISE(ABORT, '{table}: these terms are immutable'); END
"""

SQLITE_NO_DELETE = """
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END
"""

POSTGRES_FROZEN_FUNCTION = """
CREATE OR REPLACE FUNCTION porchlight_frozen_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: these terms are immutable', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def make_immutable_columns(table: str, columns: list[str]) -> None:
    """Reject changes to ``columns`` and any DELETE: a record whose terms never change.

    The other columns (a revocation time, say) may still be set once by the application.
    """
    listed = ", ".join(columns)
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_FROZEN.format(table=table, columns=listed))
        op.execute(SQLITE_NO_DELETE.format(table=table))
        return
    op.execute(POSTGRES_FROZEN_FUNCTION)
    op.execute(POSTGRES_APPEND_ONLY_FUNCTION)
    op.execute(
        f"CREATE TRIGGER {table}_frozen_terms BEFORE UPDATE OF {listed} ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION porchlight_frozen_terms()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION porchlight_append_only()"
    )
