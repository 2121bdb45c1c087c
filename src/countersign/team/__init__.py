"""The team's conversation workflow (SPEC 10): what a status, a snooze and an
assignee may be (:mod:`.rules`), changing them with what each change announces
(:mod:`.workflow`), private notes (:mod:`.notes`), and the loop that wakes snoozed
conversations at their time on any node (:mod:`.wake`).

The rows and queries are :mod:`countersign.storage.team_conversations`; the
announcements go through :mod:`countersign.storage.announce`, because a contact's
reply (``messaging``) reopens a conversation too and a capability may not import
another. Deactivating an operator (``operators.team``) unassigns their
conversations in storage; :func:`.workflow.announce_unassigned` is what the dashboard
and the CLI call to announce it.
"""

from .notes import add_note
from .rules import (
    InvalidSnooze,
    InvalidStatus,
    WorkflowChange,
    checked_change,
    parse_moment,
    parse_status,
    snooze_choice,
)
from .wake import WakeLoop, wake_due
from .workflow import announce_unassigned, change_conversation

__all__ = [
    "InvalidSnooze",
    "InvalidStatus",
    "WakeLoop",
    "WorkflowChange",
    "add_note",
    "announce_unassigned",
    "change_conversation",
    "checked_change",
    "parse_moment",
    "parse_status",
    "snooze_choice",
    "wake_due",
]
