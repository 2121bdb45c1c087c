"""webhook signature format: an endpoint may be signed the Standard Webhooks way

Revision ID: 0009
Revises: 0008

Existing endpoints keep Countersign's own header ("countersign").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "signature_format",
                sa.String(length=16),
                server_default="countersign",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_column("signature_format")
