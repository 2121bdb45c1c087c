"""SPEC section 2's policy table, end to end over HTTP, on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from countersign import KeyRing, RingKey, Secret, issue_identity_token, sign

from .conftest import Harness

USER = "user-1234"
EMAIL = "Ada.Lovelace@example.com"

# (mode, on_mismatch, signature state) -> (HTTP status, identity status or error code)
MATRIX = [
    ("off", "reject", "valid", 200, "unverified"),
    ("off", "reject", "wrong", 200, "unverified"),
    ("off", "reject", "missing", 200, "unverified"),
    ("report", "reject", "valid", 200, "verified"),
    ("report", "reject", "wrong", 200, "unverified"),
    ("report", "reject", "missing", 200, "unverified"),
    ("required", "reject", "valid", 200, "verified"),
    ("required", "reject", "wrong", 401, "identity_verification_failed"),
    ("required", "reject", "missing", 401, "identity_verification_failed"),
    ("required", "anonymous", "valid", 200, "verified"),
    ("required", "anonymous", "wrong", 200, "anonymous"),
    ("required", "anonymous", "missing", 200, "anonymous"),
]


def _hash(harness: Harness, identifier: str, state: str) -> dict[str, Any]:
    if state == "valid":
        return {"user_hash": sign(harness.secret, identifier)}
    if state == "wrong":
        return {"user_hash": sign(harness.secret, identifier.lower() + "x")}
    return {}


@pytest.mark.parametrize("identifier", ["user_id", "email"])
@pytest.mark.parametrize(("mode", "on_mismatch", "state", "status", "outcome"), MATRIX)
def test_policy_matrix(
    harness: Harness,
    identifier: str,
    mode: str,
    on_mismatch: str,
    state: str,
    status: int,
    outcome: str,
) -> None:
    harness.set_policy(identity_mode=mode, on_mismatch=on_mismatch, identifier=identifier)
    claimed = USER if identifier == "user_id" else EMAIL
    response = harness.identify(
        user_id=USER,
        email=EMAIL,
        user_metadata={"plan": "pro"},
        **_hash(harness, claimed, state),
    )
    assert response.status_code == status, response.text
    document = response.json()
    if status != 200:
        assert document == {"error": {"code": outcome, "message": document["error"]["message"]}}
        assert "session_token" not in document
        return
    assert document["identity"]["status"] == outcome
    contact = document["contact"]
    assert contact["verified"] is (outcome == "verified")
    if outcome == "verified":
        assert contact[identifier] == claimed
        # The identifier that was not signed is not proven: never an identity column.
        other = "email" if identifier == "user_id" else "user_id"
        assert contact[other] is None
        assert contact["metadata"][other] == (EMAIL if other == "email" else USER)
    elif outcome == "unverified":
        assert contact["user_id"] == USER  # the claim is shown, marked unverified
    else:
        # Dropped identity: nothing downstream may see the claimed id.
        assert contact["user_id"] is None
        assert contact["email"] is None
        assert USER not in str(document)
        assert EMAIL not in str(document)
    assert contact["metadata"]["plan"] == "pro"


def test_anonymous_visitor_is_always_allowed(harness: Harness) -> None:
    for mode in ("off", "report", "required"):
        harness.set_policy(identity_mode=mode)
        response = harness.identify(user_metadata={"page": "/pricing"})
        assert response.status_code == 200
        assert response.json()["identity"]["status"] == "anonymous"


def test_email_mode_refuses_a_user_id_hash(harness: Harness) -> None:
    harness.set_policy(identifier="email")
    response = harness.identify(user_id=USER, email=EMAIL, user_hash=sign(harness.secret, USER))
    assert response.status_code == 401
    assert harness.log()[0]["code"] == "other_identifier"


@pytest.mark.parametrize(
    ("mistake", "code"),
    [
        (lambda secret: sign(secret + "\n", USER), "secret_whitespace"),
        (lambda secret: sign(secret, USER.upper()), "identifier_case"),
        (lambda secret: USER, "signature_is_identifier"),
        (lambda secret: sign(secret, USER)[:40], "malformed_signature"),
    ],
)
def test_failures_reach_the_log_with_their_diagnosis(
    harness: Harness, mistake: Any, code: str
) -> None:
    response = harness.identify(user_id=USER, user_hash=mistake(harness.secret))
    assert response.status_code == 401
    # The browser learns nothing of why.
    assert code not in response.text
    entry = harness.log()[0]
    assert (entry["outcome"], entry["code"], entry["identifier"]) == ("refused", code, USER)
    assert entry["hint"]
    assert harness.secret not in str(entry)


def test_report_mode_logs_what_required_would_refuse(harness: Harness) -> None:
    harness.set_policy(identity_mode="report")
    harness.identify(user_id=USER)
    harness.verified("someone-else")
    outcomes = [(e["outcome"], e["code"]) for e in harness.log()]
    assert outcomes == [("unverified", "missing_signature")]
    assert harness.verified_count() == 1  # the success, counted rather than logged


def test_valid_hash_is_never_logged(harness: Harness) -> None:
    signature = sign(harness.secret, USER)
    harness.identify(user_id=USER, user_hash=signature)
    assert signature not in str(harness.log())


@pytest.mark.parametrize("encoding", ["hex", "base64", "base64url"])
def test_every_encoding_verifies_over_http(harness: Harness, encoding: str) -> None:
    response = harness.identify(
        user_id=USER,
        user_hash=sign(harness.secret, USER, encoding=encoding),  # type: ignore[arg-type]
    )
    assert response.json()["identity"]["status"] == "verified"


def test_integer_user_id_is_its_decimal_string(harness: Harness) -> None:
    response = harness.identify(user_id=1234, user_hash=sign(harness.secret, "1234"))
    assert response.json()["contact"]["user_id"] == "1234"


def test_metadata_limit_drops_whole_fields_with_warnings(harness: Harness) -> None:
    harness.set_policy(max_metadata_chars=60)
    metadata = {"plan": "pro", "bio": "x" * 100, "seats": 5}
    document = harness.verified(USER, user_metadata=metadata)
    assert document["contact"]["metadata"] == {"plan": "pro", "seats": 5}
    assert [w["field"] for w in document["warnings"]] == ["bio"]


def test_identify_again_replaces_metadata(harness: Harness) -> None:
    harness.verified(USER, user_metadata={"plan": "pro", "team": "a"})
    document = harness.verified(USER, user_metadata={"plan": "team"})
    assert document["contact"]["metadata"] == {"plan": "team"}


def _ring(harness: Harness) -> KeyRing:
    return KeyRing([RingKey(harness.secret_id, Secret(harness.secret))])


def test_identity_token_gives_verified_attributes(harness: Harness) -> None:
    token = issue_identity_token(
        _ring(harness),
        user_id=USER,
        email=EMAIL,
        claims={"name": "Ada", "plan": "pro", "aud": harness.app_id},
        expires_in=timedelta(minutes=10),
    )
    response = harness.identify(user_jwt=token, user_metadata={"theme": "dark"})
    document = response.json()
    assert document["identity"]["status"] == "verified"
    contact = document["contact"]
    assert (contact["user_id"], contact["email"], contact["name"]) == (USER, EMAIL, "Ada")
    assert contact["attributes"] == {"name": "Ada", "plan": "pro"}
    assert contact["metadata"] == {"theme": "dark"}  # metadata stays unverified, apart
    assert (
        document["expires_at"]
        <= (
            __import__("datetime").datetime.now(__import__("datetime").UTC) + timedelta(minutes=10)
        ).isoformat()
    )


@pytest.mark.parametrize(
    ("claims", "expires_in", "code"),
    [
        ({}, timedelta(minutes=-5), "token_expired"),
        ({"aud": "app_someone_else"}, timedelta(minutes=5), "token_wrong_audience"),
    ],
)
def test_bad_identity_tokens_are_refused_and_logged(
    harness: Harness, claims: dict[str, Any], expires_in: timedelta, code: str
) -> None:
    token = issue_identity_token(_ring(harness), user_id=USER, claims=claims, expires_in=expires_in)
    response = harness.identify(user_jwt=token)
    assert response.status_code == 401
    assert harness.log()[0]["code"] == code


def test_token_signed_with_another_key_is_refused(harness: Harness) -> None:
    forged = KeyRing([RingKey(harness.secret_id, Secret("f" * 48))])
    token = issue_identity_token(forged, user_id=USER)
    assert harness.identify(user_jwt=token).status_code == 401
    assert harness.log()[0]["code"] == "token_bad_signature"


def test_user_id_must_match_the_token_subject(harness: Harness) -> None:
    token = issue_identity_token(_ring(harness), user_id=USER)
    assert harness.identify(user_jwt=token, user_id="someone-else").status_code == 401


def test_token_email_held_by_another_verified_user_is_not_stolen(harness: Harness) -> None:
    harness.set_policy(identifier="user_id")
    owner = harness.client.put(
        "/v1/users/owner", json={"email": EMAIL}, headers=harness.session_headers(harness.api_key)
    )
    assert owner.status_code == 200
    token = issue_identity_token(_ring(harness), user_id="newcomer", email=EMAIL)
    document = harness.identify(user_jwt=token).json()
    assert document["identity"]["status"] == "verified"
    assert document["contact"]["user_id"] == "newcomer"
    assert document["contact"]["email"] is None
    again = harness.identify(user_jwt=token).json()  # the update path: still not stolen
    assert again["contact"]["email"] is None


def test_a_token_within_the_clock_skew_opens_a_live_session(harness: Harness) -> None:
    # Was: accepted 30 s past its exp (within the 60 s leeway), but the session ended at
    # exp, so the browser got a session that was already dead.
    token = issue_identity_token(_ring(harness), user_id=USER, expires_in=timedelta(seconds=-30))
    response = harness.identify(user_jwt=token)
    assert response.status_code == 200, response.text
    session = harness.session_headers(response.json()["session_token"])
    assert harness.client.get("/v1/widget/session", headers=session).status_code == 200
