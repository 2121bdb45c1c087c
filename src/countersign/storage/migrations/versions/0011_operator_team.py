"""operator team: deactivation and one-time invitation links

Revision ID: 0011
Revises: 0010

An operator gains ``deactivated_at`` (set while they may not log in), and
``operator_invitations`` holds the SHA-256 of each one-time link that lets an invited
operator choose their password. Existing operators stay active.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import countersign.storage.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "deactivated_at",
                countersign.storage.models.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
    op.create_table(
        "operator_invitations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.String(length=40), nullable=False),
        sa.Column("invited_by", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("used_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "revoked_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_invitations_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_invitations")),
    )
    with op.batch_alter_table("operator_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_invitations_operator_id"), ["operator_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("operator_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_invitations_operator_id"))
    op.drop_table("operator_invitations")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_column("deactivated_at")
