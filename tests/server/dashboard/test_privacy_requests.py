"""A contact's export and erasure from the dashboard, on SQLite and PostgreSQL: owners
only, each behind the owner's password, each in the audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from countersign.storage import contacts, operators
from countersign.storage.models import Conversation

from .conftest import AGENT, PASSWORD, Dashboard


def _contact_id(dashboard: Dashboard, user_id: str) -> str:
    found = dashboard.harness.backend.database.run_sync(
        lambda c: contacts.verified_user(c, dashboard.app_id, user_id)
    )
    assert found is not None
    return found.id


def _audit(dashboard: Dashboard) -> list[tuple[str, str | None, str | None]]:
    rows = dashboard.harness.backend.database.run_sync(
        lambda c: operators.recent_audit(c, dashboard.app_id, limit=50)
    )
    return [(row["action"], row["target"], row["operator_email"]) for row in rows]


def test_an_owner_exports_a_contact_with_their_password(dashboard: Dashboard) -> None:
    dashboard.conversation("user-9", "my order 1234 never came")
    contact = _contact_id(dashboard, "user-9")
    dashboard.logged_in()
    page = dashboard.client.get(dashboard.url(f"contacts/{contact}"))
    assert "Privacy requests" in page.text

    wrong = dashboard.post(f"contacts/{contact}/export", {"password": "guess"})
    assert wrong.status_code == 403
    assert "my order 1234" not in wrong.text

    exported = dashboard.post(f"contacts/{contact}/export", {"password": PASSWORD})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"].startswith("attachment;")
    assert exported.headers["cache-control"] == "no-store"
    document = json.loads(exported.content)
    assert (document["user_id"], document["contact_id"]) == ("user-9", contact)
    assert "my order 1234 never came" in exported.text
    actions = [action for action, target, _ in _audit(dashboard) if target == contact]
    assert actions[:2] == ["contact.exported", "contact.export_refused"]


def test_an_owner_erases_a_contact_and_their_widget_is_signed_out(dashboard: Dashboard) -> None:
    _, token = dashboard.conversation("user-10", "delete me please")
    kept, _ = dashboard.conversation("user-11", "keep me")
    contact = _contact_id(dashboard, "user-10")
    dashboard.logged_in()

    refused = dashboard.post(f"contacts/{contact}/erase", {"password": "guess"})
    assert refused.status_code == 403
    assert dashboard.client.get(dashboard.url(f"contacts/{contact}")).status_code == 200

    erased = dashboard.post(f"contacts/{contact}/erase", {"password": PASSWORD})
    assert erased.status_code == 200, erased.text
    assert "Contact erased" in erased.text
    assert dashboard.client.get(dashboard.url(f"contacts/{contact}")).status_code == 404
    session = dashboard.harness.session_headers(token)
    assert dashboard.client.get("/v1/widget/session", headers=session).status_code == 401
    again = dashboard.post(f"contacts/{contact}/erase", {"password": PASSWORD})
    assert again.status_code == 404
    # Only that contact: the other user's conversation is untouched.
    other = _contact_id(dashboard, "user-11")
    assert kept in dashboard.client.get(dashboard.url(f"contacts/{other}")).text
    assert ("contact.erased", contact, "owner@example.com") in _audit(dashboard)


def test_an_anonymous_contact_can_be_erased_by_its_id(dashboard: Dashboard) -> None:
    harness = dashboard.harness
    anonymous = harness.identify().json()
    started = harness.client.post(
        "/v1/widget/conversations",
        json={"body": "anon"},
        headers=harness.session_headers(anonymous["session_token"]),
    )
    assert started.status_code == 201, started.text
    contact_id = harness.backend.database.run_sync(
        lambda c: c.execute(
            select(Conversation.contact_id).where(Conversation.id == started.json()["id"])
        ).scalar_one()
    )
    dashboard.logged_in()
    erased = dashboard.post(f"contacts/{contact_id}/erase", {"password": PASSWORD})
    assert erased.status_code == 200, erased.text


def test_an_agent_can_neither_export_nor_erase(dashboard: Dashboard) -> None:
    dashboard.conversation("user-12")
    contact = _contact_id(dashboard, "user-12")
    dashboard.logged_in(AGENT)
    page = dashboard.client.get(dashboard.url(f"contacts/{contact}"))
    assert page.status_code == 200
    assert "Privacy requests" not in page.text
    for action in ("export", "erase"):
        response = dashboard.post(f"contacts/{contact}/{action}", {"password": PASSWORD})
        assert response.status_code == 403, response.text
    assert dashboard.client.get(dashboard.url(f"contacts/{contact}")).status_code == 200


def test_without_the_csrf_token_nothing_is_erased(dashboard: Dashboard) -> None:
    dashboard.conversation("user-13")
    contact = _contact_id(dashboard, "user-13")
    dashboard.logged_in()
    response = dashboard.client.post(
        dashboard.url(f"contacts/{contact}/erase"), data={"password": PASSWORD}
    )
    assert response.status_code == 403
    assert dashboard.client.get(dashboard.url(f"contacts/{contact}")).status_code == 200


def test_erasing_from_the_dashboard_removes_the_contacts_files(
    make_dashboard: Callable[..., Dashboard], tmp_path: Path
) -> None:
    files_dir = tmp_path / "files"
    dashboard = make_dashboard(attachments_dir=files_dir)
    harness = dashboard.harness
    _, token = dashboard.conversation("user-12", "a file follows")
    uploaded = harness.client.post(
        "/v1/widget/uploads",
        files={"file": ("notes.txt", b"private notes")},
        headers=harness.session_headers(token),
    )
    assert uploaded.status_code == 201, uploaded.text
    stored = files_dir / uploaded.json()["id"][-2:] / uploaded.json()["id"]
    assert stored.is_file()
    contact = _contact_id(dashboard, "user-12")
    dashboard.logged_in()
    erased = dashboard.post(f"contacts/{contact}/erase", {"password": PASSWORD})
    assert erased.status_code == 200, erased.text
    assert not stored.exists()
