"""The identity page's public keys (SPEC 15): an owner pastes a public key, sees its
last use, revokes it; a private key is refused with the reason and nothing stored."""

from __future__ import annotations

import json

from countersign.storage import public_keys

from ..identity.keys import new_pair
from .conftest import Dashboard


def _keys(dashboard: Dashboard) -> list[public_keys.PublicKeyInfo]:
    return dashboard.harness.backend.database.run_sync(
        lambda c: public_keys.list_keys(c, dashboard.app_id)
    )


def test_add_use_and_revoke_a_key(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    pair = new_pair("EdDSA", "dash-ed")
    response = dashboard.post(
        "identity/public-keys", {"public_key": pair.public_pem(), "kid": "dash-ed"}
    )
    assert response.status_code == 200, response.text  # followed to the page
    assert "Public key added" in response.text
    [info] = _keys(dashboard)
    assert (info.kid, info.alg) == ("dash-ed", "EdDSA")
    harness = dashboard.harness
    token = harness.identify(user_jwt=pair.token("u-dash")).json()["session_token"]
    page = dashboard.client.get(dashboard.url("identity")).text
    assert f'data-public-key-id="{info.id}"' in page
    assert "dash-ed" in page
    [info] = _keys(dashboard)
    assert info.use_count == 1  # the page flushed the batched use counts first
    dashboard.post(f"identity/public-keys/{info.id}/revoke")
    [info] = _keys(dashboard)
    assert info.revoked_at is not None
    denied = harness.client.get("/v1/widget/conversations", headers=harness.session_headers(token))
    assert denied.status_code == 401


def test_a_pasted_private_key_is_refused(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    pair = new_pair("ES256", "secret-half")
    response = dashboard.post(
        "identity/public-keys", {"public_key": json.dumps(pair.private_jwk())}
    )
    assert response.status_code == 422
    assert "private key material" in response.text
    assert _keys(dashboard) == []
    response = dashboard.post("identity/public-keys", {"public_key": "", "jwks_url": ""})
    assert response.status_code == 422


def test_agents_cannot_manage_keys(dashboard: Dashboard) -> None:
    dashboard.logged_in("agent@example.com")
    pair = new_pair("EdDSA")
    response = dashboard.client.post(
        dashboard.url("identity/public-keys"),
        data={"public_key": pair.public_pem(), "kid": "k"},
    )
    assert response.status_code in (403, 404)
    assert _keys(dashboard) == []
