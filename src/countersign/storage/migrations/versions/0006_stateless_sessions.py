"""stateless sessions: signed tokens and the visitor's session epoch, no sessions table

Revision ID: 0006
Revises: 0005

Sessions opened before this migration end with it: their tokens were random strings
looked up in ``sessions``; the widget identifies again on its next request.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import countersign.storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("session_contact_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("session_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("session_secret_id", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_visitors_session_contact_id_contacts"),
            "contacts",
            ["session_contact_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_visitor_id"))
        batch_op.drop_index(batch_op.f("ix_sessions_secret_id"))
        batch_op.drop_index(batch_op.f("ix_sessions_app_id"))
    op.drop_table("sessions")


def downgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("visitor_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("secret_id", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "revoked_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_sessions_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_sessions_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_app_id"), ["app_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_secret_id"), ["secret_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_visitor_id"), ["visitor_id"], unique=False)
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_visitors_session_contact_id_contacts"), type_="foreignkey"
        )
        batch_op.drop_column("session_secret_id")
        batch_op.drop_column("session_status")
        batch_op.drop_column("session_contact_id")
        batch_op.drop_column("session_epoch")
