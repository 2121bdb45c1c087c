"""GET /v1/widget/stream: a WebSocket of the session contact's live events.

The token comes in the first message, never the URL (URLs end up in logs):
``{"token": "<session_token>", "since": <last seq seen, or null>}``. The server answers
``{"type": "ready", "seq": <latest>}``, replays what came after ``since``, then sends
each new event as ``{"type", "data", "seq"}``. A bad token closes with 4401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Final

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import Connection

from ...realtime.hub import Subscriber
from ...storage import identities, messaging
from ...storage.ids import token_digest
from ...storage.models import utcnow
from ..state import ServerState

router = APIRouter(tags=["widget"])

HELLO_TIMEOUT_SECONDS: Final = 10.0
SESSION_RECHECK_SECONDS: Final = 15.0
CLOSE_BAD_HELLO: Final = 4400
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_ORIGIN: Final = 4403


def _hello(text: str) -> tuple[str, int | None] | None:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict):
        return None
    token, since = message.get("token"), message.get("since")
    if not isinstance(token, str) or not 0 < len(token) <= 200:
        return None
    if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
        return None
    return token, since


async def _fetch_after(
    state: ServerState, contact_id: str, since: int
) -> list[messaging.StreamItem]:
    return await state.backend.database.run(lambda c: messaging.stream_after(c, contact_id, since))


@router.websocket("/v1/widget/stream")
async def stream(websocket: WebSocket) -> None:
    state: ServerState = websocket.app.state.countersign
    await websocket.accept()
    try:
        hello = _hello(await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT_SECONDS))
    except (TimeoutError, WebSocketDisconnect, KeyError, RuntimeError):
        hello = None
    if hello is None:
        await _close(websocket, CLOSE_BAD_HELLO)
        return
    token, since = hello
    digest = token_digest(token)
    session = await state.backend.database.run(
        lambda c: identities.live_session(c, digest, utcnow())
    )
    if session is None:
        await _close(websocket, CLOSE_UNAUTHORIZED)
        return
    config = await state.directory.get(session.app_id)
    origin = websocket.headers.get("origin")
    allowed = config.record.allowed_origins if config else ()
    if config is None or (allowed and origin is not None and origin.lower() not in allowed):
        await _close(websocket, CLOSE_ORIGIN)
        return

    # Subscribe before reading the latest seq, so nothing committed in between is lost
    # (anything delivered twice is dropped by seq).
    subscriber = Subscriber(session.contact_id, 0)
    unsubscribe = state.hub.subscribe(subscriber)
    try:

        def latest(connection: Connection) -> int:
            return messaging.latest_seq(connection, session.contact_id)

        head = await state.backend.database.run(latest)
        start = head if since is None else min(since, head)
        subscriber.last_seq = start
        await websocket.send_text(json.dumps({"type": "ready", "seq": head}))
        if start < head:
            subscriber.offer(None)  # replay (start, head] from the log
        await _pump(websocket, state, subscriber, digest)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        unsubscribe()


async def _pump(
    websocket: WebSocket, state: ServerState, subscriber: Subscriber, digest: str
) -> None:
    """Send events until the client leaves or its session ends."""
    loop = asyncio.get_running_loop()
    receiver = asyncio.create_task(_drain_incoming(websocket))
    next_check = loop.time() + SESSION_RECHECK_SECONDS
    try:
        while not receiver.done():
            batch_task = asyncio.ensure_future(
                subscriber.next_batch(lambda c, s: _fetch_after(state, c, s))
            )
            done, _ = await asyncio.wait(
                {batch_task, receiver},
                timeout=max(0.0, next_check - loop.time()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if batch_task in done:
                for item in batch_task.result():
                    await websocket.send_text(json.dumps(item.wire(), default=str))
            else:
                batch_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await batch_task
            if loop.time() >= next_check:
                next_check = loop.time() + SESSION_RECHECK_SECONDS
                alive = await state.backend.database.run(
                    lambda c: identities.live_session(c, digest, utcnow())
                )
                if alive is None:
                    await _close(websocket, CLOSE_UNAUTHORIZED)
                    return
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def _drain_incoming(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed at once."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _close(websocket: WebSocket, code: int) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code)
