"""Uploaded files' rows and chunks: storing, claiming for a message, reading back.

The rules (what may be uploaded, who may see it) are ``countersign.attachments``'; this
module only keeps the rows and answers queries."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, delete, insert, select, update

from ..vocabulary.ids import new_row_id
from .attachment_files import DirectoryFiles, files_of
from .errors import Invalid, NotFound
from .models import App, Attachment, AttachmentChunk, Conversation, Message

CHUNK_BYTES: Final = 256 * 1024  # one row of ``attachment_chunks``
WIDGET_PATH: Final = "/v1/widget/attachments/"


def describe(row: Any) -> dict[str, Any]:
    """The metadata an upload answers with, and a message carries (with its url)."""
    return {
        "id": row.id,
        "name": row.name,
        "content_type": row.content_type,
        "size": row.size,
        "url": WIDGET_PATH + row.id,
    }


_COLUMNS: Final = (
    Attachment.id,
    Attachment.name,
    Attachment.content_type,
    Attachment.size,
    Attachment.message_id,
    Attachment.contact_id,
    Attachment.app_id,
)


def limits(connection: Connection, app_id: str) -> tuple[int, list[str] | None]:
    """The app's largest file and allowed types (None: the defaults)."""
    row = connection.execute(
        select(App.max_attachment_bytes, App.attachment_types).where(App.id == app_id)
    ).one_or_none()
    if row is None:
        raise NotFound("no such app")
    return int(row.max_attachment_bytes), row.attachment_types


def set_limits(
    connection: Connection,
    app_id: str,
    *,
    max_bytes: int | None = None,
    types: list[str] | None = None,
) -> None:
    values: dict[str, Any] = {}
    if max_bytes is not None:
        values["max_attachment_bytes"] = max_bytes
    if types is not None:
        values["attachment_types"] = types
    if not values:
        return
    changed = connection.execute(update(App).where(App.id == app_id).values(**values)).rowcount
    if not changed:
        raise NotFound("no such app")


def new_attachment_id() -> str:
    return new_row_id("att", 12)


def insert_attachment(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str | None,
    name: str,
    content_type: str,
    chunks: Iterable[bytes],
    now: datetime,
) -> dict[str, Any]:
    """Store a file's bytes where this database keeps them (the chunk table, or the
    attachments directory: the file first, then its row), and its row with the size.

    With a directory, a failed insert removes the file; a transaction rolled back
    later leaves an orphan file the retention job's sweep removes."""
    attachment_id = new_attachment_id()
    files = files_of(connection)
    # The same row either way; only its size, and whether the bytes come first, differ.
    insert_this_row = functools.partial(
        insert_row, connection, attachment_id=attachment_id, app_id=app_id,
        contact_id=contact_id, name=name, content_type=content_type, now=now,
    )  # fmt: skip
    if isinstance(files, DirectoryFiles):
        size = files.write(attachment_id, chunks)
        try:
            return insert_this_row(size=size)
        except BaseException:
            files.remove([attachment_id])
            raise
    insert_this_row(size=0)
    size = 0
    for position, data in enumerate(chunks):
        size += len(data)
        connection.execute(
            insert(AttachmentChunk).values(
                attachment_id=attachment_id, position=position, data=data
            )
        )
    connection.execute(update(Attachment).where(Attachment.id == attachment_id).values(size=size))
    row = connection.execute(select(*_COLUMNS).where(Attachment.id == attachment_id)).one()
    return describe(row)


def insert_row(
    connection: Connection,
    *,
    attachment_id: str,
    app_id: str,
    contact_id: str | None,
    name: str,
    content_type: str,
    size: int,
    now: datetime,
) -> dict[str, Any]:
    """The row of a file whose bytes are already stored (a directory's file)."""
    connection.execute(
        insert(Attachment).values(
            id=attachment_id,
            app_id=app_id,
            contact_id=contact_id,
            name=name,
            content_type=content_type,
            size=size,
            created_at=now,
        )
    )
    return describe(
        connection.execute(select(*_COLUMNS).where(Attachment.id == attachment_id)).one()
    )


def move_uploads(connection: Connection, from_contact: str, to_contact: str) -> int:
    """Hand an anonymous browser's uploads to the contact it proved to be, with its
    conversations: those not attached yet stay attachable by the user, and none is
    erased with the anonymous contact (their foreign key cascades)."""
    result = connection.execute(
        update(Attachment)
        .where(Attachment.contact_id == from_contact)
        .values(contact_id=to_contact)
    )
    return int(result.rowcount or 0)


def claim(
    connection: Connection,
    *,
    app_id: str,
    contact_id: str | None,
    attachment_ids: Sequence[str],
    message_id: str,
) -> list[dict[str, Any]]:
    """Attach the uploads to a message: each must be the app's, uploaded by this
    contact (``None``: by the team), and not attached yet, or nothing is."""
    if not attachment_ids:
        return []
    wanted = list(dict.fromkeys(attachment_ids))
    owner = (
        Attachment.contact_id.is_(None)
        if contact_id is None
        else (Attachment.contact_id == contact_id)
    )
    claimed = connection.execute(
        update(Attachment)
        .where(
            Attachment.id.in_(wanted),
            Attachment.app_id == app_id,
            owner,
            Attachment.message_id.is_(None),
        )
        .values(message_id=message_id)
    ).rowcount
    if claimed != len(wanted):
        raise Invalid("attachment_ids: each must be an upload of yours not attached yet")
    rows = connection.execute(
        select(*_COLUMNS).where(Attachment.message_id == message_id).order_by(Attachment.id)
    ).all()
    order = {value: index for index, value in enumerate(wanted)}
    return [describe(row) for row in sorted(rows, key=lambda row: order[row.id])]


def for_messages(
    connection: Connection, message_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each message's attachments, by message id (messages without any are absent)."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not message_ids:
        return found
    rows = connection.execute(
        select(*_COLUMNS)
        .where(Attachment.message_id.in_(list(message_ids)))
        .order_by(Attachment.message_id, Attachment.created_at, Attachment.id)
    ).all()
    for row in rows:
        found.setdefault(row.message_id, []).append(describe(row))
    return found


def find(connection: Connection, app_id: str, attachment_id: str) -> Any | None:
    """The row (app-scoped), for the caller's access rule to judge."""
    return connection.execute(
        select(*_COLUMNS).where(Attachment.id == attachment_id, Attachment.app_id == app_id)
    ).one_or_none()


def find_any(connection: Connection, attachment_id: str) -> Any | None:
    """The row whatever its app: for a signed link, which names the file alone."""
    return connection.execute(select(*_COLUMNS).where(Attachment.id == attachment_id)).one_or_none()


def message_contact(connection: Connection, message_id: str) -> str | None:
    """The contact whose conversation holds the message."""
    return connection.execute(
        select(Conversation.contact_id)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Message.id == message_id)
    ).scalar_one_or_none()


def chunk(connection: Connection, attachment_id: str, position: int) -> bytes | None:
    data = connection.execute(
        select(AttachmentChunk.data).where(
            AttachmentChunk.attachment_id == attachment_id, AttachmentChunk.position == position
        )
    ).scalar_one_or_none()
    return None if data is None else bytes(data)


def iter_positions(size: int) -> Iterator[int]:
    return iter(range((size + CHUNK_BYTES - 1) // CHUNK_BYTES))


def prune_unattached(connection: Connection, older_than: datetime, limit: int) -> int:
    """:func:`prune_unattached_ids`, counted."""
    return len(prune_unattached_ids(connection, older_than, limit))


def prune_unattached_ids(connection: Connection, older_than: datetime, limit: int) -> list[str]:
    """Delete up to ``limit`` uploads never attached to a message and taken before
    ``older_than`` (their chunks cascade); their ids, whose files (in a directory) go
    once this commits. Rows another node is pruning are skipped, not waited for
    (PostgreSQL)."""
    chosen = list(
        connection.execute(
            select(Attachment.id)
            .where(Attachment.message_id.is_(None), Attachment.created_at < older_than)
            .order_by(Attachment.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not chosen:
        return []
    connection.execute(delete(Attachment).where(Attachment.id.in_(chosen)))
    return chosen


def ids_of_contact(connection: Connection, contact_id: str) -> list[str]:
    """Every file an erasure of the contact deletes: their uploads, and every file in
    their conversations (the team's too). Read before the rows go, since the rows
    that cascade say nothing."""
    in_conversations = (
        select(Attachment.id)
        .join(Message, Message.id == Attachment.message_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.contact_id == contact_id)
    )
    uploaded = select(Attachment.id).where(Attachment.contact_id == contact_id)
    return sorted(set(connection.execute(uploaded.union(in_conversations)).scalars()))


def existing_ids(connection: Connection, attachment_ids: Sequence[str]) -> set[str]:
    """Which of these ids still have a row."""
    if not attachment_ids:
        return set()
    query = select(Attachment.id).where(Attachment.id.in_(list(attachment_ids)))
    return set(connection.execute(query).scalars())
