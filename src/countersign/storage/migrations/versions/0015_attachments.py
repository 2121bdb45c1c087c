"""attachments: uploaded files, their chunks, and each app's upload limits

Revision ID: 0015
Revises: 0014

Existing apps get the default limit (10 MB) and the default type list (NULL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import countersign.storage.models

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_MOMENT = countersign.storage.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "apps",
        sa.Column(
            "max_attachment_bytes", sa.BigInteger(), server_default="10000000", nullable=False
        ),
    )
    op.add_column("apps", sa.Column("attachment_types", sa.JSON(), nullable=True))
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_attachments_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_attachments_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_attachments_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index(op.f("ix_attachments_app_id"), "attachments", ["app_id"])
    op.create_index(op.f("ix_attachments_contact_id"), "attachments", ["contact_id"])
    op.create_index("ix_attachments_message", "attachments", ["message_id"])
    op.create_index(
        "ix_attachments_unattached_created", "attachments", ["message_id", "created_at"]
    )
    op.create_table(
        "attachment_chunks",
        sa.Column("attachment_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_attachment_chunks_attachment_id_attachments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attachment_id", "position", name=op.f("pk_attachment_chunks")),
    )


def downgrade() -> None:
    op.drop_table("attachment_chunks")
    op.drop_table("attachments")
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of apps would drop the table,
    # which every contact and conversation references.
    op.drop_column("apps", "attachment_types")
    op.drop_column("apps", "max_attachment_bytes")
