"""The demo app behind ``countersign serve --demo``: created once, found again after.

Its id is remembered in ``demo-app.json`` in the data dir (no secret is written there:
the page signs with the app's newest secret, read from the database like any other
app's). When the file is missing, as on a second node with its own data dir, the app
is found by name; only when neither finds it is a new one created, with a little
history for the demo user and for the user the impersonation page pretends to be.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import Connection

from . import messaging, notifications
from .context import Backend
from .storage import apps, contacts
from .storage.conversations import Draft
from .storage.encryption import SecretBox
from .storage.notifications import NotificationDraft
from .storage.private_files import make_private_dir, write_private_text
from .vocabulary.clock import utcnow

DEMO_APP_NAME: Final = "Countersign demo"
STATE_FILE: Final = "demo-app.json"


@dataclass(frozen=True, slots=True)
class DemoUser:
    user_id: str
    name: str
    email: str


#: Who the demo page is signed in as.
DEMO_USER: Final = DemoUser("demo-user-1", "Ada Lovelace", "ada@example.com")
#: Whom the impersonation page claims to be, without that user's hash.
OTHER_USER: Final = DemoUser("demo-user-2", "Charles Babbage", "charles@example.com")


def ensure_demo_app(backend: Backend) -> str:
    """The demo app's id, creating the app (and its seed data) the first time."""
    remembered = remembered_app_id(backend.settings.data_dir)
    app_id = backend.database.run_sync(
        lambda connection: find_or_create(connection, backend.box, remembered)
    )
    if app_id != remembered:
        remember(backend.settings.data_dir, app_id)
    return app_id


def find_or_create(connection: Connection, box: SecretBox, remembered: str | None) -> str:
    """The app with the remembered id, else the one with the demo's name, else a new one."""
    known = {record.id: record for record in apps.list_apps(connection)}
    if remembered in known:
        return remembered
    for record in known.values():
        if record.name == DEMO_APP_NAME:
            return record.id
    created = apps.create_app(connection, box, DEMO_APP_NAME)
    _seed(connection, created.app.id)
    return created.app.id


def remembered_app_id(data_dir: Path) -> str | None:
    try:
        document = json.loads((data_dir / STATE_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    app_id = document.get("app_id") if isinstance(document, dict) else None
    return app_id if isinstance(app_id, str) else None


def remember(data_dir: Path, app_id: str) -> None:
    make_private_dir(data_dir)
    document = json.dumps({"app_id": app_id, "name": DEMO_APP_NAME}) + "\n"
    write_private_text(data_dir / STATE_FILE, document)


def _seed(connection: Connection, app_id: str) -> None:
    """A welcome conversation for the demo user, and private history for the other user
    (which the impersonation page must not be able to see)."""
    now = utcnow()
    for user, author, body in (
        (
            DEMO_USER,
            "Countersign",
            "Welcome to the Countersign demo! This page's server signed your user id, so "
            "the widget knows you really are Ada. Send a message, then use the buttons on "
            "the page to get a reply and a notification, live.",
        ),
        (
            OTHER_USER,
            "Grace from Support",
            "Charles, your refund of $1,250 for invoice INV-2041 went out today.",
        ),
    ):
        contact_id = contacts.ensure_verified_contact(connection, app_id, user.user_id, now)
        conversation, _ = messaging.start_conversation(connection, app_id, contact_id, now)
        messaging.post_message(
            connection,
            app_id=app_id,
            contact_id=contact_id,
            conversation_id=conversation["id"],
            draft=Draft("bot" if author == "Countersign" else "operator", author, body),
            now=now,
        )
    notifications.send(
        connection,
        app_id=app_id,
        user_ids=[OTHER_USER.user_id],
        draft=NotificationDraft(
            "Your card ending 4242 expires soon",
            "Private to Charles: an impersonator must never see this.",
        ),
        now=now,
        one_user=True,
    )
