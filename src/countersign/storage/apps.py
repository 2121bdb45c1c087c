"""Apps, their identity policy, identity secrets and server API keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from sqlalchemy import Connection, func, insert, select, update

from ..core import KeyRing, RingKey, Secret
from ..vocabulary.clock import utcnow
from ..vocabulary.ids import new_api_key, new_id, new_identity_secret, token_digest, well_formed_id
from .encryption import SecretBox
from .errors import Invalid, NotFound
from .models import ApiKey, App, IdentitySecret

IdentityMode = Literal["off", "report", "required"]
OnMismatch = Literal["reject", "anonymous"]
IdentifierKind = Literal["user_id", "email"]

IDENTITY_MODES: Final = ("off", "report", "required")
ON_MISMATCH: Final = ("reject", "anonymous")
IDENTIFIER_KINDS: Final = ("user_id", "email")
MAX_METADATA_CHARS_LIMIT: Final = 100_000


class AppNotFound(NotFound):
    code = "app_not_found"


class SecretNotFound(NotFound):
    code = "secret_not_found"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class InvalidPolicy(Invalid):
    code = "invalid_policy"


@dataclass(frozen=True, slots=True)
class AppRecord:
    id: str
    name: str
    identity_mode: IdentityMode
    on_mismatch: OnMismatch
    identifier: IdentifierKind
    max_metadata_chars: int
    allowed_origins: tuple[str, ...]
    config_version: int
    created_at: datetime
    allow_anonymous: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "app_id": self.id,
            "name": self.name,
            "identity_mode": self.identity_mode,
            "on_mismatch": self.on_mismatch,
            "identifier": self.identifier,
            "max_metadata_chars": self.max_metadata_chars,
            "allowed_origins": list(self.allowed_origins),
            "allow_anonymous": self.allow_anonymous,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class SecretRecord:
    """An identity secret's bookkeeping; the secret itself only via :func:`reveal_secret`."""

    id: str
    app_id: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    use_count: int

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "id": self.id,
            "app_id": self.app_id,
            "active": self.is_active(now or utcnow()),
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "last_used_at": iso(self.last_used_at),
            "use_count": self.use_count,
        }


@dataclass(frozen=True, slots=True)
class CreatedApp:
    """What ``apps create`` prints once: the secret and API key are not shown again."""

    app: AppRecord
    secret_id: str
    secret: str
    api_key_id: str
    api_key: str


def _app_record(row: Any) -> AppRecord:
    return AppRecord(
        id=row.id,
        name=row.name,
        identity_mode=row.identity_mode,
        on_mismatch=row.on_mismatch,
        identifier=row.identifier,
        max_metadata_chars=row.max_metadata_chars,
        allowed_origins=tuple(row.allowed_origins or ()),
        config_version=row.config_version,
        created_at=row.created_at,
        allow_anonymous=bool(row.allow_anonymous),
    )


def _secret_record(row: Any) -> SecretRecord:
    return SecretRecord(
        id=row.id,
        app_id=row.app_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        use_count=row.use_count,
    )


def create_app(connection: Connection, box: SecretBox, name: str) -> CreatedApp:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidPolicy("an app name is 1 to 200 characters")
    app_id = new_id("app", 9)
    connection.execute(
        insert(App).values(
            id=app_id,
            name=name,
            identity_mode="required",
            on_mismatch="reject",
            identifier="user_id",
            max_metadata_chars=1000,
            allowed_origins=[],
            config_version=1,
            created_at=utcnow(),
        )
    )
    secret_id, secret = create_secret(connection, box, app_id)
    api_key_id, api_key = create_api_key(connection, app_id)
    return CreatedApp(get_app(connection, app_id), secret_id, secret, api_key_id, api_key)


def is_app_id(text: str) -> bool:
    """Whether ``text`` has the form of an app id (``app_`` and base64url, as
    :func:`create_app` makes them): any other names no app, without a query."""
    return well_formed_id(text, "app")


def get_app(connection: Connection, app_id: str) -> AppRecord:
    if not is_app_id(app_id):
        raise AppNotFound(f"no app {app_id[:60]!r}")
    row = connection.execute(select(App).where(App.id == app_id)).one_or_none()
    if row is None:
        raise AppNotFound(f"no app {app_id!r}")
    return _app_record(row)


def list_apps(connection: Connection) -> list[AppRecord]:
    rows = connection.execute(select(App).order_by(App.created_at, App.id))
    return [_app_record(row) for row in rows]


def config_versions(connection: Connection) -> dict[str, int]:
    """Every app's config version: what nodes poll to drop stale cached apps."""
    rows = connection.execute(select(App.id, App.config_version))
    return {row.id: row.config_version for row in rows}


def bump_config(connection: Connection, app_id: str) -> None:
    """Every node drops its cached copy of the app within a second (``config_version``)."""
    _bump(connection, app_id)


def _bump(connection: Connection, app_id: str) -> None:
    connection.execute(
        update(App).where(App.id == app_id).values(config_version=App.config_version + 1)
    )


def validate_origin(origin: str) -> str:
    """``scheme://host[:port]`` exactly as a browser sends it in ``Origin``."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidPolicy(f"{origin!r} is not an origin like https://example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidPolicy(f"{origin!r} is not an origin: drop the path, query and user")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def update_policy(connection: Connection, app_id: str, **changes: Any) -> AppRecord:
    """Change the identity policy; unknown or invalid values raise :class:`InvalidPolicy`."""
    get_app(connection, app_id)
    values: dict[str, Any] = {}
    choices: Mapping[str, tuple[str, ...]] = {
        "identity_mode": IDENTITY_MODES,
        "on_mismatch": ON_MISMATCH,
        "identifier": IDENTIFIER_KINDS,
    }
    for name, value in changes.items():
        if value is None:
            continue
        if name in choices:
            if value not in choices[name]:
                raise InvalidPolicy(f"{name} must be one of {', '.join(choices[name])}")
            values[name] = value
        elif name == "max_metadata_chars":
            if not isinstance(value, int) or not 0 <= value <= MAX_METADATA_CHARS_LIMIT:
                raise InvalidPolicy(
                    f"max_metadata_chars must be between 0 and {MAX_METADATA_CHARS_LIMIT}"
                )
            values[name] = value
        elif name == "allow_anonymous":
            if not isinstance(value, bool):
                raise InvalidPolicy("allow_anonymous must be true or false")
            values[name] = value
        elif name == "allowed_origins":
            values[name] = sorted({validate_origin(origin) for origin in value})
        elif name == "name":
            values[name] = str(value).strip()[:200]
        else:
            raise InvalidPolicy(f"unknown setting {name!r}")
    if values:
        connection.execute(update(App).where(App.id == app_id).values(**values))
        _bump(connection, app_id)
    return get_app(connection, app_id)


def create_secret(
    connection: Connection,
    box: SecretBox,
    app_id: str,
    *,
    expires_at: datetime | None = None,
) -> tuple[str, str]:
    """A new identity secret for ``app_id``: its id and its value (shown to the caller)."""
    get_app(connection, app_id)
    secret_id = new_id("sec", 9)
    secret = new_identity_secret()
    connection.execute(
        insert(IdentitySecret).values(
            id=secret_id,
            app_id=app_id,
            ciphertext=box.seal(Secret(secret), secret_id),
            created_at=utcnow(),
            expires_at=expires_at,
            use_count=0,
        )
    )
    _bump(connection, app_id)
    return secret_id, secret


def list_secrets(connection: Connection, app_id: str) -> list[SecretRecord]:
    get_app(connection, app_id)
    rows = connection.execute(
        select(IdentitySecret)
        .where(IdentitySecret.app_id == app_id)
        .order_by(IdentitySecret.created_at, IdentitySecret.id)
    )
    return [_secret_record(row) for row in rows]


def reveal_secret(connection: Connection, box: SecretBox, app_id: str, secret_id: str) -> Secret:
    if not well_formed_id(secret_id, "sec"):
        raise SecretNotFound(f"app {app_id!r} has no secret {secret_id[:60]!r}")
    row = connection.execute(
        select(IdentitySecret.ciphertext).where(
            IdentitySecret.app_id == app_id, IdentitySecret.id == secret_id
        )
    ).one_or_none()
    if row is None:
        raise SecretNotFound(f"app {app_id!r} has no secret {secret_id!r}")
    return box.open(row.ciphertext, secret_id)


def revoke_secret(connection: Connection, app_id: str, secret_id: str) -> SecretRecord:
    """Revoke a secret; nodes drop it within a second. The sessions it verified end at
    once: a session is checked against its secret on every request."""
    if not well_formed_id(secret_id, "sec"):
        get_app(connection, app_id)
        raise SecretNotFound(f"app {app_id!r} has no secret {secret_id[:60]!r}")
    now = utcnow()
    result = connection.execute(
        update(IdentitySecret)
        .where(
            IdentitySecret.app_id == app_id,
            IdentitySecret.id == secret_id,
            IdentitySecret.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    if result.rowcount == 0:
        get_app(connection, app_id)
        if not any(record.id == secret_id for record in list_secrets(connection, app_id)):
            raise SecretNotFound(f"app {app_id!r} has no secret {secret_id!r}")
    _bump(connection, app_id)
    return next(record for record in list_secrets(connection, app_id) if record.id == secret_id)


def load_keyring(connection: Connection, box: SecretBox, app_id: str) -> KeyRing:
    """The app's active secrets (newest signs) and revoked or expired ones (diagnosis)."""
    now = utcnow()
    active: list[RingKey] = []
    retired: list[RingKey] = []
    rows = connection.execute(select(IdentitySecret).where(IdentitySecret.app_id == app_id)).all()
    for row in rows:
        key = RingKey(row.id, box.open(row.ciphertext, row.id), row.created_at)
        (active if _secret_record(row).is_active(now) else retired).append(key)
    return KeyRing(active, revoked=retired)


def record_secret_usage(connection: Connection, usage: Mapping[str, tuple[int, datetime]]) -> None:
    """Add batched use counts and last-used times (one write per secret per flush)."""
    for secret_id, (count, last_used) in usage.items():
        connection.execute(
            update(IdentitySecret)
            .where(IdentitySecret.id == secret_id)
            .values(
                use_count=IdentitySecret.use_count + count,
                last_used_at=func.coalesce(
                    func.max(IdentitySecret.last_used_at, last_used)
                    if connection.dialect.name == "sqlite"
                    else func.greatest(IdentitySecret.last_used_at, last_used),
                    last_used,
                ),
            )
        )


def create_api_key(connection: Connection, app_id: str) -> tuple[str, str]:
    """A new server API key: its id and the key itself, which is never stored."""
    get_app(connection, app_id)
    key = new_api_key()
    key_id = new_id("key", 9)
    connection.execute(
        insert(ApiKey).values(
            id=key_id,
            app_id=app_id,
            key_hash=token_digest(key),
            prefix=key[:8],
            created_at=utcnow(),
        )
    )
    return key_id, key


def list_api_keys(connection: Connection, app_id: str) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(ApiKey).where(ApiKey.app_id == app_id).order_by(ApiKey.created_at)
    )
    return [
        {
            "id": row.id,
            "prefix": row.prefix,
            "created_at": row.created_at.isoformat(),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        }
        for row in rows
    ]


def revoke_api_key(connection: Connection, app_id: str, key_id: str) -> None:
    if not well_formed_id(key_id, "key"):
        get_app(connection, app_id)
        raise ApiKeyNotFound(f"app {app_id!r} has no active API key {key_id[:60]!r}")
    result = connection.execute(
        update(ApiKey)
        .where(ApiKey.app_id == app_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount == 0:
        get_app(connection, app_id)
        raise ApiKeyNotFound(f"app {app_id!r} has no active API key {key_id!r}")


def app_for_api_key(connection: Connection, key: str) -> str | None:
    """The app an API key belongs to, if it is a live key."""
    row = connection.execute(
        select(ApiKey.app_id).where(
            ApiKey.key_hash == token_digest(key), ApiKey.revoked_at.is_(None)
        )
    ).one_or_none()
    return None if row is None else str(row.app_id)
