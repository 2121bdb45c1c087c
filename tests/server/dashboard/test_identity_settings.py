"""App settings → identity verification: the policy in force at once, secrets that
rotate, reveals that need the password and leave a trace, API keys shown once."""

from __future__ import annotations

import re

from countersign import sign
from countersign.storage import operators

from .conftest import PASSWORD, Dashboard

POLICY = {
    "identity_mode": "required",
    "on_mismatch": "reject",
    "identifier": "user_id",
    "max_metadata_chars": "1000",
    "allowed_origins": "",
}


def audit(dashboard: Dashboard) -> list[dict[str, object]]:
    return dashboard.harness.backend.database.run_sync(
        lambda c: operators.recent_audit(c, dashboard.app_id)
    )


def shown_secret(html: str) -> str:
    found = re.search(r"<code data-secret-value>([^<]+)</code>", html)
    assert found is not None, "no secret on the page"
    return found.group(1)


def test_the_policy_takes_effect_at_once(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    harness = dashboard.harness
    assert harness.identify(user_id="u1", user_hash="0" * 64).status_code == 401

    saved = dashboard.post("identity/policy", {**POLICY, "identity_mode": "report"})
    assert saved.status_code == 200
    assert "Saved" in saved.text
    reported = harness.identify(user_id="u1", user_hash="0" * 64)
    assert reported.status_code == 200
    assert reported.json()["identity"]["status"] == "unverified"

    dashboard.post("identity/policy", {**POLICY, "on_mismatch": "anonymous"})
    dropped = harness.identify(user_id="u1", user_hash="0" * 64)
    assert dropped.status_code == 200
    assert dropped.json()["identity"]["status"] == "anonymous"

    dashboard.post(
        "identity/policy", {**POLICY, "allowed_origins": "https://shop.example\nhttps://b.example"}
    )
    other_site = harness.identify(user_id="u1", headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    assert [entry["action"] for entry in audit(dashboard)][:1] == ["policy.updated"]


def test_off_mode_is_announced_loudly_on_every_page(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    dashboard.post("identity/policy", {**POLICY, "identity_mode": "off"})
    assert dashboard.harness.identify(user_id="anyone").json()["identity"]["status"] == (
        "unverified"
    )
    for page in ("identity", "inbox", "install", "log"):
        html = dashboard.client.get(dashboard.url(page)).text
        assert "Identity verification is OFF" in html, page
    assert "Verification is off." in dashboard.client.get(dashboard.url("identity")).text
    dashboard.post("identity/policy", POLICY)
    assert "Identity verification is OFF" not in dashboard.client.get(dashboard.url("inbox")).text


def test_an_invalid_policy_is_refused_with_the_reason(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    response = dashboard.post("identity/policy", {**POLICY, "allowed_origins": "not-an-origin"})
    assert response.status_code == 422
    assert "is not an origin" in response.text
    response = dashboard.post("identity/policy", {**POLICY, "identity_mode": "sometimes"})
    assert response.status_code == 422
    assert 'value="required" checked' in dashboard.client.get(dashboard.url("identity")).text


def test_rotating_a_secret(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    harness = dashboard.harness
    created = dashboard.post("identity/secrets")
    assert created.status_code == 200
    new_secret = shown_secret(created.text)
    assert new_secret != harness.secret
    # Both verify while the old one is still active.
    for secret in (harness.secret, new_secret):
        response = harness.identify(user_id="rot", user_hash=sign(secret, "rot"))
        assert response.json()["identity"]["status"] == "verified"
    # The new secret is shown once: the settings page lists it without its value.
    listing = dashboard.client.get(dashboard.url("identity")).text
    assert new_secret not in listing
    assert "Newest: give this one to new integrations." in listing
    revoked = dashboard.post(f"identity/secrets/{harness.secret_id}/revoke")
    assert revoked.status_code == 200
    assert "Secret revoked" in revoked.text
    old = harness.identify(user_id="rot", user_hash=sign(harness.secret, "rot"))
    assert old.status_code == 401
    fresh = harness.identify(user_id="rot", user_hash=sign(new_secret, "rot"))
    assert fresh.json()["identity"]["status"] == "verified"
    # The log names the cause of the old secret's failure.
    assert harness.log(outcome="refused")[0]["code"] == "revoked_secret"


def test_revealing_a_secret_needs_the_password_and_is_logged(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    harness = dashboard.harness
    reveal = f"identity/secrets/{harness.secret_id}/reveal"

    for attempt in ({}, {"password": "not my password"}):
        refused = dashboard.post(reveal, attempt)
        assert refused.status_code == 403
        assert harness.secret not in refused.text
        assert "Wrong password" in refused.text
    assert [entry["action"] for entry in audit(dashboard)] == ["secret.reveal_refused"] * 2

    shown = dashboard.post(reveal, {"password": PASSWORD})
    assert shown.status_code == 200
    assert shown_secret(shown.text) == harness.secret
    assert shown.headers["cache-control"] == "no-store"
    entry = audit(dashboard)[0]
    assert entry["action"] == "secret.revealed"
    assert entry["target"] == harness.secret_id
    assert entry["operator_email"] == "owner@example.com"
    # ... and the audit trail on the page says so.
    page = dashboard.client.get(dashboard.url("identity")).text
    assert 'data-action="secret.revealed"' in page


def test_reveal_guessing_is_limited(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    reveal = f"identity/secrets/{dashboard.harness.secret_id}/reveal"
    for _ in range(5):
        assert dashboard.post(reveal, {"password": "guess"}).status_code == 403
    assert dashboard.post(reveal, {"password": PASSWORD}).status_code == 429


def test_api_keys_are_shown_once_and_revocable(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    created = dashboard.post("identity/api-keys")
    key = shown_secret(created.text)
    key_id = re.search(r"New server API key <code>([^<]+)</code>", created.text).group(1)  # type: ignore[union-attr]
    assert key.startswith("csk_")
    assert key not in dashboard.client.get(dashboard.url("identity")).text
    call = {"user_id": "k1", "title": "Hello"}
    headers = {"Authorization": f"Bearer {key}"}
    assert dashboard.client.post("/v1/notifications", json=call, headers=headers).status_code == 201
    dashboard.post(f"identity/api-keys/{key_id}/revoke")
    assert dashboard.client.post("/v1/notifications", json=call, headers=headers).status_code == 401
    actions = [entry["action"] for entry in audit(dashboard)]
    assert actions[:2] == ["api_key.revoked", "api_key.created"]


def test_verified_only_is_set_from_the_policy_form(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    assert dashboard.harness.identify().status_code == 200
    dashboard.post("identity/policy", {**POLICY, "allow_anonymous": "no"})
    refused = dashboard.harness.identify()
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "identity_required"
    page = dashboard.client.get(dashboard.url("identity")).text
    assert 'name="allow_anonymous" value="no" checked' in page
    dashboard.post("identity/policy", {**POLICY, "allow_anonymous": "yes"})
    assert dashboard.harness.identify().status_code == 200
