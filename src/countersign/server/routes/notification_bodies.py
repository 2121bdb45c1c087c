"""What the notification routes share: the request bodies and their checks into
drafts, and the query of a list (status, category, page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

import msgspec
from fastapi import Depends, Query

from ...notifications.preferences import Change
from ...notifications.rules import (
    ABSOLUTE_URL_PATTERN,
    CATEGORY_PATTERN,
    MAX_ACTION_URL_CHARS,
    MAX_LABEL_CHARS,
    absolute_http_url,
    actions,
    category_name,
)
from ...storage.notifications import DEFAULT_CATEGORY, NotificationDraft, View
from ..errors import ApiError
from ..query_params import CursorParam
from ..text import storable_json, storable_text, text_meta

MAX_TITLE_CHARS = 500
MAX_BODY_CHARS = 5_000

CategoryText = Annotated[str, msgspec.Meta(extra_json_schema={"pattern": CATEGORY_PATTERN})]
TitleText = Annotated[str, text_meta(MAX_TITLE_CHARS, not_blank=True)]
BodyText = Annotated[str, text_meta(MAX_BODY_CHARS, allow_empty=True)]
ActionLabel = Annotated[str, text_meta(MAX_LABEL_CHARS, not_blank=True)]
ActionUrl = Annotated[
    str,
    msgspec.Meta(
        extra_json_schema={"maxLength": MAX_ACTION_URL_CHARS, "pattern": ABSOLUTE_URL_PATTERN}
    ),
]
# Empty (none), a path on the host page, or an absolute http(s) URL.
NotificationUrl = Annotated[
    str,
    msgspec.Meta(
        extra_json_schema={
            "maxLength": 2_000,
            "pattern": "^$|^/[^\\u0000]*$|" + ABSOLUTE_URL_PATTERN,
        }
    ),
]


class _Action(Protocol):
    label: str
    url: str


class _Content(Protocol):
    title: str
    body: str | None
    url: str | None
    data: dict[str, Any] | None
    category: str | None

    @property
    def actions(self) -> Any: ...


def draft_of(payload: _Content) -> NotificationDraft:
    """A notification's content checked (422 on the first thing wrong), as a draft."""
    title = storable_text(payload.title, "title", max_chars=MAX_TITLE_CHARS)
    if not title.strip():
        raise ApiError(422, "invalid_request", "title must not be blank")
    body = storable_text(payload.body, "body", max_chars=MAX_BODY_CHARS) if payload.body else None
    url = storable_text(payload.url, "url", max_chars=2_000) if payload.url else None
    if url is not None and not url.startswith("/"):
        # A path opens on the host page (as before); anything else must be http(s).
        absolute_http_url(url, "url")
    listed: list[_Action] = list(payload.actions or [])
    pairs = [
        (
            storable_text(a.label, f"actions[{i}].label", max_chars=64),
            storable_text(a.url, f"actions[{i}].url", max_chars=2_000),
        )
        for i, a in enumerate(listed)
    ]
    return NotificationDraft(
        title=title,
        body=body,
        url=url,
        data=storable_json(payload.data or {}, "data", max_chars=8_000),
        category=category_name(payload.category or DEFAULT_CATEGORY),
        actions=actions(pairs),
    )


class Channels(msgspec.Struct, forbid_unknown_fields=True):
    in_app: bool | None = None
    email: bool | None = None


class PreferencesBody(msgspec.Struct, forbid_unknown_fields=True):
    categories: Annotated[
        dict[str, Channels],
        msgspec.Meta(
            extra_json_schema={
                "maxProperties": 100,
                "propertyNames": {"pattern": CATEGORY_PATTERN},
                "description": "Each key a category of the app (else 422 unknown_category).",
            }
        ),
    ]


def changes_of(body: PreferencesBody) -> dict[str, Change]:
    if len(body.categories) > 100:
        raise ApiError(422, "invalid_request", "at most 100 categories in one request")
    return {name: (c.in_app, c.email) for name, c in body.categories.items()}


@dataclass(frozen=True, slots=True)
class Listing:
    status: Literal["unread", "read", "archived"] | None
    category: str | None
    limit: int
    cursor: str | None

    def view(self, default: View) -> View:
        return self.status or default


async def _listing(
    status: Literal["unread", "read", "archived"] | None = Query(None),
    category: str | None = Query(None, max_length=64, pattern=CATEGORY_PATTERN),
    limit: int = Query(50, ge=1, le=100),
    cursor: CursorParam = None,
) -> Listing:
    # async: a sync dependency costs every request a trip through the thread pool.
    return Listing(status, None if category is None else category_name(category), limit, cursor)


ListingDep = Annotated[Listing, Depends(_listing)]
