"""retired visitors: logout and a change of identity retire the browser's visitor id

Revision ID: 0008
Revises: 0007

A retired visitor id is unknown to identify from then on (the browser is given a new
one), so a visitor id read from an ended session can never again open the anonymous
history behind it. Browsers that logged out before this migration (their session
names no contact) are retired by it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import countersign.storage.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "retired_at", countersign.storage.models.UtcDateTime(timezone=True), nullable=True
            )
        )
    op.execute(
        sa.text("UPDATE visitors SET retired_at = created_at WHERE session_contact_id IS NULL")
    )


def downgrade() -> None:
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
