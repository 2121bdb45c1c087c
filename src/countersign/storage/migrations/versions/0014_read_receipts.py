"""read receipts: how far the contact, and the team, have read each conversation

Revision ID: 0014
Revises: 0013

Two counters on ``conversations`` (message ``seq`` numbers, never moving back):
``contact_read_seq``, shared by every device of the contact (the widget's unread badge
and the email digest's "not read yet" both use it), and ``team_read_seq``, the furthest
any operator has read (the widget's *Seen*). Existing conversations start at 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("contact_read_seq", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "conversations",
        sa.Column("team_read_seq", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("team_read_seq")
        batch.drop_column("contact_read_seq")
