"""Visitors, contacts and sessions: what an identify call writes, in one transaction.

The rule this module enforces: a verified identity is one contact per (app, user id)
or (app, email), shared by every browser that proves it; an unverified or anonymous
browser only ever gets a contact of its own. So a claim that was not proven can never
reach the data of the user it names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, NamedTuple, cast

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
from .messaging import ensure_verified_contact, move_conversations
from .models import VERIFIED_CONTACT, Contact, IdentitySecret, Visitor
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


@dataclass(frozen=True, slots=True)
class Identified:
    visitor_id: str
    contact: ContactView
    session_epoch: int  # the browser's session epoch its new token is issued in
    # (visitor id, epoch) of the browser's session that this identify ended, if any:
    # its streams must close.
    ended: tuple[str, int] | None = None


_contacts = cast(Table, Contact.__table__)
_visitors = cast(Table, Visitor.__table__)
_secrets = cast(Table, IdentitySecret.__table__)

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
_VISITOR: Final = Prepared(
    select(
        _visitors.c.id,
        _visitors.c.contact_id,
        _visitors.c.linked_contact_id,
        _visitors.c.session_epoch,
        _visitors.c.session_contact_id,
        _visitors.c.session_status,
        _visitors.c.session_secret_id,
    ).where(
        _visitors.c.id == bindparam("b_visitor_id"),
        _visitors.c.app_id == bindparam("b_app_id"),
        _visitors.c.retired_at.is_(None),  # a retired id is unknown: the browser gets a new one
    )
)
_INSERT_VISITOR: Final = Prepared(
    insert(_visitors).values(
        id=bindparam("b_visitor_id"),
        app_id=bindparam("b_app_id"),
        contact_id=bindparam("b_own_contact_id"),
        linked_contact_id=bindparam("b_linked_contact_id"),
        created_at=bindparam("b_now"),
        session_epoch=0,
        session_contact_id=bindparam("b_contact_id"),
        session_status=bindparam("b_status"),
        session_secret_id=bindparam("b_secret_id"),
    )
)
# The same identity again (a reload, a new tab, a status between anonymous and
# unverified on the browser's own contact, a secret rotated): the session keeps its
# epoch and names what proved it now. Tokens naming another secret end with this.
_SET_BROWSER_SESSION: Final = Prepared(
    update(_visitors)
    .where(_visitors.c.id == bindparam("b_visitor_id"))
    .values(session_status=bindparam("b_status"), session_secret_id=bindparam("b_secret_id"))
)
# An anonymous or unverified browser proves who it is: the visitor (its history moved
# along) now serves the verified contact, and the epoch moves on, ending the tokens of
# what it was. Guarded by the epoch read, so of two racing identifies one wins.
_PROVE_BROWSER: Final = Prepared(
    update(_visitors)
    .where(
        _visitors.c.id == bindparam("b_visitor_id"),
        _visitors.c.session_epoch == bindparam("b_epoch"),
    )
    .values(
        session_epoch=_visitors.c.session_epoch + 1,
        session_contact_id=bindparam("b_contact_id"),
        session_status="verified",
        session_secret_id=bindparam("b_secret_id"),
        linked_contact_id=bindparam("b_contact_id"),
    )
    .returning(_visitors.c.id)  # a row when it won
)
# Logout or a change of identity: every token of the visitor ends (the epoch moves on,
# its session names no contact) and its id is never adopted again. Guarded by the
# epoch, so of two racing requests only one retires it.
_RETIRE_VISITOR: Final = Prepared(
    update(_visitors)
    .where(
        _visitors.c.id == bindparam("b_visitor_id"),
        _visitors.c.session_epoch == bindparam("b_epoch"),
        _visitors.c.retired_at.is_(None),
    )
    .values(
        session_epoch=_visitors.c.session_epoch + 1,
        session_contact_id=None,
        retired_at=bindparam("b_now"),
    )
    .returning(_visitors.c.id)  # a row when it retired it
)


def _browser_sessions() -> Select[Any]:
    """What a browser's session acts as, with when the secret that verified it ended
    (revoked or expired), if it did."""
    return select(
        _visitors.c.id,
        _visitors.c.app_id,
        _visitors.c.session_epoch,
        _visitors.c.session_contact_id,
        _visitors.c.session_status,
        _visitors.c.session_secret_id,
        _secrets.c.revoked_at,
        _secrets.c.expires_at,
    ).select_from(_visitors.outerjoin(_secrets, _secrets.c.id == _visitors.c.session_secret_id))


_BROWSER_SESSION: Final = Prepared(
    _browser_sessions().where(_visitors.c.id == bindparam("b_visitor_id"))
)


class _VisitorRow(NamedTuple):
    id: str
    contact_id: str | None  # its own contact, for unverified and anonymous claims
    linked_contact_id: str | None  # the verified contact it last proved to be
    session_epoch: int
    session_contact_id: str | None
    session_status: str | None
    session_secret_id: str | None

    @property
    def verified(self) -> bool:
        return self.session_status == "verified"

    def serves(self, claim: Claim, contact: ContactView | None) -> bool:
        """Whether this visitor already is the browser's session for ``claim``
        (``contact``: the verified contact of a verified claim)."""
        if self.session_contact_id is None:
            return False
        if contact is not None:
            return self.verified and self.session_contact_id == contact.id
        # Anonymous and unverified claims live on the browser's own contact.
        return not self.verified and self.session_contact_id == self.contact_id


def _is_plain_verified(claim: Claim, value: str | None) -> bool:
    """Whether the claim proves only its identifier (a hash): then a new contact gets
    no name or attributes and an existing one exactly ``metadata`` and
    ``last_seen_at``, which is all the one-statement upsert writes."""
    other = claim.email if claim.key == "user_id" else claim.user_id
    return value is not None and other is None and claim.name is None and claim.attributes is None


def _verified_contact(
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
                    connection.execute(insert(Contact).values(id=new_row_id("con", 12), **attempt))
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


def _own_contact_values(claim: Claim, metadata: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "b_user_id": claim.user_id if claim.status == "unverified" else None,
        "b_email": claim.email if claim.status == "unverified" else None,
        "b_metadata": metadata,
        "b_now": now,
    }


def _new_own_contact(
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
            **_own_contact_values(claim, metadata, now),
        },
    )
    return _contact_view(_CONTACT_BY_ID.one(connection, {"b_contact_id": contact_id}))


class NewVisitorRefused(Exception):
    """``identify(..., may_create_visitor=False)`` would have created a visitor."""


def identify(
    connection: Connection,
    *,
    app_id: str,
    visitor_id: str | None,
    claim: Claim,
    metadata: dict[str, Any],
    secret_id: str | None,
    now: datetime,
    held_epoch: int | None = None,
    may_create_visitor: bool = True,
) -> Identified:
    """Resolve the browser's contact for ``claim`` and make it the browser's session.

    A visitor serves one identity at a time, and a verified one for good:

    - the same identity again keeps the visitor and its tokens (unless they name
      another secret: a rotation);
    - an anonymous or unverified browser that proves who it is keeps its visitor, takes
      its history along to the verified contact (it follows the user across devices)
      and ends the tokens of what it was;
    - any other change is a new visitor, with an id of ours. The verified browser's
      visitor is retired -- its tokens end, its id is never adopted again -- only when
      the request holds one of its tokens of the current epoch (``held_epoch``: the
      widget sends its token when it identifies again). A visitor id replayed from
      elsewhere, without one, starts a new visitor and cannot end that browser's
      sessions.

    With ``may_create_visitor=False`` (the caller's limit on new visitors is spent),
    anything that would need a new visitor raises :class:`NewVisitorRefused` instead,
    so the caller rolls back and answers a returning browser only.
    """
    found = (
        _VISITOR.one_or_none(connection, {"b_visitor_id": visitor_id, "b_app_id": app_id})
        if visitor_id
        else None
    )
    visitor = None if found is None else _VisitorRow(*found)
    verified_contact = (
        _verified_contact(connection, app_id, claim, metadata, now)
        if claim.status == "verified"
        else None
    )
    if visitor is not None and visitor.serves(claim, verified_contact):
        if verified_contact is None:
            assert visitor.contact_id is not None  # serves() checked it
            _UPDATE_OWN_CONTACT.rows(
                connection,
                {"b_contact_id": visitor.contact_id, **_own_contact_values(claim, metadata, now)},
            )
            own = {"b_contact_id": visitor.contact_id}
            contact = _contact_view(_CONTACT_BY_ID.one(connection, own))
        else:
            contact = verified_contact
        if (visitor.session_status, visitor.session_secret_id) != (claim.status, secret_id):
            _SET_BROWSER_SESSION.rows(
                connection,
                {"b_visitor_id": visitor.id, "b_status": claim.status, "b_secret_id": secret_id},
            )
        return Identified(visitor.id, contact, session_epoch=visitor.session_epoch)

    if visitor is not None and not visitor.verified and verified_contact is not None:
        if visitor.contact_id is not None:
            # What this browser started before proving who it is follows the user.
            move_conversations(connection, visitor.contact_id, verified_contact.id)
        session = {"b_visitor_id": visitor.id, "b_epoch": visitor.session_epoch}
        if _PROVE_BROWSER.rows(
            connection,
            {**session, "b_contact_id": verified_contact.id, "b_secret_id": secret_id},
        ):
            proven = (visitor.id, visitor.session_epoch)
            return Identified(visitor.id, verified_contact, visitor.session_epoch + 1, proven)
    if not may_create_visitor:
        raise NewVisitorRefused
    ended: tuple[str, int] | None = None
    if visitor is not None and visitor.verified and held_epoch == visitor.session_epoch:
        retire = {"b_visitor_id": visitor.id, "b_epoch": visitor.session_epoch, "b_now": now}
        if _RETIRE_VISITOR.rows(connection, retire):
            ended = (visitor.id, visitor.session_epoch)
    contact = verified_contact or _new_own_contact(connection, app_id, claim, metadata, now)
    # A client-chosen id is never adopted, so nobody can step into another browser's
    # history by naming it. The visitor is inserted after its contact, pointing at it.
    current_visitor = new_row_id("vis", 16)
    _INSERT_VISITOR.rows(
        connection,
        {
            "b_visitor_id": current_visitor,
            "b_app_id": app_id,
            "b_own_contact_id": None if verified_contact else contact.id,
            "b_linked_contact_id": contact.id if verified_contact else None,
            "b_now": now,
            "b_contact_id": contact.id,
            "b_status": claim.status,
            "b_secret_id": secret_id,
        },
    )
    return Identified(current_visitor, contact, session_epoch=0, ended=ended)


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """What a browser's session acts as now (its visitor row), for checking a token."""

    visitor_id: str
    app_id: str
    epoch: int
    contact_id: str | None  # None once retired (logout, another identity)
    status: IdentityStatus | None
    secret_id: str | None
    secret_ended_at: datetime | None  # when the secret that verified it was revoked or expires

    def secret_active(self, now: datetime) -> bool:
        return self.secret_ended_at is None or self.secret_ended_at > now


def _browser_session(row: Sequence[Any]) -> BrowserSession:
    visitor_id, app_id, epoch, contact_id, status, secret_id, revoked_at, expires_at = row
    ends = [moment for moment in (revoked_at, expires_at) if moment is not None]
    return BrowserSession(
        visitor_id, app_id, epoch, contact_id, status, secret_id, min(ends) if ends else None
    )


def browser_session(connection: Connection, visitor_id: str) -> BrowserSession | None:
    row = _BROWSER_SESSION.one_or_none(connection, {"b_visitor_id": visitor_id})
    return None if row is None else _browser_session(row)


def browser_sessions(connection: Connection, visitor_ids: Sequence[str]) -> list[BrowserSession]:
    """:func:`browser_session` of many browsers in one statement (stream rechecks)."""
    if not visitor_ids:
        return []
    rows = connection.execute(
        _browser_sessions().where(_visitors.c.id.in_(list(visitor_ids)))
    ).all()
    return [_browser_session(row) for row in rows]


def end_browser_session(connection: Connection, visitor_id: str, epoch: int, now: datetime) -> bool:
    """Logout: retire the browser's visitor, ending every token of its session
    ``epoch``; False if it had already ended."""
    return bool(
        _RETIRE_VISITOR.rows(
            connection, {"b_visitor_id": visitor_id, "b_epoch": epoch, "b_now": now}
        )
    )


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
