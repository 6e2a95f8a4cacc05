"""Alembic environment: runs on the connection or URL that kernel.adapters.db.migrate gives."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy import create_engine

from porchlight.audit.adapters import tables as audit_log_tables  # noqa: F401  (registers the log tables)
from porchlight.kernel.adapters.db.tables import metadata

config = context.config

# Expression indexes made by migrations alone (SQLAlchemy cannot declare them portably,
# nor reflect them on SQLite): left out of the models' comparison.
MIGRATION_ONLY_INDEXES = frozenset({"ix_audit_events_evidence_id"})  # 0015


def _include_name(name, type_, parent_names) -> bool:
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_include_name,
    )
    with warnings.catch_warnings():
        for name in MIGRATION_ONLY_INDEXES:
            warnings.filterwarnings(
                "ignore", message=f"Skipped unsupported reflection of expression-based index "
                f"{name}")
        with context.begin_transaction():
            context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _configure(connection)
    engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
