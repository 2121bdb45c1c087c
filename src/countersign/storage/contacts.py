"""Contacts: the verified contact of a user, shared by every browser that proves it,
and the own contact of a browser that has not.

The rule this module keeps: a verified identity is one contact per (app, user id) or
(app, email); an unverified or anonymous browser only ever gets a contact of its own.
So a claim that was not proven can never reach the data of the user it names. A
verified contact is created in one way (:func:`_create_verified`, race-safe on the
partial unique index), or by identify's one-statement upsert on its hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, cast

from sqlalchemy import (
    Connection,
    Select,
    Table,
    bindparam,
    false,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from ..vocabulary.ids import new_row_id
from .models import VERIFIED_CONTACT, Contact
from .prepared import Prepared

IdentityStatus = Literal["verified", "unverified", "anonymous"]
IdentifierKey = Literal["user_id", "email"]


@dataclass(frozen=True, slots=True)
class ContactView:
    id: str
    user_id: str | None
    email: str | None
    name: str | None
    verified: bool
    metadata: dict[str, Any]
    attributes: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "email": self.email,
            "name": self.name,
            "verified": self.verified,
            "metadata": self.metadata,
            "attributes": self.attributes,
        }


@dataclass(frozen=True, slots=True)
class Claim:
    """Who the browser says it is, and whether that was proven."""

    status: IdentityStatus
    user_id: str | None = None
    email: str | None = None
    key: IdentifierKey = "user_id"  # the proven identifier, when verified
    name: str | None = None
    attributes: dict[str, Any] | None = None  # verified claims (identity tokens)


contacts_table = cast(Table, Contact.__table__)
VERIFIED: Final = VERIFIED_CONTACT  # see models.VERIFIED_CONTACT

CONTACT_COLUMNS: Final = tuple(
    contacts_table.c[name]
    for name in ("id", "user_id", "email", "name", "verified", "metadata", "attributes")
)


def contact_view(row: Sequence[Any]) -> ContactView:
    contact_id, user_id, email, name, verified, metadata, attributes = row
    return ContactView(
        id=contact_id,
        user_id=user_id,
        email=email,
        name=name,
        verified=verified,
        metadata=metadata or {},
        attributes=attributes or {},
    )


def _select_contact() -> Select[Any]:
    return select(*CONTACT_COLUMNS)


def verified_lookup(app_id: Any, key: IdentifierKey, value: Any) -> Select[Any]:
    """The verified contact whose ``key`` is ``value`` (values, or bind parameters)."""
    column = contacts_table.c[key]
    return _select_contact().where(contacts_table.c.app_id == app_id, VERIFIED, column == value)


_CONTACT_BY_ID: Final = Prepared(
    _select_contact().where(contacts_table.c.id == bindparam("b_contact_id"))
)
_INSERT_OWN_CONTACT: Final = Prepared(
    insert(contacts_table).values(
        id=bindparam("b_contact_id"),
        app_id=bindparam("b_app_id"),
        user_id=bindparam("b_user_id"),
        email=bindparam("b_email"),
        verified=false(),
        metadata=bindparam("b_metadata"),
        attributes=bindparam("b_attributes"),
        created_at=bindparam("b_now"),
        last_seen_at=bindparam("b_now"),
    )
)
_UPDATE_OWN_CONTACT: Final = Prepared(
    update(contacts_table)
    .where(contacts_table.c.id == bindparam("b_contact_id"))
    .values(
        user_id=bindparam("b_user_id"),
        email=bindparam("b_email"),
        verified=false(),
        metadata=bindparam("b_metadata"),
        last_seen_at=bindparam("b_now"),
    )
)


def _own_values(claim: Claim, metadata: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "b_user_id": claim.user_id if claim.status == "unverified" else None,
        "b_email": claim.email if claim.status == "unverified" else None,
        "b_metadata": metadata,
        "b_now": now,
    }


def new_own(
    connection: Connection, app_id: str, claim: Claim, metadata: dict[str, Any], now: datetime
) -> ContactView:
    """A new browser's own (never verified) contact."""
    contact_id = new_row_id("con", 12)
    _INSERT_OWN_CONTACT.rows(
        connection,
        {
            "b_contact_id": contact_id,
            "b_app_id": app_id,
            "b_attributes": {},
            **_own_values(claim, metadata, now),
        },
    )
    return contact_view(_CONTACT_BY_ID.one(connection, {"b_contact_id": contact_id}))


def update_own(
    connection: Connection,
    contact_id: str,
    claim: Claim,
    metadata: dict[str, Any],
    now: datetime,
) -> ContactView:
    """A returning browser's own contact, given what it claims now."""
    _UPDATE_OWN_CONTACT.rows(
        connection, {"b_contact_id": contact_id, **_own_values(claim, metadata, now)}
    )
    return contact_view(_CONTACT_BY_ID.one(connection, {"b_contact_id": contact_id}))


def contact_by_id(connection: Connection, contact_id: str) -> ContactView | None:
    row = _CONTACT_BY_ID.one_or_none(connection, {"b_contact_id": contact_id})
    return None if row is None else contact_view(row)


def contact_of_app(connection: Connection, app_id: str, contact_id: str) -> ContactView | None:
    """The contact ``contact_id`` if it is one of ``app_id``'s (any status)."""
    query = _select_contact().where(
        contacts_table.c.id == contact_id, contacts_table.c.app_id == app_id
    )
    row = connection.execute(query).one_or_none()
    return None if row is None else contact_view(row)


def verified_user(connection: Connection, app_id: str, user_id: str) -> ContactView | None:
    """The verified contact of ``app_id`` with ``user_id``, if there is one."""
    row = connection.execute(verified_lookup(app_id, "user_id", user_id)).one_or_none()
    return None if row is None else contact_view(row)


def upsert_verified_user(
    connection: Connection,
    app_id: str,
    user_id: str,
    *,
    email: str | None,
    name: str | None,
    attributes: dict[str, Any] | None,
    now: datetime,
) -> ContactView:
    """The customer's backend states who user ``user_id`` is (trusted: API key auth)."""
    # Created race-safely (two concurrent PUTs of a new user must not collide on the
    # unique index), then given the stated fields.
    contact_id = ensure_verified_contact(connection, app_id, user_id, now)
    changes: dict[str, Any] = {"last_seen_at": now}
    if email is not None:
        changes["email"] = email
    if name is not None:
        changes["name"] = name
    if attributes is not None:
        changes["attributes"] = attributes
    connection.execute(update(Contact).where(Contact.id == contact_id).values(**changes))
    return contact_view(connection.execute(verified_lookup(app_id, "user_id", user_id)).one())


def create_verified(
    connection: Connection,
    app_id: str,
    key: IdentifierKey,
    *,
    user_id: str | None,
    email: str | None,
    now: datetime,
    name: str | None = None,
    metadata: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
) -> Any:
    """The one way a verified contact is created (identify's hot-path upsert aside):
    the verified contact whose ``key`` is its value, made if there is none, race-safe.

    Two requests creating the same user cannot both insert (the partial unique index on
    (app, key)): the loser finds the winner's row. When the *other* identifier belongs
    to a different verified contact, the contact is created without it. Returns the
    contact's row (the columns of :class:`ContactView`)."""
    lookup = verified_lookup(app_id, key, user_id if key == "user_id" else email)
    values: dict[str, Any] = {
        "app_id": app_id,
        "user_id": user_id,
        "email": email,
        "name": name,
        "verified": True,
        "metadata_": metadata or {},
        "attributes": attributes or {},
        "created_at": now,
        "last_seen_at": now,
    }
    other = "email" if key == "user_id" else "user_id"
    for attempt in (values, {**values, other: None}):
        try:
            with connection.begin_nested():
                connection.execute(insert(Contact).values(id=new_row_id("con", 12), **attempt))
        except IntegrityError:
            if (found := connection.execute(lookup).one_or_none()) is not None:
                return found  # created by a concurrent request
            continue  # the other identifier is another contact's
        break
    return connection.execute(lookup).one()


def ensure_verified_contact(
    connection: Connection, app_id: str, user_id: str, now: datetime
) -> str:
    """The verified contact of ``user_id``, created if the user never visited yet, so a
    notification or conversation addressed to them is waiting at their first visit."""
    found = connection.execute(verified_lookup(app_id, "user_id", user_id)).one_or_none()
    if found is None:
        found = create_verified(connection, app_id, "user_id", user_id=user_id, email=None, now=now)
    return str(found[0])


def verified_contact_id(connection: Connection, app_id: str, user_id: str) -> str | None:
    found = connection.execute(
        select(Contact.id).where(
            Contact.app_id == app_id, VERIFIED_CONTACT, Contact.user_id == user_id
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)


def ensure_verified_contacts(
    connection: Connection, app_id: str, user_ids: Sequence[str], now: datetime
) -> dict[str, str]:
    """:func:`ensure_verified_contact` for many users: contact ids by user id, found in
    one query, the missing ones created the one way."""
    found = {
        str(user_id): str(contact_id)
        for user_id, contact_id in connection.execute(
            select(Contact.user_id, Contact.id).where(
                Contact.app_id == app_id, VERIFIED_CONTACT, Contact.user_id.in_(list(user_ids))
            )
        )
    }
    for user_id in user_ids:
        if user_id not in found:
            row = create_verified(
                connection, app_id, "user_id", user_id=user_id, email=None, now=now
            )
            found[user_id] = str(row[0])
    return found


def email_contact(
    connection: Connection, app_id: str, email: str, name: str | None, now: datetime
) -> str:
    """The app's email contact for ``email`` (someone who wrote to the support address),
    made if there is none: never verified, so never the verified contact of that email
    nor anyone's widget history."""
    found = connection.execute(
        select(Contact.id)
        .where(
            Contact.app_id == app_id,
            Contact.via_email,
            Contact.verified == false(),
            Contact.email == email,
        )
        .limit(1)
    ).scalar_one_or_none()
    if found is not None:
        return str(found)
    contact_id = new_row_id("con", 12)
    connection.execute(
        insert(Contact).values(
            id=contact_id,
            app_id=app_id,
            email=email,
            name=name,
            verified=False,
            via_email=True,
            metadata_={},
            attributes={},
            created_at=now,
            last_seen_at=now,
        )
    )
    return contact_id


def set_mail_opt_out(connection: Connection, contact_id: str) -> None:
    connection.execute(update(Contact).where(Contact.id == contact_id).values(mail_opt_out=True))
