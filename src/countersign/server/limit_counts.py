"""Where the rate limits count: in this process, or in Redis for every worker and node.

Counted in each process, ``--workers 4`` or two nodes would give a guesser four or two
times the budget. With ``--redis-url`` every limiter's window lives in Redis instead:
one sorted set of attempt times per key, checked and counted by one Lua script, so a
burst spread over any number of processes gets the limit and no more, and each set
expires with its window. Several keys (an address and an identifier) are taken in one
script: all are counted, or none when any is over its limit.

When Redis cannot be reached the counts fall back to this process's own windows (a
warning says so, at most once a minute): per-process limits, never no limits, and never
a refusal of a valid proof because the counter is away.
"""

from __future__ import annotations

import itertools
import logging
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from redis.exceptions import RedisError

from ..metrics import RATE_LIMITED
from .ratelimit import FailureLimiter

if TYPE_CHECKING:
    import redis.asyncio as redis

log = logging.getLogger(__name__)

#: One key of one limiter: what a caller takes.
Entry = tuple[FailureLimiter, str]
#: What was counted, to give back: the local stamp (a float) or the Redis member (a str).
Stamp = tuple[FailureLimiter, str, float | str]


@dataclass(frozen=True, slots=True)
class Taken:
    """``wait``: seconds until a retry may pass (nothing counted); None: counted."""

    wait: int | None
    stamps: tuple[Stamp, ...] = ()


class Counts(Protocol):
    async def take(self, entries: Sequence[Entry]) -> Taken: ...
    async def wait(self, entries: Sequence[Entry]) -> int | None: ...
    async def release(self, taken: Taken) -> None: ...
    async def close(self) -> None: ...


class LocalCounts:
    """The windows of this process (each limiter's own). Atomic without a lock: nothing
    here awaits, so a check and its count happen in one turn of the event loop."""

    async def take(self, entries: Sequence[Entry]) -> Taken:
        waits = [(w, limiter) for limiter, key in entries if (w := limiter.retry_after(key))]
        if waits:
            wait, spent = max(waits, key=lambda pair: pair[0])
            return _refused(spent, wait)
        return Taken(None, tuple((limiter, key, limiter.fail(key)) for limiter, key in entries))

    async def wait(self, entries: Sequence[Entry]) -> int | None:
        waits = [w for limiter, key in entries if (w := limiter.retry_after(key)) is not None]
        return max(waits) if waits else None

    async def release(self, taken: Taken) -> None:
        for limiter, key, stamp in taken.stamps:
            if isinstance(stamp, float):
                limiter.release(key, stamp)

    async def close(self) -> None:
        """Nothing is held outside this process."""


# KEYS: the windows; ARGV[1]: this attempt's member, ARGV[2] "1" to count (else only
# look), then for each key its limit and window in ms. Redis' own clock, so every node
# measures the same windows. Returns {ms to wait, the index of the key that waits
# longest}: {0, 0} when counted (or free).
_TAKE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
local spent = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local left = tonumber(oldest[2]) + window - now
    if left > wait then wait = left; spent = i - 1 end
  end
end
if wait > 0 or ARGV[2] ~= '1' then return {wait, spent} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 + 2 * i]))
end
return {0, 0}
"""
WARN_EVERY_SECONDS: Final = 60.0
KEY_PREFIX: Final = "countersign:limit:"


class RedisCounts:
    """Every limiter's windows in Redis, shared by the workers and nodes that use it."""

    def __init__(self, client: redis.Redis, fallback: LocalCounts | None = None) -> None:
        self._client = client
        self._script = client.register_script(_TAKE)
        self._fallback = fallback or LocalCounts()
        self._node = secrets.token_hex(6)  # members must differ between processes
        self._sequence = itertools.count()
        self._warned_at = -math.inf

    @classmethod
    def from_url(cls, url: str) -> RedisCounts:
        import redis.asyncio as redis  # noqa: PLC0415 (only scale-out needs redis)

        client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        return cls(client)

    async def close(self) -> None:
        await self._client.aclose()

    async def take(self, entries: Sequence[Entry]) -> Taken:
        member = f"{self._node}:{next(self._sequence)}"
        answer = await self._run(entries, member, count=True)
        if answer is None:
            return await self._fallback.take(entries)
        waited, spent = answer
        if waited > 0:
            return _refused(entries[spent][0], _seconds(waited))
        return Taken(None, tuple((limiter, key, member) for limiter, key in entries))

    async def wait(self, entries: Sequence[Entry]) -> int | None:
        answer = await self._run(entries, "", count=False)
        if answer is None:
            return await self._fallback.wait(entries)
        return _seconds(answer[0]) if answer[0] > 0 else None

    async def release(self, taken: Taken) -> None:
        shared = [
            (_redis_key(limiter, key), s) for limiter, key, s in taken.stamps if isinstance(s, str)
        ]
        try:
            for redis_key, member in shared:
                await self._client.zrem(redis_key, member)
        except (OSError, RedisError) as error:  # the count then ages out with its window
            self._warn(error)
        await self._fallback.release(taken)

    async def _run(
        self, entries: Sequence[Entry], member: str, *, count: bool
    ) -> tuple[int, int] | None:
        """The script's answer (ms to wait, the key that waits longest), or None when
        Redis could not be asked."""
        keys = [_redis_key(limiter, key) for limiter, key in entries]
        args: list[str | int] = [member, "1" if count else "0"]
        for limiter, _ in entries:
            args += [limiter.limit.failures, math.ceil(limiter.limit.window_seconds * 1000)]
        try:
            waited, spent = await self._script(keys=keys, args=args)
            return int(waited), int(spent)
        except (OSError, RedisError) as error:
            self._warn(error)
            return None

    def _warn(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "rate limits counted in this process only: Redis unreachable (%s)",
                type(error).__name__,
            )


def _refused(spent: FailureLimiter, wait: int) -> Taken:
    RATE_LIMITED.labels(spent.name or "unnamed").inc()
    return Taken(wait)


def _redis_key(limiter: FailureLimiter, key: str) -> str:
    return f"{KEY_PREFIX}{limiter.name}:{key}"


def _seconds(milliseconds: int) -> int:
    return max(1, math.ceil(milliseconds / 1000))
