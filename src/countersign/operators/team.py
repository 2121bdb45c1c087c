"""The team's rules: inviting an operator through a one-time link, display names,
roles, and deactivation.

- **Invitations.** An owner (or the command line) adds an operator with an email, a
  display name and a role; the operator has no password until they open the one-time
  link and choose one. The link's token is shown once and only its SHA-256 is stored
  (``storage.invitations``); it expires (``COUNTERSIGN_INVITATION_TTL_HOURS``), a newer
  link for the same operator ends the older ones, and using it spends it.
- **Display names** are what the widget shows beside an operator's replies (their
  email never is), so a name is short, printable text.
- **Roles.** ``owner`` or ``agent``. The team always keeps one active owner who can
  log in: the last one can be neither demoted nor deactivated.
- **Deactivation** ends the operator's sessions and unused links at once and keeps
  them out; their row stays, so old replies and the audit trail still name them.
  Their assigned conversations become unassigned (:func:`_unassign_conversations`).

Every change is written to the audit trail (``operator.*`` actions, no app) in the
same transaction as the change.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection

from ..storage import invitations, operators, team_conversations
from ..storage.errors import Conflict, NotFound
from ..storage.invitations import InvitationRecord, LinkState
from ..storage.operators import InvalidOperator, OperatorRecord, Role
from ..vocabulary.ids import token_digest

MAX_NAME_CHARS: Final = 80
#: Where the dashboard serves a link; the token follows it.
JOIN_PATH: Final = "/dashboard/join/"
_LINK_TOKEN: Final = re.compile(r"csi_[A-Za-z0-9_-]{43}")


class LastOwner(Conflict):
    code = "last_owner"


class OwnAccount(Conflict):
    code = "own_account"


class AlreadyJoined(Conflict):
    code = "already_joined"


class LinkUnusable(NotFound):
    """The link is not (or no longer) one that sets a password; ``state`` says why."""

    code = "invitation_unusable"

    def __init__(self, state: LinkState) -> None:
        super().__init__(f"this link is {state}")
        self.state = state


@dataclass(frozen=True, slots=True)
class Invited:
    operator: OperatorRecord
    token: str  # shown once to whoever made it; never stored
    expires_at: datetime

    @property
    def path(self) -> str:
        return JOIN_PATH + self.token


@dataclass(frozen=True, slots=True)
class Deactivated:
    operator: OperatorRecord
    #: The conversations that were assigned to them and now are not, for the caller
    #: to announce (a capability of this layer may not import another's).
    unassigned: tuple[str, ...]


def display_name(text: str) -> str:
    """A display name as typed, checked: what a user reads beside a reply."""
    name = text.strip()
    if not name:
        raise InvalidOperator("a display name is required")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidOperator(f"a display name has at most {MAX_NAME_CHARS} characters")
    # isprintable() is False for NUL and other controls, lone surrogates (which no
    # database text column can store) and line or paragraph separators.
    if not name.isprintable():
        raise InvalidOperator("a display name has no control or unpaired characters")
    return name


def role_of(text: str) -> Role:
    if text == "owner":
        return "owner"
    if text == "agent":
        return "agent"
    raise InvalidOperator(f"role must be one of {', '.join(operators.ROLES)}")


def _new_link_token() -> str:
    return f"csi_{secrets.token_urlsafe(32)}"


def _digest(token: str) -> str | None:
    """The stored digest of a presented token, or ``None`` for text no link can be
    (garbled, truncated, 10 kB): not worth a query."""
    return token_digest(token) if _LINK_TOKEN.fullmatch(token) else None


def _audit(
    connection: Connection,
    actor: OperatorRecord | None,
    action: str,
    target: str,
    *,
    now: datetime,
    client_ip: str | None,
) -> None:
    operators.record_audit(
        connection,
        actor or _command_line(now),
        action,
        app_id=None,
        target=target,
        client_ip=client_ip,
        now=now,
    )


def _command_line(now: datetime) -> OperatorRecord:
    # What the audit trail names when a change came from `countersign operators`:
    # whoever runs it has the server's machine, not a dashboard account.
    return OperatorRecord("cli", "command line", "command line", "owner", now, None)


# Invitations ---------------------------------------------------------------------


def invite_operator(
    connection: Connection,
    *,
    actor: OperatorRecord | None,
    email: str,
    role: str,
    name: str,
    ttl: timedelta,
    now: datetime,
    client_ip: str | None = None,
) -> Invited:
    """A new operator without a password, and the one-time link that sets it."""
    record = operators.create_operator(
        connection,
        email=email,
        password_hash=operators.NO_PASSWORD,
        role=role_of(role),
        name=display_name(name),
        now=now,
    )
    _audit(connection, actor, "operator.invited", record.id, now=now, client_ip=client_ip)
    return _issue(connection, actor, record, ttl, now)


def renew_link(
    connection: Connection,
    *,
    actor: OperatorRecord | None,
    operator_id: str,
    ttl: timedelta,
    now: datetime,
    client_ip: str | None = None,
) -> Invited:
    """A fresh link for an invited operator who has not used theirs (lost, expired);
    the older links stop working. Only while they have no password: a link never
    replaces the password of someone who already chose one."""
    record = operators.get_operator(connection, operator_id)
    if not record.invited or not record.active:
        raise AlreadyJoined(f"{record.email} has already chosen a password")
    _audit(connection, actor, "operator.link_renewed", record.id, now=now, client_ip=client_ip)
    return _issue(connection, actor, record, ttl, now)


def _issue(
    connection: Connection,
    actor: OperatorRecord | None,
    record: OperatorRecord,
    ttl: timedelta,
    now: datetime,
) -> Invited:
    token = _new_link_token()
    invitations.create_invitation(
        connection,
        token_digest=token_digest(token),
        operator_id=record.id,
        invited_by=actor.id if actor else None,
        now=now,
        ttl=ttl,
    )
    return Invited(record, token, now + ttl)


def check_link(connection: Connection, token: str, now: datetime) -> InvitationRecord | None:
    """What a presented link is (``state``), or ``None`` for a link that never was."""
    digest = _digest(token)
    return None if digest is None else invitations.find_invitation(connection, digest, now)


def accept_link(
    connection: Connection,
    token: str,
    password_hash: str,
    *,
    now: datetime,
    client_ip: str | None = None,
) -> OperatorRecord:
    """Spend the link and give its operator ``password_hash`` (checked by
    :func:`.passwords.check_strength` and hashed by the caller). :class:`LinkUnusable`
    when it is not a valid link any more: used, expired, revoked or unknown."""
    digest = _digest(token)
    operator_id = None if digest is None else invitations.use_invitation(connection, digest, now)
    if digest is None or operator_id is None:
        found = None if digest is None else invitations.find_invitation(connection, digest, now)
        raise LinkUnusable(found.state if found else "unknown")
    record = operators.get_operator(connection, operator_id)
    # Deactivation revokes the links, and a link never replaces a password chosen
    # another way; a race with either can still get here.
    if not record.active or not record.invited:
        raise LinkUnusable("revoked")
    operators.update_password_hash(connection, record.id, password_hash)
    operators.revoke_operator_sessions(connection, record.id, now)
    _audit(connection, record, "operator.joined", record.id, now=now, client_ip=client_ip)
    return operators.get_operator(connection, record.id)


# Names and roles -----------------------------------------------------------------


def rename_operator(
    connection: Connection,
    *,
    actor: OperatorRecord | None,
    operator_id: str,
    name: str,
    now: datetime,
    client_ip: str | None = None,
) -> OperatorRecord:
    record = operators.get_operator(connection, operator_id)
    new_name = display_name(name)
    if new_name != record.name:
        operators.set_name(connection, record.id, new_name)
        _audit(connection, actor, "operator.renamed", record.id, now=now, client_ip=client_ip)
    return operators.get_operator(connection, record.id)


def change_role(
    connection: Connection,
    *,
    actor: OperatorRecord | None,
    operator_id: str,
    role: str,
    now: datetime,
    client_ip: str | None = None,
) -> OperatorRecord:
    record = operators.get_operator(connection, operator_id)
    new_role = role_of(role)
    if new_role == record.role:
        return record
    if record.is_owner:
        _keep_an_owner(connection, record.id, "demote")
    operators.set_role(connection, record.id, new_role)
    _audit(connection, actor, "operator.role_changed", record.id, now=now, client_ip=client_ip)
    return operators.get_operator(connection, record.id)


def _keep_an_owner(connection: Connection, leaving_id: str, verb: str) -> None:
    if not set(operators.active_owner_ids(connection)) - {leaving_id}:
        raise LastOwner(
            f"you cannot {verb} the last active owner: make another operator an owner first"
        )


# Deactivation --------------------------------------------------------------------


def _unassign_conversations(connection: Connection, operator_id: str, now: datetime) -> list[str]:
    """The conversations assigned to ``operator_id``, made unassigned; their ids.

    Announcing the change (``conversation.updated``, ``conversation.assigned``) is for
    the caller, which gets the ids in :attr:`Deactivated.unassigned` and hands them to
    ``countersign.team.announce_unassigned`` (this package may not import that one).
    """
    del now
    return team_conversations.unassign_operator(connection, operator_id)


def deactivate_operator(
    connection: Connection,
    *,
    actor: OperatorRecord | None,
    operator_id: str,
    now: datetime,
    client_ip: str | None = None,
) -> Deactivated:
    """Keep ``operator_id`` out from now on: their sessions and unused links end in
    this transaction, and their conversations become unassigned."""
    record = operators.get_operator(connection, operator_id)
    if actor is not None and actor.id == record.id:
        raise OwnAccount("you cannot deactivate yourself: ask another owner")
    if not record.active:
        return Deactivated(record, ())
    if record.is_owner:
        _keep_an_owner(connection, record.id, "deactivate")
    operators.set_deactivated(connection, record.id, now)
    operators.revoke_operator_sessions(connection, record.id, now)
    invitations.revoke_invitations(connection, record.id, now)
    unassigned = _unassign_conversations(connection, record.id, now)
    _audit(connection, actor, "operator.deactivated", record.id, now=now, client_ip=client_ip)
    return Deactivated(operators.get_operator(connection, record.id), tuple(unassigned))


def reactivate_operator(
    connection: Connection,
    *,
    actor: OperatorRecord | None,
    operator_id: str,
    now: datetime,
    client_ip: str | None = None,
) -> OperatorRecord:
    """Let a deactivated operator log in again with their password (an invited one
    who never chose one needs a new link: :func:`renew_link`)."""
    record = operators.get_operator(connection, operator_id)
    if record.active:
        return record
    operators.set_deactivated(connection, record.id, None)
    _audit(connection, actor, "operator.reactivated", record.id, now=now, client_ip=client_ip)
    return operators.get_operator(connection, record.id)
