"""One method per server API route, grouped by resource, written once for both clients.

Each resource is generic in what sending gives back: the plain document for
:class:`~countersign.client.Client`, an awaitable of it for
:class:`~countersign.client.AsyncClient`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, Final, Generic, TypeVar

from .calls import Call, segment

R = TypeVar("R")
Document = dict[str, Any]


class _Unset:
    """The default of an argument whose ``None`` means something (nobody assigned)."""


_UNSET: Final = _Unset()


class _Resource(Generic[R]):
    def __init__(self, send: Callable[[Call], R]) -> None:
        self._send = send


class Users(_Resource[R]):
    def upsert(
        self,
        user_id: str,
        *,
        email: str | None = None,
        name: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> R:
        """``PUT /v1/users/{user_id}``: create or update a verified user."""
        body = {"email": email, "name": name, "attributes": attributes}
        fields = {key: value for key, value in body.items() if value is not None}
        return self._send(
            Call("PUT", f"/v1/users/{segment(user_id)}", json=fields, idempotent=True)
        )

    def conversations(
        self, user_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> R:
        """``GET /v1/users/{user_id}/conversations``: one page, newest activity first."""
        params = {"limit": limit, "cursor": cursor}
        path = f"/v1/users/{segment(user_id)}/conversations"
        return self._send(Call("GET", path, params=params, idempotent=True))

    def events(self, user_id: str, *, limit: int | None = None) -> R:
        """``GET /v1/users/{user_id}/events``: what the user did, newest first."""
        path = f"/v1/users/{segment(user_id)}/events"
        return self._send(Call("GET", path, params={"limit": limit}, idempotent=True))

    def export(self, user_id: str) -> R:
        """``GET /v1/users/{user_id}/export``: everything stored about the user."""
        return self._send(Call("GET", f"/v1/users/{segment(user_id)}/export", idempotent=True))

    def revoke(self, user_id: str) -> R:
        """``POST /v1/users/{user_id}/revoke``: end the user's sessions everywhere, refuse
        their static hash and every token issued before now."""
        return self._send(
            Call("POST", f"/v1/users/{segment(user_id)}/revoke", json={}, idempotent=True)
        )

    def erase(self, user_id: str) -> R:
        """``DELETE /v1/users/{user_id}``: erase the user and all their data."""
        return self._send(Call("DELETE", f"/v1/users/{segment(user_id)}", idempotent=True))


class Notifications(_Resource[R]):
    def create(
        self,
        *,
        title: str,
        user_id: str | None = None,
        user_ids: list[str] | None = None,
        body: str | None = None,
        url: str | None = None,
        data: dict[str, Any] | None = None,
        category: str | None = None,
        actions: list[dict[str, str]] | None = None,
        idempotency_key: str | None = None,
    ) -> R:
        """``POST /v1/notifications``: notify one user (``user_id``) or up to 1,000
        (``user_ids``), live on their verified sessions.

        ``idempotency_key`` makes a repeat within 24 hours answer the first result and
        create nothing; one is made when not given, so the client can retry safely."""
        fields = {
            "title": title,
            "user_id": user_id,
            "user_ids": user_ids,
            "body": body,
            "url": url,
            "data": data,
            "category": category,
            "actions": actions,
            "idempotency_key": idempotency_key or _key(),
        }
        document = {key: value for key, value in fields.items() if value is not None}
        return self._send(Call("POST", "/v1/notifications", json=document, idempotent=True))

    def list(
        self,
        user_id: str,
        *,
        status: str | None = None,
        category: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> R:
        """``GET /v1/users/{user_id}/notifications``: one page, with their states."""
        params = {"status": status, "category": category, "limit": limit, "cursor": cursor}
        path = f"/v1/users/{segment(user_id)}/notifications"
        return self._send(Call("GET", path, params=params, idempotent=True))

    def delete(self, notification_id: str) -> R:
        """``DELETE /v1/notifications/{notification_id}``."""
        path = f"/v1/notifications/{segment(notification_id)}"
        return self._send(Call("DELETE", path, idempotent=True))

    def preferences(self, user_id: str) -> R:
        """``GET /v1/preferences/{user_id}``: the user's choices per category and channel."""
        path = f"/v1/preferences/{segment(user_id)}"
        return self._send(Call("GET", path, idempotent=True))

    def set_preferences(self, user_id: str, categories: dict[str, dict[str, bool]]) -> R:
        """``PUT /v1/preferences/{user_id}``: ``{"billing": {"in_app": True, "email": False}}``."""
        path = f"/v1/preferences/{segment(user_id)}"
        document = {"categories": categories}
        return self._send(Call("PUT", path, json=document, idempotent=True))


class Conversations(_Resource[R]):
    def create(self, *, user_id: str, body: str, author: dict[str, Any] | None = None) -> R:
        """``POST /v1/conversations``: start a conversation with a user."""
        document: Document = {"user_id": user_id, "body": body}
        if author is not None:
            document["author"] = author
        return self._send(Call("POST", "/v1/conversations", json=document))

    def messages(
        self, conversation_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> R:
        """``GET /v1/conversations/{conversation_id}/messages``: one page, oldest first."""
        path = f"/v1/conversations/{segment(conversation_id)}/messages"
        params = {"limit": limit, "cursor": cursor}
        return self._send(Call("GET", path, params=params, idempotent=True))

    def post_message(
        self,
        conversation_id: str,
        *,
        body: str,
        author: dict[str, Any],
        client_id: str | None = None,
        attachment_ids: list[str] | None = None,
    ) -> R:
        """``POST /v1/conversations/{conversation_id}/messages``, as a bot or operator.

        ``client_id`` makes a repeat the same message; one is made when not given, so
        the client can retry this safely. ``attachment_ids``: the team's uploads
        (:meth:`Attachments.upload`) to attach."""
        document: Document = {"body": body, "author": author, "client_id": client_id or _key()}
        if attachment_ids:
            document["attachment_ids"] = attachment_ids
        path = f"/v1/conversations/{segment(conversation_id)}/messages"
        return self._send(Call("POST", path, json=document, idempotent=True))

    def list(
        self,
        *,
        status: str | None = None,
        assignee: str | None = None,
        contact_user_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> R:
        """``GET /v1/conversations``: one page of the app's conversations, newest
        activity first; ``assignee`` is an operator's email or ``"none"``."""
        params = {
            "status": status,
            "assignee": assignee,
            "contact_user_id": contact_user_id,
            "limit": limit,
            "cursor": cursor,
        }
        return self._send(Call("GET", "/v1/conversations", params=params, idempotent=True))

    def get(self, conversation_id: str) -> R:
        """``GET /v1/conversations/{conversation_id}``: status, snooze, assignee, contact."""
        path = f"/v1/conversations/{segment(conversation_id)}"
        return self._send(Call("GET", path, idempotent=True))

    def update(
        self,
        conversation_id: str,
        *,
        status: str | None = None,
        snoozed_until: str | None = None,
        assignee_email: str | _Unset | None = _UNSET,
    ) -> R:
        """``PATCH /v1/conversations/{conversation_id}``: change the status (a snooze
        needs ``snoozed_until``, ISO 8601 with an offset) and/or the assignee (an
        operator's email, or ``None`` for nobody; left alone when not given)."""
        document: Document = {}
        if status is not None:
            document["status"] = status
        if snoozed_until is not None:
            document["snoozed_until"] = snoozed_until
        if not isinstance(assignee_email, _Unset):
            document["assignee_email"] = assignee_email
        path = f"/v1/conversations/{segment(conversation_id)}"
        return self._send(Call("PATCH", path, json=document, idempotent=True))

    def add_note(self, conversation_id: str, *, body: str, author_name: str) -> R:
        """``POST /v1/conversations/{conversation_id}/notes``: a private note, which
        the team sees and the contact never does."""
        document = {"body": body, "author": {"name": author_name}}
        path = f"/v1/conversations/{segment(conversation_id)}/notes"
        return self._send(Call("POST", path, json=document))


class Contacts(_Resource[R]):
    def search(self, query: str = "", *, limit: int | None = None, cursor: str | None = None) -> R:
        """``GET /v1/contacts``: contacts by user id, email or name; each hit says
        whether it ``matched`` verified identifiers or unverified data."""
        params = {"query": query, "limit": limit, "cursor": cursor}
        return self._send(Call("GET", "/v1/contacts", params=params, idempotent=True))


class Attachments(_Resource[R]):
    def upload(self, name: str, data: bytes) -> R:
        """``POST /v1/uploads``: a file for the team's messages; its ``id`` goes in a
        message's ``attachment_ids``. Not repeated on failure: a repeat is a new file."""
        return self._send(Call("POST", "/v1/uploads", file=(name, data)))


class Actions(_Resource[R]):
    def call(
        self, name: str, *, user_id: str | None = None, parameters: dict[str, Any] | None = None
    ) -> R:
        """``POST /v1/actions/{name}``: call a custom action for a user, or for none."""
        document = {"user_id": user_id, "parameters": parameters or {}}
        return self._send(Call("POST", f"/v1/actions/{segment(name)}", json=document))


def _key() -> str:
    return "cs-" + secrets.token_urlsafe(12)


#: Every route the client calls, as (method, OpenAPI path): checked against the server's
#: own document by the tests, so a new server route cannot be left out.
ROUTES = frozenset(
    {
        ("PUT", "/v1/users/{user_id}"),
        ("GET", "/v1/users/{user_id}/conversations"),
        ("GET", "/v1/users/{user_id}/events"),
        ("GET", "/v1/users/{user_id}/export"),
        ("DELETE", "/v1/users/{user_id}"),
        ("POST", "/v1/users/{user_id}/revoke"),
        ("POST", "/v1/notifications"),
        ("GET", "/v1/users/{user_id}/notifications"),
        ("DELETE", "/v1/notifications/{notification_id}"),
        ("GET", "/v1/preferences/{user_id}"),
        ("PUT", "/v1/preferences/{user_id}"),
        ("POST", "/v1/conversations"),
        ("GET", "/v1/conversations/{conversation_id}/messages"),
        ("POST", "/v1/conversations/{conversation_id}/messages"),
        ("POST", "/v1/actions/{name}"),
        ("GET", "/v1/conversations"),
        ("GET", "/v1/conversations/{conversation_id}"),
        ("PATCH", "/v1/conversations/{conversation_id}"),
        ("POST", "/v1/conversations/{conversation_id}/notes"),
        ("GET", "/v1/contacts"),
        ("POST", "/v1/uploads"),
    }
)
