"""The app's notification categories and each user's preferences: rows and queries
only. What a preference means for a send (a muted category creates nothing) is
:mod:`countersign.notifications`'s."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from .models import NotificationCategory, NotificationPreference


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    label: str
    default_in_app: bool
    default_email: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "default_in_app": self.default_in_app,
            "default_email": self.default_email,
        }


@dataclass(frozen=True, slots=True)
class Choice:
    """One category's channels for one user."""

    in_app: bool
    email: bool

    def as_dict(self) -> dict[str, bool]:
        return {"in_app": self.in_app, "email": self.email}


def app_categories(connection: Connection, app_id: str) -> list[Category]:
    rows = connection.execute(
        select(
            NotificationCategory.name,
            NotificationCategory.label,
            NotificationCategory.default_in_app,
            NotificationCategory.default_email,
        )
        .where(NotificationCategory.app_id == app_id)
        .order_by(NotificationCategory.name)
    )
    return [Category(*row) for row in rows]


def put_category(connection: Connection, app_id: str, category: Category) -> None:
    """Create or replace the app's category ``category.name``."""
    values = {
        "label": category.label,
        "default_in_app": category.default_in_app,
        "default_email": category.default_email,
    }
    changed = connection.execute(
        update(NotificationCategory)
        .where(NotificationCategory.app_id == app_id, NotificationCategory.name == category.name)
        .values(**values)
    ).rowcount
    if not changed:
        connection.execute(
            insert(NotificationCategory).values(app_id=app_id, name=category.name, **values)
        )


def chosen(
    connection: Connection, contact_ids: Sequence[str], categories: Iterable[str] | None = None
) -> dict[tuple[str, str], Choice]:
    """What the contacts chose, by (contact, category); a pair absent chose nothing."""
    if not contact_ids:
        return {}
    query = select(
        NotificationPreference.contact_id,
        NotificationPreference.category,
        NotificationPreference.in_app,
        NotificationPreference.email,
    ).where(NotificationPreference.contact_id.in_(contact_ids))
    if categories is not None:
        query = query.where(NotificationPreference.category.in_(list(categories)))
    return {(row[0], row[1]): Choice(row[2], row[3]) for row in connection.execute(query)}


def choose(
    connection: Connection, contact_id: str, choices: Mapping[str, Choice], now: datetime
) -> None:
    """Record the contact's choices, replacing what it chose before for those categories."""
    if not choices:
        return
    connection.execute(
        delete(NotificationPreference).where(
            NotificationPreference.contact_id == contact_id,
            NotificationPreference.category.in_(list(choices)),
        )
    )
    connection.execute(
        insert(NotificationPreference),
        [
            {
                "contact_id": contact_id,
                "category": name,
                "in_app": choice.in_app,
                "email": choice.email,
                "updated_at": now,
            }
            for name, choice in choices.items()
        ],
    )
