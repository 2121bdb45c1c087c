"""Sessions: how long they live, what ends them, and which contact they reach."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from countersign import sign
from countersign.server.session_tokens import SessionTokens
from countersign.server.sessions import live_session
from countersign.storage import apps, identities
from countersign.vocabulary.clock import utcnow

from .conftest import Harness


def session_of(harness: Harness, token: str) -> Any:
    return harness.client.get("/v1/widget/session", headers=harness.session_headers(token))


def assert_live(harness: Harness, token: str, contact_id: str | None = None) -> None:
    response = session_of(harness, token)
    assert response.status_code == 200, response.text
    if contact_id is not None:
        assert response.json()["contact_id"] == contact_id


def assert_dead(harness: Harness, token: str) -> None:
    response = session_of(harness, token)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_session"


def invalidate(harness: Harness) -> None:
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------- expiry


def test_expires_at_is_now_plus_the_session_ttl(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(session_ttl=timedelta(minutes=7))
    before = utcnow()
    document = harness.verified("ttl-user")
    after = utcnow()
    expires = datetime.fromisoformat(document["expires_at"])
    assert expires.tzinfo is not None
    # In whole seconds: what a token carries.
    assert before.replace(microsecond=0) + timedelta(minutes=7) <= expires
    assert expires <= after + timedelta(minutes=7)
    assert expires.microsecond == 0
    me = session_of(harness, document["session_token"]).json()
    assert datetime.fromisoformat(me["expires_at"]) == expires


def tokens_of(harness: Harness) -> SessionTokens:
    return harness.client.app.state.countersign.session_tokens  # type: ignore[attr-defined, no-any-return]


def test_an_expired_session_is_refused(harness: Harness) -> None:
    """A token of the browser's live session whose expiry has passed is refused."""
    document = harness.verified("exp-user")
    claims = tokens_of(harness).open(document["session_token"])
    assert claims is not None
    expired, _ = tokens_of(harness).issue(
        claims.visitor_id, claims.epoch, utcnow() - timedelta(seconds=1), claims.secret_id
    )
    assert_dead(harness, expired)
    # The same browser and epoch with time left is live: only the time refuses it.
    fresh, _ = tokens_of(harness).issue(
        claims.visitor_id, claims.epoch, utcnow() + timedelta(minutes=1), claims.secret_id
    )
    assert_live(harness, fresh, document["contact"]["id"])
    logout = harness.client.post("/v1/widget/logout", headers=harness.session_headers(expired))
    assert logout.status_code == 401


def test_a_session_dies_at_its_expiry(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(session_ttl=timedelta(seconds=1))
    document = harness.verified("short-user")
    expires = datetime.fromisoformat(document["expires_at"])
    claims = tokens_of(harness).open(document["session_token"])
    assert claims is not None
    assert claims.expires_at == expires
    browser = harness.backend.database.run_sync(
        lambda c: identities.browser_session(c, claims.visitor_id)
    )
    assert live_session(claims, browser, expires - timedelta(milliseconds=1)) is not None
    assert live_session(claims, browser, expires) is None


def test_a_forged_or_altered_token_is_unknown(harness: Harness) -> None:
    document = harness.verified("forge-user")
    token = document["session_token"]
    middle = len(token) // 2
    for forged in (
        token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :],
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # another tag
        token[:-16],  # cut short
        "cst_" + "A" * 80,
        token + "x" * 400,
    ):
        assert_dead(harness, forged)
    # A token minted under another deployment's key is not ours.
    other = SessionTokens(b"another deployment".ljust(32, b"!"))
    claims = tokens_of(harness).open(token)
    assert claims is not None
    foreign, _ = other.issue(claims.visitor_id, claims.epoch, claims.expires_at, claims.secret_id)
    assert_dead(harness, foreign)
    assert_live(harness, token)


# ------------------------------------------------------------------------- logout


def test_logout_revokes_the_session(harness: Harness) -> None:
    document = harness.verified("logout-user")
    token = document["session_token"]
    assert_live(harness, token)
    response = harness.client.post("/v1/widget/logout", headers=harness.session_headers(token))
    assert response.status_code == 200, response.text
    assert_dead(harness, token)
    replay = harness.client.post("/v1/widget/logout", headers=harness.session_headers(token))
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "invalid_session"


def test_logout_ends_only_that_browser(harness: Harness) -> None:
    first = harness.verified("two-browsers")
    second = harness.verified("two-browsers")
    assert first["contact"]["id"] == second["contact"]["id"]
    harness.client.post(
        "/v1/widget/logout", headers=harness.session_headers(first["session_token"])
    )
    assert_dead(harness, first["session_token"])
    assert_live(harness, second["session_token"], second["contact"]["id"])


# ------------------------------------------------------------------ secret revocation


def test_revoking_the_secret_kills_its_sessions(harness: Harness) -> None:
    old_hash = sign(harness.secret, "rotated-user")
    first = harness.verified("rotated-user")
    new_secret_id, new_secret = harness.backend.database.run_sync(
        lambda c: apps.create_secret(c, harness.backend.box, harness.app_id)
    )
    invalidate(harness)
    # A session verified by the new secret, for another user.
    other = harness.identify(user_id="other-user", user_hash=sign(new_secret, "other-user"))
    assert other.status_code == 200, other.text
    anonymous = harness.identify()
    assert anonymous.status_code == 200

    harness.backend.database.run_sync(
        lambda c: apps.revoke_secret(c, harness.app_id, harness.secret_id)
    )
    invalidate(harness)

    assert_dead(harness, first["session_token"])
    assert_live(harness, other.json()["session_token"])
    assert_live(harness, anonymous.json()["session_token"])

    refused = harness.identify(user_id="rotated-user", user_hash=old_hash)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "identity_verification_failed"
    entry = harness.log(outcome="refused")[0]
    assert entry["identifier"] == "rotated-user"
    assert entry["code"] == "revoked_secret"
    assert entry["secret_id"] == harness.secret_id

    # The new secret still verifies the same user, onto the same contact.
    again = harness.identify(user_id="rotated-user", user_hash=sign(new_secret, "rotated-user"))
    assert again.status_code == 200, again.text
    assert again.json()["contact"]["id"] == first["contact"]["id"]
    assert new_secret_id != harness.secret_id


# ------------------------------------------------------------ identity in a browser


def test_change_of_identity_in_a_browser_ends_the_first(harness: Harness) -> None:
    alice = harness.verified("alice")
    visitor = alice["visitor_id"]
    # The widget identifies again holding its session's token: the same browser.
    bob = harness.verified(
        "bob", visitor_id=visitor, headers=harness.session_headers(alice["session_token"])
    )
    assert bob["visitor_id"] != visitor  # a new visitor; alice's is retired
    assert bob["contact"]["id"] != alice["contact"]["id"]
    assert_dead(harness, alice["session_token"])
    assert_live(harness, bob["session_token"], bob["contact"]["id"])


def test_same_identity_again_in_a_browser_keeps_its_session(harness: Harness) -> None:
    first = harness.verified("steady")
    second = harness.verified("steady", visitor_id=first["visitor_id"])
    assert second["contact"]["id"] == first["contact"]["id"]
    assert_live(harness, first["session_token"])
    assert_live(harness, second["session_token"])


def test_anonymous_session_ends_when_the_browser_identifies(harness: Harness) -> None:
    anonymous = harness.identify().json()
    assert anonymous["identity"]["status"] == "anonymous"
    verified = harness.verified("later", visitor_id=anonymous["visitor_id"])
    assert verified["visitor_id"] == anonymous["visitor_id"]
    assert_dead(harness, anonymous["session_token"])


def test_unverified_claim_never_reaches_the_verified_contact(harness: Harness) -> None:
    victim = harness.verified("victim", user_metadata={"plan": "enterprise"})
    victim_contact = victim["contact"]["id"]
    harness.set_policy(identity_mode="report")
    wrong = sign(harness.secret, "victim")[:-2] + "00"
    attempts = [
        harness.identify(user_id="victim"),  # a new browser, no hash
        harness.identify(user_id="victim", user_hash=wrong),  # a wrong hash
        # The victim's own browser, after someone else typed in the console (the
        # widget identifies holding its session's token).
        harness.identify(
            user_id="victim",
            visitor_id=victim["visitor_id"],
            headers=harness.session_headers(victim["session_token"]),
        ),
    ]
    contacts = set()
    for response in attempts:
        assert response.status_code == 200, response.text
        document = response.json()
        assert document["identity"]["status"] == "unverified"
        contact = document["contact"]
        assert contact["id"] != victim_contact
        assert contact["verified"] is False
        assert contact["metadata"] != {"plan": "enterprise"}
        contacts.add(contact["id"])
        me = session_of(harness, document["session_token"]).json()
        assert me["contact_id"] != victim_contact
        assert me["identity"]["status"] == "unverified"
    assert len(contacts) == 3  # one contact per browser
    # The victim's browser changed identity (to an unverified claim): its verified
    # session ended; the victim's verified contact is untouched.
    assert_dead(harness, victim["session_token"])
    harness.set_policy(identity_mode="required")
    back = harness.verified("victim")
    assert back["contact"]["id"] == victim_contact
    assert back["contact"]["metadata"] == {}


def test_unverified_claim_in_off_mode_gets_its_own_contact(harness: Harness) -> None:
    victim = harness.verified("victim-off")
    harness.set_policy(identity_mode="off")
    claim = harness.identify(user_id="victim-off").json()
    assert claim["identity"] == {"status": "unverified", "reason": "verification_off"}
    assert claim["contact"]["id"] != victim["contact"]["id"]
    assert claim["contact"]["verified"] is False


# ------------------------------------------------------------------ visitor ids


def test_visitor_ids_the_server_did_not_issue_are_not_adopted(harness: Harness) -> None:
    made_up = "vis_chosen_by_the_client"
    first = harness.identify(visitor_id=made_up).json()
    assert first["visitor_id"] != made_up
    second = harness.identify(visitor_id=made_up).json()
    assert second["visitor_id"] not in (made_up, first["visitor_id"])
    assert second["contact"]["id"] != first["contact"]["id"]
    # The id the server issued is kept.
    third = harness.identify(visitor_id=first["visitor_id"]).json()
    assert third["visitor_id"] == first["visitor_id"]
    assert third["contact"]["id"] == first["contact"]["id"]


def test_a_visitor_of_another_app_is_not_adopted(make_harness: Callable[..., Harness]) -> None:
    first_app = make_harness()
    second_app = make_harness()  # same database, another app
    visitor = first_app.identify().json()["visitor_id"]
    elsewhere = second_app.identify(visitor_id=visitor).json()
    assert elsewhere["visitor_id"] != visitor


# ------------------------------------------------------------------ identifiers


def test_integer_user_ids_become_decimal_strings(harness: Harness) -> None:
    response = harness.identify(user_id=1234, user_hash=sign(harness.secret, "1234"))
    assert response.status_code == 200, response.text
    contact = response.json()["contact"]
    assert contact["user_id"] == "1234"
    assert contact["verified"] is True
    as_text = harness.verified("1234")
    assert as_text["contact"]["id"] == contact["id"]
    negative = harness.identify(user_id=-42, user_hash=sign(harness.secret, "-42"))
    assert negative.status_code == 200, negative.text
    assert negative.json()["contact"]["user_id"] == "-42"


def test_integer_user_id_hash_of_another_form_is_refused(harness: Harness) -> None:
    for signed in ("1234.0", "01234", "+1234"):
        response = harness.identify(user_id=1234, user_hash=sign(harness.secret, signed))
        assert response.status_code == 401, signed


def test_a_second_browser_reaches_the_same_contact(harness: Harness) -> None:
    first = harness.verified("roamer", user_metadata={"device": "laptop"})
    second = harness.verified("roamer", user_metadata={"device": "phone"})
    assert second["contact"]["id"] == first["contact"]["id"]
    assert second["visitor_id"] != first["visitor_id"]
    assert second["contact"]["metadata"] == {"device": "phone"}  # last call wins
    assert_live(harness, first["session_token"], first["contact"]["id"])
    assert_live(harness, second["session_token"], first["contact"]["id"])
