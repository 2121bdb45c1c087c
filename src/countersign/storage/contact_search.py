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

import re
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Select, bindparam, literal_column, select, text

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


#: What a query may hold, as the API documents it: no control characters (C0, DEL,
#: C1) and no line or paragraph separator.
QUERY_PATTERN: Final = "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$"
_CONTROL: Final = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff]")


def check_query(query: str) -> str:
    """The query, stripped; :class:`InvalidQuery` when it is too long or holds a
    control character or a lone surrogate (no database could compare it)."""
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"a search has at most {MAX_QUERY_CHARS} characters")
    if _CONTROL.search(query):
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


def _conditions(connection: Connection, query: str) -> tuple[Any, Any]:
    """What a hit on verified identifiers meets, and what a hit on unverified data."""
    pattern = _like(query)
    contact_row: Any = literal_column("contacts.rowid")
    if connection.dialect.name == "postgresql":
        # The pattern is written into the statement (quoted by the driver's dialect),
        # not bound: a prepared statement's generic plan cannot see that a pattern is
        # rare, and then walks every contact instead of using the trigram index.
        literal: Any = bindparam("pattern", pattern, literal_execute=True)
        return (
            literal_column(_PG_VERIFIED).like(literal),
            literal_column(_PG_UNVERIFIED).like(literal),
        )
    if len(query) >= 3:
        # Each subquery its own parameter name: one name twice would bind one value.
        matching = "SELECT rowid FROM contact_search WHERE contact_search MATCH :{column}"
        return tuple(
            contact_row.in_(
                text(matching.format(column=column)).bindparams(**{column: _phrase(query, column)})
            )
            for column in ("verified_text", "unverified_text")
        )
    # Under three characters FTS5 has no trigram to look up: LIKE (ASCII-only case
    # folding in SQLite) over the index's own columns.
    short = "SELECT rowid FROM contact_search WHERE lower({column}) LIKE :{column} ESCAPE '\\'"
    return tuple(
        contact_row.in_(text(short.format(column=column)).bindparams(**{column: pattern}))
        for column in ("verified_text", "unverified_text")
    )


#: Up to this many FTS5 hits, a SQLite search sorts its hits; beyond, it walks the
#: contacts newest first and stops at a page (SQLite has no statistics to choose).
FEW_HITS: Final = 1000


def _few_hits(connection: Connection, query: str) -> bool:
    if connection.dialect.name != "sqlite" or len(query) < 3:
        return False
    probe = text(
        "SELECT count(*) FROM (SELECT rowid FROM contact_search"
        " WHERE contact_search MATCH :phrase LIMIT :enough)"
    )
    found = connection.execute(probe, {"phrase": _phrase(query), "enough": FEW_HITS + 1})
    return int(found.scalar_one()) <= FEW_HITS


_COLUMNS: Final = (
    Contact.id,
    Contact.user_id,
    Contact.email,
    Contact.name,
    Contact.verified,
    Contact.via_email,
    Contact.created_at,
    Contact.last_seen_at,
)


def _listed(row: Any) -> dict[str, Any]:
    return {**contact_summary(row), "created_at": row.created_at, "last_seen_at": row.last_seen_at}


Rows = Select[*tuple[Any, ...]]


def search_statement(
    connection: Connection,
    app_id: str,
    query: str,
    *,
    rank: int = 0,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> Rows:
    """One pass of a search: the hits of ``rank`` (0: on verified identifiers, 1: only
    on unverified data) after the sort key ``after``, most recently seen first,
    ``limit`` rows. Each rank is its own query so that its order is the index
    ``ix_contacts_app_last_seen``'s: a common word then stops at the first page
    instead of sorting every hit (``benchmarks/contact_search.py``)."""
    statement: Rows = select(*_COLUMNS).where(Contact.app_id == app_id)
    words = check_query(query)
    order: tuple[Any, ...] = (Contact.last_seen_at.desc(), Contact.id.desc())
    if words:
        verified, unverified = _conditions(connection, words)
        statement = statement.where(verified if rank == 0 else unverified & ~verified)
        if _few_hits(connection, words):
            # SQLite's unary "+" keeps the index out of the ORDER BY: fetch the few hits
            # by rowid and sort them, rather than walk every contact to find them.
            order = (
                literal_column("+contacts.last_seen_at").desc(),
                literal_column("+contacts.id").desc(),
            )
    if after is not None:
        seen, last_id = after
        statement = statement.where(
            (Contact.last_seen_at < seen)
            | ((Contact.last_seen_at == seen) & (Contact.id < last_id))
        )
    return statement.order_by(*order).limit(limit)


def search_contacts(
    connection: Connection, app_id: str, query: str, cursor: str | None, *, limit: int = 50
) -> Page:
    """The app's contacts matching ``query`` (all of them when it is blank): those
    whose verified identifiers match first, then most recently seen first; ``cursor``
    continues a previous page. Each hit has ``matched`` (``None`` for a blank query)."""
    limit = max(1, min(limit, MAX_PAGE))
    blank = not check_query(query)
    start, after = 0, None
    if cursor:
        rank_text, seen_text, last_text = decode_cursor(cursor, 3)
        if rank_text not in ("0", "1"):
            raise CursorError("the cursor is not one this server handed out")
        start = int(rank_text)
        after = (cursor_time(seen_text), cursor_id(last_text, "con"))
    rows: list[tuple[int, Any]] = []
    for rank in (0,) if blank else (0, 1):
        if rank < start:
            continue
        statement = search_statement(
            connection,
            app_id,
            query,
            rank=rank,
            after=after if rank == start else None,
            limit=limit + 1 - len(rows),
        )
        rows += [(rank, row) for row in connection.execute(statement)]
        if len(rows) > limit:
            break
    more = len(rows) > limit
    last_rank, last = rows[limit - 1] if more else (0, None)
    next_cursor = encode_cursor(last_rank, last.last_seen_at.isoformat(), last.id) if last else None
    return Page(
        [
            {
                **_listed(row),
                "matched": None if blank else "verified" if rank == 0 else "unverified",
            }
            for rank, row in rows[:limit]
        ],
        next_cursor,
    )


def contact_in_full(connection: Connection, app_id: str, contact_id: str) -> dict[str, Any] | None:
    """A contact of ``app_id`` with their attributes (verified), metadata (unverified)
    and when an identify last verified them (``last_verified_at``, None if never), or
    ``None``."""
    if not well_formed_id(contact_id, "con"):
        return None
    row = connection.execute(
        select(
            *_COLUMNS,
            Contact.metadata_.label("metadata"),
            Contact.attributes,
            Contact.last_verified_at,
        ).where(Contact.id == contact_id, Contact.app_id == app_id)
    ).one_or_none()
    if row is None:
        return None
    return {
        **_listed(row),
        "metadata": row.metadata or {},
        "attributes": row.attributes or {},
        "last_verified_at": row.last_verified_at,
    }
