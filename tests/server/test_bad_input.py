"""A catalogue of malformed requests: each gets its 4xx and error code, never a 500.

The catalogue runs against one server per database (a module-scoped harness, so
its ~180 requests cost one server start per database), seeded with a verified contact
and its session. After every bad request, and once more at the end, the seeded data must
still be there and usable: a refused request writes nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.testclient import TestClient

from countersign import sign
from countersign.context import open_backend
from countersign.server.app import create_app
from countersign.server.body import read_body
from countersign.server.errors import ApiError
from countersign.settings import load_settings
from countersign.storage import apps
from countersign.storage.models import Contact, Visitor

from ..conftest import postgres_schema
from .conftest import Harness

APP = "__APP__"  # replaced by the seeded app's id in every body
SEED_USER = "seed-user-1"
MB = 1024 * 1024


# --------------------------------------------------------------------------- harness


@dataclass
class Seeded:
    """The module's server, and what was stored before any bad request was sent."""

    harness: Harness
    contact_id: str
    token: str
    counts: tuple[int, int]  # contacts, visitors (a session is its visitor row)

    def count_rows(self) -> tuple[int, int]:
        def count(connection: Any) -> tuple[int, int]:
            return tuple(  # type: ignore[return-value]
                connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (Contact, Visitor)
            )

        return self.harness.backend.database.run_sync(count)

    def assert_intact(self) -> None:
        """The seeded session still works, for the seeded contact, and nothing was added."""
        me = self.harness.client.get(
            "/v1/widget/session", headers=self.harness.session_headers(self.token)
        )
        assert me.status_code == 200, me.text
        assert me.json()["contact_id"] == self.contact_id
        assert me.json()["identity"]["status"] == "verified"
        assert self.count_rows() == self.counts


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    tmp = tmp_path_factory.mktemp("bad-input")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'countersign.db'}"
        else:
            url = stack.enter_context(postgres_schema())
        settings = load_settings(environ={}, data_dir=tmp / "data", database_url=url)
        backend = open_backend(settings)
        stack.callback(backend.close)
        created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Acme"))
        client = stack.enter_context(TestClient(create_app(settings, backend=backend)))
        harness = Harness(
            client,
            backend,
            settings,
            created.app.id,
            created.secret,
            created.secret_id,
            created.api_key,
        )
        document = harness.verified(SEED_USER, user_metadata={"plan": "pro"})
        seed = Seeded(harness, document["contact"]["id"], document["session_token"], (0, 0, 0))
        seed.counts = seed.count_rows()
        yield seed


# --------------------------------------------------------------------------- helpers


def body(**fields: Any) -> bytes:
    """A JSON identify body for the seeded app with ``fields``."""
    return json.dumps({"app_id": APP, **fields}).encode()


def raw(text: str) -> bytes:
    """Raw JSON text, written by hand to hold what ``json.dumps`` would not produce."""
    return text.replace("APP", APP).encode()


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert set(document) == {"error"}, document
    assert set(document["error"]) == {"code", "message"}, document
    assert document["error"]["code"] == code, document
    message = document["error"]["message"]
    assert isinstance(message, str)
    assert message


BodyMaker = bytes | Callable[[Harness], Any]


@dataclass(frozen=True)
class Bad:
    body: BodyMaker
    status: int
    code: str
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "POST"
    path: str = "/v1/widget/identify"


def _send(harness: Harness, case: Bad, token: str) -> Any:
    content = case.body(harness) if callable(case.body) else case.body
    if isinstance(content, bytes):
        content = content.replace(APP.encode(), harness.app_id.encode())
    headers = dict(case.headers)
    if case.content_type is not None:
        headers["content-type"] = case.content_type
    for name, value in headers.items():
        headers[name] = (
            value.replace("{token}", token)
            .replace("{token[:-1]}", token[:-1])
            .replace("{api_key}", harness.api_key)
        )
    kwargs: dict[str, Any] = {"headers": headers}
    if content:
        kwargs["content"] = content
    return harness.client.request(case.method, case.path, **kwargs)


def post_raw(harness: Harness, data: bytes, content_type: str = "application/json") -> Any:
    """POST ``data`` (``__APP__`` replaced by the app's id) to identify."""
    return harness.client.post(
        "/v1/widget/identify",
        content=data.replace(APP.encode(), harness.app_id.encode()),
        headers={"content-type": content_type},
    )


def _with_hash(user_id: str, transform: Callable[[str], str]) -> Callable[[Harness], bytes]:
    return lambda h: body(user_id=user_id, user_hash=transform(sign(h.secret, user_id)))


def _one_megabyte_chunked(_harness: Harness) -> Iterator[bytes]:
    yield b'{"app_id": "x", "user_metadata": {"pad": "'
    for _ in range(16):
        yield b"a" * (64 * 1024)
    yield b'"}}'


FULL_WIDTH_DIGITS = "".join(chr(0xFF10 + int(c, 16) % 10) for c in "0123456789abcdef" * 4)

# ------------------------------------------------------------------------ identify

IDENTIFY: dict[str, Bad] = {
    # wrong types for every field
    "app_id-int": Bad(json.dumps({"app_id": 123}).encode(), 422, "invalid_request"),
    "app_id-null": Bad(json.dumps({"app_id": None}).encode(), 422, "invalid_request"),
    "app_id-array": Bad(json.dumps({"app_id": [APP]}).encode(), 422, "invalid_request"),
    "app_id-object": Bad(json.dumps({"app_id": {"id": APP}}).encode(), 422, "invalid_request"),
    "app_id-missing": Bad(json.dumps({"user_id": "u"}).encode(), 422, "invalid_request"),
    "user_id-float": Bad(body(user_id=1.5), 422, "invalid_request"),
    "user_id-integral-float": Bad(body(user_id=1234.0), 422, "invalid_request"),
    "user_id-exponent": Bad(raw('{"app_id": "APP", "user_id": 1e3}'), 422, "invalid_request"),
    "user_id-true": Bad(body(user_id=True), 422, "invalid_request"),
    "user_id-false": Bad(body(user_id=False), 422, "invalid_request"),
    "user_id-array": Bad(body(user_id=["u"]), 422, "invalid_request"),
    "user_id-object": Bad(body(user_id={"id": "u"}), 422, "invalid_request"),
    "email-int": Bad(body(email=5), 422, "invalid_request"),
    "email-array": Bad(body(email=["a@b.c"]), 422, "invalid_request"),
    "user_hash-int": Bad(body(user_id="u", user_hash=1234), 422, "invalid_request"),
    "user_hash-array": Bad(body(user_id="u", user_hash=["ab" * 32]), 422, "invalid_request"),
    "user_hash-object": Bad(body(user_id="u", user_hash={}), 422, "invalid_request"),
    "user_jwt-int": Bad(body(user_jwt=1), 422, "invalid_request"),
    "user_metadata-list": Bad(body(user_metadata=[1, 2]), 422, "invalid_request"),
    "user_metadata-string": Bad(body(user_metadata="plan=pro"), 422, "invalid_request"),
    "user_metadata-int": Bad(body(user_metadata=3), 422, "invalid_request"),
    "visitor_id-int": Bad(body(visitor_id=7), 422, "invalid_request"),
    "visitor_id-array": Bad(body(visitor_id=["v"]), 422, "invalid_request"),
    # unknown fields: a typo must not silently drop the hash
    "unknown-field-typo": Bad(body(user_id="u", user_hsh="ab" * 32), 422, "invalid_request"),
    "unknown-field-verified": Bad(body(user_id="u", verified=True), 422, "invalid_request"),
    # hashes that are not a MAC in an accepted encoding (required mode: a plain 401)
    "hash-non-ascii": Bad(
        body(user_id="u-e", user_hash="é" * 64), 401, "identity_verification_failed"
    ),
    "hash-full-width-digits": Bad(
        body(user_id="u-fw", user_hash=FULL_WIDTH_DIGITS), 401, "identity_verification_failed"
    ),
    "hash-10000-chars": Bad(
        body(user_id="u-long", user_hash="a" * 10_000), 401, "identity_verification_failed"
    ),
    "hash-trailing-newline": Bad(
        _with_hash("u-nl", lambda mac: mac + "\n"), 401, "identity_verification_failed"
    ),
    "hash-inner-space": Bad(
        _with_hash("u-sp", lambda mac: mac[:32] + " " + mac[32:]),
        401,
        "identity_verification_failed",
    ),
    "hash-of-another-user": Bad(
        lambda h: body(user_id="u-other", user_hash=sign(h.secret, SEED_USER)),
        401,
        "identity_verification_failed",
    ),
    "hash-missing": Bad(body(user_id="u-nohash"), 401, "identity_verification_failed"),
    "hash-empty": Bad(body(user_id="u-empty", user_hash=""), 401, "identity_verification_failed"),
    # identifiers
    "user_id-256-chars": Bad(body(user_id="u" * 256), 422, "invalid_identifier"),
    "user_id-empty": Bad(body(user_id=""), 422, "invalid_identifier"),
    "user_id-nul": Bad(body(user_id="user\x00admin"), 422, "invalid_request"),
    "user_id-newline": Bad(body(user_id="user\n"), 422, "invalid_identifier"),
    "user_id-tab": Bad(body(user_id="\tuser"), 422, "invalid_identifier"),
    "user_id-del": Bad(body(user_id="user\x7f"), 422, "invalid_identifier"),
    "user_id-c1-control": Bad(body(user_id="user\x85"), 422, "invalid_identifier"),
    "user_id-int-256-digits": Bad(
        raw('{"app_id": "APP", "user_id": ' + "9" * 256 + "}"), 422, "invalid_identifier"
    ),
    "user_id-int-5000-digits": Bad(
        raw('{"app_id": "APP", "user_id": ' + "9" * 5000 + "}"), 400, "invalid_json"
    ),
    "email-nul": Bad(body(email="a\x00@example.com"), 422, "invalid_request"),
    # NUL anywhere: PostgreSQL cannot even compare text holding it, so it is refused
    # for every field before any lookup
    "nul-app_id": Bad(json.dumps({"app_id": APP + "\x00"}).encode(), 422, "invalid_request"),
    "nul-visitor_id": Bad(body(visitor_id="vis_\x00x"), 422, "invalid_request"),
    "nul-user_hash": Bad(body(user_id="u", user_hash="\x00" * 64), 422, "invalid_request"),
    "nul-metadata-value": Bad(body(user_metadata={"raw": "a\x00b"}), 422, "invalid_request"),
    "nul-metadata-key": Bad(body(user_metadata={"a\x00": 1}), 422, "invalid_request"),
    "nul-deep-in-metadata": Bad(
        raw(
            '{"app_id": "APP", "user_metadata": {"a": ' + "[" * 900 + '"\\u0000"' + "]" * 900 + "}}"
        ),
        422,
        "invalid_request",
    ),
    "email-256-chars": Bad(
        body(user_id="u", email="e" * 250 + "@x.com"), 422, "invalid_identifier"
    ),
    # lone surrogates, as JSON escapes (UTF-8 cannot carry them)
    "surrogate-user_id": Bad(raw(r'{"app_id": "APP", "user_id": "\ud800"}'), 400, "invalid_json"),
    "surrogate-user_id-low": Bad(
        raw(r'{"app_id": "APP", "user_id": "user\udfff"}'), 400, "invalid_json"
    ),
    "surrogate-user_id-reversed-pair": Bad(
        raw(r'{"app_id": "APP", "user_id": "\ude00\ud83d"}'), 400, "invalid_json"
    ),
    "surrogate-user_hash": Bad(
        raw(r'{"app_id": "APP", "user_id": "u", "user_hash": "' + r"\ud800" * 64 + '"}'),
        400,
        "invalid_json",
    ),
    "surrogate-email": Bad(raw(r'{"app_id": "APP", "email": "\udc00@x.com"}'), 400, "invalid_json"),
    "surrogate-user_jwt": Bad(
        raw(r'{"app_id": "APP", "user_jwt": "\ud800.\ud800.\ud800"}'), 400, "invalid_json"
    ),
    "surrogate-visitor_id": Bad(
        raw(r'{"app_id": "APP", "visitor_id": "\ud800"}'), 400, "invalid_json"
    ),
    "surrogate-app_id": Bad(raw(r'{"app_id": "\ud800"}'), 400, "invalid_json"),
    "surrogate-metadata-key": Bad(
        raw(r'{"app_id": "APP", "user_metadata": {"\ud800": 1}}'), 400, "invalid_json"
    ),
    "surrogate-metadata-value": Bad(
        raw(r'{"app_id": "APP", "user_metadata": {"name": "A\uDBFF"}}'), 400, "invalid_json"
    ),
    "surrogate-metadata-nested": Bad(
        raw(r'{"app_id": "APP", "user_metadata": {"a": [{"b": ["\udc00"]}]}}'), 400, "invalid_json"
    ),
    "surrogate-unknown-field-key": Bad(raw(r'{"app_id": "APP", "\ud800": 1}'), 400, "invalid_json"),
    # JSON that Python's parser would accept by default
    "nan-metadata": Bad(
        raw('{"app_id": "APP", "user_metadata": {"score": NaN}}'), 400, "invalid_json"
    ),
    "infinity-metadata": Bad(
        raw('{"app_id": "APP", "user_metadata": {"s": Infinity}}'), 400, "invalid_json"
    ),
    "minus-infinity-metadata": Bad(
        raw('{"app_id": "APP", "user_metadata": {"s": -Infinity}}'), 400, "invalid_json"
    ),
    "nan-user_id": Bad(raw('{"app_id": "APP", "user_id": NaN}'), 400, "invalid_json"),
    "overflow-float-metadata": Bad(
        raw('{"app_id": "APP", "user_metadata": {"s": 1e999}}'), 400, "invalid_json"
    ),
    "overflow-float-negative": Bad(
        raw('{"app_id": "APP", "user_metadata": {"s": -1e999}}'), 400, "invalid_json"
    ),
    # duplicate keys
    "duplicate-app_id": Bad(raw('{"app_id": "APP", "app_id": "APP"}'), 400, "invalid_json"),
    "duplicate-user_id-different": Bad(
        raw('{"app_id": "APP", "user_id": "attacker", "user_id": "' + SEED_USER + '"}'),
        400,
        "invalid_json",
    ),
    "duplicate-user_id-same": Bad(
        raw('{"app_id": "APP", "user_id": "u", "user_id": "u"}'), 400, "invalid_json"
    ),
    "duplicate-user_hash": Bad(
        raw('{"app_id": "APP", "user_id": "u", "user_hash": "a", "user_hash": "b"}'),
        400,
        "invalid_json",
    ),
    "duplicate-in-metadata": Bad(
        raw('{"app_id": "APP", "user_metadata": {"a": {"plan": 1, "plan": 2}}}'),
        400,
        "invalid_json",
    ),
    # nesting
    "nesting-60000-open-brackets": Bad(
        raw('{"app_id": "APP", "user_metadata": {"a": ' + "[" * 60_000 + "}}"), 400, "invalid_json"
    ),
    "nesting-30000-closed-brackets": Bad(
        raw('{"app_id": "APP", "user_metadata": {"a": ' + "[" * 30_000 + "]" * 30_000 + "}}"),
        400,
        "invalid_json",
    ),
    "nesting-5000-objects": Bad(
        raw('{"app_id": "APP", "user_metadata": ' + '{"a": ' * 5_000 + "1" + "}" * 5_001),
        400,
        "invalid_json",
    ),
    "nesting-100000-brackets-over-limit": Bad(
        raw('{"app_id": "APP", "user_metadata": {"a": ' + "[" * 100_000 + "}}"),
        413,
        "payload_too_large",
    ),
    # bytes that are not UTF-8, or not JSON text
    "utf8-invalid-byte": Bad(b'{"app_id": "__APP__", "user_id": "\xff"}', 400, "invalid_json"),
    "utf8-overlong-slash": Bad(
        b'{"app_id": "__APP__", "user_id": "\xc0\xaf"}', 400, "invalid_json"
    ),
    "utf8-encoded-surrogate": Bad(
        b'{"app_id": "__APP__", "user_id": "\xed\xa0\x80"}', 400, "invalid_json"
    ),
    "utf8-truncated": Bad(b'{"app_id": "__APP__", "user_id": "\xe2\x82"}', 400, "invalid_json"),
    "latin1-body": Bad(
        '{"app_id": "__APP__", "user_id": "José"}'.encode("latin-1"), 400, "invalid_json"
    ),
    "utf16-body": Bad('{"app_id": "x"}'.encode("utf-16"), 400, "invalid_json"),
    "utf8-bom": Bad(b"\xef\xbb\xbf" + body(), 400, "invalid_json"),
    "empty-body": Bad(b"", 400, "invalid_json"),
    "whitespace-body": Bad(b"  \n ", 400, "invalid_json"),
    "truncated-json": Bad(raw('{"app_id": "APP", "user_id": '), 400, "invalid_json"),
    "trailing-garbage": Bad(body() + b" x", 400, "invalid_json"),
    "two-documents": Bad(body() + body(), 400, "invalid_json"),
    "single-quotes": Bad(b"{'app_id': 'x'}", 400, "invalid_json"),
    "comment": Bad(raw('{"app_id": "APP" /* me */}'), 400, "invalid_json"),
    "trailing-comma": Bad(raw('{"app_id": "APP",}'), 400, "invalid_json"),
    "raw-control-char-in-string": Bad(
        raw('{"app_id": "APP", "user_id": "a\x01"}'), 400, "invalid_json"
    ),
    # a body that is JSON but not an object
    "json-array": Bad(b'[{"app_id": "x"}]', 422, "invalid_request"),
    "json-string": Bad(b'"app_id"', 422, "invalid_request"),
    "json-number": Bad(b"42", 422, "invalid_request"),
    "json-null": Bad(b"null", 422, "invalid_request"),
    "json-true": Bad(b"true", 422, "invalid_request"),
    # size
    "one-megabyte-with-length": Bad(
        b'{"app_id": "__APP__", "user_metadata": {"pad": "' + b"a" * MB + b'"}}',
        413,
        "payload_too_large",
    ),
    "one-megabyte-chunked": Bad(_one_megabyte_chunked, 413, "payload_too_large"),
    "content-length-negative": Bad(body(), 400, "bad_request", headers=(("content-length", "-1"),)),
    "content-length-text": Bad(body(), 400, "bad_request", headers=(("content-length", "ten"),)),
    "content-length-5000-digits": Bad(
        body(), 413, "payload_too_large", headers=(("content-length", "9" * 5000),)
    ),
    # content types
    "content-type-text-plain": Bad(
        body(), 415, "unsupported_media_type", content_type="text/plain"
    ),
    "content-type-form": Bad(
        b"app_id=__APP__&user_id=u",
        415,
        "unsupported_media_type",
        content_type="application/x-www-form-urlencoded",
    ),
    "content-type-multipart": Bad(
        body(), 415, "unsupported_media_type", content_type="multipart/form-data; boundary=x"
    ),
    "content-type-missing": Bad(body(), 415, "unsupported_media_type", content_type=None),
    "content-type-json-prefix": Bad(
        body(), 415, "unsupported_media_type", content_type="application/jsonx"
    ),
    "content-type-json-suffix": Bad(
        body(), 415, "unsupported_media_type", content_type="application/merge-patch+json"
    ),
    # the app, the method
    "unknown-app": Bad(json.dumps({"app_id": "app_doesnotexist"}).encode(), 404, "app_not_found"),
    "empty-app_id": Bad(json.dumps({"app_id": ""}).encode(), 404, "app_not_found"),
    "app_id-10000-chars": Bad(json.dumps({"app_id": "a" * 10_000}).encode(), 404, "app_not_found"),
    "get-identify": Bad(b"", 405, "method_not_allowed", method="GET", content_type=None),
    "put-identify": Bad(body(), 405, "method_not_allowed", method="PUT"),
    "delete-identify": Bad(b"", 405, "method_not_allowed", method="DELETE", content_type=None),
}

# ------------------------------------------------------------------ PUT /v1/users/{id}

_KEY = (("authorization", "Bearer {api_key}"),)


def _put(payload: bytes, status: int, code: str, **kwargs: Any) -> Bad:
    kwargs.setdefault("headers", _KEY)
    kwargs.setdefault("path", "/v1/users/api-user-1")
    return Bad(payload, status, code, method="PUT", **kwargs)


SERVER_API: dict[str, Bad] = {
    "no-key": _put(b"{}", 401, "invalid_api_key", headers=()),
    "bad-key": _put(
        b"{}", 401, "invalid_api_key", headers=(("authorization", "Bearer csk_wrong"),)
    ),
    "empty-bearer": _put(b"{}", 401, "invalid_api_key", headers=(("authorization", "Bearer "),)),
    "basic-scheme": _put(
        b"{}", 401, "invalid_api_key", headers=(("authorization", "Basic {api_key}"),)
    ),
    "key-10000-chars": _put(
        b"{}", 401, "invalid_api_key", headers=(("authorization", "Bearer " + "k" * 10_000),)
    ),
    "key-with-suffix": _put(
        b"{}", 401, "invalid_api_key", headers=(("authorization", "Bearer {api_key}x"),)
    ),
    "session-token-as-key": _put(
        b"{}", 401, "invalid_api_key", headers=(("authorization", "Bearer {token}"),)
    ),
    "email-int": _put(b'{"email": 5}', 422, "invalid_request"),
    "name-int": _put(b'{"name": 5}', 422, "invalid_request"),
    "name-256-chars": _put(json.dumps({"name": "n" * 256}).encode(), 422, "invalid_request"),
    "attributes-list": _put(b'{"attributes": [1]}', 422, "invalid_request"),
    "attributes-string": _put(b'{"attributes": "vip"}', 422, "invalid_request"),
    "unknown-field": _put(b'{"verified": false}', 422, "invalid_request"),
    "body-array": _put(b"[]", 422, "invalid_request"),
    "email-nul": _put(json.dumps({"email": "a\x00@x.com"}).encode(), 422, "invalid_request"),
    "name-nul": _put(json.dumps({"name": "Ada\x00Lovelace"}).encode(), 422, "invalid_request"),
    "attribute-nul": _put(
        json.dumps({"attributes": {"a": "\x00"}}).encode(), 422, "invalid_request"
    ),
    "path-256-chars": _put(b"{}", 422, "invalid_identifier", path="/v1/users/" + "u" * 256),
    "path-nul": _put(b"{}", 400, "bad_request", path="/v1/users/user%00admin"),
    "path-newline": _put(b"{}", 422, "invalid_identifier", path="/v1/users/user%0A"),
    "surrogate-name": _put(rb'{"name": "\ud800"}', 400, "invalid_json"),
    "surrogate-attribute": _put(rb'{"attributes": {"a": "\udfff"}}', 400, "invalid_json"),
    "surrogate-attribute-key": _put(rb'{"attributes": {"\udfff": 1}}', 400, "invalid_json"),
    "nan-attribute": _put(b'{"attributes": {"a": NaN}}', 400, "invalid_json"),
    "overflow-attribute": _put(b'{"attributes": {"a": 1e400}}', 400, "invalid_json"),
    "duplicate-email": _put(b'{"email": "a@x.com", "email": "b@x.com"}', 400, "invalid_json"),
    "empty-body": _put(b"", 400, "invalid_json"),
    "not-utf8": _put(b'{"name": "\xff"}', 400, "invalid_json"),
    "text-plain": _put(b"{}", 415, "unsupported_media_type", content_type="text/plain"),
    "one-megabyte": _put(b'{"name": "' + b"n" * MB + b'"}', 413, "payload_too_large"),
    "get": Bad(
        b"",
        405,
        "method_not_allowed",
        content_type=None,
        headers=_KEY,
        method="GET",
        path="/v1/users/api-user-1",
    ),
}

# ------------------------------------------------------------------ session endpoints


def _session(header: str | None, path: str = "/v1/widget/session", method: str = "GET") -> Bad:
    headers = (("authorization", header),) if header is not None else ()
    return Bad(
        b"", 401, "invalid_session", content_type=None, headers=headers, method=method, path=path
    )


SESSIONS: dict[str, Bad] = {
    "missing": _session(None),
    "empty": _session(""),
    "bearer-only": _session("Bearer"),
    "bearer-blank": _session("Bearer    "),
    "garbage": _session("Bearer garbage"),
    "token-prefix-only": _session("Bearer cst_"),
    "overlong": _session("Bearer " + "x" * 10_000),
    "basic-scheme": _session("Basic {token}"),
    "token-without-scheme": _session("{token}"),
    "token-with-suffix": _session("Bearer {token}x"),
    "token-truncated": _session("Bearer {token[:-1]}"),
    "api-key-as-session": _session("Bearer {api_key}"),
    "logout-missing": _session(None, "/v1/widget/logout", "POST"),
    "logout-garbage": _session("Bearer garbage", "/v1/widget/logout", "POST"),
    "logout-overlong": _session("Bearer " + "y" * 10_000, "/v1/widget/logout", "POST"),
}


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", list(IDENTIFY.values()), ids=list(IDENTIFY))
def test_bad_identify_request(seeded: Seeded, case: Bad) -> None:
    assert_error(_send(seeded.harness, case, seeded.token), case.status, case.code)
    seeded.assert_intact()


@pytest.mark.parametrize("case", list(SERVER_API.values()), ids=list(SERVER_API))
def test_bad_server_api_request(seeded: Seeded, case: Bad) -> None:
    assert_error(_send(seeded.harness, case, seeded.token), case.status, case.code)
    seeded.assert_intact()


@pytest.mark.parametrize("case", list(SESSIONS.values()), ids=list(SESSIONS))
def test_bad_session_credentials(seeded: Seeded, case: Bad) -> None:
    assert_error(_send(seeded.harness, case, seeded.token), case.status, case.code)
    seeded.assert_intact()


def test_non_ascii_session_header_is_refused(seeded: Seeded) -> None:
    # Header bytes are latin-1; a token no server issued, in any encoding, is a 401.
    response = seeded.harness.client.get(
        "/v1/widget/session", headers=[(b"authorization", b"Bearer \xe9\xe9\xff")]
    )
    assert_error(response, 401, "invalid_session")


def test_stored_data_survives_the_catalogue(seeded: Seeded) -> None:
    """What was stored before the bad requests is still there, and still usable."""
    harness = seeded.harness
    seeded.assert_intact()
    again = harness.verified(SEED_USER)
    assert again["contact"]["id"] == seeded.contact_id
    assert again["contact"]["user_id"] == SEED_USER
    assert again["contact"]["verified"] is True
    # Both sessions of the seeded user are live (a second identify of the same user
    # in another browser does not end the first).
    for token in (seeded.token, again["session_token"]):
        me = harness.client.get("/v1/widget/session", headers=harness.session_headers(token))
        assert me.status_code == 200, me.text
    # A refused hash of this test's own, so that it stands alone: alone it is refused
    # with 401; after the catalogue the per-address limit may answer 429 instead, and
    # then the catalogue's refusals are in the log.
    wrong = body(user_id="survivor", user_hash=sign(harness.secret, "someone-else"))
    assert post_raw(harness, wrong, "application/json").status_code in (401, 429)
    # The log holds the refused hashes, each diagnosed; the seeded success is counted.
    log = harness.log(limit=500)
    assert "refused" in {entry["outcome"] for entry in log}
    assert all(entry["code"] for entry in log)
    assert harness.verified_count() >= 1
    seeded.counts = seeded.count_rows()  # this test added a visitor


# ------------------------------------------------------- accepted edge values


def test_255_character_user_id_is_accepted(harness: Harness) -> None:
    user_id = "u" * 255
    document = harness.verified(user_id)
    assert document["contact"]["user_id"] == user_id


def test_json_content_type_with_parameters_is_accepted(harness: Harness) -> None:
    request = body(user_id="u", user_hash=sign(harness.secret, "u"))
    for content_type in ("application/json; charset=utf-8", "Application/JSON"):
        response = post_raw(harness, request, content_type)
        assert response.status_code == 200, (content_type, response.text)


def test_escaped_surrogate_pairs_are_one_character(harness: Harness) -> None:
    # An escaped pair is valid JSON text for U+1F600, kept as it was sent.
    request = raw(
        '{"app_id": "APP", "user_id": "u", "user_hash": "HASH", '
        r'"user_metadata": {"mood": "\ud83d\ude00", "\uD83D\uDE80": "rocket"}}'
    ).replace(b"HASH", sign(harness.secret, "u").encode())
    response = post_raw(harness, request)
    assert response.status_code == 200, response.text
    assert response.json()["contact"]["metadata"] == {"mood": "\U0001f600", "\U0001f680": "rocket"}


def test_nesting_that_fits_is_stored_and_returned(harness: Harness) -> None:
    harness.set_policy(max_metadata_chars=10_000)
    nested: Any = "bottom"
    for _ in range(200):
        nested = {"n": [nested]}
    first = harness.verified("nested-user", user_metadata={"tree": nested})
    assert first["contact"]["metadata"] == {"tree": nested}
    # The contact comes back from the database row, so this is the stored value.
    second = harness.verified("nested-user", user_metadata={"tree": nested, "x": 1})
    assert second["contact"]["metadata"]["tree"] == nested


def test_100000_brackets_under_a_larger_limit_are_400(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(max_body_bytes=256 * 1024)
    request = raw('{"app_id": "APP", "user_metadata": {"a": ' + "[" * 100_000 + "}}")
    assert_error(post_raw(harness, request), 400, "invalid_json")


def test_revoked_secret_is_401_in_required_mode(harness: Harness) -> None:
    old_hash = sign(harness.secret, "rev-user")
    assert harness.identify(user_id="rev-user", user_hash=old_hash).status_code == 200
    harness.backend.database.run_sync(
        lambda c: apps.revoke_secret(c, harness.app_id, harness.secret_id)
    )
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]
    assert_error(
        harness.identify(user_id="rev-user", user_hash=old_hash),
        401,
        "identity_verification_failed",
    )


# --------------------------------------------------------- streamed body limit


def test_streamed_body_is_cut_off_at_the_limit(harness: Harness) -> None:
    """Without Content-Length, the server stops reading once past the limit."""
    app = harness.client.app
    chunk = b" " * 16_384
    state = {"chunks": 0}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        state["chunks"] += 1
        # An endless body: a server that reads it all would never answer.
        return {"type": "http.request", "body": chunk, "more_body": state["chunks"] < 10_000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/widget/identify",
        "raw_path": b"/v1/widget/identify",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    harness.client.portal.call(app, scope, receive, send)  # type: ignore[union-attr]
    start = next(message for message in sent if message["type"] == "http.response.start")
    assert start["status"] == 413
    limit = harness.settings.max_body_bytes
    assert state["chunks"] <= limit // len(chunk) + 2


def _request(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> Request:
    pending = list(chunks)

    async def receive() -> dict[str, Any]:
        data = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": data, "more_body": bool(pending)}

    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


@pytest.mark.parametrize(
    ("length", "status", "code"),
    [
        (b"\xb2", 400, "bad_request"),  # superscript two: str.isdigit() says yes
        (b"\xb9\xb2", 400, "bad_request"),  # superscripts one and two
        (b"9" * 5000, 413, "payload_too_large"),
        (b"1 0", 400, "bad_request"),
        (b"+10", 400, "bad_request"),
    ],
    ids=["superscript", "superscripts", "5000-digits", "inner-space", "plus-sign"],
)
def test_read_body_refuses_odd_content_lengths(length: bytes, status: int, code: str) -> None:
    import anyio

    request = _request([(b"content-length", length)], [b"{}"])
    with pytest.raises(ApiError) as caught:
        anyio.run(read_body, request, 1024)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_read_body_streams_up_to_the_limit() -> None:
    import anyio

    exactly = _request([], [b"a" * 512, b"b" * 512])
    assert anyio.run(read_body, exactly, 1024) == b"a" * 512 + b"b" * 512
    over = _request([], [b"a" * 512, b"b" * 513])
    with pytest.raises(ApiError) as caught:
        anyio.run(read_body, over, 1024)
    assert caught.value.status == 413
