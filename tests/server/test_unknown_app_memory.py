"""App ids are checked at the edge, and what callers send cannot grow the server.

The attack, from a security review: 2,000 identifies naming unknown app ids of 60 KB
each grew a server by 113 MiB, still held 30 s later. The directory remembered every
unknown id (cleared only at 10,000 of them), whatever its length. Now an id that is not
of the app id form is refused before the cache, and the cache of well-formed unknown
ids is an LRU whose size is a setting.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from countersign.server.ratelimit import FailureLimiter, Limit
from countersign.settings import SettingsError, load_settings
from tests.realtime.conftest import Servers

from .conftest import Harness

MIB = 1024 * 1024
ID_BYTES = 60 * 1024


def resident_bytes(pid: int) -> int:
    """The process's resident memory (VmRSS), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def assert_app_not_found(response: httpx2.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json() == {
        "error": {"code": "app_not_found", "message": "no app with this app_id"}
    }


def test_unknown_app_ids_do_not_grow_memory(database_url: str, tmp_path: Path) -> None:
    servers = Servers(tmp_path)
    try:
        servers.create_app(tmp_path / "data", database_url)  # a real app beside the flood
        node = servers.start("node", data_dir=tmp_path / "data", database_url=database_url)
        assert node.process is not None
        with httpx2.Client(base_url=node.url, timeout=10.0, trust_env=False) as client:

            def identify(app_id: str) -> httpx2.Response:
                return client.post(
                    "/v1/widget/identify",
                    content=json.dumps({"app_id": app_id}),
                    headers={"content-type": "application/json"},
                )

            for _ in range(20):  # warm: the first requests import and cache what they use
                assert_app_not_found(identify("app_" + secrets.token_urlsafe(9)))
            idle = resident_bytes(node.process.pid)
            for index in range(2_000):
                flood = f"app_{index:06d}" + "a" * (ID_BYTES - 10)
                assert_app_not_found(identify(flood))
            grown = resident_bytes(node.process.pid) - idle
            # A well-formed unknown id answers as it always did.
            assert_app_not_found(identify("app_" + secrets.token_urlsafe(9)))
        print(f"resident memory grew by {grown / MIB:.1f} MiB over 2,000 identifies")
        assert grown < 100 * MIB, f"grew by {grown / MIB:.1f} MiB"
    finally:
        servers.close()


def test_the_unknown_app_cache_holds_at_most_its_setting(
    make_harness: Callable[..., Harness],
) -> None:
    harness = make_harness(unknown_app_cache_size=3)
    directory = harness.client.app.state.countersign.directory  # type: ignore[attr-defined]
    unknown = ["app_" + secrets.token_urlsafe(9) for _ in range(10)]
    for app_id in unknown:
        response = harness.identify(app_id=app_id)
        assert response.status_code == 404, response.text
    remembered = [app_id for app_id in unknown if app_id in directory._missing]
    assert remembered == unknown[-3:]  # the least recently used went first
    # An id not of the app id form is answered without being remembered.
    assert harness.identify(app_id="not-an-app-id").status_code == 404
    assert "not-an-app-id" not in directory._missing
    # The real app is still served.
    assert harness.verified("u-1")["identity"]["status"] == "verified"


def test_the_rate_limiters_hold_at_most_their_setting(
    make_harness: Callable[..., Harness],
) -> None:
    state = make_harness(rate_limit_keys=100).client.app.state.countersign  # type: ignore[attr-defined]
    for limiter in (
        state.limits.by_ip,
        state.limits.by_identifier,
        state.action_limits.by_session,
        state.action_limits.by_ip,
    ):
        for index in range(1_000):
            limiter.fail(f"app\0identifier-{index}")
        assert len(limiter._failures) <= 100


def test_a_limiter_forgets_the_least_recently_failed_key_first() -> None:
    limiter = FailureLimiter(Limit(failures=1, window_seconds=60), max_keys=4)
    for key in ("a", "b", "c", "d"):
        limiter.fail(key)
    limiter.fail("a")  # a failed again: now the most recent
    limiter.fail("e")  # past the bound: the older half (b, c) is forgotten
    assert list(limiter._failures) == ["d", "a", "e"]


def test_cache_sizes_are_settings_from_the_environment() -> None:
    defaults = load_settings(environ={})
    assert (defaults.unknown_app_cache_size, defaults.rate_limit_keys) == (10_000, 100_000)
    chosen = load_settings(
        environ={"COUNTERSIGN_UNKNOWN_APP_CACHE_SIZE": "50", "COUNTERSIGN_RATE_LIMIT_KEYS": "500"}
    )
    assert (chosen.unknown_app_cache_size, chosen.rate_limit_keys) == (50, 500)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COUNTERSIGN_UNKNOWN_APP_CACHE_SIZE", "0"),
        ("COUNTERSIGN_UNKNOWN_APP_CACHE_SIZE", "lots"),
        ("COUNTERSIGN_RATE_LIMIT_KEYS", "99"),
        ("COUNTERSIGN_RATE_LIMIT_KEYS", "1e9"),
    ],
)
def test_bad_cache_sizes_fail_loudly(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(environ={name: value})
