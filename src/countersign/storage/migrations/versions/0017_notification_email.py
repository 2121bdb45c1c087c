"""notification email: digests in the mail outbox (no conversation), and their items

Revision ID: 0017
Revises: 0016

A digest email gathers a contact's notifications, not a conversation's messages:
``mail_outbox.conversation_id`` becomes nullable, and ``mail_digest_items`` names the
notifications each digest holds. On SQLite the nullability changes by a batch rebuild
of ``mail_outbox`` alone (no trigger and no other table refer to it); its partial
indexes are dropped first and made again after, so the rebuild cannot lose their
``WHERE``. ``contacts`` is not touched (0013: a rebuild would drop its triggers).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_PARTIAL = {
    # name: (column, where, unique)
    "uq_mail_outbox_gathering": ("batch_key", "gathering", True),
    "ix_mail_outbox_open_due": ("next_attempt_at", "status = 'pending'", False),
}


def _drop_partial_indexes() -> None:
    for name in _PARTIAL:
        op.drop_index(name, table_name="mail_outbox")


def _create_partial_indexes() -> None:
    for name, (column, where, unique) in _PARTIAL.items():
        op.create_index(
            name,
            "mail_outbox",
            [column],
            unique=unique,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def _conversation_nullable(nullable: bool) -> None:
    _drop_partial_indexes()
    with op.batch_alter_table("mail_outbox") as batch_op:
        batch_op.alter_column(
            "conversation_id", existing_type=sa.String(length=40), nullable=nullable
        )
    _create_partial_indexes()


def upgrade() -> None:
    _conversation_nullable(True)
    op.create_table(
        "mail_digest_items",
        sa.Column("mail_id", sa.String(length=40), nullable=False),
        sa.Column("notification_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["mail_id"],
            ["mail_outbox.id"],
            name=op.f("fk_mail_digest_items_mail_id_mail_outbox"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_mail_digest_items_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mail_id", "notification_id", name=op.f("pk_mail_digest_items")),
    )
    op.create_index("ix_mail_digest_items_notification", "mail_digest_items", ["notification_id"])


def downgrade() -> None:
    op.drop_table("mail_digest_items")
    # 0016 knew no email without a conversation: the digests (sent or not) go with it.
    op.execute("DELETE FROM mail_outbox WHERE conversation_id IS NULL")
    _conversation_nullable(False)
