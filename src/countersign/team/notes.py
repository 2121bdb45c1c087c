"""Private notes (SPEC 10): messages with ``author.type = "note"`` that only the team
sees. A note is written like a message but announced apart: ``note.created`` to the
endpoints subscribed to it and a live word to the dashboards, never the contact's
stream nor ``message.created`` (``storage.announce.announce_note``); the widget's
reads leave notes out (``storage.conversations.list_messages``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..storage import conversations
from ..storage.announce import announce_note
from ..storage.conversations import NOTE, Draft
from ..storage.team_conversations import ConversationNotFound
from ..vocabulary.stream import StreamItem


def add_note(
    connection: Connection,
    *,
    app_id: str,
    conversation_id: str,
    body: str,
    author_name: str,
    now: datetime,
) -> tuple[dict[str, Any], list[StreamItem]]:
    """Add a note to a conversation of ``app_id``: the note, and the dashboards' live
    word to publish once committed. Another app's conversation is not found."""
    owner = conversations.conversation_owner(connection, app_id, conversation_id)
    if owner is None:
        raise ConversationNotFound("no such conversation")
    inserted = conversations.insert_message(
        connection,
        app_id=app_id,
        conversation_id=conversation_id,
        draft=Draft(NOTE, author_name, body),
        now=now,
    )
    note = inserted.message
    return note, [announce_note(connection, app_id=app_id, contact_id=owner, note=note, now=now)]
