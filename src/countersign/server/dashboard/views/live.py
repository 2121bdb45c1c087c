"""GET /dashboard/apps/{app_id}/live: a WebSocket of the app's new conversations and
messages, their status and assignee changes and private notes, each with the
operator's counts per inbox view, for the inbox page's script.

It is authenticated like the pages, by the session cookie, and the first message must
carry the page's CSRF token: a WebSocket is not bound by the same-origin policy, so the
cookie alone would let another site's page open this feed in an operator's browser.
Events come from the hub's per-app watch, which sees every node's events when Redis
links them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import Connection

from ....realtime.signals import app_key
from ....storage import apps, inbox, operators, stream_log, team_conversations
from ....vocabulary.clock import utcnow
from ....vocabulary.ids import token_digest
from ....vocabulary.stream import Signal, StreamItem
from ...state import ServerState
from ..auth import operator_of
from ..security import SESSION_COOKIE, cookie_token, csrf_matches

router = APIRouter(include_in_schema=False)

HELLO_TIMEOUT_SECONDS: Final = 10.0
SESSION_RECHECK_SECONDS: Final = 30.0
MAX_QUEUED: Final = 256
FORWARDED: Final = frozenset(
    {
        "message.created",
        "conversation.created",
        "conversation.updated",
        "note.created",
        "conversation.read",
    }
)
CLOSE_BAD_HELLO: Final = 4400
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_NOT_FOUND: Final = 4404


@dataclass(frozen=True)
class Hello:
    """The page's first message: its CSRF token and, optionally, the stream mark it
    was rendered at (:func:`countersign.storage.stream_log.stream_mark`)."""

    csrf: str
    mark: int | None


def _hello(text: str) -> Hello | None:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or not isinstance(message.get("csrf"), str):
        return None
    mark = message.get("mark")
    valid_mark = isinstance(mark, int) and not isinstance(mark, bool) and 0 <= mark < 2**63
    return Hello(message["csrf"], mark if valid_mark else None)


async def _authorised(websocket: WebSocket, state: ServerState, app_id: str) -> Hello | int:
    """The hello when the socket may watch ``app_id``, else the close code."""
    try:
        text = await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT_SECONDS)
    except (TimeoutError, WebSocketDisconnect, KeyError, RuntimeError):
        return CLOSE_BAD_HELLO
    hello = _hello(text)
    if hello is None:
        return CLOSE_BAD_HELLO
    if not csrf_matches(cookie_token(websocket, SESSION_COOKIE), hello.csrf):
        return CLOSE_UNAUTHORIZED
    if await operator_of(websocket, state) is None:
        return CLOSE_UNAUTHORIZED
    try:
        await state.backend.database.run(lambda c: apps.get_app(c, app_id))
    except apps.AppNotFound:
        return CLOSE_NOT_FOUND
    return hello


#: What :func:`_describe` answers when the socket's session has ended meanwhile.
LOGGED_OUT: Final[dict[str, Any]] = {"type": "logged_out"}


async def _describe(
    state: ServerState, item: StreamItem, session_digest: str
) -> dict[str, Any] | None:
    """The event as the inbox shows it: with who the contact is. Asked in the same
    query trip, whether the session still holds: an operator deactivated (or logged
    out) is sent no further event, on any node, without waiting for the recheck."""

    def contact(connection: Connection) -> tuple[bool, dict[str, Any] | None, dict[str, Any]]:
        operator = operators.session_operator(connection, session_digest, utcnow())
        if operator is None:
            return False, None, {}
        # A note's word to the dashboards names its contact in its data (no widget
        # stream has it: storage.announce.announce_note).
        contact_id = item.contact_id or str(item.data.get("contact_id", ""))
        # This operator's counts per inbox view, with every event: any may change them.
        extra: dict[str, Any] = {
            "counts": team_conversations.view_counts(connection, item.app_id, operator.id)
        }
        if item.type in ("conversation.updated", "note.created"):
            # The team's view of the change.
            conversation_id = str(item.data.get("conversation_id") or item.data.get("id"))
            extra["conversation"] = team_conversations.find_for_app(
                connection, item.app_id, conversation_id
            )
            if item.type == "note.created":
                extra["message"] = inbox.message_of_app(
                    connection, item.app_id, str(item.data.get("id"))
                )
            extra["operator_id"] = operator.id
        return True, inbox.contact_of_app(connection, item.app_id, contact_id), extra

    alive, summary, extra = await state.backend.database.run(contact)
    if not alive:
        return LOGGED_OUT
    if summary is None:
        return None
    if item.type in ("conversation.updated", "note.created"):
        conversation = extra["conversation"]
        if conversation is None:
            return None
        conversation.pop("app_id", None)
        return {
            "type": item.type,
            "conversation_id": conversation["id"],
            "conversation": conversation,
            "contact": summary,
            "counts": extra["counts"],
            "operator_id": extra["operator_id"],
            **({"message": extra["message"]} if extra.get("message") else {}),
        }
    if item.type == "conversation.read":
        return {
            "type": item.type,
            "conversation_id": item.data.get("conversation_id"),
            "by": item.data.get("by"),
            "up_to_seq": item.data.get("up_to_seq"),
            "contact": summary,
            "counts": extra["counts"],
        }
    if item.type == "message.created":
        return {
            "type": item.type,
            "conversation_id": item.data.get("conversation_id"),
            "message": item.data,
            "contact": summary,
            "counts": extra["counts"],
        }
    return {
        "type": item.type,
        "conversation_id": item.data.get("id"),
        "conversation": item.data,
        "contact": summary,
        "counts": extra["counts"],
    }


@router.websocket("/dashboard/apps/{app_id}/live")
async def live(websocket: WebSocket, app_id: str) -> None:
    state: ServerState = websocket.app.state.countersign
    await websocket.accept()
    hello = await _authorised(websocket, state, app_id)
    if isinstance(hello, int):
        with contextlib.suppress(Exception):
            await websocket.close(hello)
        return

    queue: asyncio.Queue[StreamItem | Signal | None] = asyncio.Queue(MAX_QUEUED)

    def typing(signal: Signal) -> None:
        # A stale "typing" is worth nothing: dropped when the page is far behind.
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(signal)

    def watch(item: StreamItem) -> None:
        if item.type not in FORWARDED:
            return
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            # Too far behind: the page reloads instead of receiving a backlog.
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
            queue.put_nowait(None)

    unwatch = state.hub.watch_app(app_id, watch)
    # Signals (the contact typing) come beside the stream: no seq, nothing to look up.
    stop_signals = state.hub.signals.listen(app_key(app_id), typing)
    operator = await operator_of(websocket, state)
    # An open dashboard: this operator gets no email for what they can see (SPEC 12).
    close_presence = state.dashboards.open(operator.id) if operator is not None else None
    receiver = asyncio.create_task(_drain_incoming(websocket))
    try:
        if await _missed_since(state, app_id, hello.mark):
            # Changed between the page's render and this watch: the page reloads, and
            # the new page's mark starts after the change.
            await websocket.send_text(json.dumps({"type": "resync"}))
        await websocket.send_text(json.dumps({"type": "ready"}))
        await _pump(websocket, state, queue, receiver)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        unwatch()
        stop_signals()
        if close_presence is not None:
            close_presence()
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def _missed_since(state: ServerState, app_id: str, mark: int | None) -> bool:
    """Whether the app's stream has events after the page's mark (asked once the watch
    is on, so nothing falls between the two). Team-only words such as a colleague's
    note are not in the stream log; the page shows them at its next load."""
    if mark is None:
        return False
    return await state.backend.database.run(lambda c: stream_log.app_changed_since(c, app_id, mark))


async def _pump(
    websocket: WebSocket,
    state: ServerState,
    queue: asyncio.Queue[StreamItem | Signal | None],
    receiver: asyncio.Task[None],
) -> None:
    loop = asyncio.get_running_loop()
    next_check = loop.time() + SESSION_RECHECK_SECONDS
    digest = token_digest(cookie_token(websocket, SESSION_COOKIE) or "")
    while not receiver.done():
        getter = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait(
            {getter, receiver},
            timeout=max(0.0, next_check - loop.time()),
            return_when=asyncio.FIRST_COMPLETED,
        )
        if getter in done:
            item = getter.result()
            document: dict[str, Any] | None
            if isinstance(item, Signal):
                document = item.wire()
            elif item is None:
                document = {"type": "resync"}
            else:
                document = await _describe(state, item, digest)
            if document is LOGGED_OUT:
                with contextlib.suppress(Exception):
                    await websocket.close(CLOSE_UNAUTHORIZED)
                return
            if document is not None:
                await websocket.send_text(json.dumps(document, default=str))
        else:
            getter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await getter
        if loop.time() >= next_check:
            next_check = loop.time() + SESSION_RECHECK_SECONDS
            if await operator_of(websocket, state) is None:
                with contextlib.suppress(Exception):
                    await websocket.close(CLOSE_UNAUTHORIZED)
                return


async def _drain_incoming(websocket: WebSocket) -> None:
    """Read (and ignore) what the page sends, so a closed tab is noticed at once."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
