"""Contacts: the verified contact of a user, shared by every browser that proves it,
and the own contact of a browser that has not.

The rule this module keeps: a verified identity is one contact per (app, user id) or
(app, email); an unverified or anonymous browser only ever gets a contact of its own.
So a claim that was not proven can never reach the data of the user it names. A
verified contact is created in one way (:func:`_create_verified`, race-safe on the
partial unique index), or by identify's one-statement upsert on its hot path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, cast

from sqlalchemy import (
    Connection,
    Select,
    Table,
    Text,
    bindparam,
    false,
    insert,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.base import Executable

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


_contacts = cast(Table, Contact.__table__)
_VERIFIED: Final = VERIFIED_CONTACT  # see models.VERIFIED_CONTACT

_CONTACT_COLUMNS: Final = tuple(
    _contacts.c[name]
    for name in ("id", "user_id", "email", "name", "verified", "metadata", "attributes")
)


def _contact_view(row: Sequence[Any]) -> ContactView:
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
    return select(*_CONTACT_COLUMNS)


def _verified_lookup(app_id: Any, key: IdentifierKey, value: Any) -> Select[Any]:
    """The verified contact whose ``key`` is ``value`` (values, or bind parameters)."""
    column = _contacts.c[key]
    return _select_contact().where(_contacts.c.app_id == app_id, _VERIFIED, column == value)


# The statements identify runs, built once. Their parameters are named ``b_…``:
# SQLAlchemy keeps column names for the VALUES and SET clauses of the statement itself.


def _verified_upsert(
    insert_for_dialect: Callable[[Table], SQLiteInsert | PostgresInsert], key: IdentifierKey
) -> Executable:
    """Create the verified contact, or touch it if it exists, in one statement that
    returns the contact either way.

    The conflict target is the partial unique index on ``(app_id, key)``, so it is the
    same row the lookup finds, and two nodes creating the same user cannot both insert.
    """
    inserted = insert_for_dialect(_contacts).values(
        id=bindparam("b_contact_id"),
        app_id=bindparam("b_app_id"),
        user_id=bindparam("b_user_id"),
        email=bindparam("b_email"),
        verified=true(),
        metadata=bindparam("b_metadata"),
        attributes=bindparam("b_attributes"),
        created_at=bindparam("b_now"),
        last_seen_at=bindparam("b_now"),
    )
    return inserted.on_conflict_do_update(
        index_elements=[_contacts.c.app_id, _contacts.c[key]],
        index_where=text(f"verified AND {key} IS NOT NULL"),
        set_={
            "metadata": inserted.excluded["metadata"],
            "last_seen_at": inserted.excluded.last_seen_at,
        },
    ).returning(*_CONTACT_COLUMNS)


_UPSERT_VERIFIED: Final = {
    key: Prepared(_verified_upsert(sqlite_insert, key), postgresql=_verified_upsert(pg_insert, key))
    for key in ("user_id", "email")
}
# A returning user (a page load, a new tab) usually brings the same metadata: then
# there is nothing to write but ``last_seen_at``, and that only once a minute.
LAST_SEEN_RESOLUTION: Final = timedelta(minutes=1)
# The check reads the stored JSON as text and compares it with the text the upsert
# would write (SQLAlchemy's JSON type writes ``json.dumps``): equal text is an equal
# document, types included (``1``, ``1.0`` and ``true`` differ as text though equal
# in Python). Decoding both documents and re-encoding them sorted cost this hot path
# ~6 µs. Equal content in another key order reads as a change: one harmless write.
_RETURNING_CONTACT: Final = {
    key: Prepared(
        select(
            *_CONTACT_COLUMNS[:5],
            _contacts.c.metadata.cast(Text),
            _contacts.c.attributes.cast(Text),
            _contacts.c.last_seen_at > bindparam("b_stale_at"),
        ).where(
            _contacts.c.app_id == bindparam("b_app_id"),
            _VERIFIED,
            _contacts.c[key] == bindparam("b_value"),
        )
    )
    for key in ("user_id", "email")
}


def _unchanged_contact(row: Sequence[Any], metadata: dict[str, Any]) -> ContactView | None:
    """The contact of a ``_RETURNING_CONTACT`` row if it was seen within
    ``LAST_SEEN_RESOLUTION`` and already holds exactly ``metadata``; else None."""
    contact_id, user_id, email, name, verified, metadata_text, attributes_text, fresh = row
    if not fresh or metadata_text != json.dumps(metadata):
        return None
    attributes = json.loads(attributes_text) if attributes_text not in (None, "{}") else {}
    return ContactView(contact_id, user_id, email, name, verified, metadata, attributes)


_CONTACT_BY_ID: Final = Prepared(
    _select_contact().where(_contacts.c.id == bindparam("b_contact_id"))
)
_INSERT_OWN_CONTACT: Final = Prepared(
    insert(_contacts).values(
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
    update(_contacts)
    .where(_contacts.c.id == bindparam("b_contact_id"))
    .values(
        user_id=bindparam("b_user_id"),
        email=bindparam("b_email"),
        verified=false(),
        metadata=bindparam("b_metadata"),
        last_seen_at=bindparam("b_now"),
    )
)


def _is_plain_verified(claim: Claim, value: str | None) -> bool:
    """Whether the claim proves only its identifier (a hash): then a new contact gets
    no name or attributes and an existing one exactly ``metadata`` and
    ``last_seen_at``, which is all the one-statement upsert writes."""
    other = claim.email if claim.key == "user_id" else claim.user_id
    return value is not None and other is None and claim.name is None and claim.attributes is None


def verified_for_claim(
    connection: Connection, app_id: str, claim: Claim, metadata: dict[str, Any], now: datetime
) -> ContactView:
    value = claim.user_id if claim.key == "user_id" else claim.email
    if _is_plain_verified(claim, value):
        found = _RETURNING_CONTACT[claim.key].one_or_none(
            connection,
            {"b_app_id": app_id, "b_value": value, "b_stale_at": now - LAST_SEEN_RESOLUTION},
        )
        if found is not None and (unchanged := _unchanged_contact(found, metadata)) is not None:
            return unchanged
        upserted = _UPSERT_VERIFIED[claim.key].one(
            connection,
            {
                "b_contact_id": new_row_id("con", 12),
                "b_app_id": app_id,
                "b_user_id": claim.user_id,
                "b_email": claim.email,
                "b_metadata": metadata,
                "b_attributes": {},
                "b_now": now,
            },
        )
        return _contact_view(upserted)
    # An identity token: it may carry a name, attributes to merge into the stored ones
    # and the other identifier, so the row is read first.
    lookup = _verified_lookup(app_id, claim.key, value)
    row = connection.execute(lookup).one_or_none()
    if row is None:
        created = _create_verified(
            connection,
            app_id,
            claim.key,
            user_id=claim.user_id,  # a verified claim carries only proven identifiers
            email=claim.email,
            name=claim.name,
            metadata=metadata,
            attributes=claim.attributes or {},
            now=now,
        )
        return _contact_view(created)
    changes: dict[str, Any] = {"metadata_": metadata, "last_seen_at": now}
    if claim.attributes:
        changes["attributes"] = {**(row.attributes or {}), **claim.attributes}
    if claim.name:
        changes["name"] = claim.name
    connection.execute(update(Contact).where(Contact.id == row.id).values(**changes))
    # The other identifier, when the same proof carries it (an identity token's email
    # or sub), joins the contact unless another verified contact already holds it.
    proven = {"email": claim.email} if claim.key == "user_id" else {"user_id": claim.user_id}
    joining = {name: value for name, value in proven.items() if value is not None}
    if joining and any(getattr(row, name) != value for name, value in joining.items()):
        try:
            with connection.begin_nested():
                connection.execute(update(Contact).where(Contact.id == row.id).values(**joining))
        except IntegrityError:
            pass
    return _contact_view(connection.execute(lookup).one())


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
    return _contact_view(_CONTACT_BY_ID.one(connection, {"b_contact_id": contact_id}))


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
    return _contact_view(_CONTACT_BY_ID.one(connection, {"b_contact_id": contact_id}))


def contact_by_id(connection: Connection, contact_id: str) -> ContactView | None:
    row = _CONTACT_BY_ID.one_or_none(connection, {"b_contact_id": contact_id})
    return None if row is None else _contact_view(row)


def verified_user(connection: Connection, app_id: str, user_id: str) -> ContactView | None:
    """The verified contact of ``app_id`` with ``user_id``, if there is one."""
    row = connection.execute(_verified_lookup(app_id, "user_id", user_id)).one_or_none()
    return None if row is None else _contact_view(row)


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
    return _contact_view(connection.execute(_verified_lookup(app_id, "user_id", user_id)).one())


def _create_verified(
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
    lookup = _verified_lookup(app_id, key, user_id if key == "user_id" else email)
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
    found = connection.execute(_verified_lookup(app_id, "user_id", user_id)).one_or_none()
    if found is None:
        found = _create_verified(
            connection, app_id, "user_id", user_id=user_id, email=None, now=now
        )
    return str(found[0])


def verified_contact_id(connection: Connection, app_id: str, user_id: str) -> str | None:
    found = connection.execute(
        select(Contact.id).where(
            Contact.app_id == app_id, VERIFIED_CONTACT, Contact.user_id == user_id
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)
