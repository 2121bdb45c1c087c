"""mail: the outbox, the inbound log, presence; email columns of apps, contacts, operators

Revision ID: 0016
Revises: 0015

Columns are added with plain ``ALTER TABLE ... ADD COLUMN`` (constant defaults), not a
batch rebuild: rebuilding ``contacts`` on SQLite would drop the contact search's
triggers (see 0013).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import countersign.storage.models

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_MOMENT = countersign.storage.models.UtcDateTime(timezone=True)
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "apps", sa.Column("email_delay", sa.Integer(), server_default="120", nullable=False)
    )
    op.add_column("apps", sa.Column("inbound_key_hash", sa.String(length=64), nullable=True))
    op.create_index("uq_apps_inbound_key_hash", "apps", ["inbound_key_hash"], unique=True)
    # A downgrade on SQLite leaves these two in place (see downgrade): added once.
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("contacts")}
    for name in ("via_email", "mail_opt_out"):
        if name not in present:
            op.add_column(
                "contacts",
                sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False),
            )
    op.add_column(
        "operators",
        sa.Column("email_notifications", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("batch_key", sa.String(length=120), nullable=False),
        sa.Column("gathering", sa.Boolean(), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("operator_id", sa.String(length=40), nullable=True),
        sa.Column("from_seq", sa.Integer(), nullable=False),
        sa.Column("up_to_seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _MOMENT, nullable=False),
        sa.Column("lease_until", _MOMENT, nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("sent_at", _MOMENT, nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_mail_outbox_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_mail_outbox_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_mail_outbox_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_mail_outbox_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    op.create_index("ix_mail_outbox_app_created", "mail_outbox", ["app_id", "created_at"])
    op.create_index("ix_mail_outbox_conversation", "mail_outbox", ["conversation_id"])
    op.create_index("ix_mail_outbox_message_id", "mail_outbox", ["message_id"])
    op.create_index(
        "ix_mail_outbox_open_due",
        "mail_outbox",
        ["next_attempt_at"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "uq_mail_outbox_gathering",
        "mail_outbox",
        ["batch_key"],
        unique=True,
        sqlite_where=sa.text("gathering"),
        postgresql_where=sa.text("gathering"),
    )
    op.create_table(
        "mail_inbound",
        sa.Column("id", _ROW_ID, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=True),
        sa.Column("at", _MOMENT, nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("conversation_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_mail_inbound_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_mail_inbound_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_inbound")),
    )
    op.create_index("ix_mail_inbound_app_at", "mail_inbound", ["app_id", "at"])
    op.create_index("ix_mail_inbound_message_id", "mail_inbound", ["message_id"])
    op.create_table(
        "node_presence",
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("seen_at", _MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("node_id", "kind", "subject_id", name=op.f("pk_node_presence")),
    )
    op.create_index("ix_node_presence_subject", "node_presence", ["kind", "subject_id"])


def downgrade() -> None:
    op.drop_table("node_presence")
    op.drop_table("mail_inbound")
    op.drop_table("mail_outbox")
    with op.batch_alter_table("operators") as batch_op:
        batch_op.drop_column("email_notifications")
    op.drop_index("uq_apps_inbound_key_hash", table_name="apps")
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of apps would drop the table,
    # which every contact and conversation references.
    op.drop_column("apps", "inbound_key_hash")
    op.drop_column("apps", "email_delay")
    # The contacts columns stay on SQLite: dropping them would rebuild the table (0013).
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("contacts", "mail_opt_out")
        op.drop_column("contacts", "via_email")
