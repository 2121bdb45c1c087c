"""``countersign conversations list|resolve|reopen|assign``: the team's queues from
the command line (SPEC 10), as the dashboard and the server API change them.

A change made here is announced like any other (the contact's stream log and the
webhooks, in the same transaction); a widget connected to a running server hears of
it when it next catches up from the log, as for every change the command line makes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from .. import team
from ..storage import contacts, team_conversations
from ..storage.team_conversations import UNASSIGNED, Filters
from ..vocabulary.clock import utcnow
from .options import Column, database_options, emit, json_option, open_cli_backend, render_table


def _assignee(value: Any) -> str:
    return "-" if value is None else f"{value['name']} <{value['email']}>"


def _contact(value: dict[str, Any]) -> str:
    return str(value["user_id"] or value["id"]) + ("" if value["verified"] else " (unverified)")


_COLUMNS = (
    Column("ID", "id"),
    Column("STATUS", "status"),
    Column("SNOOZED_UNTIL", "snoozed_until", lambda v: v or "-"),
    Column("ASSIGNEE", "assignee", _assignee),
    Column("CONTACT", "contact", _contact),
    Column("LAST_MESSAGE", "last_message_at"),
)


@click.group("conversations")
def conversations_group() -> None:
    """The team's conversations: list them by status or assignee, resolve, assign."""


@conversations_group.command("list")
@database_options
@json_option
@click.argument("app_id", metavar="APP")
@click.option("--status", type=click.Choice(team_conversations.STATUSES), help="Only this status.")
@click.option("--assignee", metavar="EMAIL", help="Only those assigned to EMAIL; 'none': nobody.")
@click.option("--user", "user_id", metavar="USER_ID", help="Only this verified user's.")
@click.option("--limit", type=click.IntRange(1, 100), default=50, show_default=True)
def list_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    app_id: str,
    status: Any,
    assignee: str | None,
    user_id: str | None,
    limit: int,
) -> None:
    """List APP's conversations, newest activity first."""

    def work(connection: Connection) -> dict[str, Any]:
        assignee_id = None
        if assignee == UNASSIGNED:
            assignee_id = UNASSIGNED
        elif assignee is not None:
            assignee_id = team_conversations.assignable_operator(connection, email=assignee)["id"]
        contact_id = None
        if user_id is not None:
            contact_id = contacts.verified_contact_id(connection, app_id, user_id)
            if contact_id is None:
                return {"data": [], "next_cursor": None}
        filters = Filters(status=status, assignee_id=assignee_id, contact_id=contact_id)
        return team_conversations.list_for_app(connection, app_id, filters, limit=limit).as_dict()

    with open_cli_backend(data_dir, database_url) as backend:
        page = backend.database.run_sync(work)
    rows = page["data"]
    emit(page, as_json=as_json, text=render_table(rows, _COLUMNS) if rows else "None.")


def _change(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    conversation_id: str,
    change: team.WorkflowChange,
) -> None:
    with open_cli_backend(data_dir, database_url) as backend:

        def work(connection: Connection) -> dict[str, Any]:
            app_id = team_conversations.app_of_conversation(connection, conversation_id)
            document, _events = team.change_conversation(
                connection,
                app_id=app_id,
                conversation_id=conversation_id,
                change=change,
                now=utcnow(),
            )
            return document

        document = backend.database.run_sync(work)
    assignee = document["assignee"]
    who = "nobody" if assignee is None else f"{assignee['name']} <{assignee['email']}>"
    text = f"{document['id']} is {document['status']}, assigned to {who}."
    emit(document, as_json=as_json, text=text)


@conversations_group.command("resolve")
@database_options
@json_option
@click.argument("conversation_id", metavar="CONVERSATION")
def resolve_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, conversation_id: str
) -> None:
    """Mark CONVERSATION resolved (the contact's next message reopens it)."""
    _change(data_dir, database_url, as_json, conversation_id, team.WorkflowChange("resolved"))


@conversations_group.command("reopen")
@database_options
@json_option
@click.argument("conversation_id", metavar="CONVERSATION")
def reopen_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, conversation_id: str
) -> None:
    """Make CONVERSATION open again (from snoozed or resolved)."""
    _change(data_dir, database_url, as_json, conversation_id, team.WorkflowChange("open"))


@conversations_group.command("assign")
@database_options
@json_option
@click.argument("conversation_id", metavar="CONVERSATION")
@click.argument("email")
def assign_command(
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
    conversation_id: str,
    email: str,
) -> None:
    """Assign CONVERSATION to the active operator EMAIL ('none': unassign it)."""
    change = team.WorkflowChange(assign=True, assignee_email=None if email == UNASSIGNED else email)
    _change(data_dir, database_url, as_json, conversation_id, change)
