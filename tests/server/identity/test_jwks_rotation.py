"""SPEC 15's JWKS URL against a real local HTTPS server (a certificate made here with
``cryptography``): keys fetched through the outbound guard, a rotation picked up on
the first unknown kid, at most one fetch a minute, and a failed fetch keeping the
cached keys."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from countersign.outbound import OutboundClient
from countersign.outbound.jwks import JwksFetchFailed, fetch_jwks
from countersign.storage import public_keys
from countersign.storage.models import JwksCache

from ...outbound.test_tls import _issue
from ..conftest import Harness
from .keys import KeyPair, jwks, new_pair


class JwksServer:
    """Serves ``document`` over https at /jwks.json; counts the fetches."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.document = '{"keys": []}'
        self.status = 200
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = owner.document.encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.httpd.server_address[1]}/jwks.json"


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    return _issue("localhost", tmp_path)


@pytest.fixture
def jwks_server(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> Iterator[JwksServer]:
    server = JwksServer(tls[0])
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


async def _resolve_localhost(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


@contextlib.contextmanager
def trusting(harness: Harness, trust: ssl.SSLContext) -> Iterator[OutboundClient]:
    """The server's outbound client, trusting the test CA (as an internal PKI would)."""
    state = harness.client.app.state.countersign  # type: ignore[attr-defined]
    original = state.outbound
    state.outbound = client = OutboundClient(verify=trust, resolver=_resolve_localhost)
    try:
        yield client
    finally:
        state.outbound = original
        harness.client.portal.call(client.aclose)  # type: ignore[union-attr]


def _fetch(url: str, trust: ssl.SSLContext, allow_private: bool = True) -> str:
    async def main() -> str:
        async with OutboundClient(verify=trust, resolver=_resolve_localhost) as client:
            return await fetch_jwks(client, url, allow_private_network=allow_private)

    return asyncio.run(main())


def _add_url(harness: Harness, url: str, document: str) -> str:
    def add(connection: Any) -> str:
        info = public_keys.add_jwks_url(
            connection, harness.app_id, url, document, public_keys.utcnow(),
            allow_private_network=True,
        )  # fmt: skip
        return info.id

    source_id = harness.backend.database.run_sync(add)
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    return source_id


def _a_minute_passes(harness: Harness, source_id: str) -> None:
    """What a minute does: the shared attempt time and this node's pacing both lapse."""
    harness.backend.database.run_sync(
        lambda c: c.execute(
            update(JwksCache)
            .where(JwksCache.source_id == source_id)
            .values(attempted_at=public_keys.utcnow() - timedelta(minutes=2))
        )
    )
    harness.client.app.state.countersign.jwks._tried.pop(harness.app_id)  # type: ignore[attr-defined]


def test_rotation_is_picked_up_on_the_first_unknown_kid(
    harness: Harness, jwks_server: JwksServer, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    old, new = new_pair("EdDSA", "2026-01"), new_pair("ES256", "2026-02")
    jwks_server.document = jwks(old)
    document = _fetch(jwks_server.url, tls[1])
    source_id = _add_url(harness, jwks_server.url, document)
    assert jwks_server.fetches == 1
    with trusting(harness, tls[1]):
        assert harness.identify(user_jwt=old.token("u1")).status_code == 200
        assert jwks_server.fetches == 1  # a known kid is served from the cache

        # The customer rotates: publishes the new key and signs with it.
        jwks_server.document = jwks(old, new)
        _a_minute_passes(harness, source_id)
        response = harness.identify(user_jwt=new.token("u2"))
        assert response.status_code == 200, response.text
        assert response.json()["identity"]["status"] == "verified"
        assert jwks_server.fetches == 2

        # Made-up kids within the minute fetch nothing more.
        stranger = new_pair("EdDSA", "made-up")
        for _ in range(5):
            assert harness.identify(user_jwt=stranger.token("u3")).status_code == 401
        assert jwks_server.fetches == 2
        assert harness.log()[0]["code"] == "token_unknown_kid"

        # The JWKS server fails: the cached keys still verify, the error is noted.
        jwks_server.status = 500
        _a_minute_passes(harness, source_id)
        assert harness.identify(user_jwt=stranger.token("u3")).status_code == 401
        assert jwks_server.fetches == 3
        assert harness.identify(user_jwt=new.token("u2")).status_code == 200
        assert harness.identify(user_jwt=old.token("u1")).status_code == 200
    harness.log()  # flushes the batched use counts too
    [info] = harness.backend.database.run_sync(lambda c: public_keys.list_keys(c, harness.app_id))
    assert info.jwks_error == "the JWKS URL answered HTTP 500"
    assert set(info.jwks_kids) == {"2026-01", "2026-02"}
    assert info.use_count >= 3


def test_the_guard_applies_to_jwks_urls(
    jwks_server: JwksServer, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    jwks_server.document = jwks(new_pair("EdDSA"))
    with pytest.raises(JwksFetchFailed, match="private_address"):
        _fetch(jwks_server.url, tls[1], allow_private=False)
    with pytest.raises(JwksFetchFailed, match="https"):
        _fetch(jwks_server.url.replace("https", "http"), tls[1])

    # A certificate nobody trusts is refused (the system's trust store).
    async def untrusted() -> str:
        async with OutboundClient(resolver=_resolve_localhost) as client:
            return await fetch_jwks(client, jwks_server.url, allow_private_network=True)

    with pytest.raises(JwksFetchFailed, match="connect_failed"):
        asyncio.run(untrusted())


@pytest.mark.parametrize("problem", ["5 MB", "10,000 keys", "private key", "not json"])
def test_bad_jwks_documents_are_refused(
    jwks_server: JwksServer, tls: tuple[ssl.SSLContext, ssl.SSLContext], problem: str
) -> None:
    pair: KeyPair = new_pair("EdDSA")
    documents = {
        "5 MB": '{"keys": [' + " " * 5_000_000 + "]}",
        "10,000 keys": '{"keys": ['
        + ",".join([f'{{"kty":"OKP","kid":"k{i}"}}' for i in range(10_000)])
        + "]}",
        "private key": '{"keys": [' + json.dumps(pair.private_jwk()) + "]}",
        "not json": "<html>",
    }
    jwks_server.document = documents[problem]
    with pytest.raises(JwksFetchFailed):
        _fetch(jwks_server.url, tls[1])


def test_the_cli_adds_a_jwks_url(
    cs: Any,
    jwks_server: JwksServer,
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from countersign.cli import public_keys as cli_public_keys

    monkeypatch.setattr(
        cli_public_keys,
        "OutboundClient",
        lambda: OutboundClient(verify=tls[1], resolver=_resolve_localhost),
    )
    pair = new_pair("RS256", "rsa-1")
    jwks_server.document = jwks(pair)
    app_id = json.loads(cs("apps", "create", "Acme", "--json").output)["app_id"]
    refused = cs("public-keys", "add", app_id, "--jwks-url", jwks_server.url)
    assert refused.exit_code == 1  # localhost: a private address unless allowed
    assert "private_address" in refused.output
    added = cs(
        "public-keys", "add", app_id, "--jwks-url", jwks_server.url,
        "--allow-private-network", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    document = json.loads(added.output)
    assert (document["source"], document["jwks_kids"]) == ("jwks_url", ["rsa-1"])
    jwks_server.document = '{"keys": [' + json.dumps(pair.private_jwk()) + "]}"
    leaked = cs(
        "public-keys", "add", app_id, "--jwks-url", jwks_server.url, "--allow-private-network"
    )
    assert leaked.exit_code == 1
    assert "nothing was stored" in leaked.output
    listed = json.loads(cs("public-keys", "list", app_id, "--json").output)["data"]
    assert len(listed) == 1
