"""The one way a change is announced: a stream event and a webhook event, together.

Here, below the capabilities, because two of them announce (``messaging`` and
``notifications``) and a capability may not import another. It composes the two logs
and decides nothing: which change announces what is the capability's call."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection

from ..vocabulary.stream import StreamItem
from ..vocabulary.webhook_events import (
    CONVERSATION_ASSIGNED,
    CONVERSATION_STATUS_CHANGED,
    CONVERSATION_UPDATED,
    NOTE_CREATED,
)
from . import stream_log, team_conversations, webhook_outbox


def announce(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str,
    name: str,
    stream_data: dict[str, Any],
    webhook_data: dict[str, Any],
    now: datetime,
) -> StreamItem:
    """Append the contact's stream event and enqueue the webhook event ``name``.

    Both go into the caller's transaction: a rollback takes them with the change.
    """
    event = stream_log.append_stream_event(connection, app_id, contact_id, name, stream_data, now)
    webhook_outbox.enqueue(connection, app_id, name, webhook_data, now, contact_id=contact_id)
    return event


# The team's workflow (SPEC 10) --------------------------------------------------------
# Here for the same reason as announce(): ``messaging`` (a contact's reply reopens a
# conversation) and ``team`` (every other change) both announce these, and neither may
# import the other.


def announce_conversation_change(
    connection: Connection, change: team_conversations.Changed, now: datetime
) -> StreamItem | None:
    """``conversation.updated`` to the contact's stream (and so the dashboards), and
    ``conversation.status_changed`` / ``conversation.assigned`` to the webhooks, for
    what did change; ``None`` (and nothing written) when nothing did.

    The stream gets :func:`~countersign.storage.team_conversations.contact_view`: a
    contact learns an operator's display name, never their email."""
    before, after = change.before, change.after
    status_changed = (before["status"], before["snoozed_until"]) != (
        after["status"],
        after["snoozed_until"],
    )
    assignee_changed = _assignee_id(before) != _assignee_id(after)
    if not (status_changed or assignee_changed):
        return None
    app_id, contact_id = after["app_id"], after["contact"]["id"]
    document = {key: value for key, value in after.items() if key != "app_id"}
    event = stream_log.append_stream_event(
        connection,
        app_id,
        contact_id,
        CONVERSATION_UPDATED,
        team_conversations.contact_view(document),
        now,
    )
    if status_changed:
        data = {"conversation": document, "previous_status": before["status"]}
        webhook_outbox.enqueue(
            connection, app_id, CONVERSATION_STATUS_CHANGED, data, now, contact_id=contact_id
        )
    if assignee_changed:
        data = {"conversation": document, "previous_assignee": before["assignee"]}
        webhook_outbox.enqueue(
            connection, app_id, CONVERSATION_ASSIGNED, data, now, contact_id=contact_id
        )
    return event


def _assignee_id(document: dict[str, Any]) -> str | None:
    assignee = document["assignee"]
    return None if assignee is None else str(assignee["id"])


#: The contact id of a stream item meant for the dashboards only: no contact has it,
#: so the hub offers the item to no widget stream; only app watchers see it.
TEAM_ONLY: Final = ""


def announce_note(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str,
    note: dict[str, Any],
    now: datetime,
) -> StreamItem:
    """A private note: ``note.created`` to the endpoints subscribed to it, and a
    live-only word to the dashboards. Nothing goes to the contact's stream log, and
    the dashboards' word holds no text (they read the note from the thread)."""
    webhook_outbox.enqueue(
        connection, app_id, NOTE_CREATED, {"note": note}, now, contact_id=contact_id
    )
    return StreamItem(
        app_id,
        TEAM_ONLY,
        0,
        NOTE_CREATED,
        {"id": note["id"], "conversation_id": note["conversation_id"], "contact_id": contact_id},
    )
