"""OutboundClient against real local servers: guard, deadline, size cap, no redirects."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from ipaddress import ip_address
from typing import TypeVar

import pytest

from countersign.outbound import (
    OutboundClient,
    OutboundError,
    OutboundPolicy,
    OutboundResponse,
    is_public_address,
)

from .receiver import Receiver

T = TypeVar("T")
PRIVATE_OK = OutboundPolicy(allow_private_network=True, timeout_seconds=5)


def run(work: Callable[[OutboundClient], Awaitable[T]], **client: object) -> T:
    async def main() -> T:
        async with OutboundClient(**client) as outbound:  # type: ignore[arg-type]
            return await work(outbound)

    return asyncio.run(main())


def call(url: str, policy: OutboundPolicy | None = None, **kwargs: object) -> OutboundResponse:
    return run(lambda c: c.request("POST", url, policy=policy, **kwargs))  # type: ignore[arg-type]


def refusal(url: str, policy: OutboundPolicy | None = None, **client: object) -> OutboundError:
    with pytest.raises(OutboundError) as caught:
        run(lambda c: c.request("POST", url, body=b"{}", policy=policy), **client)
    return caught.value


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def test_allowed_with_the_flag(receiver: Receiver) -> None:
    response = call(
        receiver.url("/echo?q=1"),
        PRIVATE_OK,
        body=b'{"a": 1}',
        headers={"Content-Type": "application/json", "X-Custom": "yes"},
    )
    assert response.status == 200
    assert response.ok
    assert not response.truncated
    assert response.address == "127.0.0.1"
    assert response.headers["content-type"] == "application/json"
    [got] = receiver.received
    assert (got.method, got.path, got.body) == ("POST", "/echo?q=1", b'{"a": 1}')
    assert got.headers["x-custom"] == "yes"
    assert got.headers["user-agent"].startswith("Countersign/")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "127.1"])
def test_loopback_refused_by_default_and_nothing_is_sent(receiver: Receiver, host: str) -> None:
    error = refusal(receiver.url(host=host))
    assert error.code == "private_address"
    assert receiver.received == []


def test_a_name_the_system_resolves_to_loopback_is_refused(receiver: Receiver) -> None:
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if any(is_public_address(ip_address(str(a))) for a in addresses):
        pytest.skip(f"{name} resolves to a public address here")
    assert refusal(f"http://{name}:{receiver.port}/").code == "private_address"
    assert receiver.received == []


def test_any_private_answer_refuses_the_name(receiver: Receiver) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "127.0.0.1"]

    error = refusal(receiver.url(host="mixed.test"), resolver=resolver)
    assert error.code == "private_address"
    assert "mixed.test" in error.message


def test_connects_to_the_checked_address_with_the_original_host(receiver: Receiver) -> None:
    # "rebind.test" exists only in this resolver: had the HTTP library looked the name
    # up again (a DNS rebinding hole), the request could not have arrived.
    looked_up: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    response = run(
        lambda c: c.request("GET", receiver.url(host="rebind.test"), policy=PRIVATE_OK),
        resolver=resolver,
    )
    assert response.status == 200
    assert looked_up == ["rebind.test"]
    [got] = receiver.received
    assert got.headers["host"] == f"rebind.test:{receiver.port}"


def test_host_header_is_the_url_authority_and_cannot_be_overridden(receiver: Receiver) -> None:
    call(receiver.url(host="localhost"), PRIVATE_OK, headers={"Host": "evil.example"})
    [got] = receiver.received
    assert got.headers["host"] == f"localhost:{receiver.port}"


def test_falls_back_to_the_next_address_when_one_refuses(receiver: Receiver) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.2", "127.0.0.1"]  # nothing listens on 127.0.0.2

    response = run(
        lambda c: c.request("GET", receiver.url(host="two.test"), policy=PRIVATE_OK),
        resolver=resolver,
    )
    assert response.status == 200
    assert response.address == "127.0.0.1"


def test_timeout_against_a_server_that_sleeps(receiver: Receiver) -> None:
    started = time.monotonic()
    policy = OutboundPolicy(allow_private_network=True, timeout_seconds=0.5)
    error = refusal(receiver.url("/sleep/3"), policy)
    assert error.code == "timeout"
    assert time.monotonic() - started < 2.5


def test_response_larger_than_the_limit_is_cut_and_flagged(receiver: Receiver) -> None:
    policy = OutboundPolicy(allow_private_network=True, max_response_bytes=1000)
    started = time.monotonic()
    response = call(receiver.url("/big/50000000"), policy)  # 50 MB offered
    assert response.truncated
    assert response.body == b"x" * 1000
    assert time.monotonic() - started < 5  # it stopped reading, it did not drain 50 MB


def test_response_of_exactly_the_limit_is_whole(receiver: Receiver) -> None:
    policy = OutboundPolicy(allow_private_network=True, max_response_bytes=1000)
    response = call(receiver.url("/big/1000"), policy)
    assert not response.truncated
    assert len(response.body) == 1000


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    response = call(receiver.url("/redirect"), PRIVATE_OK)
    assert response.status == 302
    assert response.headers["location"] == "/echo"
    assert [got.path for got in receiver.received] == ["/redirect"]


def test_error_statuses_are_answers(receiver: Receiver) -> None:
    response = call(receiver.url("/status/500"), PRIVATE_OK)
    assert response.status == 500
    assert not response.ok


def test_proxies_from_the_environment_are_ignored(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # would refuse every connection
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert call(receiver.url(), PRIVATE_OK).status == 200


def test_nothing_listening_is_connect_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = refusal(f"http://127.0.0.1:{port}/", PRIVATE_OK)
    assert error.code == "connect_failed"


def test_unknown_name_is_dns_failed() -> None:
    error = refusal("http://no-such-host.invalid/", OutboundPolicy(timeout_seconds=5))
    assert error.code in {"dns_failed", "timeout"}


def test_invalid_url_is_refused_before_anything() -> None:
    assert refusal("ftp://example.com/").code == "invalid_url"


@pytest.mark.parametrize(
    "change", [{"timeout_seconds": 0}, {"timeout_seconds": 61}, {"max_response_bytes": -1}]
)
def test_policy_bounds(change: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        OutboundPolicy(**change)  # type: ignore[arg-type]
