"""actions: custom actions and their call log

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import countersign.storage.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, countersign.storage.models.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("parameters_schema", sa.JSON(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("allow_private_network", sa.Boolean(), nullable=False),
        sa.Column("timeout_ms", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _utc("created_at"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_actions_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.create_index("uq_actions_app_name", ["app_id", "name"], unique=True)

    op.create_table(
        "action_calls",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("action_id", sa.String(length=40), nullable=True),
        sa.Column("action_name", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=True),
        sa.Column("identity_status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=255), nullable=True),
        _utc("at"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_action_calls_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_calls")),
    )
    with op.batch_alter_table("action_calls", schema=None) as batch_op:
        batch_op.create_index("ix_action_calls_app_at", ["app_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("action_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_action_calls_app_at")
    op.drop_table("action_calls")
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_index("uq_actions_app_name")
    op.drop_table("actions")
