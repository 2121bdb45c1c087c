"""Custom action definitions, their signing secrets, and the action log.

A definition is checked whole when it is written (name, method, URL through the
outbound guard, parameters schema, timeout), so a call never meets a bad definition.
The signing secret is sealed under the master key with the action id as associated
data, like identity secrets, and shown once, by :func:`create_action`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, delete, insert, select, update

from ..core import Secret
from ..vocabulary.action_schema import DEFAULT_SCHEMA, InvalidSchema, check_parameters_schema
from ..vocabulary.clock import utcnow
from ..vocabulary.ids import new_id
from ..vocabulary.outbound_errors import OutboundError
from ..vocabulary.urls import check_url
from ..vocabulary.webhook_signature import new_signing_secret
from .apps import get_app
from .encryption import SecretBox
from .errors import Invalid, NotFound
from .models import Action, ActionCall

METHODS: Final = ("POST", "GET", "PUT", "PATCH", "DELETE")
MIN_TIMEOUT_SECONDS: Final = 1.0
MAX_TIMEOUT_SECONDS: Final = 30.0
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
MAX_ACTIONS_PER_APP: Final = 100
# A slug: it is part of a URL path (/v1/widget/actions/NAME) and of log lines.
_NAME: Final = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?")


class ActionNotFound(NotFound):
    code = "action_not_found"


class InvalidAction(Invalid):
    code = "invalid_action"


@dataclass(frozen=True, slots=True)
class ActionRecord:
    id: str
    app_id: str
    name: str
    method: str
    url: str
    parameters_schema: dict[str, Any]
    allow_private_network: bool
    timeout_seconds: float
    enabled: bool
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app_id": self.app_id,
            "name": self.name,
            "method": self.method,
            "url": self.url,
            "parameters_schema": self.parameters_schema,
            "allow_private_network": self.allow_private_network,
            "timeout_seconds": self.timeout_seconds,
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class CreatedAction:
    """What ``actions add`` prints once: the signing secret is not shown again."""

    action: ActionRecord
    signing_secret: str


_COLUMNS: Final = (
    Action.id,
    Action.app_id,
    Action.name,
    Action.method,
    Action.url,
    Action.parameters_schema,
    Action.allow_private_network,
    Action.timeout_ms,
    Action.enabled,
    Action.created_at,
)


def _record(row: Any) -> ActionRecord:
    return ActionRecord(
        id=row.id,
        app_id=row.app_id,
        name=row.name,
        method=row.method,
        url=row.url,
        parameters_schema=row.parameters_schema,
        allow_private_network=bool(row.allow_private_network),
        timeout_seconds=row.timeout_ms / 1000,
        enabled=bool(row.enabled),
        created_at=row.created_at,
    )


def validate_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidAction(
            "an action name is 1 to 64 lower-case letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return name


def _validate_method(method: str) -> str:
    upper = method.upper()
    if upper not in METHODS:
        raise InvalidAction(f"method must be one of {', '.join(METHODS)}")
    return upper


def _validate_timeout(seconds: float) -> int:
    if not MIN_TIMEOUT_SECONDS <= seconds <= MAX_TIMEOUT_SECONDS:
        raise InvalidAction(
            f"timeout must be {MIN_TIMEOUT_SECONDS:g} to {MAX_TIMEOUT_SECONDS:g} seconds"
        )
    return round(seconds * 1000)


def create_action(
    connection: Connection,
    box: SecretBox,
    app_id: str,
    name: str,
    *,
    url: str,
    method: str = "POST",
    parameters_schema: Any = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    allow_private_network: bool = False,
) -> CreatedAction:
    """Define an action of ``app_id``; :class:`InvalidAction` if any part is wrong."""
    get_app(connection, app_id)
    name = validate_name(name)
    method = _validate_method(method)
    timeout_ms = _validate_timeout(timeout_seconds)
    try:
        check_url(url, allow_private_network=allow_private_network)
        schema = check_parameters_schema(
            DEFAULT_SCHEMA if parameters_schema is None else parameters_schema
        )
    except OutboundError as error:
        raise InvalidAction(f"{error.code}: {error.message}") from None
    except InvalidSchema as error:
        raise InvalidAction(str(error)) from None
    existing = connection.execute(select(Action.name).where(Action.app_id == app_id)).scalars()
    names = set(existing)
    if name in names:
        raise InvalidAction(f"{app_id} already has an action named {name!r}; remove it first")
    if len(names) >= MAX_ACTIONS_PER_APP:
        raise InvalidAction(f"an app has at most {MAX_ACTIONS_PER_APP} actions")
    action_id = new_id("acn", 9)
    secret = new_signing_secret()
    connection.execute(
        insert(Action).values(
            id=action_id,
            app_id=app_id,
            name=name,
            method=method,
            url=url,
            parameters_schema=schema,
            secret_ciphertext=box.seal(Secret(secret), action_id),
            allow_private_network=allow_private_network,
            timeout_ms=timeout_ms,
            enabled=True,
            created_at=utcnow(),
        )
    )
    return CreatedAction(get_action(connection, app_id, name), secret)


def get_action(connection: Connection, app_id: str, name: str) -> ActionRecord:
    row = connection.execute(
        select(*_COLUMNS).where(Action.app_id == app_id, Action.name == name)
    ).one_or_none()
    if row is None:
        raise ActionNotFound(f"{app_id} has no action named {name!r}")
    return _record(row)


def list_actions(connection: Connection, app_id: str) -> list[ActionRecord]:
    get_app(connection, app_id)
    rows = connection.execute(
        select(*_COLUMNS).where(Action.app_id == app_id).order_by(Action.name)
    )
    return [_record(row) for row in rows]


def callable_action(
    connection: Connection, box: SecretBox, app_id: str, name: str
) -> tuple[ActionRecord, Secret] | None:
    """The enabled action ``name`` of ``app_id`` and its signing secret, or ``None``."""
    row = connection.execute(
        select(*_COLUMNS, Action.secret_ciphertext).where(
            Action.app_id == app_id, Action.name == name, Action.enabled
        )
    ).one_or_none()
    if row is None:
        return None
    return _record(row), box.open(row.secret_ciphertext, row.id)


def remove_action(connection: Connection, app_id: str, name: str) -> ActionRecord:
    record = get_action(connection, app_id, name)
    connection.execute(delete(Action).where(Action.id == record.id))
    return record


def set_action_enabled(
    connection: Connection, app_id: str, name: str, enabled: bool
) -> ActionRecord:
    """Turn an action off (calls answer 404 ``action_not_found``, nothing is sent) or
    back on, keeping its definition and signing secret."""
    record = get_action(connection, app_id, name)
    connection.execute(update(Action).where(Action.id == record.id).values(enabled=enabled))
    return get_action(connection, app_id, name)


# The action log ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One line of the action log, as the route writes it."""

    app_id: str
    action_id: str | None
    action_name: str
    call_id: str
    source: str  # widget | server
    contact_id: str | None
    identity_status: str
    outcome: str
    status_code: int | None
    duration_ms: int
    error: str | None


def record_call(connection: Connection, call: CallRecord, now: datetime | None = None) -> None:
    connection.execute(
        insert(ActionCall).values(
            app_id=call.app_id,
            action_id=call.action_id,
            action_name=call.action_name,
            call_id=call.call_id,
            source=call.source,
            contact_id=call.contact_id,
            identity_status=call.identity_status,
            outcome=call.outcome,
            status_code=call.status_code,
            duration_ms=call.duration_ms,
            error=(call.error or None) and call.error[:255],
            at=now or utcnow(),
        )
    )


_LOG_COLUMNS: Final = (
    ActionCall.at,
    ActionCall.action_name,
    ActionCall.call_id,
    ActionCall.source,
    ActionCall.contact_id,
    ActionCall.identity_status,
    ActionCall.outcome,
    ActionCall.status_code,
    ActionCall.duration_ms,
    ActionCall.error,
)


def recent_calls(
    connection: Connection, app_id: str, *, limit: int = 50, action: str | None = None
) -> list[dict[str, Any]]:
    """The app's latest ``limit`` action calls, newest first, ``at`` as ISO 8601 text."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    get_app(connection, app_id)
    query = select(*_LOG_COLUMNS).where(ActionCall.app_id == app_id)
    if action is not None:
        query = query.where(ActionCall.action_name == action)
    query = query.order_by(ActionCall.at.desc(), ActionCall.id.desc()).limit(limit)
    return [{**row, "at": row["at"].isoformat()} for row in connection.execute(query).mappings()]


def prune_calls(connection: Connection, older_than: datetime, limit: int) -> int:
    """Remove up to ``limit`` action calls logged before ``older_than``, oldest first;
    how many went. On PostgreSQL rows another node is pruning are skipped, not waited
    for, so concurrent prunes never count a row twice."""
    chosen = list(
        connection.execute(
            select(ActionCall.id)
            .where(ActionCall.at < older_than)
            .order_by(ActionCall.at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not chosen:
        return 0
    return int(connection.execute(delete(ActionCall).where(ActionCall.id.in_(chosen))).rowcount)
