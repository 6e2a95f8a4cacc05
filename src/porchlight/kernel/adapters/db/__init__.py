"""SQLAlchemy 2 persistence: tables, mappers, repositories, unit of work, migrations."""
