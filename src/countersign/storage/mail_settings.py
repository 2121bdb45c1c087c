"""An app's email settings: its ``email_delay`` and the key of its inbound webhook.

The inbound key is shown once and stored as its SHA-256 (as server API keys are); a
new key replaces the old one at once.
"""

from __future__ import annotations

import secrets
from typing import Final

from sqlalchemy import Connection, select, update

from ..vocabulary.ids import token_digest
from .apps import get_app
from .errors import Invalid
from .models import App, Operator

MAX_EMAIL_DELAY: Final = 7 * 24 * 3600


class InvalidMailSetting(Invalid):
    code = "invalid_mail_setting"


def email_delay_of(connection: Connection, app_id: str) -> int:
    get_app(connection, app_id)
    return int(connection.execute(select(App.email_delay).where(App.id == app_id)).scalar_one())


def set_email_delay(connection: Connection, app_id: str, seconds: int) -> int:
    get_app(connection, app_id)
    if not 0 <= seconds <= MAX_EMAIL_DELAY:
        raise InvalidMailSetting(f"email_delay must be between 0 and {MAX_EMAIL_DELAY} seconds")
    connection.execute(update(App).where(App.id == app_id).values(email_delay=seconds))
    return seconds


def new_inbound_key(connection: Connection, app_id: str) -> str:
    """A new inbound key for ``app_id`` (the old one stops working); shown only now."""
    get_app(connection, app_id)
    key = f"csi_{secrets.token_urlsafe(32)}"
    connection.execute(
        update(App).where(App.id == app_id).values(inbound_key_hash=token_digest(key))
    )
    return key


def app_for_inbound_key(connection: Connection, key: str) -> str | None:
    found = connection.execute(
        select(App.id).where(App.inbound_key_hash == token_digest(key))
    ).scalar_one_or_none()
    return None if found is None else str(found)


def operator_wants_mail(connection: Connection, operator_id: str) -> bool:
    found = connection.execute(
        select(Operator.email_notifications).where(Operator.id == operator_id)
    ).scalar_one_or_none()
    return bool(found)


def set_operator_mail(connection: Connection, operator_id: str, on: bool) -> None:
    """An operator's own switch for their email (SPEC 12)."""
    connection.execute(
        update(Operator).where(Operator.id == operator_id).values(email_notifications=on)
    )
