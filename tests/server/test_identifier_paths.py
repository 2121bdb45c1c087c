"""One identifier rule (SPEC 2) on every path that produces a user id or email.

Attacks from a security review, each a regression test, on SQLite and PostgreSQL: an
identifier is 1 to 255 characters of valid Unicode with no control characters, whether
it arrives in identify's body, in an identity token (signed, or unsigned in ``off``
mode), or in a server API path or body. Anything else is refused (422
``invalid_identifier``, or a failed token) and nothing is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from countersign.storage.models import Contact, Visitor

from .conftest import Harness

# Each breaks the rule of SPEC 2, as JSON text: "\ud800" can only arrive as an escape.
BAD_IDENTIFIERS: dict[str, str] = {
    "nul": json.dumps("user\x00admin"),
    "newline": json.dumps("user\n2024-01-01 INFO login ok user=admin"),
    "tab": json.dumps("\tuser"),
    "c1-control": json.dumps("user\x85"),
    "256-characters": json.dumps("u" * 256),
    "20000-characters": json.dumps("u" * 20_000),
    "empty": json.dumps(""),
    "lone-surrogate": r'"user\ud800"',
    "boolean": "true",
    "list": '["user"]',
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(payload: str) -> str:
    """A token nobody signed (``alg: none``), its claims written as JSON text."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(payload.encode())}."


def signed_token(harness: Harness, claims: dict[str, str]) -> str:
    """An HS256 token signed with the app's secret; ``claims`` values are JSON text, so
    a claim can hold what json.dumps would never write (a lone surrogate escape)."""
    fields = {"exp": str(int(time.time()) + 600), **claims}
    payload = "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": harness.secret_id}).encode())
    body = _b64(payload.encode())
    mac = hmac.digest(harness.secret.encode(), f"{header}.{body}".encode(), hashlib.sha256)
    return f"{header}.{body}.{_b64(mac)}"


def stored(harness: Harness) -> tuple[int, int]:
    """How many contacts and visitors (sessions) the database holds."""

    def count(connection: Any) -> tuple[int, int]:
        contacts = connection.execute(select(func.count()).select_from(Contact)).scalar_one()
        visitors = connection.execute(select(func.count()).select_from(Visitor)).scalar_one()
        return contacts, visitors

    return harness.backend.database.run_sync(count)


def assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


# ----------------------------------------------------------- unsigned tokens, off mode


def test_an_unsigned_token_sub_with_nul_is_refused_in_off_mode(harness: Harness) -> None:
    # Was: stored as the user id on SQLite; a 500 on PostgreSQL.
    harness.set_policy(identity_mode="off")
    before = stored(harness)
    response = harness.identify(user_jwt=unsigned_token(f'{{"sub": {BAD_IDENTIFIERS["nul"]}}}'))
    assert_refused(response, 422, "invalid_identifier")
    assert "sub" in response.json()["error"]["message"]
    assert stored(harness) == before
    assert harness.log() == []


@pytest.mark.parametrize("bad", list(BAD_IDENTIFIERS.values()), ids=list(BAD_IDENTIFIERS))
def test_an_unsigned_token_sub_breaking_the_rule_is_refused_in_off_mode(
    harness: Harness, bad: str
) -> None:
    # Was: a forged log line, 20,000 characters or NUL stored as the user id, and a 500
    # on PostgreSQL for NUL, for more than 255 characters and for a lone surrogate.
    harness.set_policy(identity_mode="off")
    before = stored(harness)
    response = harness.identify(user_jwt=unsigned_token(f'{{"sub": {bad}}}'))
    assert_refused(response, 422, "invalid_identifier")
    assert stored(harness) == before
    assert harness.log() == []


@pytest.mark.parametrize("bad", list(BAD_IDENTIFIERS.values()), ids=list(BAD_IDENTIFIERS))
def test_an_unsigned_token_email_breaking_the_rule_is_refused_in_off_mode(
    harness: Harness, bad: str
) -> None:
    harness.set_policy(identity_mode="off", identifier="email")
    before = stored(harness)
    response = harness.identify(user_jwt=unsigned_token(f'{{"sub": "u-1", "email": {bad}}}'))
    assert_refused(response, 422, "invalid_identifier")
    assert "email" in response.json()["error"]["message"]
    assert stored(harness) == before


def test_an_unsigned_token_with_a_good_sub_is_still_unverified_in_off_mode(
    harness: Harness,
) -> None:
    harness.set_policy(identity_mode="off")
    response = harness.identify(user_jwt=unsigned_token('{"sub": "user-7", "email": "a@x.io"}'))
    assert response.status_code == 200, response.text
    assert response.json()["identity"]["status"] == "unverified"
    assert response.json()["contact"]["user_id"] == "user-7"
    assert response.json()["contact"]["email"] == "a@x.io"


# ------------------------------------------------------------------- signed tokens


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": r'"user\ud800"'},
        {"sub": '"ok-user"', "email": r'"\udc00@example.com"'},
        {"sub": '"ok-user"', "name": r'"Ada \udbff"'},
        {"sub": '"ok-user"', "plan": r'{"tier": ["\ud800"]}'},
        {"sub": '"ok-user"', r"\ud800": "1"},
        {"sub": '"ok-user"', "name": json.dumps("Ada\x00Lovelace")},
        {"sub": '"ok-user"', "plan": json.dumps("pro\x00")},
        {"sub": '"ok-user"', "name": json.dumps("n" * 256)},
        {"sub": json.dumps("u" * 256)},
        {"sub": json.dumps("user\nadmin")},
    ],
    ids=[
        "sub-lone-surrogate",
        "email-lone-surrogate",
        "name-lone-surrogate",
        "attribute-lone-surrogate",
        "claim-name-lone-surrogate",
        "name-nul",
        "attribute-nul",
        "name-256-characters",
        "sub-256-characters",
        "sub-newline",
    ],
)
def test_a_signed_token_with_text_that_cannot_be_stored_is_a_failed_token(
    harness: Harness, claims: dict[str, str]
) -> None:
    # Was: a 500 on both databases for a lone surrogate anywhere in the claims, and on
    # PostgreSQL for NUL in the name or a name past what contacts.name holds.
    before = stored(harness)
    response = harness.identify(user_jwt=signed_token(harness, claims))
    assert_refused(response, 401, "identity_verification_failed")
    assert stored(harness) == before
    (entry,) = harness.log()
    assert (entry["outcome"], entry["method"], entry["code"]) == (
        "refused",
        "jwt",
        "token_claim_invalid",
    )
    assert entry["hint"]
    assert entry["hint"].isprintable()  # no NUL or surrogate copied into the log


def test_a_signed_token_with_text_that_cannot_be_stored_is_unverified_in_report_mode(
    harness: Harness,
) -> None:
    harness.set_policy(identity_mode="report")
    response = harness.identify(
        user_id="ok-user", user_jwt=signed_token(harness, {"sub": '"ok-user"', "x": r'"\ud800"'})
    )
    assert response.status_code == 200, response.text
    assert response.json()["identity"]["status"] == "unverified"
    assert response.json()["contact"]["attributes"] == {}


def test_a_signed_token_with_a_255_character_name_verifies(harness: Harness) -> None:
    token = signed_token(harness, {"sub": '"ok-user"', "name": json.dumps("n" * 255)})
    response = harness.identify(user_jwt=token)
    assert response.status_code == 200, response.text
    assert response.json()["identity"]["status"] == "verified"


# ------------------------------------------------------------------ the server API


def _server_api_calls(bad: str) -> list[tuple[str, str, str, str | None]]:
    """(method, path, field, JSON body) of every server API use of an identifier."""
    return [
        ("POST", "/v1/notifications", "user_id", f'{{"user_id": {bad}, "title": "t"}}'),
        ("POST", "/v1/conversations", "user_id", f'{{"user_id": {bad}, "body": "b"}}'),
        ("POST", "/v1/actions/lookup", "user_id", f'{{"user_id": {bad}}}'),
        ("PUT", "/v1/users/api-user", "email", f'{{"email": {bad}}}'),
    ]


# What a body can carry only once it is read: NUL and lone surrogates are refused for
# every field at once (422 invalid_request, 400 invalid_json), wrong types by the schema.
_REFUSED_WHILE_READ = {"nul": 422, "lone-surrogate": 400, "boolean": 422, "list": 422}


@pytest.mark.parametrize("name", list(BAD_IDENTIFIERS))
def test_every_server_api_body_identifier_follows_the_one_rule(harness: Harness, name: str) -> None:
    headers = {"authorization": f"Bearer {harness.api_key}", "content-type": "application/json"}
    before = stored(harness)
    for method, path, field, body in _server_api_calls(BAD_IDENTIFIERS[name]):
        response = harness.client.request(method, path, content=body, headers=headers)
        if name in _REFUSED_WHILE_READ:
            assert response.status_code == _REFUSED_WHILE_READ[name], (path, response.text)
            continue
        assert_refused(response, 422, "invalid_identifier")
        assert response.json()["error"]["message"].startswith(f"{field}: "), response.text
    assert stored(harness) == before


PATH_IDENTIFIERS = {
    "newline": "user%0Aadmin",
    "tab": "%09user",
    "del": "user%7F",
    "c1-control": "user%C2%85",
    "256-characters": "u" * 256,
    "20000-characters": "u" * 20_000,
}


@pytest.mark.parametrize(
    "path", ["/v1/users/{}", "/v1/users/{}/conversations", "/v1/users/{}/events"]
)
@pytest.mark.parametrize("bad", list(PATH_IDENTIFIERS.values()), ids=list(PATH_IDENTIFIERS))
def test_every_server_api_path_identifier_follows_the_one_rule(
    harness: Harness, path: str, bad: str
) -> None:
    method = "PUT" if path == "/v1/users/{}" else "GET"
    headers = {"authorization": f"Bearer {harness.api_key}", "content-type": "application/json"}
    before = stored(harness)
    response = harness.client.request(method, path.format(bad), content=b"{}", headers=headers)
    assert_refused(response, 422, "invalid_identifier")
    assert response.json()["error"]["message"].startswith("user_id: "), response.text
    assert stored(harness) == before


def test_the_openapi_document_states_the_identifier_rule(harness: Harness) -> None:
    document = harness.client.get("/openapi.json").json()
    rule = {"minLength": 1, "maxLength": 255}
    for path, method in [
        ("/v1/users/{user_id}", "put"),
        ("/v1/users/{user_id}/conversations", "get"),
        ("/v1/users/{user_id}/events", "get"),
    ]:
        (parameter,) = [
            p for p in document["paths"][path][method]["parameters"] if p["name"] == "user_id"
        ]
        assert rule.items() <= parameter["schema"].items(), (path, parameter)
    schemas = document["components"]["schemas"]
    for model, field in [
        ("IdentifyBody", "user_id"),
        ("IdentifyBody", "email"),
        ("UserBody", "email"),
        ("NewNotification", "user_id"),
        ("NewUserConversation", "user_id"),
        ("ServerActionCall", "user_id"),
    ]:
        options = schemas[model]["properties"][field]["anyOf"]
        (text,) = [option for option in options if option.get("type") == "string"]
        assert rule.items() <= text.items(), (model, field, options)
