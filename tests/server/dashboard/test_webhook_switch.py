"""The Webhooks page's Pause and Resume: what ``countersign webhooks disable|enable``
do, from the dashboard. Owners only, behind the CSRF check, audited; an endpoint of
another app cannot be reached through this app's URL."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from countersign.storage import apps, operators, webhook_endpoints, webhook_outbox
from countersign.vocabulary.webhook_events import EVENT_TYPES
from tests.server.conftest import Harness
from tests.server.dashboard.conftest import AGENT, OWNER, Dashboard, csrf_of
from tests.webhooks.conftest import FAST, receiver, run_db
from tests.webhooks.receiver import Receiver

__all__ = ["receiver"]

#: No one listens here: these tests raise no events unless they bring a receiver.
QUIET_URL = "http://127.0.0.1:9/hooks"


def _add_endpoint(
    harness: Harness, app_id: str, url: str = QUIET_URL, events: tuple[str, ...] = EVENT_TYPES
) -> str:
    record, _ = run_db(
        harness,
        lambda c: webhook_endpoints.create_endpoint(
            c, harness.backend.box, app_id, url, events, allow_private_network=True
        ),
    )
    harness.client.app.state.countersign.directory.invalidate(app_id)  # type: ignore[attr-defined]
    return record.id


def _other_app(harness: Harness) -> str:
    created = run_db(harness, lambda c: apps.create_app(c, harness.backend.box, "Other"))
    return created.app.id


def _enabled(harness: Harness, app_id: str, endpoint_id: str) -> bool:
    record = run_db(harness, lambda c: webhook_endpoints.get_endpoint(c, app_id, endpoint_id))
    return record.enabled


def _audit(harness: Harness, app_id: str) -> list[tuple[Any, Any, Any]]:
    entries = run_db(harness, lambda c: operators.recent_audit(c, app_id))
    return [(entry["action"], entry["target"], entry["operator_email"]) for entry in entries]


def _switch_path(app_id: str, endpoint_id: str, verb: str) -> str:
    return f"/dashboard/apps/{app_id}/webhooks/{endpoint_id}/{verb}"


def _post_as_json(dashboard: Dashboard, path: str, token: str | None) -> Any:
    """POST ``path`` asking for a JSON error, so a refusal names its cause."""
    data = {} if token is None else {"csrf_token": token}
    return dashboard.client.post(
        path, data=data, headers={"Accept": "application/json"}, follow_redirects=False
    )


def _row(html: str, endpoint_id: str) -> tuple[str, str]:
    """The endpoint's ``data-enabled`` and the rest of its table row."""
    found = re.search(
        rf'<tr data-endpoint-id="{re.escape(endpoint_id)}" data-enabled="(yes|no)">(.*?)</tr>',
        html,
        re.DOTALL,
    )
    assert found is not None, f"no row for {endpoint_id} on the page"
    return found.group(1), found.group(2)


def _page(dashboard: Dashboard) -> str:
    response = dashboard.client.get(dashboard.url("webhooks"))
    assert response.status_code == 200, response.text
    return str(response.text)


def test_an_owner_pauses_and_resumes_an_endpoint(dashboard: Dashboard) -> None:
    harness, app_id = dashboard.harness, dashboard.app_id
    endpoint_id = _add_endpoint(harness, app_id)
    dashboard.logged_in()
    enabled, row = _row(_page(dashboard), endpoint_id)
    assert enabled == "yes"
    assert "enabled</span>" in row
    assert f'action="{_switch_path(app_id, endpoint_id, "disable")}"' in row
    assert "/enable" not in row

    paused = dashboard.post(f"webhooks/{endpoint_id}/disable", follow_redirects=False)
    assert paused.status_code == 303, paused.text
    assert paused.headers["location"] == f"/dashboard/apps/{app_id}/webhooks?saved=paused"
    assert _enabled(harness, app_id, endpoint_id) is False
    html = dashboard.client.get(paused.headers["location"]).text
    assert "Endpoint paused." in html
    enabled, row = _row(html, endpoint_id)
    assert enabled == "no"
    assert "paused</span>" in row
    assert f'action="{_switch_path(app_id, endpoint_id, "enable")}"' in row
    assert ">Resume</button>" in row
    assert "/disable" not in row

    resumed = dashboard.post(f"webhooks/{endpoint_id}/enable", follow_redirects=False)
    assert resumed.status_code == 303, resumed.text
    assert resumed.headers["location"] == f"/dashboard/apps/{app_id}/webhooks?saved=resumed"
    assert _enabled(harness, app_id, endpoint_id) is True
    html = dashboard.client.get(resumed.headers["location"]).text
    assert "Endpoint resumed." in html
    enabled, row = _row(html, endpoint_id)
    assert enabled == "yes"
    assert ">Pause</button>" in row


def test_each_switch_is_audited(dashboard: Dashboard) -> None:
    harness, app_id = dashboard.harness, dashboard.app_id
    endpoint_id = _add_endpoint(harness, app_id)
    dashboard.logged_in()
    dashboard.post(f"webhooks/{endpoint_id}/disable", follow_redirects=False)
    dashboard.post(f"webhooks/{endpoint_id}/enable", follow_redirects=False)
    assert _audit(harness, app_id)[:2] == [
        ("webhook.enabled", endpoint_id, OWNER),
        ("webhook.disabled", endpoint_id, OWNER),
    ]
    # ... and the page's audit trail shows both.
    html = _page(dashboard)
    assert 'data-action="webhook.disabled"' in html
    assert 'data-action="webhook.enabled"' in html


def test_a_paused_endpoint_is_sent_nothing_and_its_queue_waits(
    make_dashboard: Callable[..., Dashboard], receiver: Receiver
) -> None:
    dashboard = make_dashboard(**FAST)
    harness, app_id = dashboard.harness, dashboard.app_id
    endpoint_id = _add_endpoint(harness, app_id, receiver.url, ("contact.identified",))
    dashboard.logged_in()
    receiver.status = 503  # the first event is refused, so it stays queued
    harness.verified("queued-before-pause")
    receiver.wait_for(lambda got: len(got) >= 1)
    dashboard.post(f"webhooks/{endpoint_id}/disable", follow_redirects=False)
    time.sleep(0.5)  # an attempt claimed just before the pause ends (refused)
    receiver.status = 200
    seen = len(receiver.snapshot())
    time.sleep(1.0)  # many delivery polls, and a config poll: this node has caught up
    # Not queued for a paused endpoint; and this node now caches "no one listens".
    harness.verified("identified-while-paused")
    queued = run_db(harness, lambda c: webhook_outbox.list_deliveries(c, app_id))
    assert [row["event_type"] for row in queued] == ["contact.identified"]
    assert len(receiver.snapshot()) == seen  # nothing was sent while paused
    assert receiver.delivered() == []

    dashboard.post(f"webhooks/{endpoint_id}/enable", follow_redirects=False)
    # Raised at once after resuming: this node's cached subscriptions must follow now,
    # not at the next config poll.
    harness.verified("identified-after-resume")
    receiver.wait_for(lambda _: len(receiver.delivered()) >= 2)
    time.sleep(0.5)  # anything more would arrive now
    users = [item.json()["data"]["contact"]["user_id"] for item in receiver.delivered()]
    assert users == ["queued-before-pause", "identified-after-resume"]


def test_without_a_valid_csrf_token_nothing_changes(dashboard: Dashboard) -> None:
    harness, app_id = dashboard.harness, dashboard.app_id
    endpoint_id = _add_endpoint(harness, app_id)
    dashboard.logged_in()
    for token in (None, "forged"):
        refused = _post_as_json(dashboard, _switch_path(app_id, endpoint_id, "disable"), token)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf_refused"
    assert _enabled(harness, app_id, endpoint_id) is True

    dashboard.post(f"webhooks/{endpoint_id}/disable", follow_redirects=False)
    refused = _post_as_json(dashboard, _switch_path(app_id, endpoint_id, "enable"), "forged")
    assert refused.status_code == 403
    assert _enabled(harness, app_id, endpoint_id) is False
    assert [action for action, _, _ in _audit(harness, app_id)] == ["webhook.disabled"]


def test_an_agent_cannot_switch_an_endpoint(dashboard: Dashboard) -> None:
    harness, app_id = dashboard.harness, dashboard.app_id
    endpoint_id = _add_endpoint(harness, app_id)
    dashboard.logged_in(AGENT)
    # A valid token of the agent's own session: the refusal is for the role alone.
    token = csrf_of(dashboard.client.get(dashboard.url("inbox")).text)
    for verb in ("disable", "enable"):
        refused = _post_as_json(dashboard, _switch_path(app_id, endpoint_id, verb), token)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "owners_only"
    assert _enabled(harness, app_id, endpoint_id) is True
    assert _audit(harness, app_id) == []


def test_an_unknown_endpoint_is_answered_as_remove_answers_it(dashboard: Dashboard) -> None:
    harness, app_id = dashboard.harness, dashboard.app_id
    dashboard.logged_in()
    removed = dashboard.post("webhooks/whe_nope/remove")
    assert removed.status_code == 404
    for verb in ("disable", "enable"):
        switched = dashboard.post(f"webhooks/whe_nope/{verb}")
        assert switched.status_code == removed.status_code
        assert "no such webhook endpoint" in switched.text
    assert _audit(harness, app_id) == []


def test_another_apps_endpoint_cannot_be_switched_through_this_app(
    dashboard: Dashboard,
) -> None:
    harness, app_id = dashboard.harness, dashboard.app_id
    other_app = _other_app(harness)
    theirs = _add_endpoint(harness, other_app)
    dashboard.logged_in()
    token = csrf_of(_page(dashboard))
    for verb in ("disable", "enable"):
        refused = _post_as_json(dashboard, _switch_path(app_id, theirs, verb), token)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
    assert _enabled(harness, other_app, theirs) is True
    assert _audit(harness, app_id) == []
    assert _audit(harness, other_app) == []

    # Through its own app's URL the same request works: the 404 was about the app.
    paused = _post_as_json(dashboard, _switch_path(other_app, theirs, "disable"), token)
    assert paused.status_code == 303
    assert _enabled(harness, other_app, theirs) is False


def test_an_owner_adds_a_standard_webhooks_endpoint(dashboard: Dashboard) -> None:
    harness, app_id = dashboard.harness, dashboard.app_id
    dashboard.logged_in()
    form = {"url": "https://hooks.example.com/sw", "event:message.created": "1"}
    added = dashboard.post("webhooks", {**form, "format": "standard"})
    assert added.status_code == 200, added.text
    assert "Standard Webhooks</span>" in added.text
    (record,) = run_db(harness, lambda c: webhook_endpoints.list_endpoints(c, app_id))
    assert record.signature_format == "standard"
    secret = run_db(
        harness,
        lambda c: webhook_endpoints.reveal_signing_secret(
            c, harness.backend.box, app_id, record.id
        ),
    )
    assert secret in added.text  # shown once, as for every endpoint
    refused = dashboard.post("webhooks", {**form, "format": "svix"})
    assert refused.status_code == 422
    assert "signature format" in refused.text
    assert len(run_db(harness, lambda c: webhook_endpoints.list_endpoints(c, app_id))) == 1
