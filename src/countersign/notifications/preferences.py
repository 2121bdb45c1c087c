"""Categories and preferences: what a user gets, per category and channel.

A user's choice for a category wins; without one, the app's default for that category
(``countersign categories set``); without that, in-app on and email off. The categories
a user can set are ``general``, the app's declared ones and any a notification of
theirs already carries; another name is refused (``unknown_category``), so a typo in a
client cannot silently create a preference nobody sends to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from ..storage import notification_settings, notifications, stream_log
from ..storage.notification_settings import Category, Choice
from ..storage.notifications import DEFAULT_CATEGORY
from ..vocabulary.stream import StreamItem
from .rules import UnknownCategory, category_name

#: A category nobody declared: shown under its name, delivered in-app only.
_UNDECLARED = (True, False)
#: One channel's change, ``None`` to keep what holds.
Change = tuple[bool | None, bool | None]


def set_category(connection: Connection, app_id: str, category: Category) -> None:
    category_name(category.name)
    notification_settings.put_category(connection, app_id, category)


def _catalogue(connection: Connection, app_id: str, contact_id: str | None) -> dict[str, Category]:
    declared = {c.name: c for c in notification_settings.app_categories(connection, app_id)}
    names = {DEFAULT_CATEGORY, *declared}
    if contact_id is not None:
        names.update(notifications.categories_in_use(connection, contact_id))
    return {
        name: declared.get(name) or Category(name, name.capitalize(), *_UNDECLARED)
        for name in sorted(names)
    }


def preferences(connection: Connection, app_id: str, contact_id: str | None) -> dict[str, Any]:
    """``{categories: {name: {label, in_app, email}}}``: what holds for the user."""
    catalogue = _catalogue(connection, app_id, contact_id)
    choices = notification_settings.chosen(connection, [contact_id]) if contact_id else {}
    document = {}
    for name, category in catalogue.items():
        choice = choices.get((contact_id or "", name))
        in_app = choice.in_app if choice else category.default_in_app
        email = choice.email if choice else category.default_email
        document[name] = {"label": category.label, "in_app": in_app, "email": email}
    return {"categories": document}


def set_preferences(
    connection: Connection,
    app_id: str,
    contact_id: str,
    changes: Mapping[str, Change],
    now: datetime,
) -> tuple[dict[str, Any], StreamItem]:
    """Apply the user's changes (all or nothing) and tell their other devices."""
    current = preferences(connection, app_id, contact_id)["categories"]
    unknown = sorted(set(changes) - set(current))
    if unknown:
        raise UnknownCategory(f"no such notification category: {', '.join(unknown)}")
    choices = {}
    for name, (in_app, email) in changes.items():
        held = current[name]
        choices[name] = Choice(
            held["in_app"] if in_app is None else in_app, held["email"] if email is None else email
        )
    notification_settings.choose(connection, contact_id, choices, now)
    document = preferences(connection, app_id, contact_id)
    event = stream_log.append_stream_event(
        connection, app_id, contact_id, "preferences.updated", document, now
    )
    return document, event


def muted_in_app(
    connection: Connection, app_id: str, contact_ids: Sequence[str], category: str
) -> set[str]:
    """Of ``contact_ids``, those who get no in-app notification of ``category``."""
    return set(contact_ids) - _channel_on(connection, app_id, contact_ids, category, "in_app")


def emailed(
    connection: Connection, app_id: str, contact_ids: Sequence[str], category: str
) -> set[str]:
    """Of ``contact_ids``, those whose effective choice for ``category`` has email on
    (their own, else the app's ``default_email`` for it; an undeclared category: off)."""
    return _channel_on(connection, app_id, contact_ids, category, "email")


def _channel_on(
    connection: Connection,
    app_id: str,
    contact_ids: Sequence[str],
    category: str,
    channel: Literal["in_app", "email"],
) -> set[str]:
    """Of ``contact_ids``, those whose own choice for ``category`` has ``channel`` on,
    or who made none while the category's default has it on (an undeclared category:
    in-app on, email off)."""
    declared = {c.name: c for c in notification_settings.app_categories(connection, app_id)}
    if category in declared:
        default = bool(getattr(declared[category], f"default_{channel}"))
    else:
        default = channel == "in_app"
    choices = notification_settings.chosen(connection, contact_ids, [category])
    return {
        contact_id
        for contact_id in contact_ids
        if (
            getattr(choices[(contact_id, category)], channel)
            if (contact_id, category) in choices
            else default
        )
    }
