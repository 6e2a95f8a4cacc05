"""The database health check behind the ``HealthCheck`` port (``/healthz``)."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError


class DatabaseHealth:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def database_reachable(self) -> bool:
        # AUTOCOMMIT: no transaction, so no lock to wait for behind a writer (SQLite).
        try:
            with self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True
