"""retention: indexes that let the pruner find the oldest outbox events and action calls

Revision ID: 0007
Revises: 0006

Both tables are indexed by app first, which serves the per-app logs but not a search
across every app for the oldest rows: without these, each prune would scan its table.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_events_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("action_calls", schema=None) as batch_op:
        batch_op.create_index("ix_action_calls_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("action_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_action_calls_at")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_created_at")
