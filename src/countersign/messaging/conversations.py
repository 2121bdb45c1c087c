"""Starting a conversation and posting a message in it, with what each announces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..storage import conversations, team_conversations
from ..storage.announce import announce, announce_conversation_change
from ..storage.conversations import Draft
from ..vocabulary.stream import StreamItem
from .mail_triggers import gather_mail


def start_conversation(
    connection: Connection, app_id: str, contact_id: str, now: datetime
) -> tuple[dict[str, Any], StreamItem]:
    conversation = conversations.insert_conversation(connection, app_id, contact_id, now)
    event = announce(
        connection,
        app_id=app_id,
        contact_id=contact_id,
        name="conversation.created",
        stream_data=conversation,
        webhook_data={"conversation": conversation},
        now=now,
    )
    return conversation, event


@dataclass(frozen=True, slots=True)
class Posted:
    message: dict[str, Any]
    created: bool  # False: a retry with a client_id already used
    events: tuple[StreamItem, ...]


def post_message(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str,
    conversation_id: str,
    draft: Draft,
    now: datetime,
) -> Posted:
    """Append a message, or answer the original when its ``client_id`` was used before.

    A contact's message on a snoozed or resolved conversation reopens it (SPEC 10),
    announced in the same transaction."""
    inserted = conversations.insert_message(
        connection, app_id=app_id, conversation_id=conversation_id, draft=draft, now=now
    )
    if not inserted.created:
        # A retried send (a repeated client_id) is the same message: it must reach
        # neither the stream nor the webhooks twice.
        return Posted(inserted.message, False, ())
    event = announce(
        connection,
        app_id=app_id,
        contact_id=contact_id,
        name="message.created",
        stream_data=inserted.message,
        webhook_data={"message": inserted.message},
        now=now,
    )
    events = [event]
    gather_mail(
        connection, app_id=app_id, conversation_id=conversation_id, contact_id=contact_id,
        author_type=draft.author_type, seq=int(inserted.message["seq"]), now=now,
    )  # fmt: skip
    if draft.author_type == "contact":
        reopened = team_conversations.reopen(connection, conversation_id)
        if reopened is not None:
            update = announce_conversation_change(connection, reopened, now)
            events.extend(() if update is None else (update,))
    return Posted(inserted.message, True, tuple(events))
