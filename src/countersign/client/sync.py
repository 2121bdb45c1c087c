"""``Client``: the server API over one pooled HTTP connection, blocking."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
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


class Client:
    def __init__(
        self, base_url: str, *, api_key: str, timeout: float = 10.0, http: Any = None
    ) -> None:
        self._http: httpx2.Client = http or httpx2.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )
        self.users: Users[Document] = Users(self._send)
        self.notifications: Notifications[Document] = Notifications(self._send)
        self.conversations: Conversations[Document] = Conversations(self._send)
        self.actions: Actions[Document] = Actions(self._send)
        self.attachments: Attachments[Document] = Attachments(self._send)
        self.contacts: Contacts[Document] = Contacts(self._send)

    def _send(self, call: Call) -> Document:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
                    call.method, call.path, json=call.json, params=call.query, files=call.files
                )
            except httpx2.TransportError:
                wait = delay(call, attempt, None, None)
                if wait is None:
                    raise
                time.sleep(wait)
                continue
            outcome = settle(call, attempt, response)
            if isinstance(outcome, dict):
                return outcome
            time.sleep(outcome)

    def pages(self, method: Callable[..., Document], *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Every item of a listing, following ``next_cursor`` page after page:
        ``for c in client.pages(client.users.conversations, "1235"): ...``"""
        cursor = kwargs.pop("cursor", None)
        while True:
            page = method(*args, cursor=cursor, **kwargs)
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
