"""Every state of a notification over HTTP and the stream (SPEC 13), on SQLite and on
PostgreSQL: a change made on one device reaches the user's other device live, with the
counts it needs; a change that moves nothing announces nothing."""

from __future__ import annotations

from collections.abc import Callable

from ..server.conftest import Harness
from .conftest import Backend, Device, assert_error


def test_seen_read_unread_archive_unarchive_each_reach_the_other_device(
    devices: Callable[..., Device], backend_api: Backend
) -> None:
    phone, laptop = devices("ada"), devices("ada", stream=True)
    sent = backend_api.notify("ada", "Invoice ready", category="billing")
    created = laptop.next_event("notification.created")
    assert created["id"] == sent["id"]
    assert created["category"] == "billing"
    assert phone.counts() == {"unread": 1, "unseen": 1, "categories": {"billing": {"unread": 1}}}

    # Opening the bell clears the badge and reads nothing.
    assert phone.ok("/notifications/seen") == {
        "unread": 1,
        "unseen": 0,
        "categories": {"billing": {"unread": 1}},
    }
    assert laptop.next_event("notification.seen")["counts"]["unseen"] == 0
    assert phone.get("/notifications")["data"][0]["read_at"] is None

    read = phone.ok(f"/notifications/{sent['id']}/read")
    assert read["read"] is True
    assert read["read_at"] is not None
    event = laptop.next_event("notification.read")
    assert event["id"] == sent["id"]
    assert event["counts"]["unread"] == 0
    assert event["unread_count"] == 0
    assert phone.ids(status="read") == [sent["id"]]
    assert phone.ids(status="unread") == []

    unread = phone.ok(f"/notifications/{sent['id']}/unread")
    assert unread["read_at"] is None
    assert laptop.next_event("notification.unread")["counts"]["unread"] == 1

    archived = phone.ok(f"/notifications/{sent['id']}/archive")
    assert archived["archived_at"] is not None
    event = laptop.next_event("notification.archived")
    assert event["counts"] == {"unread": 0, "unseen": 0, "categories": {}}
    assert phone.ids() == []  # without status: everything not archived
    assert phone.ids(status="archived") == [sent["id"]]
    assert phone.ids(status="unread") == []  # archived is out of every other view

    unarchived = phone.ok(f"/notifications/{sent['id']}/unarchive")
    assert unarchived["archived_at"] is None
    assert laptop.next_event("notification.unarchived")["counts"]["unread"] == 1
    assert phone.ids() == [sent["id"]]

    # The server API sees every state.
    listed = backend_api.get("/users/ada/notifications").json()["data"]
    assert [(n["id"], n["read_at"], n["archived_at"]) for n in listed] == [(sent["id"], None, None)]
    assert listed[0]["seen_at"] is not None


def test_a_repeated_change_announces_nothing(
    devices: Callable[..., Device], backend_api: Backend
) -> None:
    phone, laptop = devices("ada"), devices("ada", stream=True)
    first = backend_api.notify("ada", "one")
    laptop.next_event("notification.created")
    for path in ("read", "read", "archive", "archive"):
        phone.ok(f"/notifications/{first['id']}/{path}")
    phone.ok("/notifications/seen")
    phone.ok("/notifications/seen")
    # The laptop heard read once and archive once; then the sentinel.
    marker = backend_api.notify("ada", "marker")
    assert laptop.next_event("notification.read")["id"] == first["id"]
    assert laptop.next_event("notification.archived")["id"] == first["id"]
    assert laptop.next_event("notification.created")["id"] == marker["id"]


def test_read_all_and_archive_all_optionally_per_category(
    devices: Callable[..., Device], backend_api: Backend
) -> None:
    phone, laptop = devices("ada"), devices("ada", stream=True)
    bills = [backend_api.notify("ada", f"bill {i}", category="billing")["id"] for i in range(3)]
    status = [backend_api.notify("ada", f"status {i}", category="status")["id"] for i in range(2)]
    for _ in range(5):
        laptop.next_event("notification.created")
    assert phone.counts()["categories"] == {"billing": {"unread": 3}, "status": {"unread": 2}}
    assert sorted(phone.ids(category="billing")) == sorted(bills)

    done = phone.ok("/notifications/read-all", {"category": "billing"})
    assert sorted(done["ids"]) == sorted(bills)
    assert done["counts"]["categories"] == {"billing": {"unread": 0}, "status": {"unread": 2}}
    event = laptop.next_event("notification.read_all")
    assert sorted(event["ids"]) == sorted(bills)
    assert event["category"] == "billing"

    # Archived ones are not read by read-all: it covers what is not archived.
    phone.ok(f"/notifications/{status[0]}/archive")
    laptop.next_event("notification.archived")
    everything = phone.ok("/notifications/read-all")
    assert everything["ids"] == [status[1]]
    laptop.next_event("notification.read_all")
    assert phone.ids(status="archived") == [status[0]]
    assert phone.get("/notifications/counts")["unread"] == 0

    archived = phone.ok("/notifications/archive-all", {"category": "billing"})
    assert sorted(archived["ids"]) == sorted(bills)
    assert laptop.next_event("notification.archived_all")["category"] == "billing"
    assert phone.ids() == [status[1]]
    assert phone.ok("/notifications/archive-all")["ids"] == [status[1]]
    laptop.next_event("notification.archived_all")
    assert phone.ids() == []
    # Nothing left to do: an answer, and no event.
    assert phone.ok("/notifications/read-all")["ids"] == []


def test_the_backend_deletes_a_notification_and_the_widgets_drop_it(
    devices: Callable[..., Device], backend_api: Backend
) -> None:
    laptop = devices("ada", stream=True)
    sent = backend_api.notify("ada", "oops")
    laptop.next_event("notification.created")
    response = backend_api.client.delete(
        f"/v1/notifications/{sent['id']}", headers=backend_api.headers
    )
    assert response.status_code == 200, response.text
    event = laptop.next_event("notification.deleted")
    assert event == {"id": sent["id"], "counts": {"unread": 0, "unseen": 0, "categories": {}}}
    assert laptop.ids() == []
    again = backend_api.client.delete(
        f"/v1/notifications/{sent['id']}", headers=backend_api.headers
    )
    assert_error(again, 404, "not_found")


def test_another_users_notification_is_not_found_and_unchanged(
    devices: Callable[..., Device], backend_api: Backend
) -> None:
    ada, mallory = devices("ada"), devices("mallory")
    sent = backend_api.notify("ada", "private")
    for action in ("read", "unread", "archive", "unarchive"):
        assert_error(mallory.post(f"/notifications/{sent['id']}/{action}"), 404, "not_found")
    assert_error(mallory.post("/notifications/ntf_nosuchthing1/read"), 404, "not_found")
    assert ada.get("/notifications")["data"][0]["read_at"] is None
    assert ada.get("/notifications")["data"][0]["archived_at"] is None
    assert mallory.ids() == []
    assert mallory.ok("/notifications/read-all")["ids"] == []
    assert ada.counts()["unread"] == 1


def test_an_anonymous_session_has_an_empty_inbox(harness: Harness) -> None:
    token = harness.identify().json()["session_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert harness.client.get("/v1/widget/notifications/counts", headers=headers).json() == {
        "unread": 0,
        "unseen": 0,
        "categories": {},
    }
    put = harness.client.put(
        "/v1/widget/preferences",
        json={"categories": {"general": {"in_app": False}}},
        headers=headers,
    )
    assert_error(put, 403, "forbidden")
