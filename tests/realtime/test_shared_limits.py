"""Rate limits that hold across workers and nodes: the counts in Redis.

The counting itself against the machine's Redis (one Lua script checks and counts, so
a concurrent burst gets the limit and no more); the fallback to this process's windows
when Redis is away; and two real nodes sharing one Redis, where 30 failed proofs spread
over both hit the per-address limit at 30, not 60.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

import pytest

from countersign import sign
from countersign.server.limit_counts import LocalCounts, RedisCounts
from countersign.server.ratelimit import FailureLimiter, Limit

from .conftest import Servers, free_port, identify, two_nodes


def _limiter(failures: int = 5, window: float = 60.0) -> FailureLimiter:
    # A fresh namespace per test: the machine's Redis is shared with other runs.
    return FailureLimiter(Limit(failures, window), name=f"test.{secrets.token_hex(6)}")


def test_a_concurrent_burst_gets_the_limit_and_no_more(shared_redis: str) -> None:
    limiter = _limiter(failures=5)

    async def burst() -> list[int | None]:
        # Two "processes" (two clients with their own members) racing for one key.
        one, two = RedisCounts.from_url(shared_redis), RedisCounts.from_url(shared_redis)
        try:
            takes = [(one if n % 2 else two).take([(limiter, "k")]) for n in range(40)]
            return [taken.wait for taken in await asyncio.gather(*takes)]
        finally:
            await one.close()
            await two.close()

    waits = asyncio.run(burst())
    assert waits.count(None) == 5
    assert all(wait is not None and 1 <= wait <= 60 for wait in waits if wait is not None)
    assert limiter.retry_after("k") is None  # nothing was counted in this process


def test_keys_are_taken_together_and_given_back(shared_redis: str) -> None:
    narrow, wide = _limiter(failures=1), _limiter(failures=3)

    async def run() -> None:
        counts = RedisCounts.from_url(shared_redis)
        try:
            first = await counts.take([(narrow, "a"), (wide, "a")])
            assert first.wait is None
            # narrow is spent, so neither is counted: wide still has two left.
            assert (await counts.take([(narrow, "a"), (wide, "a")])).wait is not None
            assert (await counts.take([(wide, "a")])).wait is None
            assert (await counts.take([(wide, "a")])).wait is None
            assert (await counts.take([(wide, "a")])).wait is not None
            assert await counts.wait([(narrow, "a")]) is not None
            await counts.release(first)  # the first attempt turned out a success
            assert await counts.wait([(narrow, "a")]) is None
            assert (await counts.take([(wide, "a")])).wait is None
        finally:
            await counts.close()

    asyncio.run(run())


def test_the_windows_expire_in_redis(shared_redis: str) -> None:
    import redis

    limiter = _limiter(failures=1, window=0.3)

    async def run() -> None:
        counts = RedisCounts.from_url(shared_redis)
        try:
            assert (await counts.take([(limiter, "k")])).wait is None
            assert (await counts.take([(limiter, "k")])).wait == 1  # never "retry in 0 s"
            await asyncio.sleep(0.5)
            assert (await counts.take([(limiter, "k")])).wait is None
        finally:
            await counts.close()

    asyncio.run(run())
    client = redis.Redis.from_url(shared_redis)
    ttl = client.pttl(f"countersign:limit:{limiter.name}:k")
    client.close()
    assert 0 < ttl <= 300 or ttl == -2  # a window's key lives no longer than the window


def test_without_redis_the_limits_count_in_this_process(caplog: pytest.LogCaptureFixture) -> None:
    limiter = _limiter(failures=2)
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    async def run() -> list[int | None]:
        counts = RedisCounts.from_url(dead)
        try:
            waits = [(await counts.take([(limiter, "k")])).wait for _ in range(3)]
            assert await counts.wait([(limiter, "k")]) is not None
            return waits
        finally:
            await counts.close()

    with caplog.at_level(logging.WARNING, logger="countersign.server.limit_counts"):
        waits = asyncio.run(run())
    assert waits[:2] == [None, None]
    assert waits[2] is not None  # per-process limits, never no limits
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once, not once per request
    assert "counted in this process only" in warnings[0]
    assert limiter.retry_after("k") is not None


def test_local_counts_take_keys_together() -> None:
    narrow, wide = _limiter(failures=1), _limiter(failures=3)

    async def run() -> None:
        counts = LocalCounts()
        first = await counts.take([(narrow, "a"), (wide, "a")])
        assert first.wait is None
        assert (await counts.take([(narrow, "a"), (wide, "a")])).wait is not None
        assert (await counts.take([(wide, "a")])).wait is None
        await counts.release(first)
        assert await counts.wait([(narrow, "a")]) is None

    asyncio.run(run())


def test_failures_spread_over_two_nodes_hit_the_limit_once(
    servers: Servers, postgres_url: str, shared_redis: str, tmp_path: Path
) -> None:
    """30 failed proofs per address in 5 minutes, counted over both nodes."""
    app, a, b = two_nodes(servers, tmp_path / "data", postgres_url, shared_redis)
    statuses = []
    for attempt in range(40):
        node = a if attempt % 2 else b
        user = f"guess-{attempt}"  # a new identifier each time: only the address counts
        body = {"app_id": app.app_id, "user_id": user, "user_hash": sign(app.secret, "x")}
        statuses.append(node.http.post("/v1/widget/identify", json=body).status_code)
    assert statuses == [401] * 30 + [429] * 10, statuses
    # A valid proof from the same address still passes on both nodes.
    for node in (a, b):
        identify(node, app, f"real-{secrets.token_hex(3)}")
