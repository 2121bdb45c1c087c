"""``countersign verify-token --app APP TOKEN``: what identify would make of a token.

It prints the token's header and claims as sent (decoded, not trusted), then the
verdict against the app's current secrets, public keys and revoked users: ``valid``,
or the SPEC 15 diagnosis code with its one-line fix. Exit 0 when valid, 1 when not.
The token is a user's credential: it is read from the argument (or ``-`` for stdin)
and never printed back whole.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from ..core import TokenError, token_fix, verify_identity_token
from ..core.tokens import MAX_TOKEN_CHARS
from ..storage import apps, public_keys, revoked_users
from ..vocabulary.clock import utcnow
from .options import database_options, emit, json_option, open_cli_backend

#: As identify: a token lives at most this long past its iat.
MAX_TOKEN_LIFETIME = timedelta(days=30)


def _segment(token: str, index: int) -> Any:
    """A part of the compact JWT decoded for display, or None when it is not JSON."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError):
        return None


@click.command("verify-token")
@database_options
@json_option
@click.option("--app", "app_id", required=True, metavar="APP", help="The app the token is for.")
@click.argument("user_jwt", metavar="TOKEN")
def verify_token_command(
    data_dir: Path | None, database_url: str | None, as_json: bool, app_id: str, user_jwt: str
) -> None:
    """Decode TOKEN (a user_jwt; - reads stdin) and verify it as APP's identify would."""
    token = sys.stdin.read().strip() if user_jwt == "-" else user_jwt

    def load(connection: Connection) -> Any:
        record = apps.get_app(connection, app_id)
        ring = apps.load_keyring(connection, backend.box, app_id)
        keys, _ = public_keys.load_key_set(connection, app_id)
        return record, ring, keys, revoked_users.revoked_users(connection, app_id)

    with open_cli_backend(data_dir, database_url) as backend:
        record, ring, keys, revoked = backend.database.run_sync(load)
    header, claims = _segment(token, 0), _segment(token, 1)
    code, message, key_id = "ok", "the token verifies", None
    try:
        verified = verify_identity_token(
            token,
            ring,
            now=utcnow(),
            audience=record.id,
            max_lifetime=MAX_TOKEN_LIFETIME,
            public_keys=keys,
        )
        key_id = verified.key_id
        revoked_at = revoked.get(verified.user_id) if verified.user_id else None
        if revoked_at is not None and (
            verified.issued_at is None or verified.issued_at <= revoked_at
        ):
            code = "user_revoked"
            message = f"user {verified.user_id!r} was revoked after this token was issued"
    except TokenError as error:
        code, message = error.code, str(error)
    document = {
        "valid": code == "ok",
        "code": code,
        "message": message,
        "fix": token_fix(code),
        "key_id": key_id,
        "header": header,
        "claims": claims,
    }
    lines = [
        "header  " + json.dumps(header, ensure_ascii=False),
        "claims  " + json.dumps(claims, ensure_ascii=False),
        f"valid (key {key_id})" if code == "ok" else f"invalid: {code}: {message}",
    ]
    if code != "ok":
        lines.append(f"fix: {token_fix(code)}")
    emit(document, as_json=as_json, text="\n".join(lines))
    sys.exit(0 if code == "ok" else 1)
