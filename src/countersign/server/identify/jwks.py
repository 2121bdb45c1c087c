"""Refreshing an app's JWKS documents when a token names a ``kid`` nobody knows yet.

A customer rotating keys publishes the new one in its JWKS and starts signing with it;
the first token naming it fetches the document again (SPEC 15), through the outbound
guard, at most once a minute per URL over every node together (the attempt time is
claimed in the database), and at most once a minute per app in this process before
the database is even asked, so a flood of made-up kids costs nothing. A failed fetch
keeps the cached keys and is noted for the operator (``public-keys list``).
"""

from __future__ import annotations

import logging
import time
from typing import Final

from ...outbound import OutboundClient
from ...outbound.jwks import JwksFetchFailed, fetch_jwks
from ...storage import public_keys
from ...storage.database import Database
from ...vocabulary.clock import utcnow
from ..app_directory import AppConfig, AppDirectory
from ..lru import LRU

log = logging.getLogger("countersign.server")

LOCAL_INTERVAL_SECONDS: Final = public_keys.JWKS_MIN_INTERVAL.total_seconds()


class JwksRefresh:
    def __init__(self, max_apps: int = 10_000) -> None:
        self._tried: LRU[str, float] = LRU(max_apps)  # app id -> monotonic time of last try

    async def refresh(
        self,
        config: AppConfig,
        database: Database,
        outbound: OutboundClient,
        directory: AppDirectory,
    ) -> bool:
        """Fetch the app's JWKS documents again if it is time; True when a new
        document was stored (the caller then verifies the token once more)."""
        app_id = config.record.id
        if not config.jwks_sources:
            return False
        now = time.monotonic()
        last = self._tried.get(app_id)
        if last is not None and now - last < LOCAL_INTERVAL_SECONDS:
            return False
        self._tried.put(app_id, now)
        changed = False
        for source in config.jwks_sources:
            changed = await _refresh_source(database, outbound, app_id, source) or changed
        if changed:
            directory.invalidate(app_id)
        return changed


async def _refresh_source(
    database: Database, outbound: OutboundClient, app_id: str, source: public_keys.JwksSource
) -> bool:
    moment = utcnow()
    if not await database.run(lambda c: public_keys.mark_attempt(c, source.id, moment)):
        return False  # another node (or this one) fetched it less than a minute ago
    try:
        document = await fetch_jwks(
            outbound, source.url, allow_private_network=source.allow_private_network
        )
    except JwksFetchFailed as error:
        log.warning("JWKS of app %s (%s) not refreshed: %s", app_id, source.id, error)
        why = str(error)
        await database.run(lambda c: public_keys.save_jwks(c, source.id, None, why, moment))
        return False
    await database.run(lambda c: public_keys.save_jwks(c, source.id, document, None, moment))
    return True
