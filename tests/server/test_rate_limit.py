"""Failed identify attempts are limited per (app, client IP) and per (app, identifier).

Limits: 10 failures per identifier and 30 per client address in 5 minutes; over
either, identify answers 429 ``rate_limited`` with a Retry-After in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from countersign import sign
from countersign.server import ratelimit
from countersign.server.client_ip import client_ip
from countersign.server.identify.limits import IdentifyLimits
from countersign.server.ratelimit import FailureLimiter, Limit
from countersign.settings import parse_proxies

from .conftest import Harness

PER_IDENTIFIER = 10
PER_IP = 30
WINDOW = 300


@contextlib.contextmanager
def from_address(harness: Harness, host: str) -> Iterator[TestClient]:
    """A client on the harness's running app whose TCP peer is ``host``."""
    client = TestClient(harness.client.app, client=(host, 40000))
    try:
        yield client
    finally:
        client.close()


def identify(client: TestClient, harness: Harness, **fields: Any) -> Any:
    headers = fields.pop("headers", None)
    return client.post(
        "/v1/widget/identify", json={"app_id": harness.app_id, **fields}, headers=headers
    )


def wrong_hash(harness: Harness, user_id: str, attempt: int = 0) -> str:
    return sign(harness.secret, f"{user_id}-guess-{attempt}")


def assert_limited(response: Any) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= WINDOW
    return int(retry_after)


# ------------------------------------------------------------------- per identifier


def test_failed_hashes_for_one_user_are_limited(harness: Harness) -> None:
    with from_address(harness, "198.51.100.1") as attacker:
        for attempt in range(PER_IDENTIFIER):
            response = identify(
                attacker,
                harness,
                user_id="victim",
                user_hash=wrong_hash(harness, "victim", attempt),
            )
            assert response.status_code == 401, (attempt, response.text)
        assert_limited(
            identify(
                attacker, harness, user_id="victim", user_hash=wrong_hash(harness, "victim", 99)
            )
        )
        # The real user still gets in: a valid proof always passes, so an attacker's
        # failures cannot lock the victim out (guessing a 256-bit MAC is hopeless, so
        # the limit guards the log and the diagnosis, not the secret).
        assert (
            identify(attacker, harness, user_id="victim", user_hash=sign(harness.secret, "victim"))
        ).status_code == 200
        # The same address may still identify other users (its own limit is 30).
        assert (
            identify(
                attacker, harness, user_id="bystander", user_hash=sign(harness.secret, "bystander")
            ).status_code
            == 200
        )
    with from_address(harness, "203.0.113.5") as elsewhere:
        # Another user from another address is untouched...
        ok = identify(
            elsewhere, harness, user_id="someone", user_hash=sign(harness.secret, "someone")
        )
        assert ok.status_code == 200, ok.text
        # ...while guesses at the victim stay limited from every address.
        assert_limited(
            identify(
                elsewhere, harness, user_id="victim", user_hash=wrong_hash(harness, "victim", 7)
            )
        )
    # The failures were logged with their diagnosis; the 429s are not verifications.
    refused = harness.log(outcome="refused", limit=100)
    assert len(refused) == PER_IDENTIFIER


def test_missing_hashes_count_as_failures(harness: Harness) -> None:
    for _ in range(PER_IDENTIFIER):
        assert harness.identify(user_id="nohash").status_code == 401
    assert_limited(harness.identify(user_id="nohash"))


def test_integer_and_text_user_ids_share_a_limit(harness: Harness) -> None:
    for attempt in range(PER_IDENTIFIER):
        user_id: int | str = 4242 if attempt % 2 else "4242"
        response = harness.identify(user_id=user_id, user_hash=wrong_hash(harness, "4242", attempt))
        assert response.status_code == 401
    assert_limited(harness.identify(user_id=4242, user_hash=wrong_hash(harness, "4242", 99)))


# ---------------------------------------------------------------------- per address


def test_failures_from_one_address_are_limited(harness: Harness) -> None:
    with from_address(harness, "198.51.100.2") as sprayer:
        for attempt in range(PER_IP):
            user_id = f"spray-{attempt}"
            response = identify(
                sprayer, harness, user_id=user_id, user_hash=wrong_hash(harness, user_id)
            )
            assert response.status_code == 401, (attempt, response.text)
        fresh = "spray-fresh"
        assert_limited(
            identify(sprayer, harness, user_id=fresh, user_hash=wrong_hash(harness, fresh))
        )
    with from_address(harness, "198.51.100.3") as neighbour:
        ok = identify(
            neighbour, harness, user_id="spray-1", user_hash=sign(harness.secret, "spray-1")
        )
        assert ok.status_code == 200, ok.text


# -------------------------------------------------------------- what does not count


def test_verified_successes_never_count(harness: Harness) -> None:
    for _ in range(PER_IP + 5):
        harness.verified("regular")
    # All failures are still available afterwards.
    for attempt in range(PER_IDENTIFIER):
        response = harness.identify(
            user_id="regular", user_hash=wrong_hash(harness, "regular", attempt)
        )
        assert response.status_code == 401
    assert_limited(
        harness.identify(user_id="regular", user_hash=wrong_hash(harness, "regular", 99))
    )
    assert (
        harness.identify(user_id="regular", user_hash=sign(harness.secret, "regular")).status_code
        == 200
    )


def test_invalid_requests_and_anonymous_visitors_do_not_count(harness: Harness) -> None:
    visitor = harness.identify().json()["visitor_id"]  # a returning anonymous browser
    for _ in range(PER_IP + 5):
        assert harness.identify(user_id="x\n").status_code == 422
        assert harness.identify(visitor_id=visitor).status_code == 200
    harness.verified("after-noise")


def test_a_limited_address_still_gets_anonymous_sessions(harness: Harness) -> None:
    for attempt in range(PER_IP):
        user_id = f"nat-{attempt}"
        harness.identify(user_id=user_id, user_hash=wrong_hash(harness, user_id))
    response = harness.identify()
    assert response.status_code == 200, response.text
    assert response.json()["identity"]["status"] == "anonymous"


def test_report_mode_keeps_accepting_unverified_claims(harness: Harness) -> None:
    harness.set_policy(identity_mode="report")
    for attempt in range(PER_IDENTIFIER + 1):
        response = harness.identify(
            user_id="rollout", user_hash=wrong_hash(harness, "rollout", attempt)
        )
        assert response.status_code == 200, (attempt, response.text)
        assert response.json()["identity"]["status"] == "unverified"


# -------------------------------------------------------------- X-Forwarded-For


def test_forwarded_for_is_ignored_from_an_untrusted_peer(harness: Harness) -> None:
    for attempt in range(PER_IP):
        user_id = f"spoof-{attempt}"
        response = harness.identify(
            user_id=user_id,
            user_hash=wrong_hash(harness, user_id),
            headers={"X-Forwarded-For": f"192.0.2.{attempt}"},
        )
        assert response.status_code == 401
    # A new forwarded address does not buy the client a new limit.
    assert_limited(
        harness.identify(
            user_id="spoof-new",
            user_hash=wrong_hash(harness, "spoof-new"),
            headers={"X-Forwarded-For": "192.0.2.250"},
        )
    )
    assert {entry["client_ip"] for entry in harness.log(limit=100)} == {"testclient"}


def test_forwarded_for_is_honoured_from_a_trusted_proxy(
    make_harness: Callable[..., Harness],
) -> None:
    harness = make_harness(trusted_proxies=parse_proxies("10.0.0.0/8"))
    with from_address(harness, "10.0.0.1") as proxy:
        for attempt in range(PER_IP):
            user_id = f"behind-{attempt}"
            response = identify(
                proxy,
                harness,
                user_id=user_id,
                user_hash=wrong_hash(harness, user_id),
                # The client wrote the first hop; our proxies appended the rest.
                headers={"X-Forwarded-For": f"192.0.2.{attempt}, 198.51.100.20, 10.0.0.7"},
            )
            assert response.status_code == 401
        assert_limited(
            identify(
                proxy,
                harness,
                user_id="behind-new",
                user_hash=wrong_hash(harness, "behind-new"),
                headers={"X-Forwarded-For": "198.51.100.20, 10.0.0.7"},
            )
        )
        # Another client behind the same proxy is not limited.
        other = identify(
            proxy,
            harness,
            user_id="behind-other",
            user_hash=sign(harness.secret, "behind-other"),
            headers={"X-Forwarded-For": "198.51.100.21"},
        )
        assert other.status_code == 200, other.text
    assert {entry["client_ip"] for entry in harness.log(outcome="refused", limit=100)} == {
        "198.51.100.20"
    }


# ------------------------------------------------------------ client_ip, unit


def request_from(peer: str | None, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded]
    scope: dict[str, Any] = {"type": "http", "headers": headers}
    scope["client"] = (peer, 1234) if peer is not None else None
    return Request(scope)


PROXIES = parse_proxies("10.0.0.0/8, 192.168.1.1, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        ("203.0.113.1", ("198.51.100.1",), (), "203.0.113.1"),
        ("203.0.113.1", ("198.51.100.1",), PROXIES, "203.0.113.1"),
        ("testclient", ("198.51.100.1",), PROXIES, "testclient"),
        ("10.0.0.1", (), PROXIES, "10.0.0.1"),
        ("10.0.0.1", ("",), PROXIES, "10.0.0.1"),
        ("10.0.0.1", ("198.51.100.1",), PROXIES, "198.51.100.1"),
        ("10.0.0.1", ("6.6.6.6, 198.51.100.1",), PROXIES, "198.51.100.1"),
        ("10.0.0.1", ("6.6.6.6, 198.51.100.1, 10.2.3.4, 192.168.1.1",), PROXIES, "198.51.100.1"),
        ("10.0.0.1", ("10.9.9.9, 192.168.1.1",), PROXIES, "10.0.0.1"),
        ("10.0.0.1", (" , 198.51.100.1 ,, ",), PROXIES, "198.51.100.1"),
        ("fd00::1", ("2001:db8::5",), PROXIES, "2001:db8::5"),
        ("10.0.0.1", ("x" * 500,), PROXIES, "x" * 64),
        # A proxy that appends its hop as a second header line, after the client's.
        ("10.0.0.1", ("6.6.6.6", "198.51.100.1"), PROXIES, "198.51.100.1"),
        ("10.0.0.1", ("6.6.6.6", "198.51.100.1, 10.0.0.2"), PROXIES, "198.51.100.1"),
        (None, ("198.51.100.1",), PROXIES, "unknown"),
    ],
    ids=[
        "no-proxies",
        "untrusted-peer",
        "non-ip-peer",
        "no-header",
        "empty-header",
        "one-hop",
        "client-written-hop-ignored",
        "trusted-hops-skipped",
        "all-trusted",
        "blank-hops",
        "ipv6",
        "long-hop-cut",
        "two-header-lines",
        "two-header-lines-trusted-tail",
        "no-client",
    ],
)
def test_client_ip(
    peer: str | None, forwarded: tuple[str, ...], proxies: Any, expected: str
) -> None:
    assert client_ip(request_from(peer, *forwarded), proxies) == expected


# ------------------------------------------------------- FailureLimiter, unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_allows_up_to_the_limit_then_waits_for_the_oldest() -> None:
    clock = Clock()
    limiter = FailureLimiter(Limit(failures=3, window_seconds=60), clock)
    assert limiter.retry_after("k") is None
    for step in range(3):
        assert limiter.retry_after("k") is None
        limiter.fail("k")
        clock.now += 10 * (step + 1)  # failures at 1000, 1010, 1030
    # now = 1060: three failures within 60 s; the oldest (1000) leaves at 1060 exactly.
    clock.now = 1050.0
    assert limiter.retry_after("k") == 10
    clock.now = 1059.5
    assert limiter.retry_after("k") == 1  # never 0: "retry in 0 s" would be a lie
    clock.now = 1060.0
    assert limiter.retry_after("k") is None
    assert limiter.retry_after("other") is None


def test_limiter_window_slides() -> None:
    clock = Clock()
    limiter = FailureLimiter(Limit(failures=2, window_seconds=100), clock)
    limiter.fail("k")
    clock.now += 50
    limiter.fail("k")
    assert limiter.retry_after("k") == 50
    clock.now += 50  # the first left the window
    assert limiter.retry_after("k") is None
    limiter.fail("k")
    assert limiter.retry_after("k") == 50  # the one at +50 is now the oldest
    clock.now += 1000
    assert limiter.retry_after("k") is None
    assert "k" not in limiter._failures  # forgotten entirely once quiet


def test_limiter_keeps_only_the_last_failures_per_key() -> None:
    clock = Clock()
    limiter = FailureLimiter(Limit(failures=3, window_seconds=60), clock)
    for _ in range(1000):
        limiter.fail("k")
        clock.now += 0.01
    assert len(limiter._failures["k"]) == 3
    assert limiter.retry_after("k") is not None


def test_limiter_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_MAX_KEYS", 100)
    clock = Clock()
    limiter = FailureLimiter(Limit(failures=1, window_seconds=60), clock)
    for index in range(1000):
        limiter.fail(f"key-{index}")
        clock.now += 0.001
    assert len(limiter._failures) <= 100
    assert limiter.retry_after("key-999") is not None  # the newest is kept, and limited


def test_limiter_evicts_expired_keys_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_MAX_KEYS", 100)
    clock = Clock()
    limiter = FailureLimiter(Limit(failures=1, window_seconds=60), clock)
    for index in range(100):
        limiter.fail(f"old-{index}")
    clock.now += 120
    limiter.fail("new")
    assert list(limiter._failures) == ["new"]
    assert limiter.retry_after("new") == 60


def test_identify_limits_combine_both_keys() -> None:
    clock = Clock()
    limits = IdentifyLimits(
        per_ip=Limit(failures=3, window_seconds=100),
        per_identifier=Limit(failures=2, window_seconds=50),
        clock=clock,
    )

    def take(app: str, ip: str, identifier: str | None) -> int | None:
        return asyncio.run(limits.take_failure(app, ip, identifier))

    assert take("app", "1.2.3.4", "alice") is None
    assert take("app", "1.2.3.4", "alice") is None
    assert take("app", "1.2.3.4", "alice") == 50  # alice is spent: nothing counted
    assert take("app", "1.2.3.4", "bob") is None  # the address's third
    assert take("app", "5.6.7.8", "alice") == 50
    assert take("other-app", "1.2.3.4", "alice") is None
    assert take("app", "1.2.3.4", None) == 100
    assert take("app", "1.2.3.4", "alice") == 100  # the longer wait wins
    clock.now += 60
    assert take("app", "1.2.3.4", "bob") == 40
    assert take("app", "5.6.7.8", "alice") is None
