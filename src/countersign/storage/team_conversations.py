"""The team's view of conversations (SPEC 10): status, snooze, assignee, the queues
by view, and the due snoozes. Rows and queries only: what a change may be and what
it announces are :mod:`countersign.team`'s rules.

Two shapes of a conversation come from here. :func:`team_document` is what the team
sees (the server API, the dashboard, webhooks): the assignee with their email, the
contact's verified identifiers. :func:`contact_view` is what the contact's own
sessions may see of the same change: the status and the assignee's display name,
never an operator's email or id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, Select, func, select, update
from sqlalchemy.orm import aliased

from ..vocabulary.ids import well_formed_id
from .cursors import MAX_PAGE, Page, cursor_id, cursor_time, decode_cursor, encode_cursor, iso
from .errors import Invalid, NotFound
from .models import Contact, Conversation, Operator

Status = Literal["open", "snoozed", "resolved"]
STATUSES: Final[tuple[Status, ...]] = ("open", "snoozed", "resolved")

#: The ``assignee`` filter meaning "nobody".
UNASSIGNED: Final = "none"

#: At most this many snoozes wake in one statement; the loop comes back for more.
WAKE_BATCH: Final = 200


class ConversationNotFound(NotFound):
    code = "not_found"


class UnknownAssignee(Invalid):
    """No active operator by that email or id: unknown, or deactivated."""

    code = "unknown_assignee"


_Rows = Select[*tuple[Any, ...]]

_assignee = aliased(Operator, name="assignee")

_COLUMNS = (
    Conversation.id,
    Conversation.app_id,
    Conversation.contact_id,
    Conversation.last_seq,
    Conversation.status,
    Conversation.snoozed_until,
    Conversation.assignee_id,
    Conversation.created_at,
    Conversation.updated_at,
    _assignee.name.label("assignee_name"),
    _assignee.email.label("assignee_email"),
    Contact.user_id,
    Contact.email,
    Contact.name,
    Contact.verified,
)


def _select() -> _Rows:
    statement: _Rows = (
        select(*_COLUMNS)
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(_assignee, _assignee.id == Conversation.assignee_id)
    )
    return statement


def team_document(row: Any) -> dict[str, Any]:
    """A conversation as the team sees it. The contact's user id, email and name are
    given only when Countersign verified them (the webhooks' rule)."""
    verified = bool(row.verified)
    assignee = (
        None
        if row.assignee_id is None
        else {"id": row.assignee_id, "name": row.assignee_name, "email": row.assignee_email}
    )
    return {
        "id": row.id,
        "status": row.status,
        "snoozed_until": iso(row.snoozed_until) if row.snoozed_until else None,
        "assignee": assignee,
        "contact": {
            "id": row.contact_id,
            "user_id": row.user_id if verified else None,
            "email": row.email if verified else None,
            "name": row.name if verified else None,
            "verified": verified,
        },
        "message_count": row.last_seq,
        "last_message_at": iso(row.updated_at),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def contact_view(document: dict[str, Any]) -> dict[str, Any]:
    """What the contact's sessions are told of a change: no operator email or id."""
    assignee = document["assignee"]
    return {
        "id": document["id"],
        "status": document["status"],
        "snoozed_until": document["snoozed_until"],
        "assignee": None if assignee is None else {"name": assignee["name"]},
    }


def find_for_app(
    connection: Connection, app_id: str, conversation_id: str
) -> dict[str, Any] | None:
    if not well_formed_id(conversation_id, "cnv"):
        return None
    row = connection.execute(
        _select().where(Conversation.id == conversation_id, Conversation.app_id == app_id)
    ).one_or_none()
    return None if row is None else {**team_document(row), "app_id": row.app_id}


def get_for_app(connection: Connection, app_id: str, conversation_id: str) -> dict[str, Any]:
    found = find_for_app(connection, app_id, conversation_id)
    if found is None:
        raise ConversationNotFound("no such conversation")
    return found


def app_of_conversation(connection: Connection, conversation_id: str) -> str:
    """The app a conversation belongs to (for the command line, which names none)."""
    found = None
    if well_formed_id(conversation_id, "cnv"):
        found = connection.execute(
            select(Conversation.app_id).where(Conversation.id == conversation_id)
        ).scalar_one_or_none()
    if found is None:
        raise ConversationNotFound(f"no conversation {conversation_id!r}")
    return str(found)


def _document_by_id(connection: Connection, conversation_id: str) -> dict[str, Any]:
    row = connection.execute(_select().where(Conversation.id == conversation_id)).one()
    return {**team_document(row), "app_id": row.app_id}


@dataclass(frozen=True, slots=True)
class Filters:
    """Which of an app's conversations a list holds (``None``: any)."""

    status: Status | None = None
    assignee_id: str | None = None  # an operator id, or UNASSIGNED
    contact_id: str | None = None


def _filtered(statement: _Rows, app_id: str, filters: Filters) -> _Rows:
    statement = statement.where(Conversation.app_id == app_id)
    if filters.status is not None:
        statement = statement.where(Conversation.status == filters.status)
    if filters.assignee_id == UNASSIGNED:
        statement = statement.where(Conversation.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        statement = statement.where(Conversation.assignee_id == filters.assignee_id)
    if filters.contact_id is not None:
        statement = statement.where(Conversation.contact_id == filters.contact_id)
    return statement


def list_for_app(
    connection: Connection,
    app_id: str,
    filters: Filters,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """The app's conversations that pass ``filters``, newest activity first."""
    limit = max(1, min(limit, MAX_PAGE))
    statement = _filtered(_select(), app_id, filters)
    if cursor:
        updated, last_text = decode_cursor(cursor, 2)
        moment, last_id = cursor_time(updated), cursor_id(last_text, "cnv")
        statement = statement.where(
            (Conversation.updated_at < moment)
            | ((Conversation.updated_at == moment) & (Conversation.id < last_id))
        )
    rows = connection.execute(
        statement.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    next_cursor = encode_cursor(last.updated_at.isoformat(), last.id) if last else None
    return Page([team_document(row) for row in rows[:limit]], next_cursor)


def view_counts(connection: Connection, app_id: str, operator_id: str) -> dict[str, int]:
    """How many conversations each inbox view holds, in one query."""
    rows = connection.execute(
        select(
            Conversation.status,
            (Conversation.assignee_id == operator_id).label("mine"),
            Conversation.assignee_id.is_(None).label("unassigned"),
            func.count(),
        )
        .where(Conversation.app_id == app_id)
        .group_by(Conversation.status, "mine", "unassigned")
    ).all()
    counts = {"mine": 0, "unassigned": 0, "open": 0, "snoozed": 0, "resolved": 0}
    for status, mine, unassigned, count in rows:
        counts[status] = counts.get(status, 0) + int(count)
        if status == "open":
            counts["mine"] += int(count) if mine else 0
            counts["unassigned"] += int(count) if unassigned else 0
    return counts


def assignable_operator(
    connection: Connection, *, email: str | None = None, operator_id: str | None = None
) -> dict[str, Any]:
    """An active operator by email (any case) or id: who may be assigned.

    A deactivated operator is "not found" here, like one who never existed."""
    condition = (
        Operator.email == email.strip().lower()
        if email is not None
        else Operator.id == (operator_id or "")
    )
    row = connection.execute(
        select(Operator.id, Operator.name, Operator.email).where(
            condition, Operator.deactivated_at.is_(None)
        )
    ).one_or_none()
    if row is None:
        by = "email" if email is not None else "id"
        raise UnknownAssignee(f"no active operator by that {by}")
    return {"id": row.id, "name": row.name, "email": row.email}


@dataclass(frozen=True, slots=True)
class Changed:
    before: dict[str, Any]
    after: dict[str, Any]


_KEEP: Final[Any] = object()


def set_workflow(
    connection: Connection,
    app_id: str,
    conversation_id: str,
    *,
    status: Status | None = None,
    snoozed_until: datetime | None = None,
    assignee_id: Any = _KEEP,
) -> Changed:
    """Write a new status (``snoozed_until`` goes with ``snoozed`` and is cleared by
    any other) and/or assignee (an operator id or ``None``); the document before and
    after. The row is locked first, so two concurrent changes come out in order."""
    locking = select(Conversation.id).where(
        Conversation.id == conversation_id, Conversation.app_id == app_id
    )
    if connection.dialect.name == "postgresql":
        locking = locking.with_for_update()
    if not well_formed_id(conversation_id, "cnv") or connection.execute(locking).first() is None:
        raise ConversationNotFound("no such conversation")
    before = _document_by_id(connection, conversation_id)
    values: dict[str, Any] = {}
    if status is not None:
        values["status"] = status
        values["snoozed_until"] = snoozed_until if status == "snoozed" else None
    if assignee_id is not _KEEP:
        values["assignee_id"] = assignee_id
    if values:
        connection.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(**values)
        )
    return Changed(before, _document_by_id(connection, conversation_id))


def reopen(connection: Connection, conversation_id: str) -> Changed | None:
    """Make a snoozed or resolved conversation open again; ``None`` if it was open.

    On every contact message: the common case (already open) costs one primary-key
    read of the status and nothing more."""
    status = connection.execute(
        select(Conversation.status).where(Conversation.id == conversation_id)
    ).scalar_one_or_none()
    if status is None or status == "open":
        return None
    before = _document_by_id(connection, conversation_id)
    reopened = connection.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.status != "open")
        .values(status="open", snoozed_until=None)
        .returning(Conversation.id)
    ).first()
    if reopened is None:
        return None
    return Changed(before, _document_by_id(connection, conversation_id))


def wake_due(connection: Connection, now: datetime) -> list[Changed]:
    """Reopen every snooze due by ``now`` (up to :data:`WAKE_BATCH`); what changed.

    One ``UPDATE … RETURNING`` claims them: on PostgreSQL the rows are picked ``FOR
    UPDATE SKIP LOCKED`` and the update re-checks ``status`` on the row it locked, so
    two nodes never both wake one conversation (the second finds it open, or skips
    it); SQLite has one writer at a time."""
    due = (
        select(Conversation.id)
        .where(Conversation.status == "snoozed", Conversation.snoozed_until <= now)
        .order_by(Conversation.snoozed_until)
        .limit(WAKE_BATCH)
    )
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    woken = connection.execute(
        update(Conversation)
        .where(Conversation.id.in_(due.scalar_subquery()), Conversation.status == "snoozed")
        .values(status="open", snoozed_until=None)
        .returning(Conversation.id)
    ).scalars()
    changes = []
    for conversation_id in sorted(woken):
        after = _document_by_id(connection, conversation_id)
        changes.append(Changed({**after, "status": "snoozed"}, after))
    return changes


def unassign_operator(connection: Connection, operator_id: str) -> list[str]:
    """Make every conversation assigned to ``operator_id`` unassigned (deactivation);
    their ids."""
    return sorted(
        connection.execute(
            update(Conversation)
            .where(Conversation.assignee_id == operator_id)
            .values(assignee_id=None)
            .returning(Conversation.id)
        ).scalars()
    )


def unassigned_changes(
    connection: Connection, conversation_ids: Sequence[str], operator_id: str
) -> list[Changed]:
    """The changes :func:`unassign_operator` made, to announce: each conversation as
    it is now, and as it was with ``operator_id`` assigned."""
    operator = connection.execute(
        select(Operator.id, Operator.name, Operator.email).where(Operator.id == operator_id)
    ).one()
    changes = []
    for conversation_id in conversation_ids:
        after = _document_by_id(connection, conversation_id)
        changes.append(Changed({**after, "assignee": dict(operator._mapping)}, after))
    return changes
