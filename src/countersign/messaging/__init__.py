"""Messaging: conversations, messages and tracked events, as changes.

Storage keeps the rows; this package owns what a change *means* beyond its row. Every
change is written together with what it announces — its stream event for the
contact's live widgets (:mod:`countersign.storage.stream_log`) and, where an endpoint
listens, its webhook event (:mod:`countersign.storage.webhook_outbox`), through
:func:`countersign.storage.announce.announce` — in the
caller's transaction, so the three land together or not at all. The caller commits
and then publishes the returned stream events (``ServerState.commit_and_publish``).
"""

from .conversations import Posted, post_message, start_conversation
from .events import track_event
from .reads import contact_read, team_read

__all__ = [
    "Posted",
    "contact_read",
    "post_message",
    "start_conversation",
    "team_read",
    "track_event",
]

# Notifications moved to their own capability, :mod:`countersign.notifications`.
