"""A received mail's files, kept through SPEC 11's rules as any upload is.

Every leaf part that is not the text the sender wrote is a file: attachments, inline
images (``Content-Disposition: inline`` with a name, or a ``cid:`` part of the HTML),
a signature's logo. Each is judged by ``countersign.attachments`` exactly as an
upload: the type sniffed from its decoded bytes (never the part's Content-Type or
file name), the app's types and size limit, images decoded and re-encoded without
their metadata, names sanitised. A part the rules refuse is skipped with a reason the
message then shows; the mail itself is never refused for it.

Judging happens before the transaction (:func:`prepare`, in a thread: images take
CPU), into temporary files; :func:`store` writes the kept ones and the original mail
(``message/rfc822``, a type only this server-made file may have) in the message's
transaction, so a mail refused there stores nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Final

from sqlalchemy import Connection

from ..attachments.checks import Refused, judge, read_chunks
from ..attachments.names import sanitise_name
from ..storage import attachments

#: The original mail, kept as a download. Never an upload's type (types.MIME).
ORIGINAL_TYPE: Final = "message/rfc822"
ORIGINAL_NAME: Final = "original-mail.eml"
#: SPEC 11's ten attachments a message may carry: the original and nine of the mail's.
MAX_FILES: Final = 9
#: Parts judged at most: a mail of a thousand tiny image bombs costs twenty decodes.
MAX_JUDGED: Final = 20
_EXTENSIONS: Final = {"jpeg": "jpg"}
_REASONS: Final = {
    "file_type_not_allowed": "a type this app does not accept",
    "file_too_large": "larger than this app allows",
    "invalid_image": "an image that does not decode",
    "empty_file": "empty",
}


@dataclass(frozen=True, slots=True)
class Kept:
    name: str
    content_type: str
    path: Path


@dataclass(frozen=True, slots=True)
class Skipped:
    name: str
    reason: str  # for people: shown in the message


@dataclass
class MailFiles:
    """What :func:`prepare` made of a mail's parts; :meth:`discard` removes its files."""

    kept: list[Kept] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    _paths: list[Path] = field(default_factory=list)

    def discard(self) -> None:
        for path in self._paths:
            path.unlink(missing_ok=True)
        self._paths.clear()

    def note(self) -> str:
        """A line for the message naming what was not kept, and why ("" if nothing)."""
        if not self.skipped:
            return ""
        listed = "; ".join(f"{item.name} ({item.reason})" for item in self.skipped)
        return f"[Not attached from the email: {listed}]"


def _body_parts(message: EmailMessage) -> set[int]:
    """The parts that are the text the sender wrote (by identity)."""
    found: set[int] = set()
    for kind in ("plain", "html"):
        with contextlib.suppress(Exception):
            body = message.get_body(preferencelist=(kind,))
            if body is not None:
                found.add(id(body))
    return found


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # a header the parser cannot read: a file without a name
        return None
    return None if name is None else str(name)


def file_parts(message: EmailMessage) -> list[Message]:
    """The leaf parts that are files, in the mail's order."""
    bodies = _body_parts(message)
    files: list[Message] = []
    try:
        walked = list(message.walk())
    except Exception:
        return files
    for part in walked:
        # A multipart that is no container here lost its boundary: no file in it.
        if part.is_multipart() or part.get_content_maintype() == "multipart":
            continue
        if id(part) in bodies:
            continue
        # A text part with no name is another rendering of the text, not a file.
        textual = part.get_content_maintype() == "text" and _disposition(part) != "attachment"
        if textual and _filename(part) is None:
            continue
        files.append(part)
    return files


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data if isinstance(data, bytes) else b""


def _temporary(data: bytes) -> Path:
    descriptor, name = tempfile.mkstemp(prefix="countersign-mail-")  # 0600
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return Path(name)


def _named(name: str, index: int, kind: str) -> str:
    if name != sanitise_name(None):
        return name
    return f"attachment-{index}.{_EXTENSIONS.get(kind, kind)}"


def prepare(message: EmailMessage, *, limit: int, allowed: Sequence[str] | None) -> MailFiles:
    """Judge the mail's file parts against the app's rules; the kept ones in files."""
    files = MailFiles()
    try:
        for index, part in enumerate(file_parts(message), start=1):
            name = sanitise_name(_filename(part))
            if len(files.kept) >= MAX_FILES or index > MAX_JUDGED:
                files.skipped.append(Skipped(name, "more files than a message carries"))
                continue
            data = _payload(part)
            if len(data) > limit:
                files.skipped.append(Skipped(name, _REASONS["file_too_large"]))
                continue
            received = _temporary(data)
            files._paths.append(received)
            try:
                accepted = judge(received, name, allowed, limit)
            except Refused as refused:
                files.skipped.append(Skipped(name, _REASONS.get(refused.code, refused.code)))
                continue
            if accepted.path != received:
                files._paths.append(accepted.path)
            files.kept.append(
                Kept(_named(name, index, accepted.kind), accepted.content_type, accepted.path)
            )
    except BaseException:
        files.discard()
        raise
    return files


def message_text(text: str, files: MailFiles, max_chars: int) -> str:
    """The message's text: what the sender wrote, with a line naming the files not
    kept; a mail of files alone names them, since a message always has text."""
    note = files.note()
    written = text.strip()[: max(0, max_chars - len(note) - 2)].strip()
    if not written and files.kept:
        written = "[Files sent by email: " + ", ".join(kept.name for kept in files.kept) + "]"
    whole = f"{written}\n\n{note}" if written and note else (written or note)
    return whole[:max_chars]


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), attachments.CHUNK_BYTES):
        yield data[start : start + attachments.CHUNK_BYTES]


def store(
    connection: Connection,
    files: MailFiles,
    raw: bytes,
    *,
    app_id: str,
    contact_id: str,
    now: datetime,
) -> tuple[str, ...]:
    """Write the kept files and the original mail as the contact's uploads; their ids,
    for the message to claim. A microsecond apart: lists order a message's files by
    when they were stored, and so show the mail's order with the original last."""
    stored = [
        attachments.insert_attachment(
            connection,
            app_id=app_id,
            contact_id=contact_id,
            name=kept.name,
            content_type=kept.content_type,
            chunks=read_chunks(kept.path, attachments.CHUNK_BYTES),
            now=now + timedelta(microseconds=index),
        )
        for index, kept in enumerate(files.kept)
    ]
    original = attachments.insert_attachment(
        connection, app_id=app_id, contact_id=contact_id, name=ORIGINAL_NAME,
        content_type=ORIGINAL_TYPE, chunks=_chunks(raw),
        now=now + timedelta(microseconds=len(stored)),
    )  # fmt: skip
    return (*(str(row["id"]) for row in stored), str(original["id"]))
