"""public keys, fetched JWKS documents, revoked users, verified-only apps

Revision ID: 0012
Revises: 0011

``public_keys`` holds an app's public keys (their public JWK only: never a private
key) and JWKS URLs; ``jwks_cache`` the last good document of each URL; ``revoked_users``
the users whose static hash and earlier tokens no longer verify. ``apps`` gains
``allow_anonymous``, true for every existing app (nothing changes until it is set).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import countersign.storage.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=True),
        sa.Column("alg", sa.String(length=8), nullable=True),
        sa.Column("public_jwk", sa.Text(), nullable=True),
        sa.Column("jwks_url", sa.String(length=2048), nullable=True),
        sa.Column("allow_private_network", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "revoked_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_used_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("use_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_public_keys_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_keys")),
    )
    with op.batch_alter_table("public_keys", schema=None) as batch_op:
        batch_op.create_index("ix_public_keys_app_id_kid", ["app_id", "kid"], unique=False)

    op.create_table(
        "revoked_users",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column(
            "revoked_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_revoked_users_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "user_id", name=op.f("pk_revoked_users")),
    )
    op.create_table(
        "jwks_cache",
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("document", sa.Text(), nullable=True),
        sa.Column(
            "fetched_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "attempted_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_jwks_cache_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["public_keys.id"],
            name=op.f("fk_jwks_cache_source_id_public_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_jwks_cache")),
    )
    with op.batch_alter_table("jwks_cache", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jwks_cache_app_id"), ["app_id"], unique=False)

    # A plain ADD COLUMN, never a batch copy: on SQLite a batch alter drops and
    # recreates ``apps``, and with foreign keys on (they are, on every connection) the
    # drop would cascade to every contact, conversation and secret of every app.
    op.add_column(
        "apps",
        sa.Column("allow_anonymous", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("apps", "allow_anonymous")  # ALTER TABLE DROP COLUMN: no table copy

    with op.batch_alter_table("jwks_cache", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jwks_cache_app_id"))

    op.drop_table("jwks_cache")
    op.drop_table("revoked_users")
    with op.batch_alter_table("public_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_public_keys_app_id_kid")

    op.drop_table("public_keys")
