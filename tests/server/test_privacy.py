"""Privacy requests: a user's export holds every kind of record stored about them, and
their erasure removes every one of them (and nothing of anyone else), leaving an audit
row without their data. Over HTTP and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from click.testing import CliRunner

from countersign import sign
from countersign.cli import cli
from countersign.storage import contact_records, operators
from countersign.storage.models import Base
from tests.webhooks.conftest import add_endpoint, run_db

from .conftest import Harness

USER, OTHER = "user-erased-1", "user-kept-2"


def _api(harness: Harness) -> dict[str, str]:
    return {"Authorization": f"Bearer {harness.api_key}"}


def _live_user(harness: Harness, user_id: str) -> dict[str, Any]:
    """A user with a record of every kind: browsers and sessions, a conversation with
    messages (started anonymous, carried over), a notification, an event, a webhook
    event about them and a failed identify in the verification log."""
    anonymous = harness.identify().json()
    headers = harness.session_headers(anonymous["session_token"])
    client = harness.client
    assert (
        client.post("/v1/widget/conversations", json={"body": "hi"}, headers=headers).status_code
        == 201
    )
    wrong = harness.identify(user_id=user_id, user_hash=sign(harness.secret, "nope"))
    assert wrong.status_code == 401
    session = harness.verified(
        user_id, visitor_id=anonymous["visitor_id"], user_metadata={"plan": "pro"}
    )
    headers = harness.session_headers(session["session_token"])
    started = client.post("/v1/widget/conversations", json={"body": "help"}, headers=headers)
    assert started.status_code == 201, started.text
    assert (
        client.post("/v1/widget/events", json={"name": "paid"}, headers=headers).status_code == 201
    )
    sent = client.post(
        "/v1/notifications", json={"user_id": user_id, "title": "t"}, headers=_api(harness)
    )
    assert sent.status_code == 201, sent.text
    harness.log()  # the verification log written
    return session


def _count_by_table(harness: Harness, contact_id: str, identifiers: list[str]) -> dict[str, int]:
    records = run_db(
        harness, lambda c: contact_records.records_of(c, harness.app_id, contact_id, identifiers)
    )
    return {table: len(rows) for table, rows in records.items()}


def test_export_then_erase_over_http(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    add_endpoint(harness, "http://127.0.0.1:9/quiet", ("message.created", "event.tracked"))
    session = _live_user(harness, USER)
    _live_user(harness, OTHER)

    exported = harness.client.get(f"/v1/users/{USER}/export", headers=_api(harness))
    assert exported.status_code == 200, exported.text
    records = exported.json()["records"]
    (contact,) = records["contacts"]
    assert (contact["user_id"], contact["verified"]) == (USER, True)
    for kind in (
        "visitors",
        "conversations",
        "messages",
        "notifications",
        "events",
        "stream_events",
        "webhook_events",
        "verification_log",
    ):
        assert records[kind], f"no {kind} in the export"
    referencing = {
        table.name
        for table in Base.metadata.sorted_tables
        if any(fk.column.table.name in ("contacts", "conversations") for fk in table.foreign_keys)
    }
    assert referencing <= records.keys()  # a table added later is exported too
    assert OTHER not in json.dumps(records)

    kept = harness.client.get(f"/v1/users/{OTHER}/export", headers=_api(harness)).json()
    kept_id = kept["records"]["contacts"][0]["id"]
    kept_before = _count_by_table(harness, kept_id, [OTHER])
    assert all(kept_before[kind] for kind in ("visitors", "messages", "notifications"))

    erased = harness.client.delete(f"/v1/users/{USER}", headers=_api(harness))
    assert erased.status_code == 200, erased.text
    contact_id = erased.json()["contact_id"]
    assert contact_id == contact["id"]
    left = _count_by_table(harness, contact_id, [USER])
    assert left == dict.fromkeys(left, 0), left
    assert _count_by_table(harness, kept_id, [OTHER]) == kept_before  # nobody else lost anything
    audit = run_db(harness, lambda c: operators.recent_audit(c, harness.app_id))
    assert [(a["action"], a["target"]) for a in audit] == [("contact.erased", contact_id)]
    assert USER not in json.dumps(audit, default=str)

    # The user's session ends; a second erase or an export finds nobody.
    headers = harness.session_headers(session["session_token"])
    assert harness.client.get("/v1/widget/session", headers=headers).status_code == 401
    again = harness.client.delete(f"/v1/users/{USER}", headers=_api(harness))
    assert (again.status_code, again.json()["error"]["code"]) == (404, "user_not_found")
    assert harness.client.get(f"/v1/users/{USER}/export", headers=_api(harness)).status_code == 404


def test_unknown_users_are_404(harness: Harness) -> None:
    for method in ("GET", "DELETE"):
        path = f"/v1/users/{'nobody'}" + ("/export" if method == "GET" else "")
        response = harness.client.request(method, path, headers=_api(harness))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "user_not_found"
    bad = harness.client.delete("/v1/users/x", headers={"Authorization": "Bearer csk_nope"})
    assert bad.status_code == 401


def test_the_cli_exports_and_erases(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    _live_user(harness, USER)
    settings = harness.settings
    location = ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        location += ["--database-url", settings.database_url]
    runner = CliRunner()
    exported = runner.invoke(cli, ["contacts", "export", harness.app_id, USER, *location])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["records"]["contacts"][0]["user_id"] == USER
    refused = runner.invoke(
        cli, ["contacts", "erase", harness.app_id, USER, *location], input="n\n"
    )
    assert refused.exit_code == 1  # not confirmed: nothing erased
    erased = runner.invoke(
        cli, ["contacts", "erase", harness.app_id, USER, "--yes", "--json", *location]
    )
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.output)["erased"] is True
    twice = runner.invoke(cli, ["contacts", "erase", harness.app_id, USER, "--yes", *location])
    assert twice.exit_code == 1
    assert "user_not_found" in twice.output
