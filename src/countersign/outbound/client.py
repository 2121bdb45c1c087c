"""The HTTP client for every request Countersign sends to a customer's systems.

Webhook deliveries and custom actions go to URLs that customers type, so each request
is treated as aimed by an attacker:

- the host is resolved here, every address it resolves to is checked
  (:mod:`.addresses`), and the connection goes to a checked address, never to the
  result of a second lookup (DNS rebinding); the original ``Host`` header and, for
  https, the TLS server name and certificate check keep using the host name;
- redirects are never followed (a 3xx is an answer like any other), and proxy or
  certificate settings are not read from the environment;
- the whole request, name resolution included, has one deadline;
- at most ``max_response_bytes`` of the body are read, streamed, never the rest.

Connections are not kept alive: a pooled connection is keyed by address, and reusing
one opened (and TLS-verified) for one host name for a request to another name at the
same address would send that request under the wrong identity.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self

import httpx2

from .. import __version__
from ..vocabulary.addresses import parse_address
from ..vocabulary.outbound_errors import OutboundError
from ..vocabulary.urls import Target, parse_target, refuse_private
from .resolve import Resolver, system_resolver

USER_AGENT: Final = f"Countersign/{__version__} (+https://github.com/countersign)"
MAX_TIMEOUT_SECONDS: Final = 60.0


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """What one request may do. The defaults are the safe ones."""

    allow_private_network: bool = False
    timeout_seconds: float = 10.0  # everything: resolving, connecting, sending, reading
    max_response_bytes: int = 65536

    def __post_init__(self) -> None:
        if not 0 < self.timeout_seconds <= MAX_TIMEOUT_SECONDS:
            raise ValueError(f"timeout_seconds must be in (0, {MAX_TIMEOUT_SECONDS:g}]")
        if self.max_response_bytes < 0:
            raise ValueError("max_response_bytes must not be negative")


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    """An answer, whatever its status: the caller decides what a 4xx or 5xx means."""

    status: int
    body: bytes  # at most the policy's max_response_bytes
    truncated: bool  # the peer sent more than that; the rest was not read
    elapsed_ms: float
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    address: str = ""  # the IP address the request went to

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def _read_capped(response: httpx2.Response, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of the body as sent (no decompression: a small gzip body
    can expand a thousandfold), and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    data = b"".join(chunks)
    return data[:limit], len(data) > limit


def _headers(response: httpx2.Response) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in response.headers.multi_items():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


class OutboundClient:
    """One per process; safe to share between tasks. Close it with :meth:`aclose`.

    ``verify`` is the TLS trust (an ``ssl.SSLContext`` with a private CA for tests or
    an internal PKI); ``resolver`` replaces the system's name resolution (tests).
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        resolver: Resolver | None = None,
        user_agent: str = USER_AGENT,
        max_connections: int = 100,
    ) -> None:
        self._resolve = resolver or system_resolver
        self._user_agent = user_agent
        self._client = httpx2.AsyncClient(
            verify=verify,
            trust_env=False,  # no proxies, CA bundles or .netrc from the environment
            follow_redirects=False,
            limits=httpx2.Limits(max_connections=max_connections, max_keepalive_connections=0),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        policy: OutboundPolicy | None = None,
    ) -> OutboundResponse:
        """Send one request under ``policy``; any status is returned, any failure to
        get one raises :class:`OutboundError`."""
        policy = policy or OutboundPolicy()
        started = time.perf_counter()
        target = parse_target(url, allow_private_network=policy.allow_private_network)
        try:
            async with asyncio.timeout(policy.timeout_seconds):
                addresses = await self._addresses(target, policy)
                status, data, truncated, answer_headers, address = await self._first_answer(
                    method, target, addresses, body, headers or {}, policy
                )
        except TimeoutError:
            raise OutboundError(
                "timeout", f"{target.host} did not answer within {policy.timeout_seconds:g} s"
            ) from None
        return OutboundResponse(
            status=status,
            body=data,
            truncated=truncated,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            headers=answer_headers,
            address=address,
        )

    async def _addresses(self, target: Target, policy: OutboundPolicy) -> list[str]:
        if target.literal is not None:
            return [str(target.literal)]
        resolved = await self._resolve(target.host, target.port)
        if not resolved:
            raise OutboundError("dns_failed", f"{target.host} resolves to no address")
        for text in resolved:
            address = parse_address(text)
            if address is None:
                raise OutboundError("dns_failed", f"{target.host} resolved to {text!r}")
            # Any bad answer refuses the name: the system might prefer that one next time.
            if not policy.allow_private_network:
                refuse_private(address, target.host)
        return resolved

    async def _first_answer(
        self,
        method: str,
        target: Target,
        addresses: list[str],
        body: bytes | None,
        headers: dict[str, str],
        policy: OutboundPolicy,
    ) -> tuple[int, bytes, bool, dict[str, str], str]:
        """The answer from the first address that accepts a connection. Trying the next
        one is safe only because nothing was sent to an address that refused."""
        failure = "no address to connect to"
        for address in addresses:
            try:
                request = self._build(method, target, address, body, headers, policy)
            except httpx2.InvalidURL:
                continue  # e.g. an address with a zone index, which a URL cannot hold
            try:
                response = await self._client.send(request, stream=True, follow_redirects=False)
            except httpx2.ConnectError as error:
                failure = f"{target.host} ({address}) refused the connection: {error}"
                continue
            except httpx2.TimeoutException:
                raise TimeoutError from None
            except httpx2.HTTPError as error:
                raise OutboundError("request_failed", f"{target.host}: {error}") from None
            try:
                data, truncated = await _read_capped(response, policy.max_response_bytes)
            except httpx2.TimeoutException:
                raise TimeoutError from None
            except httpx2.HTTPError as error:
                raise OutboundError("request_failed", f"{target.host}: {error}") from None
            finally:
                await response.aclose()
            return response.status_code, data, truncated, _headers(response), address
        raise OutboundError("connect_failed", failure)

    def _build(
        self,
        method: str,
        target: Target,
        address: str,
        body: bytes | None,
        headers: dict[str, str],
        policy: OutboundPolicy,
    ) -> httpx2.Request:
        sent = {"User-Agent": self._user_agent, "Accept-Encoding": "identity", **headers}
        sent = {name: value for name, value in sent.items() if name.lower() != "host"}
        sent["Host"] = target.host_header
        extensions: dict[str, object] = {}
        if target.is_https and target.literal is None:
            # httpcore's name for the TLS server name: SNI and certificate checks use
            # the host name while the socket goes to the checked address.
            extensions["sni_hostname"] = target.host
        return self._client.build_request(
            method,
            target.url.copy_with(host=address),
            content=body,
            headers=sent,
            timeout=httpx2.Timeout(policy.timeout_seconds),
            extensions=extensions,
        )
