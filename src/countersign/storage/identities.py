"""Visitors and their sessions: what an identify call writes, in one transaction.

A browser is a visitor (a random id of ours); its session is the visitor row's
``session_*`` columns, which every sealed token is checked against. The contacts a
session acts as are :mod:`.contacts`'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple, cast

from sqlalchemy import (
    Connection,
    Select,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)

from ..vocabulary.ids import new_row_id
from . import contacts, verified_claims
from .attachments import move_uploads
from .contacts import Claim, ContactView, IdentityStatus
from .conversations import move_conversations
from .models import IdentitySecret, PublicKeyRecord, Visitor
from .prepared import Prepared


@dataclass(frozen=True, slots=True)
class Identified:
    visitor_id: str
    contact: ContactView
    session_epoch: int  # the browser's session epoch its new token is issued in
    # (visitor id, epoch) of the browser's session that this identify ended, if any:
    # its streams must close.
    ended: tuple[str, int] | None = None


_visitors = cast(Table, Visitor.__table__)
_secrets = cast(Table, IdentitySecret.__table__)
_public_keys = cast(Table, PublicKeyRecord.__table__)

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
    """What a browser's session acts as, with when the secret (or public key) that
    verified it ended (revoked or expired), if it did."""
    return select(
        _visitors.c.id,
        _visitors.c.app_id,
        _visitors.c.session_epoch,
        _visitors.c.session_contact_id,
        _visitors.c.session_status,
        _visitors.c.session_secret_id,
        func.coalesce(_secrets.c.revoked_at, _public_keys.c.revoked_at),
        _secrets.c.expires_at,
    ).select_from(
        _visitors.outerjoin(_secrets, _secrets.c.id == _visitors.c.session_secret_id).outerjoin(
            _public_keys, _public_keys.c.id == _visitors.c.session_secret_id
        )
    )


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
        verified_claims.verified_for_claim(connection, app_id, claim, metadata, now)
        if claim.status == "verified"
        else None
    )
    if visitor is not None and visitor.serves(claim, verified_contact):
        if verified_contact is None:
            assert visitor.contact_id is not None  # serves() checked it
            contact = contacts.update_own(connection, visitor.contact_id, claim, metadata, now)
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
            move_uploads(connection, visitor.contact_id, verified_contact.id)
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
    contact = verified_contact or contacts.new_own(connection, app_id, claim, metadata, now)
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
