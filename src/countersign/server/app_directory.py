"""Apps in memory: policy and prepared key ring, so identify touches no table for them.

A cached app is dropped when its ``config_version`` changes (every policy or secret
change bumps it), when its soonest-expiring secret expires, or after a minute. Each
node polls the versions every second, so a change made by ``countersign`` in another
process, or on another node, is in force everywhere within about a second; a change
made through this node is in force at once.

An app id that names no app is remembered briefly (against floods of one id), in an
LRU of ``unknown_app_cache_size`` entries, and only if it has the form of an app id:
anything else is answered "no such app" before the cache and the database, so what a
caller sends cannot grow the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import Connection

from ..background import stopped_within
from ..core import EMPTY_KEYS, KeyRing, PublicKeySet
from ..storage import apps, public_keys, revoked_users, webhook_endpoints
from ..storage.database import Database
from ..storage.encryption import MasterKeyError, SecretBox
from ..storage.public_keys import JwksSource
from ..vocabulary.clock import utcnow
from .errors import ApiError
from .lru import LRU

log = logging.getLogger("countersign.server")

MAX_AGE_SECONDS: Final = 60.0
POLL_SECONDS: Final = 1.0
_MISSING_TTL_SECONDS: Final = 5.0
DEFAULT_UNKNOWN_APPS: Final = 10_000


@dataclass(frozen=True, slots=True)
class AppConfig:
    record: apps.AppRecord
    ring: KeyRing
    stale_at: float  # time.monotonic() after which it is reloaded
    # Event types some webhook endpoint of the app listens to: identify checks this set
    # and does no webhook work at all for an app without such an endpoint.
    webhook_events: frozenset[str] = frozenset()
    # SPEC 15: the public keys that verify its tokens (inline and fetched JWKS), the
    # JWKS URLs to refresh on an unknown kid, and the users it revoked (user id ->
    # when: their hash is refused, and tokens issued before then).
    public_keys: PublicKeySet = EMPTY_KEYS
    jwks_sources: tuple[JwksSource, ...] = ()
    revoked_users: Mapping[str, datetime] = field(default_factory=dict)

    def allows_origin(self, origin: str | None) -> bool:
        """Whether a browser page at ``origin`` may use this app's widget API. With no
        allowed origins set, any may; a request without Origin is not a browser's."""
        allowed = self.record.allowed_origins
        return not allowed or origin is None or origin.lower() in allowed


class AppDirectory:
    def __init__(
        self, database: Database, box: SecretBox, unknown_apps: int = DEFAULT_UNKNOWN_APPS
    ) -> None:
        self._database = database
        self._box = box
        # Only apps that exist: keyed by ids the database holds, not by what callers send.
        self._apps: dict[str, AppConfig] = {}
        # Unknown (well-formed) ids until when they are known to be unknown.
        self._missing: LRU[str, float] = LRU(unknown_apps)
        self._versions: dict[str, int] = {}  # every app's version at the last poll
        # Told which apps changed since the last poll (a secret revoked on any node, or
        # by the CLI): their open streams are rechecked at once.
        self.on_change: Callable[[Sequence[str]], None] | None = None

    async def get(self, app_id: str) -> AppConfig | None:
        now = time.monotonic()
        cached = self._apps.get(app_id)
        if cached is not None and cached.stale_at > now:
            return cached
        if not apps.is_app_id(app_id):
            return None  # names no app: worth neither a query nor a cache entry
        if (self._missing.get(app_id) or 0.0) > now:
            return None
        try:
            config = await self._database.run(lambda c: self._load(c, app_id))
        except MasterKeyError:
            log.error("app %s has a secret the master key cannot open", app_id)
            raise ApiError(
                503, "secrets_unavailable", "the server cannot read this app's secrets"
            ) from None
        except apps.AppNotFound:
            self._missing.put(app_id, now + _MISSING_TTL_SECONDS)
            return None
        self._apps[app_id] = config
        return config

    def _load(self, connection: Connection, app_id: str) -> AppConfig:
        record = apps.get_app(connection, app_id)
        secrets = apps.list_secrets(connection, app_id)
        ring = apps.load_keyring(connection, self._box, app_id)
        now = utcnow()
        stale_at = time.monotonic() + MAX_AGE_SECONDS
        for secret in secrets:
            if secret.is_active(now) and secret.expires_at is not None:
                until = (secret.expires_at - now).total_seconds()
                stale_at = min(stale_at, time.monotonic() + max(until, 0.0))
        key_set, sources = public_keys.load_key_set(connection, app_id)
        return AppConfig(
            record,
            ring,
            stale_at,
            webhook_endpoints.subscribed_types(connection, app_id),
            public_keys=key_set,
            jwks_sources=tuple(sources),
            revoked_users=revoked_users.revoked_users(connection, app_id),
        )

    def invalidate(self, app_id: str) -> None:
        self._apps.pop(app_id, None)
        self._missing.pop(app_id)

    def secrets_changed(self, app_id: str) -> None:
        """This node just changed the app's secrets (a revocation): drop the cached app
        and recheck its open streams now, not at the next poll."""
        self.invalidate(app_id)
        if self.on_change is not None:
            self.on_change([app_id])

    async def refresh(self) -> None:
        """Drop every cached app whose version changed or that no longer exists."""
        versions = await self._database.run(apps.config_versions)
        changed = [
            app_id
            for app_id, version in versions.items()
            if self._versions.get(app_id, version) != version
        ]
        self._versions = versions
        if changed and self.on_change is not None:
            self.on_change(changed)
        for app_id, config in list(self._apps.items()):
            if versions.get(app_id) != config.record.config_version:
                self._apps.pop(app_id, None)
        for app_id in versions:  # an id remembered as unknown that names an app now
            if app_id in self._missing:
                self._missing.pop(app_id)

    async def poll_until(self, stop: asyncio.Event) -> None:
        """Refresh every second until ``stop`` is set. Stopping waits for a refresh in
        progress instead of cancelling it (a cancelled call would abandon its database
        connection in a worker thread)."""
        while not await stopped_within(stop, POLL_SECONDS):
            with contextlib.suppress(Exception):
                await self.refresh()
