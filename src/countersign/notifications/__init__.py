"""The notification inbox (SPEC 13): categories, preferences, bulk and idempotent
sends, and a notification's states as changes.

Storage keeps the rows (``storage/notifications.py``, ``notification_settings.py``,
``notification_sends.py``); this package owns the rules: what a notification may say
(:mod:`.rules`), who gets it (:mod:`.preferences`), sending it once to up to a thousand
users (:mod:`.sending`), and moving it between states with the stream event each
change makes for the user's other devices (:mod:`.states`). Every function works in
the caller's transaction and returns the stream events; the caller commits and then
publishes them (``ServerState.commit_and_publish``).
"""

from .preferences import muted_in_app, preferences, set_category, set_preferences
from .rules import MAX_ACTIONS, MAX_RECIPIENTS
from .sending import Idempotency, KeyReused, Sent, send
from .states import delete, mark_seen, move, move_all

__all__ = [
    "MAX_ACTIONS",
    "MAX_RECIPIENTS",
    "Idempotency",
    "KeyReused",
    "Sent",
    "delete",
    "mark_seen",
    "move",
    "move_all",
    "muted_in_app",
    "preferences",
    "send",
    "set_category",
    "set_preferences",
]
