"""Which widgets and dashboards are open, on every node.

Each node writes its own rows (``kind`` ``contact``: a widget's live stream;
``operator``: a dashboard's) every few seconds, from what it holds in memory
(:func:`refresh`), so opening a stream costs no write; a node that stopped refreshing
is gone once its rows are older than ``fresh_after``. One node (SQLite) and many
(PostgreSQL) read the same table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from .models import NodePresence


def refresh(
    connection: Connection, node_id: str, kind: str, present: Iterable[str], now: datetime
) -> None:
    """Make ``node_id``'s rows of ``kind`` exactly ``present``, all seen ``now``."""
    wanted = set(present)
    stored = set(
        connection.execute(
            select(NodePresence.subject_id).where(
                NodePresence.node_id == node_id, NodePresence.kind == kind
            )
        ).scalars()
    )
    gone = stored - wanted
    if gone:
        connection.execute(
            delete(NodePresence).where(
                NodePresence.node_id == node_id,
                NodePresence.kind == kind,
                NodePresence.subject_id.in_(gone),
            )
        )
    connection.execute(
        update(NodePresence)
        .where(NodePresence.node_id == node_id, NodePresence.kind == kind)
        .values(seen_at=now)
    )
    new = wanted - stored
    if new:
        connection.execute(
            insert(NodePresence),
            [
                {"node_id": node_id, "kind": kind, "subject_id": subject, "seen_at": now}
                for subject in sorted(new)
            ],
        )


def forget_node(connection: Connection, node_id: str) -> None:
    """A node stopping cleanly leaves no presence behind."""
    connection.execute(delete(NodePresence).where(NodePresence.node_id == node_id))


def is_present(
    connection: Connection,
    kind: str,
    subject_id: str,
    *,
    fresh_after: datetime,
    other_than: str | None = None,
) -> bool:
    """Whether a node (other than ``other_than``: the caller knows its own better)
    has ``subject_id`` open, as of a refresh after ``fresh_after``."""
    found = connection.execute(
        select(NodePresence.node_id)
        .where(
            NodePresence.node_id != (other_than or ""),
            NodePresence.kind == kind,
            NodePresence.subject_id == subject_id,
            NodePresence.seen_at >= fresh_after,
        )
        .limit(1)
    ).first()
    return found is not None
