"""The contact page's "Revoke this user" button (SPEC 15): owners only; the user's
sessions end, the page says when they were revoked, the audit trail names who."""

from __future__ import annotations

from countersign.storage import operators

from .conftest import Dashboard


def _session_ok(dashboard: Dashboard, token: str) -> bool:
    response = dashboard.client.get(
        "/v1/widget/conversations", headers=dashboard.harness.session_headers(token)
    )
    return response.status_code == 200


def test_the_dashboard_button(dashboard: Dashboard) -> None:
    harness = dashboard.harness
    token = harness.verified("dash-user")["session_token"]
    contact_id = harness.verified("dash-user")["contact"]["id"]
    dashboard.logged_in()
    page = dashboard.client.get(dashboard.url(f"contacts/{contact_id}"))
    assert "Revoke this user" in page.text
    response = dashboard.post(f"contacts/{contact_id}/revoke", follow_redirects=False)
    assert response.status_code == 303, response.text
    assert not _session_ok(dashboard, token)
    page = dashboard.client.get(response.headers["location"])
    assert "User id revoked" in page.text
    audit = harness.backend.database.run_sync(
        lambda c: operators.recent_audit(c, harness.app_id, actions=("user.revoked",))
    )
    assert audit[0]["operator_email"] == dashboard.owner.email
    # An agent sees no button and may not post it.
    dashboard.logged_in("agent@example.com")
    assert (
        "Revoke this user" not in dashboard.client.get(dashboard.url(f"contacts/{contact_id}")).text
    )
