"""Read receipts as changes: a read that moves a position announces
``conversation.read`` ``{conversation_id, by, up_to_seq}`` on the contact's stream, so
the contact's other devices (their badge) and the app's dashboards (*Seen*) hear of it.
A read that moves nothing announces nothing. No webhook: nobody asked for one."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Connection

from ..storage import reads, stream_log
from ..vocabulary.stream import StreamItem

CONVERSATION_READ = "conversation.read"

Reader = Literal["contact", "operator"]


def _announce(
    connection: Connection, read: reads.Read, conversation_id: str, by: Reader, now: datetime
) -> StreamItem | None:
    if not read.moved:
        return None
    data = {"conversation_id": conversation_id, "by": by, "up_to_seq": read.up_to_seq}
    return stream_log.append_stream_event(
        connection, read.app_id, read.contact_id, CONVERSATION_READ, data, now
    )


def contact_read(
    connection: Connection, contact_id: str, conversation_id: str, up_to_seq: int, now: datetime
) -> tuple[reads.Read, StreamItem | None] | None:
    """The contact has read up to ``up_to_seq``. ``None``: not their conversation.
    Raises :class:`~countersign.storage.reads.BeyondLastMessage`."""
    read = reads.mark_contact_read(connection, contact_id, conversation_id, up_to_seq)
    if read is None:
        return None
    return read, _announce(connection, read, conversation_id, "contact", now)


def team_read(
    connection: Connection, app_id: str, conversation_id: str, seq: int, now: datetime
) -> StreamItem | None:
    """An operator has read up to ``seq`` (the per-operator marker is the caller's)."""
    read = reads.mark_team_read(connection, app_id, conversation_id, seq)
    return None if read is None else _announce(connection, read, conversation_id, "operator", now)
