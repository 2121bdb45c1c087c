"""Only a verified address is ever mailed (SPEC 12), tested as the webhooks rule is.

In every identity mode and mismatch setting, a browser claims an email: as the
identify ``email`` (unsigned, or with a wrong hash), in an unsigned token, or in its
metadata. It writes, the team answers, the delay passes: the relay must receive not a
byte for the claimed address. In the same run a verified user is mailed, so a relay
that received nothing for lack of a working path would fail the test.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from countersign import sign
from tests.mail.conftest import DELAY, Mail

CLAIMED_EMAIL = "claimed.person@example.org"
SCENARIOS = {
    # name: (identity_mode, on_mismatch, identifier, how the email is claimed)
    "off": ("off", "reject", "user_id", "plain"),
    "off_email_identifier": ("off", "reject", "email", "plain"),
    "off_unsigned_token": ("off", "reject", "user_id", "unsigned_jwt"),
    "report_wrong_hash": ("report", "reject", "user_id", "wrong_hash"),
    "report_email_identifier": ("report", "reject", "email", "wrong_hash"),
    "required_anonymous": ("required", "anonymous", "user_id", "wrong_hash"),
    "required_anonymous_email": ("required", "anonymous", "email", "wrong_hash"),
    "required_hash_of_user_id_email_unsigned": ("required", "reject", "user_id", "signed_id"),
    "metadata": ("required", "reject", "user_id", "metadata"),
}


def _claim(mail: Mail, how: str) -> dict[str, Any]:
    secret = mail.harness.secret
    if how == "unsigned_jwt":
        token = jwt.encode(
            {"sub": "claimed-1", "email": CLAIMED_EMAIL, "exp": int(time.time()) + 600},
            "not-the-apps-secret-but-long-enough-32b",
            algorithm="HS256",
        )
        return {"user_jwt": token}
    if how == "metadata":
        return {"user_metadata": {"email": CLAIMED_EMAIL, "contact_email": CLAIMED_EMAIL}}
    if how == "signed_id":  # the user id is proven; the email beside it is not
        return {
            "user_id": "claimed-1",
            "user_hash": sign(secret, "claimed-1"),
            "email": CLAIMED_EMAIL,
        }
    fields: dict[str, Any] = {"user_id": "claimed-1", "email": CLAIMED_EMAIL}
    if how == "wrong_hash":
        fields["user_hash"] = sign(secret, "something-else")
    return fields


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_claimed_email_never_gets_a_byte(mail: Mail, scenario: str) -> None:
    mode, on_mismatch, identifier, how = SCENARIOS[scenario]
    mail.harness.set_policy(identity_mode=mode, on_mismatch=on_mismatch, identifier=identifier)
    identified = mail.harness.identify(**_claim(mail, how))
    assert identified.status_code == 200, identified.text
    claimed = mail.start_conversation(identified.json()["session_token"])
    mail.answer(claimed, "An answer for whoever this is")
    # A verified user, mailed in the same run: the path works.
    mail.harness.set_policy(identity_mode="required", on_mismatch="reject", identifier="user_id")
    verified = mail.start_conversation(mail.verified_user("real-1", "real@example.org"))
    mail.answer(verified, "An answer for the real user")
    mail.relay.wait_for(1)
    time.sleep(DELAY + 1.0)
    assert [r.rcpt_tos for r in mail.relay.received] == [["real@example.org"]]
    for received in mail.relay.received:
        assert CLAIMED_EMAIL.encode() not in received.raw
    reasons = {e["conversation_id"]: e for e in mail.log() if e["direction"] == "out"}
    assert claimed not in reasons  # nothing was even queued for the claim


def test_a_verified_token_email_is_mailed(mail: Mail) -> None:
    token = jwt.encode(
        {"sub": "tok-1", "email": "token.user@example.org", "exp": int(time.time()) + 600},
        mail.harness.secret,
        algorithm="HS256",
        headers={"kid": mail.harness.secret_id},
    )
    identified = mail.harness.identify(user_jwt=token)
    assert identified.status_code == 200, identified.text
    assert identified.json()["identity"]["status"] == "verified"
    mail.answer(mail.start_conversation(identified.json()["session_token"]), "Hi there")
    (email,) = mail.relay.wait_for(1)
    assert email.rcpt_tos == ["token.user@example.org"]


def test_a_signed_email_identifier_is_mailed(mail: Mail) -> None:
    mail.harness.set_policy(identifier="email")
    address = "signed@example.org"
    identified = mail.harness.identify(email=address, user_hash=sign(mail.harness.secret, address))
    assert identified.status_code == 200, identified.text
    mail.answer(mail.start_conversation(identified.json()["session_token"]), "Hi there")
    (email,) = mail.relay.wait_for(1)
    assert email.rcpt_tos == [address]
