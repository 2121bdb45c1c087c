"""Identify's write of a verified contact: the contact a proven claim names.

A plain hash proves only its identifier, and identify's hot path then runs one
prepared statement: a read that answers a returning user who brings the same metadata
without writing, else an upsert on the partial unique index that creates or touches
the contact in one round trip. An identity token may carry a name, attributes and the
other identifier, so its contact is read, then created (:func:`.contacts.create_verified`)
or updated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Table, Text, bindparam, select, text, true, update
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.base import Executable

from ..vocabulary.ids import new_row_id
from .contacts import (
    CONTACT_COLUMNS,
    VERIFIED,
    Claim,
    ContactView,
    IdentifierKey,
    contact_view,
    contacts_table,
    create_verified,
    verified_lookup,
)
from .models import Contact
from .prepared import Prepared

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
    inserted = insert_for_dialect(contacts_table).values(
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
        index_elements=[contacts_table.c.app_id, contacts_table.c[key]],
        index_where=text(f"verified AND {key} IS NOT NULL"),
        set_={
            "metadata": inserted.excluded["metadata"],
            "last_seen_at": inserted.excluded.last_seen_at,
        },
    ).returning(*CONTACT_COLUMNS)


_UPSERTVERIFIED: Final = {
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
            *CONTACT_COLUMNS[:5],
            contacts_table.c.metadata.cast(Text),
            contacts_table.c.attributes.cast(Text),
            contacts_table.c.last_seen_at > bindparam("b_stale_at"),
        ).where(
            contacts_table.c.app_id == bindparam("b_app_id"),
            VERIFIED,
            contacts_table.c[key] == bindparam("b_value"),
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
        upserted = _UPSERTVERIFIED[claim.key].one(
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
        return contact_view(upserted)
    # An identity token: it may carry a name, attributes to merge into the stored ones
    # and the other identifier, so the row is read first.
    lookup = verified_lookup(app_id, claim.key, value)
    row = connection.execute(lookup).one_or_none()
    if row is None:
        created = create_verified(
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
        return contact_view(created)
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
    return contact_view(connection.execute(lookup).one())
