"""Revoking one user (SPEC 15), as the server API and the dashboard both do it: the
revocation, its audit entry and log line in one transaction, then the user's
sessions ended on every node (this node's streams before it returns)."""

from __future__ import annotations

from sqlalchemy import Connection

from ..storage import operators, revoked_users
from ..storage.operators import OperatorRecord
from ..vocabulary.clock import utcnow
from .state import ServerState


async def revoke_user(
    state: ServerState,
    app_id: str,
    user_id: str,
    *,
    actor: str | OperatorRecord,
    client_ip: str | None = None,
) -> revoked_users.Revoked:
    now = utcnow()

    def revoke(connection: Connection) -> revoked_users.Revoked:
        revoked = revoked_users.revoke(connection, app_id, user_id, now)
        if isinstance(actor, OperatorRecord):
            operators.record_audit(
                connection,
                actor,
                "user.revoked",
                app_id=app_id,
                target=user_id,
                client_ip=client_ip,
                now=now,
            )
        else:
            operators.record_system_audit(
                connection, actor, "user.revoked", app_id=app_id, target=user_id, now=now
            )
        return revoked

    revoked = await state.backend.database.run(revoke)
    state.directory.secrets_changed(app_id)  # in force here now, on other nodes within 1 s
    await state.broker.end_sessions(revoked.ended)  # their streams close on every node
    return revoked
