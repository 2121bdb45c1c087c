"""Contact search (SPEC 10): an app's contacts by user id, email and name, with an
index on both databases, a page at a time; and one contact in full.

Case-insensitive and by any part of a word. Verified identifiers (a verified
contact's user id, email and name) are searched, and so is what is unverified: an
unverified or anonymous contact's claims and every contact's metadata (whatever the
browser sent). Hits on verified identifiers come first, and every hit says which it
matched (``matched``: ``verified`` or ``unverified``), so no one mistakes a claim for
a proof.

The index (migration 0012): on PostgreSQL, ``pg_trgm`` GIN indexes over the two
lower-cased expressions below, which a ``LIKE '%…%'`` on the same expression uses
(``benchmarks/contact_search.py`` shows the plan); on SQLite, an FTS5 table with the
trigram tokenizer that triggers keep in step with ``contacts``, keyed by its rowid.
A query under three characters has no trigram: it scans (correct, only slower).
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection, Integer, case, literal_column, select, text
from sqlalchemy.sql.elements import ColumnElement

from ..vocabulary.ids import well_formed_id
from .cursors import (
    MAX_PAGE,
    CursorError,
    Page,
    cursor_id,
    cursor_time,
    decode_cursor,
    encode_cursor,
)
from .errors import Invalid
from .inbox import contact_summary
from .models import Contact

MAX_QUERY_CHARS: Final = 200
_LIKE_ESCAPE: Final = "\\"

#: The SQLite index's tables (the FTS5 table and the shadow tables FTS5 makes): not
#: models, so schema comparisons (``migrations/env.py``) must leave them out.
INDEX_TABLE: Final = "contact_search"

# The indexed expressions, exactly as migration 0012 wrote them: PostgreSQL matches an
# expression index only against the same expression.
_IDENTIFIERS: Final = (
    "coalesce(contacts.user_id, '') || ' ' || coalesce(contacts.email, '')"
    " || ' ' || coalesce(contacts.name, '')"
)
_PG_VERIFIED: Final = f"lower(CASE WHEN contacts.verified THEN {_IDENTIFIERS} ELSE '' END)"
_PG_UNVERIFIED: Final = (
    f"lower(CASE WHEN contacts.verified THEN '' ELSE {_IDENTIFIERS} END"
    " || ' ' || coalesce(contacts.metadata::text, ''))"
)


#: PostgreSQL's expression indexes (migration 0012), which the models cannot declare.
INDEX_NAMES: Final = ("ix_contacts_search_verified", "ix_contacts_search_unverified")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's ``include_name``: everything but the search index (the SQLite
    tables, the PostgreSQL expression indexes), which is no model's."""
    del parent_names
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(INDEX_TABLE)
    return not (type_ == "index" and name in INDEX_NAMES)


class InvalidQuery(Invalid):
    code = "invalid_query"


def check_query(query: str) -> str:
    """The query, stripped; :class:`InvalidQuery` when it is too long or not text."""
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"a search has at most {MAX_QUERY_CHARS} characters")
    if not query.isprintable():
        raise InvalidQuery("a search has no control or unpaired characters")
    return query.strip()


def _like(query: str) -> str:
    """``%query%`` for LIKE with its own wildcards taken literally, lowercased."""
    escaped = query.lower()
    for special in (_LIKE_ESCAPE, "%", "_"):
        escaped = escaped.replace(special, _LIKE_ESCAPE + special)
    return f"%{escaped}%"


def _phrase(query: str, column: str | None = None) -> str:
    """An FTS5 query for ``query`` as one phrase (its quotes doubled), in ``column``."""
    phrase = '"' + query.replace('"', '""') + '"'
    return phrase if column is None else f"{column} : {phrase}"


def _matching(connection: Connection, query: str) -> tuple[ColumnElement[bool], Any]:
    """The condition a hit meets, and its rank (0: a verified identifier matched)."""
    pattern = _like(query)
    if connection.dialect.name == "postgresql":
        verified = literal_column(_PG_VERIFIED).like(pattern)
        unverified = literal_column(_PG_UNVERIFIED).like(pattern)
        return verified | unverified, case((verified, 0), else_=1)
    if len(query) >= 3:
        hits = text("SELECT rowid FROM contact_search WHERE contact_search MATCH :everywhere")
        verified_hits = text(
            "SELECT rowid FROM contact_search WHERE contact_search MATCH :verified"
        )
        found = literal_column("contacts.rowid").in_(hits.bindparams(everywhere=_phrase(query)))
        verified = literal_column("contacts.rowid").in_(
            verified_hits.bindparams(verified=_phrase(query, "verified_text"))
        )
        return found, case((verified, 0), else_=1)
    # Under three characters FTS5 has no trigram to look up: LIKE (ASCII-only case
    # folding in SQLite) over the index's own columns.
    short = "SELECT rowid FROM contact_search WHERE lower({column}) LIKE :pattern ESCAPE '\\'"
    any_column = text(short.format(column="verified_text || ' ' || unverified_text"))
    verified_column = text(short.format(column="verified_text"))
    found = literal_column("contacts.rowid").in_(any_column.bindparams(pattern=pattern))
    verified = literal_column("contacts.rowid").in_(verified_column.bindparams(pattern=pattern))
    return found, case((verified, 0), else_=1)


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
    """The app's contacts matching ``query`` (all of them when it is blank): those
    whose verified identifiers match first, then most recently seen first; ``cursor``
    continues a previous page. Each hit has ``matched`` (``None`` for a blank query)."""
    limit = max(1, min(limit, MAX_PAGE))
    words = check_query(query)
    rank: Any = literal_column("0", Integer)
    statement = select(*_COLUMNS).where(Contact.app_id == app_id)
    if words:
        condition, rank = _matching(connection, words)
        statement = statement.where(condition)
    statement = statement.add_columns(rank.label("rank"))
    if cursor:
        rank_text, seen_text, last_text = decode_cursor(cursor, 3)
        if rank_text not in ("0", "1"):
            raise CursorError("the cursor is not one this server handed out")
        last_rank = int(rank_text)
        seen, last_id = cursor_time(seen_text), cursor_id(last_text, "con")
        later = (Contact.last_seen_at < seen) | (
            (Contact.last_seen_at == seen) & (Contact.id < last_id)
        )
        statement = statement.where((rank > last_rank) | ((rank == last_rank) & later))
    order = (Contact.last_seen_at.desc(), Contact.id.desc())
    # (A constant rank is no sort key: "ORDER BY 0" would name a column position.)
    rows = connection.execute(
        statement.order_by(*((rank, *order) if words else order)).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    next_cursor = (
        encode_cursor(int(last.rank), last.last_seen_at.isoformat(), last.id) if last else None
    )
    matched = (lambda row: "verified" if row.rank == 0 else "unverified") if words else None
    return Page(
        [{**_listed(row), "matched": matched(row) if matched else None} for row in rows[:limit]],
        next_cursor,
    )


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
