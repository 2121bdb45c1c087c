"""Visitors, contacts and sessions: what an identify call writes, in one transaction.

The rule this module enforces: a verified identity is one contact per (app, user id)
or (app, email), shared by every browser that proves it; an unverified or anonymous
browser only ever gets a contact of its own. So a claim that was not proven can never
reach the data of the user it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from .ids import new_id
from .models import Contact, Session, Visitor

IdentityStatus = Literal["verified", "unverified", "anonymous"]


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
    key: Literal["user_id", "email"] = "user_id"  # the proven identifier, when verified
    name: str | None = None
    attributes: dict[str, Any] | None = None  # verified claims (identity tokens)


@dataclass(frozen=True, slots=True)
class NewSession:
    token_digest: str
    expires_at: datetime
    secret_id: str | None


@dataclass(frozen=True, slots=True)
class Identified:
    visitor_id: str
    contact: ContactView


def _contact_view(row: Any) -> ContactView:
    return ContactView(
        id=row.id,
        user_id=row.user_id,
        email=row.email,
        name=row.name,
        verified=row.verified,
        metadata=row.metadata or {},
        attributes=row.attributes or {},
    )


def _visitor(connection: Connection, app_id: str, visitor_id: str | None, now: datetime) -> Any:
    if visitor_id:
        row = connection.execute(
            select(Visitor.id, Visitor.contact_id, Visitor.linked_contact_id).where(
                Visitor.id == visitor_id, Visitor.app_id == app_id
            )
        ).one_or_none()
        if row is not None:
            return row
    # Unknown or absent: a new visitor with an id of ours. A client-chosen id is never
    # adopted, so nobody can step into another browser's anonymous history by naming it.
    new_visitor = new_id("vis", 16)
    connection.execute(insert(Visitor).values(id=new_visitor, app_id=app_id, created_at=now))
    return connection.execute(
        select(Visitor.id, Visitor.contact_id, Visitor.linked_contact_id).where(
            Visitor.id == new_visitor
        )
    ).one()


def _select_contact() -> Any:
    return select(
        Contact.id,
        Contact.user_id,
        Contact.email,
        Contact.name,
        Contact.verified,
        Contact.metadata_.label("metadata"),
        Contact.attributes,
    )


def _verified_contact(
    connection: Connection, app_id: str, claim: Claim, metadata: dict[str, Any], now: datetime
) -> ContactView:
    column = Contact.user_id if claim.key == "user_id" else Contact.email
    value = claim.user_id if claim.key == "user_id" else claim.email
    lookup = _select_contact().where(Contact.app_id == app_id, Contact.verified, column == value)
    row = connection.execute(lookup).one_or_none()
    if row is None:
        values: dict[str, Any] = {
            "app_id": app_id,
            # A verified claim carries only proven identifiers.
            "user_id": claim.user_id,
            "email": claim.email,
            "name": claim.name,
            "verified": True,
            "metadata_": metadata,
            "attributes": claim.attributes or {},
            "created_at": now,
            "last_seen_at": now,
        }
        other = "email" if claim.key == "user_id" else "user_id"
        # First try: all proven identifiers. If that clashes, either another node just
        # created this contact (found by the lookup), or the *other* identifier belongs
        # to a different verified contact: then create it without that one.
        for attempt in (values, {**values, other: None}):
            try:
                with connection.begin_nested():
                    connection.execute(insert(Contact).values(id=new_id("con", 12), **attempt))
            except IntegrityError:
                if (found := connection.execute(lookup).one_or_none()) is not None:
                    return _contact_view(found)
                continue
            return _contact_view(connection.execute(lookup).one())
        return _contact_view(connection.execute(lookup).one())
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


def _own_contact(
    connection: Connection,
    app_id: str,
    visitor: Any,
    claim: Claim,
    metadata: dict[str, Any],
    now: datetime,
) -> ContactView:
    values: dict[str, Any] = {
        "user_id": claim.user_id if claim.status == "unverified" else None,
        "email": claim.email if claim.status == "unverified" else None,
        "verified": False,
        "metadata_": metadata,
        "last_seen_at": now,
    }
    if visitor.contact_id is None:
        contact_id = new_id("con", 12)
        connection.execute(
            insert(Contact).values(
                id=contact_id, app_id=app_id, attributes={}, created_at=now, **values
            )
        )
        connection.execute(
            update(Visitor).where(Visitor.id == visitor.id).values(contact_id=contact_id)
        )
    else:
        contact_id = visitor.contact_id
        connection.execute(update(Contact).where(Contact.id == contact_id).values(**values))
    return _contact_view(
        connection.execute(_select_contact().where(Contact.id == contact_id)).one()
    )


def identify(
    connection: Connection,
    *,
    app_id: str,
    visitor_id: str | None,
    claim: Claim,
    metadata: dict[str, Any],
    session: NewSession,
    now: datetime,
) -> Identified:
    """Resolve the browser's contact for ``claim`` and open a session bound to it.

    A verified claim links the visitor to the verified contact (so its history follows
    the user across devices); any other claim uses the visitor's own contact. Live
    sessions of this visitor bound to another contact are revoked: a change of identity
    in the same browser ends the previous identity's access.
    """
    visitor = _visitor(connection, app_id, visitor_id, now)
    if claim.status == "verified":
        contact = _verified_contact(connection, app_id, claim, metadata, now)
        if visitor.linked_contact_id != contact.id:
            connection.execute(
                update(Visitor).where(Visitor.id == visitor.id).values(linked_contact_id=contact.id)
            )
    else:
        contact = _own_contact(connection, app_id, visitor, claim, metadata, now)
    connection.execute(
        update(Session)
        .where(
            Session.visitor_id == visitor.id,
            Session.contact_id != contact.id,
            Session.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    connection.execute(
        insert(Session).values(
            id=session.token_digest,
            app_id=app_id,
            contact_id=contact.id,
            visitor_id=visitor.id,
            status=claim.status,
            secret_id=session.secret_id,
            created_at=now,
            expires_at=session.expires_at,
        )
    )
    return Identified(visitor_id=visitor.id, contact=contact)


@dataclass(frozen=True, slots=True)
class SessionView:
    """A live session: everything a widget request is authorised by."""

    id: str
    app_id: str
    contact_id: str
    visitor_id: str
    status: IdentityStatus
    secret_id: str | None
    expires_at: datetime

    @property
    def verified(self) -> bool:
        return self.status == "verified"


def live_session(connection: Connection, token_digest: str, now: datetime) -> SessionView | None:
    """The session with this token digest, if it is neither revoked nor expired."""
    row = connection.execute(
        select(
            Session.id,
            Session.app_id,
            Session.contact_id,
            Session.visitor_id,
            Session.status,
            Session.secret_id,
            Session.expires_at,
        ).where(Session.id == token_digest, Session.revoked_at.is_(None))
    ).one_or_none()
    if row is None or row.expires_at <= now:
        return None
    return SessionView(
        id=row.id,
        app_id=row.app_id,
        contact_id=row.contact_id,
        visitor_id=row.visitor_id,
        status=row.status,
        secret_id=row.secret_id,
        expires_at=row.expires_at,
    )


def revoke_session(connection: Connection, token_digest: str, now: datetime) -> bool:
    result = connection.execute(
        update(Session)
        .where(Session.id == token_digest, Session.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


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
    lookup = _select_contact().where(
        Contact.app_id == app_id, Contact.verified, Contact.user_id == user_id
    )
    row = connection.execute(lookup).one_or_none()
    changes: dict[str, Any] = {"last_seen_at": now}
    if email is not None:
        changes["email"] = email
    if name is not None:
        changes["name"] = name
    if attributes is not None:
        changes["attributes"] = attributes
    if row is None:
        connection.execute(
            insert(Contact).values(
                id=new_id("con", 12),
                app_id=app_id,
                user_id=user_id,
                verified=True,
                metadata_={},
                created_at=now,
                **{"attributes": {}, **changes},
            )
        )
    else:
        connection.execute(update(Contact).where(Contact.id == row.id).values(**changes))
    return _contact_view(connection.execute(lookup).one())
