"""Messaging: conversations, messages, notifications and tracked events, as changes.

Storage keeps the rows; this package owns what a change *means* beyond its row. Every
change is written together with what it announces — its stream event for the
contact's live widgets (:mod:`countersign.storage.stream_log`) and, where an endpoint
listens, its webhook event (:mod:`countersign.storage.webhook_outbox`) — in the
caller's transaction, so the three land together or not at all. The caller commits
and then publishes the returned stream events (``ServerState.commit_and_publish``).
"""

from .conversations import Posted, post_message, start_conversation
from .events import track_event
from .notifications import mark_read, send_notification

__all__ = [
    "Posted",
    "mark_read",
    "post_message",
    "send_notification",
    "start_conversation",
    "track_event",
]
