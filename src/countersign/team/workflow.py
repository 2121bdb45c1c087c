"""Changing a conversation's status, snooze and assignee, with what each announces
(``storage.announce.announce_conversation_change``), in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..storage import team_conversations
from ..storage.announce import announce_conversation_change
from ..vocabulary.stream import StreamItem
from .rules import WorkflowChange


def _public(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "app_id"}


def change_conversation(
    connection: Connection,
    *,
    app_id: str,
    conversation_id: str,
    change: WorkflowChange,
    now: datetime,
) -> tuple[dict[str, Any], list[StreamItem]]:
    """Apply ``change`` to a conversation of ``app_id``; the conversation as the team
    sees it, and the stream events to publish once committed. An unknown conversation
    is ``ConversationNotFound``; an unknown or deactivated assignee ``UnknownAssignee``
    (nothing changed either way: the caller's transaction rolls back)."""
    assignment: dict[str, Any] = {}
    if change.assign:
        if change.assignee_id is not None:
            found = team_conversations.assignable_operator(
                connection, operator_id=change.assignee_id
            )
            assignment["assignee_id"] = found["id"]
        elif change.assignee_email is not None:
            found = team_conversations.assignable_operator(connection, email=change.assignee_email)
            assignment["assignee_id"] = found["id"]
        else:
            assignment["assignee_id"] = None
    changed = team_conversations.set_workflow(
        connection,
        app_id,
        conversation_id,
        status=change.status,
        snoozed_until=change.snoozed_until,
        **assignment,
    )
    event = announce_conversation_change(connection, changed, now)
    return _public(changed.after), [] if event is None else [event]


def announce_unassigned(
    connection: Connection, conversation_ids: Sequence[str], operator_id: str, now: datetime
) -> list[StreamItem]:
    """Announce the conversations a deactivation unassigned (``Deactivated.unassigned``
    of ``operators.team``): call it in the same transaction."""
    events = []
    for changed in team_conversations.unassigned_changes(connection, conversation_ids, operator_id):
        event = announce_conversation_change(connection, changed, now)
        if event is not None:
            events.append(event)
    return events
