"""verification counts: successes counted per app, secret and minute; contacts' last verified time

Revision ID: 0018
Revises: 0017

SPEC 9: successful verifications are counted rather than logged one row each. The
verified rows already in ``verification_log`` stay where they are, readable as before
(the readers add them to the counts), so nothing is lost on upgrade.

``last_verified_at`` is added with a plain ``ALTER TABLE ... ADD COLUMN`` and dropped
with a plain ``DROP COLUMN`` (SQLite 3.35+): a batch rebuild of ``contacts`` on SQLite
would drop the contact search's triggers (see 0013 and 0016). No trigger, index or
constraint names the column, so SQLite drops it in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import countersign.storage.models

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_MOMENT = countersign.storage.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "verification_counts",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("secret_id", sa.String(length=40), nullable=False),
        sa.Column("minute", _MOMENT, nullable=False),
        sa.Column("count", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_verification_counts_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "app_id", "secret_id", "minute", name=op.f("pk_verification_counts")
        ),
    )
    op.create_index("ix_verification_counts_minute", "verification_counts", ["minute"])
    op.add_column("contacts", sa.Column("last_verified_at", _MOMENT, nullable=True))


def downgrade() -> None:
    op.drop_column("contacts", "last_verified_at")
    op.drop_index("ix_verification_counts_minute", table_name="verification_counts")
    op.drop_table("verification_counts")
