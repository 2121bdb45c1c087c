"""``AsyncClient``: the same methods as :class:`~countersign.client.Client`, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx2

from .calls import Call, delay, settle
from .resources import (
    Actions,
    Attachments,
    Contacts,
    Conversations,
    Document,
    Notifications,
    Users,
)

Pending = Awaitable[Document]


class AsyncClient:
    def __init__(
        self, base_url: str, *, api_key: str, timeout: float = 10.0, http: Any = None
    ) -> None:
        self._http: httpx2.AsyncClient = http or httpx2.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )
        self.users: Users[Pending] = Users(self._send)
        self.notifications: Notifications[Pending] = Notifications(self._send)
        self.conversations: Conversations[Pending] = Conversations(self._send)
        self.actions: Actions[Pending] = Actions(self._send)
        self.attachments: Attachments[Pending] = Attachments(self._send)
        self.contacts: Contacts[Pending] = Contacts(self._send)

    async def _send(self, call: Call) -> Document:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    call.method, call.path, json=call.json, params=call.query, files=call.files
                )
            except httpx2.TransportError:
                wait = delay(call, attempt, None, None)
                if wait is None:
                    raise
                await asyncio.sleep(wait)
                continue
            outcome = settle(call, attempt, response)
            if isinstance(outcome, dict):
                return outcome
            await asyncio.sleep(outcome)

    async def pages(
        self, method: Callable[..., Pending], *args: Any, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """Every item of a listing, following ``next_cursor`` page after page."""
        cursor = kwargs.pop("cursor", None)
        while True:
            page = await method(*args, cursor=cursor, **kwargs)
            for item in page["data"]:
                yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()
