"""The dashboard's Webhooks page: add (secret shown once), deliveries with their
status codes, redeliver, remove; owners only, CSRF on every form, no 500s."""

from __future__ import annotations

import re
from collections.abc import Callable

from countersign.storage import operators
from countersign.webhooks import verify
from tests.server.dashboard.conftest import AGENT, Dashboard, fast_passwords, make_dashboard
from tests.webhooks.conftest import FAST, run_db
from tests.webhooks.receiver import Receiver

__all__ = ["fast_passwords", "make_dashboard"]


def _secret(html: str) -> str:
    found = re.search(r"<code data-secret-value>([^<]+)</code>", html)
    assert found is not None, "no secret on the page"
    return found.group(1)


def test_add_deliver_redeliver_remove(
    make_dashboard: Callable[..., Dashboard], receiver: Receiver
) -> None:
    dashboard = make_dashboard(**FAST)
    dashboard.logged_in()
    inbox = dashboard.client.get(dashboard.url("inbox"))
    assert f'href="/dashboard/apps/{dashboard.app_id}/webhooks"' in inbox.text
    empty = dashboard.client.get(dashboard.url("webhooks"))
    assert empty.status_code == 200
    assert "No endpoints yet." in empty.text

    refused = dashboard.post("webhooks", {"url": receiver.url, "event:message.created": "1"})
    assert refused.status_code == 422
    assert "allow-private-network" in refused.text or "not a public address" in refused.text
    assert receiver.url in refused.text  # the form keeps what was typed

    added = dashboard.post(
        "webhooks",
        {"url": receiver.url, "event:message.created": "1", "allow_private_network": "1"},
    )
    assert added.status_code == 200, added.text
    secret = _secret(added.text)
    assert secret.startswith("whsec_")
    later = dashboard.client.get(dashboard.url("webhooks"))
    assert secret not in later.text  # shown once
    assert receiver.url in later.text

    conversation, _ = dashboard.conversation("user-5", "Hello webhooks")
    (first,) = receiver.wait_for(lambda got: len(got) >= 1)
    assert verify(first.body, first.headers["x-countersign-signature"], secret)
    assert first.json()["data"]["message"]["conversation_id"] == conversation

    def delivered_page() -> str:
        import time

        deadline = time.monotonic() + 10
        while True:
            html = str(dashboard.client.get(dashboard.url("webhooks")).text)
            if 'data-status="delivered"' in html:
                return html
            assert time.monotonic() < deadline
            time.sleep(0.05)

    html = delivered_page()
    assert "HTTP 200" in html
    assert first.event_id in html
    endpoint_id = re.search(r'data-endpoint-id="([^"]+)"', html).group(1)  # type: ignore[union-attr]

    again = dashboard.post(
        f"webhooks/{endpoint_id}/events/{first.event_id}/redeliver", follow_redirects=False
    )
    assert again.status_code == 303
    got = receiver.wait_for(lambda got: len(got) >= 2)
    assert got[1].event_id == first.event_id
    assert got[1].body == first.body

    removed = dashboard.post(f"webhooks/{endpoint_id}/remove", follow_redirects=False)
    assert removed.status_code == 303
    assert "No endpoints yet." in dashboard.client.get(dashboard.url("webhooks")).text
    actions = [
        entry["action"]
        for entry in run_db(
            dashboard.harness, lambda c: operators.recent_audit(c, dashboard.app_id)
        )
    ]
    assert actions[:3] == ["webhook.removed", "webhook.redelivered", "webhook.created"]


def test_bad_requests_get_a_page_never_a_500(make_dashboard: Callable[..., Dashboard]) -> None:
    dashboard = make_dashboard()
    dashboard.logged_in()
    assert dashboard.post("webhooks", {}).status_code == 400  # no URL
    no_events = dashboard.post("webhooks", {"url": "https://example.com/h"})
    assert no_events.status_code == 422
    assert "at least one" in no_events.text
    assert dashboard.post("webhooks", {"url": "x" * 3000}).status_code == 400
    bad_url = dashboard.post("webhooks", {"url": "not a url", "event:identity.failed": "1"})
    assert bad_url.status_code == 422
    assert dashboard.post("webhooks/whe_nope/remove").status_code == 404
    assert dashboard.post("webhooks/whe_nope/events/evt_nope/redeliver").status_code == 404
    json_error = dashboard.client.post(
        dashboard.url("webhooks/whe_nope/remove"),
        data={"csrf_token": "forged"},
        headers={"Accept": "application/json"},
    )
    assert json_error.status_code == 403
    assert json_error.json()["error"]["code"] == "csrf_refused"
    no_csrf = dashboard.client.post(
        dashboard.url("webhooks"), data={"url": "https://example.com/h"}
    )
    assert no_csrf.status_code == 403


def test_owners_only(make_dashboard: Callable[..., Dashboard]) -> None:
    dashboard = make_dashboard()
    dashboard.logged_in(AGENT)
    assert dashboard.client.get(dashboard.url("webhooks")).status_code == 403
    inbox = dashboard.client.get(dashboard.url("inbox"))
    assert "/webhooks" not in inbox.text
