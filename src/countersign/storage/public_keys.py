"""An app's public keys and JWKS URLs: add, list, revoke, load as a key set, usage.

Only public keys are ever stored (``core.public_keys`` refuses anything with private
members before it reaches this module). A JWKS URL is a row too; the document fetched
from it lives in ``jwks_cache`` (fetching is the server's and the CLI's, through the
outbound guard: storage does no network). Every change bumps the app's config version,
so every node reloads the app within a second.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import Connection, Table, func, insert, select, update

from ..core import InvalidPublicKey, PublicKey, PublicKeySet, parse_jwk, parse_jwks
from ..vocabulary.clock import utcnow
from ..vocabulary.ids import new_id, well_formed_id
from .apps import bump_config, get_app
from .errors import Conflict, Invalid, NotFound
from .models import JwksCache, PublicKeyRecord

log = logging.getLogger("countersign.storage")
_keys = cast(Table, PublicKeyRecord.__table__)

SOURCES: Final = ("inline", "jwks_url")
MAX_SOURCES_PER_APP: Final = 50
#: A JWKS URL is fetched again at most this often, by all nodes together.
JWKS_MIN_INTERVAL: Final = timedelta(minutes=1)


class PublicKeyNotFound(NotFound):
    code = "public_key_not_found"


class PublicKeyConflict(Conflict):
    code = "public_key_exists"


class InvalidKey(Invalid):
    code = "invalid_public_key"


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    """A key's bookkeeping (its public JWK is public: it may be shown)."""

    id: str
    app_id: str
    source: str
    kid: str | None
    alg: str | None
    jwks_url: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    use_count: int
    public_jwk: dict[str, Any] | None = None
    jwks_kids: tuple[str, ...] = ()
    jwks_fetched_at: datetime | None = None
    jwks_error: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        document: dict[str, Any] = {
            "id": self.id,
            "app_id": self.app_id,
            "source": self.source,
            "kid": self.kid,
            "alg": self.alg,
            "active": self.active,
            "created_at": iso(self.created_at),
            "revoked_at": iso(self.revoked_at),
            "last_used_at": iso(self.last_used_at),
            "use_count": self.use_count,
        }
        if self.source == "inline":
            document["public_jwk"] = self.public_jwk
        else:
            document["jwks_url"] = self.jwks_url
            document["jwks_kids"] = list(self.jwks_kids)
            document["jwks_fetched_at"] = iso(self.jwks_fetched_at)
            document["jwks_error"] = self.jwks_error
        return document


def _count_sources(connection: Connection, app_id: str) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(PublicKeyRecord)
            .where(PublicKeyRecord.app_id == app_id, PublicKeyRecord.revoked_at.is_(None))
        ).scalar_one()
    )


def add_key(connection: Connection, app_id: str, key: PublicKey) -> PublicKeyInfo:
    """Register a parsed public key; a second active key with the same kid is refused."""
    get_app(connection, app_id)
    if _count_sources(connection, app_id) >= MAX_SOURCES_PER_APP:
        raise InvalidKey(f"an app holds at most {MAX_SOURCES_PER_APP} active keys; revoke one")
    taken = connection.execute(
        select(PublicKeyRecord.id).where(
            PublicKeyRecord.app_id == app_id,
            PublicKeyRecord.kid == key.kid,
            PublicKeyRecord.revoked_at.is_(None),
        )
    ).first()
    if taken is not None:
        raise PublicKeyConflict(f"app {app_id!r} already has an active key with kid {key.kid!r}")
    key_id = new_id("pub", 9)
    connection.execute(
        insert(PublicKeyRecord).values(
            id=key_id,
            app_id=app_id,
            source="inline",
            allow_private_network=False,
            kid=key.kid,
            alg=key.alg,
            public_jwk=json.dumps(dict(key.jwk), sort_keys=True),
            created_at=utcnow(),
            use_count=0,
        )
    )
    bump_config(connection, app_id)
    return get_key(connection, app_id, key_id)


def add_jwks_url(
    connection: Connection,
    app_id: str,
    url: str,
    document: str | None,
    now: datetime,
    *,
    allow_private_network: bool = False,
) -> PublicKeyInfo:
    """Register a JWKS URL (already checked by the outbound guard) with its first
    document, fetched by the caller; ``None`` when that fetch failed (kept as an error
    and retried on the first unknown kid)."""
    get_app(connection, app_id)
    if _count_sources(connection, app_id) >= MAX_SOURCES_PER_APP:
        raise InvalidKey(f"an app holds at most {MAX_SOURCES_PER_APP} active keys; revoke one")
    if document is not None:
        try:
            parse_jwks(document)
        except InvalidPublicKey as error:
            raise InvalidKey(str(error)) from None
    key_id = new_id("pub", 9)
    connection.execute(
        insert(PublicKeyRecord).values(
            id=key_id,
            app_id=app_id,
            source="jwks_url",
            jwks_url=url,
            allow_private_network=allow_private_network,
            created_at=now,
            use_count=0,
        )
    )
    connection.execute(
        insert(JwksCache).values(
            source_id=key_id,
            app_id=app_id,
            document=document,
            fetched_at=now if document is not None else None,
            attempted_at=now,
            error=None if document is not None else "the first fetch failed",
        )
    )
    bump_config(connection, app_id)
    return get_key(connection, app_id, key_id)


def list_keys(connection: Connection, app_id: str) -> list[PublicKeyInfo]:
    get_app(connection, app_id)
    rows = connection.execute(
        select(_keys, JwksCache.document, JwksCache.fetched_at, JwksCache.error)
        .outerjoin(JwksCache, JwksCache.source_id == PublicKeyRecord.id)
        .where(PublicKeyRecord.app_id == app_id)
        .order_by(PublicKeyRecord.created_at, PublicKeyRecord.id)
    ).all()
    return [_info(row) for row in rows]


def _info(row: Any) -> PublicKeyInfo:
    record = row
    kids: tuple[str, ...] = ()
    if row.document:
        kids = tuple(key.kid for key in _parsed_jwks(row.document, record.id))
    return PublicKeyInfo(
        id=record.id,
        app_id=record.app_id,
        source=record.source,
        kid=record.kid,
        alg=record.alg,
        jwks_url=record.jwks_url,
        created_at=record.created_at,
        revoked_at=record.revoked_at,
        last_used_at=record.last_used_at,
        use_count=record.use_count,
        public_jwk=json.loads(record.public_jwk) if record.public_jwk else None,
        jwks_kids=kids,
        jwks_fetched_at=row.fetched_at,
        jwks_error=row.error,
    )


def get_key(connection: Connection, app_id: str, key: str) -> PublicKeyInfo:
    """A key by its id (``pub_…``) or by the kid of an inline key (the newest)."""
    found = [
        info
        for info in list_keys(connection, app_id)
        if info.id == key or (info.source == "inline" and info.kid == key)
    ]
    if not found:
        raise PublicKeyNotFound(f"app {app_id!r} has no public key {key[:70]!r}")
    active = [info for info in found if info.active]
    return (active or found)[-1]


def revoke_key(connection: Connection, app_id: str, key: str) -> PublicKeyInfo:
    """Revoke a key (or a JWKS URL and every key it published): tokens it signed stop
    verifying, and the sessions it verified end (a session names its key)."""
    info = get_key(connection, app_id, key)
    if info.active:
        connection.execute(
            update(PublicKeyRecord)
            .where(PublicKeyRecord.id == info.id, PublicKeyRecord.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        bump_config(connection, app_id)
    return get_key(connection, app_id, info.id)


@dataclass(frozen=True, slots=True)
class JwksSource:
    id: str
    url: str
    fetched_at: datetime | None
    attempted_at: datetime | None
    allow_private_network: bool = False


def load_key_set(connection: Connection, app_id: str) -> tuple[PublicKeySet, list[JwksSource]]:
    """The app's verifying keys (inline and every cached JWKS), the kids of revoked
    ones (for ``token_revoked_key``), and its active JWKS sources (to refresh)."""
    active: list[PublicKey] = []
    revoked: list[str] = []
    sources: list[JwksSource] = []
    rows = connection.execute(
        select(_keys, JwksCache.document, JwksCache.fetched_at, JwksCache.attempted_at)
        .outerjoin(JwksCache, JwksCache.source_id == PublicKeyRecord.id)
        .where(PublicKeyRecord.app_id == app_id)
        .order_by(PublicKeyRecord.created_at)
    ).all()
    for row in rows:
        record = row
        if record.source == "inline" and record.public_jwk:
            try:
                keys = [parse_jwk(record.public_jwk, key_id=record.id)]
            except InvalidPublicKey:  # stored before a rule tightened: it verifies nothing
                log.warning("public key %s of app %s no longer parses", record.id, app_id)
                keys = []
        else:
            keys = _parsed_jwks(row.document, record.id) if row.document else []
            if record.revoked_at is None:
                sources.append(
                    JwksSource(
                        record.id,
                        record.jwks_url or "",
                        row.fetched_at,
                        row.attempted_at,
                        bool(record.allow_private_network),
                    )
                )
        if record.revoked_at is None:
            active.extend(keys)
        else:
            revoked.extend(key.kid for key in keys)
    return PublicKeySet(active, revoked=revoked), sources


def _parsed_jwks(document: str, source_id: str) -> list[PublicKey]:
    try:
        return parse_jwks(document, key_id=source_id)
    except InvalidPublicKey:
        log.warning("the cached JWKS of key source %s no longer parses", source_id)
        return []


def save_jwks(
    connection: Connection,
    source_id: str,
    document: str | None,
    error: str | None,
    now: datetime,
) -> None:
    """Record a fetch: a good document replaces the cached one; a failure keeps it and
    notes the error and the attempt (which paces the next one)."""
    values: dict[str, Any] = {"attempted_at": now, "error": error[:500] if error else None}
    if document is not None:
        values.update(document=document, fetched_at=now)
    connection.execute(update(JwksCache).where(JwksCache.source_id == source_id).values(**values))
    if document is not None:
        row = connection.execute(
            select(PublicKeyRecord.app_id).where(PublicKeyRecord.id == source_id)
        ).one_or_none()
        if row is not None:
            bump_config(connection, row.app_id)


def mark_attempt(connection: Connection, source_id: str, now: datetime) -> bool:
    """Claim the right to fetch ``source_id`` now: False when any node attempted it in
    the last minute (the refresh rate of SPEC 15, shared by every node)."""
    result = connection.execute(
        update(JwksCache)
        .where(
            JwksCache.source_id == source_id,
            (JwksCache.attempted_at.is_(None))
            | (JwksCache.attempted_at <= now - JWKS_MIN_INTERVAL),
        )
        .values(attempted_at=now)
    )
    return bool(result.rowcount)


def record_usage(connection: Connection, usage: Mapping[str, tuple[int, datetime]]) -> None:
    """Add batched use counts and last-used times of public keys (``pub_…`` ids)."""
    for key_id, (count, last_used) in usage.items():
        connection.execute(
            update(PublicKeyRecord)
            .where(PublicKeyRecord.id == key_id)
            .values(
                use_count=PublicKeyRecord.use_count + count,
                last_used_at=func.coalesce(
                    func.max(PublicKeyRecord.last_used_at, last_used)
                    if connection.dialect.name == "sqlite"
                    else func.greatest(PublicKeyRecord.last_used_at, last_used),
                    last_used,
                ),
            )
        )


def is_public_key_id(key_id: str) -> bool:
    return well_formed_id(key_id, "pub")
