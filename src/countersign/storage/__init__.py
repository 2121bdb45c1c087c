"""Persistence: SQLAlchemy tables, Alembic migrations, the database handle and queries.

SQLite (WAL) in the data dir by default; PostgreSQL when a database URL says so. The
schema belongs to Alembic: nothing here calls ``create_all``.
"""
