"""The dashboard shows a contact's notifications with their states, and sends one to a
verified user through the same send as the server API (live to their widgets)."""

from __future__ import annotations

from .conftest import Dashboard


def test_a_contacts_notifications_with_their_states_and_a_form_to_send_one(
    dashboard: Dashboard,
) -> None:
    dashboard.logged_in()
    conversation_id, token = dashboard.conversation("ada")
    headers = dashboard.harness.session_headers(token)
    key = {"Authorization": f"Bearer {dashboard.harness.api_key}"}
    client = dashboard.client
    for title in ("Read one", "Archived one", "Fresh one"):
        assert (
            client.post(
                "/v1/notifications", json={"user_id": "ada", "title": title}, headers=key
            ).status_code
            == 201
        )
    listed = {
        n["title"]: n["id"]
        for n in client.get("/v1/widget/notifications", headers=headers).json()["data"]
    }
    client.post(f"/v1/widget/notifications/{listed['Read one']}/read", headers=headers)
    client.post(f"/v1/widget/notifications/{listed['Archived one']}/archive", headers=headers)

    thread = f"inbox/{conversation_id}"
    page = client.get(dashboard.url(thread)).text
    assert "Read one" in page
    assert "Archived one" in page  # the dashboard shows archived ones too
    assert ">archived<" in page.replace("\n", "").replace(" ", "")
    assert "not seen yet" in page
    assert "Send a notification" in page

    sent = dashboard.post(
        f"{thread}/notify",
        {
            "title": "Invoice ready",
            "body": "INV-2041",
            "category": "billing",
            "action_label": "Pay",
            "action_url": "https://billing.example/pay",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    newest = client.get("/v1/widget/notifications", headers=headers).json()["data"][0]
    assert newest["title"] == "Invoice ready"
    assert newest["category"] == "billing"
    assert newest["actions"] == [{"label": "Pay", "url": "https://billing.example/pay"}]

    refused = dashboard.post(
        f"{thread}/notify",
        {"title": "Bad", "action_label": "Pay", "action_url": "javascript:alert(1)"},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert "Bad" not in [
        n["title"] for n in client.get("/v1/widget/notifications", headers=headers).json()["data"]
    ]
