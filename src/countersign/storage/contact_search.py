"""The dashboard's Contacts page: an app's contacts, searched, a page at a time, and
one contact in full.

:func:`search_contacts` is a plain case-insensitive ``LIKE`` over the user id, email,
name and the metadata's JSON text: a scan of the app's contacts, fine for a page an
operator opens by hand. The indexed search of the server API (``GET
/v1/contacts?query=``) is built elsewhere; this one function is what the page calls,
so swapping it for that one changes nothing else.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection, String, cast, func, or_, select

from ..vocabulary.ids import well_formed_id
from .cursors import MAX_PAGE, Page, cursor_id, cursor_time, decode_cursor, encode_cursor
from .errors import Invalid
from .inbox import contact_summary
from .models import Contact

MAX_QUERY_CHARS: Final = 200
_LIKE_ESCAPE: Final = "\\"


class InvalidQuery(Invalid):
    code = "invalid_query"


def _pattern(query: str) -> str:
    """``%query%`` for LIKE with its own wildcards taken literally, lowercased."""
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"a search has at most {MAX_QUERY_CHARS} characters")
    if not query.isprintable():
        raise InvalidQuery("a search has no control or unpaired characters")
    escaped = query.lower()
    for special in (_LIKE_ESCAPE, "%", "_"):
        escaped = escaped.replace(special, _LIKE_ESCAPE + special)
    return f"%{escaped}%"


_COLUMNS: Final = (
    Contact.id,
    Contact.user_id,
    Contact.email,
    Contact.name,
    Contact.verified,
    Contact.created_at,
    Contact.last_seen_at,
)


def _listed(row: Any) -> dict[str, Any]:
    return {**contact_summary(row), "created_at": row.created_at, "last_seen_at": row.last_seen_at}


def search_contacts(
    connection: Connection, app_id: str, query: str, cursor: str | None, *, limit: int = 50
) -> Page:
    """The app's contacts matching ``query`` (all of them when it is blank), most
    recently seen first; ``cursor`` continues a previous page."""
    limit = max(1, min(limit, MAX_PAGE))
    statement = select(*_COLUMNS).where(Contact.app_id == app_id)
    text = query.strip()
    if text:
        pattern = _pattern(text)
        searched = (
            Contact.user_id,
            Contact.email,
            Contact.name,
            cast(Contact.metadata_, String),
        )
        statement = statement.where(
            or_(*(func.lower(column).like(pattern, escape=_LIKE_ESCAPE) for column in searched))
        )
    if cursor:
        seen_text, last_text = decode_cursor(cursor, 2)
        seen, last_id = cursor_time(seen_text), cursor_id(last_text, "con")
        later = (Contact.last_seen_at == seen) & (Contact.id < last_id)
        statement = statement.where((Contact.last_seen_at < seen) | later)
    rows = connection.execute(
        statement.order_by(Contact.last_seen_at.desc(), Contact.id.desc()).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    next_cursor = encode_cursor(last.last_seen_at.isoformat(), last.id) if last else None
    return Page([_listed(row) for row in rows[:limit]], next_cursor)


def contact_in_full(connection: Connection, app_id: str, contact_id: str) -> dict[str, Any] | None:
    """A contact of ``app_id`` with their attributes (verified) and metadata
    (unverified), or ``None``."""
    if not well_formed_id(contact_id, "con"):
        return None
    row = connection.execute(
        select(*_COLUMNS, Contact.metadata_.label("metadata"), Contact.attributes).where(
            Contact.id == contact_id, Contact.app_id == app_id
        )
    ).one_or_none()
    if row is None:
        return None
    return {**_listed(row), "metadata": row.metadata or {}, "attributes": row.attributes or {}}
