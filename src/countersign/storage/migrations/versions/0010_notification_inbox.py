"""notification inbox: categories, actions, seen and archived states, preferences,
idempotent sends

Revision ID: 0010
Revises: 0009

Existing notifications land in "general" with no actions; their read state is kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import countersign.storage.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_MOMENT = countersign.storage.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("category", sa.String(length=64), server_default="general", nullable=False)
        )
        batch_op.add_column(sa.Column("actions", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("seen_at", _MOMENT, nullable=True))
        batch_op.add_column(sa.Column("archived_at", _MOMENT, nullable=True))
        batch_op.create_index(
            "ix_notifications_contact_category", ["contact_id", "category"], unique=False
        )

    op.create_table(
        "notification_categories",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("default_in_app", sa.Boolean(), nullable=False),
        sa.Column("default_email", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_notification_categories_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app_id", "name", name=op.f("pk_notification_categories")),
    )
    op.create_table(
        "notification_preferences",
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_notification_preferences_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "category", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "notification_sends",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_notification_sends_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app_id", "idempotency_key", name=op.f("pk_notification_sends")),
    )
    with op.batch_alter_table("notification_sends", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_sends_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_sends", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_sends_created_at"))
    op.drop_table("notification_sends")
    op.drop_table("notification_preferences")
    op.drop_table("notification_categories")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_contact_category")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("seen_at")
        batch_op.drop_column("actions")
        batch_op.drop_column("category")
