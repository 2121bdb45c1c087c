"""``countersign users revoke APP USER_ID``: one user's leaked credentials, revoked.

Every session of the user ends (its streams close on every node within about a
second: nodes see the app's config version change), their static hash is refused
from then on, and only tokens issued after now verify. No secret is rotated.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import Connection

from ..core import InvalidIdentifier, identifier_text
from ..storage import operators, revoked_users
from ..vocabulary.clock import utcnow
from .options import database_options, emit, json_option, open_cli_backend


@click.group("users")
def users_group() -> None:
    """Users of an app: revoke one user's credentials."""


@users_group.command("revoke")
@database_options
@json_option
@click.argument("app_id", metavar="APP")
@click.argument("user_id")
def revoke_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str, user_id: str
) -> None:
    """Revoke USER_ID of APP: end their sessions everywhere, refuse their hash and any
    token issued before now."""
    try:
        user = identifier_text(user_id)
    except InvalidIdentifier as error:
        raise click.UsageError(str(error)) from None
    now = utcnow()

    def revoke(connection: Connection) -> revoked_users.Revoked:
        revoked = revoked_users.revoke(connection, app_id, user, now)
        operators.record_system_audit(
            connection, "command line", "user.revoked", app_id=app_id, target=user, now=now
        )
        return revoked

    with open_cli_backend(data_dir, database_url) as backend:
        revoked = backend.database.run_sync(revoke)
    text = (
        f"Revoked {user} of {app_id}: {len(revoked.ended)} session(s) ended. Their hash is "
        "refused from now on; only tokens issued after now verify."
    )
    emit(revoked.as_dict(), as_json=as_json, text=text)
