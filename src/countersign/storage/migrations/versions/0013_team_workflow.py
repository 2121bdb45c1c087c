"""team workflow: conversation status, snooze and assignee; the contact search index

Revision ID: 0013
Revises: 0012

Every existing conversation becomes ``open`` and unassigned. The contact search
(``storage/contact_index.py``) gets its index: on PostgreSQL two ``pg_trgm`` GIN
indexes over lower-cased expressions of the contacts' columns (nothing to keep in
sync: the index is the expression's); on SQLite an FTS5 trigram table that triggers
on ``contacts`` keep in step, keyed by the contact's rowid.

A later migration that rebuilds ``contacts`` on SQLite (``batch_alter_table``)
drops those triggers and renumbers rowids: it must call ``_sqlite_index()`` again.
The SQL here is a copy, not an import, of ``contact_index``'s: a migration is
frozen at the schema it built.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import countersign.storage.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_MOMENT = countersign.storage.models.UtcDateTime(timezone=True)

_IDENTIFIERS = "coalesce(user_id, '') || ' ' || coalesce(email, '') || ' ' || coalesce(name, '')"
_PG_VERIFIED = f"lower(CASE WHEN verified THEN {_IDENTIFIERS} ELSE '' END)"
_PG_UNVERIFIED = (
    f"lower(CASE WHEN verified THEN '' ELSE {_IDENTIFIERS} END"
    " || ' ' || coalesce(metadata::text, ''))"
)


def _sqlite_values(row: str) -> str:
    ids = " || ' ' || ".join(f"coalesce({row}.{c}, '')" for c in ("user_id", "email", "name"))
    verified = f"CASE WHEN {row}.verified THEN {ids} ELSE '' END"
    unverified = (
        f"CASE WHEN {row}.verified THEN '' ELSE {ids} END || ' ' || coalesce({row}.metadata, '')"
    )
    return f"{verified}, {unverified}"


def _sqlite_index() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS contact_search "
        "USING fts5(verified_text, unverified_text, tokenize='trigram')"
    )
    op.execute("DELETE FROM contact_search")
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS contact_search_{name}")
    op.execute(
        "CREATE TRIGGER contact_search_insert AFTER INSERT ON contacts BEGIN "  # noqa: S608
        "INSERT INTO contact_search(rowid, verified_text, unverified_text) "
        f"VALUES (new.rowid, {_sqlite_values('new')}); END"
    )
    op.execute(
        "CREATE TRIGGER contact_search_update "  # noqa: S608 (constant SQL)
        "AFTER UPDATE OF user_id, email, name, verified, metadata ON contacts BEGIN "
        "DELETE FROM contact_search WHERE rowid = old.rowid; "
        "INSERT INTO contact_search(rowid, verified_text, unverified_text) "
        f"VALUES (new.rowid, {_sqlite_values('new')}); END"
    )
    op.execute(
        "CREATE TRIGGER contact_search_delete AFTER DELETE ON contacts BEGIN "
        "DELETE FROM contact_search WHERE rowid = old.rowid; END"
    )
    op.execute(
        "INSERT INTO contact_search(rowid, verified_text, unverified_text) "  # noqa: S608
        f"SELECT contacts.rowid, {_sqlite_values('contacts')} FROM contacts"
    )


def _postgres_index() -> None:
    # pg_trgm ships with PostgreSQL (contrib) and is a trusted extension since 13.
    # IF NOT EXISTS does not hold against a concurrent CREATE (two nodes migrating a
    # new database at once: a unique violation), so this transaction takes a lock
    # first; it is released at commit.
    op.execute("SELECT pg_advisory_xact_lock(72677)")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT n.nspname FROM pg_extension e "
                "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        )
        .scalar_one()
    )
    # The operator class is named with its schema: the extension may live outside
    # this database's search_path (it is installed once per database).
    ops = f'"{schema}".gin_trgm_ops'
    op.execute(
        f"CREATE INDEX ix_contacts_search_verified ON contacts USING gin (({_PG_VERIFIED}) {ops})"
    )
    op.execute(
        "CREATE INDEX ix_contacts_search_unverified ON contacts "
        f"USING gin (({_PG_UNVERIFIED}) {ops})"
    )


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="open", nullable=False)
        )
        batch_op.add_column(sa.Column("snoozed_until", _MOMENT, nullable=True))
        batch_op.add_column(sa.Column("assignee_id", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_conversations_assignee_id_operators"),
            "operators",
            ["assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_index(
            "ix_conversations_app_status_updated",
            ["app_id", "status", "updated_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_conversations_status_snoozed_until", ["status", "snoozed_until"], unique=False
        )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_app_last_seen", ["app_id", "last_seen_at", "id"], unique=False
        )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_index()
    else:
        _postgres_index()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS contact_search_{name}")
        op.execute("DROP TABLE IF EXISTS contact_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_contacts_search_unverified")
        op.execute("DROP INDEX IF EXISTS ix_contacts_search_verified")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_app_last_seen")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_status_snoozed_until")
        batch_op.drop_index("ix_conversations_app_status_updated")
        batch_op.drop_index(batch_op.f("ix_conversations_assignee_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_conversations_assignee_id_operators"), type_="foreignkey"
        )
        batch_op.drop_column("assignee_id")
        batch_op.drop_column("snoozed_until")
        batch_op.drop_column("status")
