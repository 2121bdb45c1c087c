"""Alembic environment: run with the connection Countersign hands over."""

from __future__ import annotations

from alembic import context

from countersign.storage.contact_search import include_name
from countersign.storage.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by table copy
    compare_type=True,
    # UtcDateTime lives in models/base.py; a generated migration names it through the
    # package (countersign.storage.models.UtcDateTime), as every migration so far does.
    user_module_prefix="countersign.storage.models.",
    # The SQLite search index (an FTS5 table and its shadow tables) is no model.
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
