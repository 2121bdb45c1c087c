"""How far the contact has read a conversation in the widget (SPEC 11)."""

from __future__ import annotations

from sqlalchemy import Connection


def contact_read_seq(connection: Connection, conversation_id: str) -> int:
    """The last message seq the contact has read in ``conversation_id`` (0: none)."""
    del connection, conversation_id
    return 0  # PENDING: the stored read position arrives with 0014_read_receipts
