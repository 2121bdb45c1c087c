"""PUT /v1/users/{user_id}: the customer's backend states who a user is (trusted)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from countersign import sign
from countersign.storage import apps
from countersign.storage.models import Contact

from .conftest import Harness


def put_user(harness: Harness, user_id: str, key: str | None = None, **fields: Any) -> Any:
    return harness.client.put(
        f"/v1/users/{user_id}",
        json=fields,
        headers={"Authorization": f"Bearer {key or harness.api_key}"},
    )


def contacts_of(harness: Harness, user_id: str) -> list[Any]:
    return harness.backend.database.run_sync(
        lambda c: c.execute(
            select(Contact.id, Contact.app_id, Contact.verified, Contact.email).where(
                Contact.user_id == user_id
            )
        ).all()
    )


def test_put_creates_a_verified_contact_with_trusted_attributes(harness: Harness) -> None:
    response = put_user(
        harness,
        "cust-1",
        email="ada@example.com",
        name="Ada Lovelace",
        attributes={"plan": "enterprise", "seats": 40, "flags": {"beta": True}},
    )
    assert response.status_code == 200, response.text
    contact = response.json()
    assert contact["id"]
    assert contact["user_id"] == "cust-1"
    assert contact["email"] == "ada@example.com"
    assert contact["name"] == "Ada Lovelace"
    assert contact["verified"] is True
    assert contact["attributes"] == {"plan": "enterprise", "seats": 40, "flags": {"beta": True}}
    assert contact["metadata"] == {}


def test_a_later_verified_identify_lands_on_that_contact(harness: Harness) -> None:
    created = put_user(
        harness, "cust-2", email="grace@example.com", attributes={"plan": "pro"}
    ).json()
    document = harness.verified("cust-2", user_metadata={"page": "/billing"})
    assert document["contact"]["id"] == created["id"]
    assert document["contact"]["attributes"] == {"plan": "pro"}
    assert document["contact"]["email"] == "grace@example.com"
    assert document["contact"]["metadata"] == {"page": "/billing"}
    assert document["identity"]["status"] == "verified"
    me = harness.client.get(
        "/v1/widget/session", headers=harness.session_headers(document["session_token"])
    )
    assert me.json()["contact_id"] == created["id"]
    # Identify first, PUT later: the same contact again.
    first = harness.verified("cust-3")
    put = put_user(harness, "cust-3", attributes={"plan": "free"})
    assert put.json()["id"] == first["contact"]["id"]
    assert len(contacts_of(harness, "cust-3")) == 1


def test_metadata_from_the_browser_cannot_overwrite_attributes(harness: Harness) -> None:
    put_user(harness, "cust-4", attributes={"plan": "free"})
    document = harness.verified("cust-4", user_metadata={"plan": "enterprise", "attributes": 1})
    assert document["contact"]["attributes"] == {"plan": "free"}


def test_an_unverified_claim_does_not_see_the_attributes(harness: Harness) -> None:
    created = put_user(harness, "cust-5", attributes={"plan": "enterprise"}).json()
    harness.set_policy(identity_mode="report")
    claim = harness.identify(user_id="cust-5").json()
    assert claim["identity"]["status"] == "unverified"
    assert claim["contact"]["id"] != created["id"]
    assert claim["contact"]["attributes"] == {}


def test_put_again_updates_the_same_contact(harness: Harness) -> None:
    first = put_user(harness, "cust-6", email="old@example.com", name="Old", attributes={"a": 1})
    second = put_user(harness, "cust-6", email="new@example.com", attributes={"b": 2})
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["email"] == "new@example.com"
    assert second.json()["name"] == "Old"  # absent fields are left alone
    assert second.json()["attributes"] == {"b": 2}
    assert len(contacts_of(harness, "cust-6")) == 1


def test_integer_looking_user_id_in_the_path_is_the_same_user(harness: Harness) -> None:
    created = put_user(harness, "1234", attributes={"plan": "pro"}).json()
    response = harness.identify(user_id=1234, user_hash=sign(harness.secret, "1234"))
    assert response.status_code == 200, response.text
    assert response.json()["contact"]["id"] == created["id"]


def test_user_id_in_the_path_is_percent_decoded_exactly(harness: Harness) -> None:
    created = put_user(harness, "a%20b%3Fc%23d%C3%A9")
    assert created.status_code == 200, created.text
    assert created.json()["user_id"] == "a b?c#dé"
    document = harness.verified("a b?c#dé")
    assert document["contact"]["id"] == created.json()["id"]


def test_user_id_with_a_slash_can_be_put(harness: Harness) -> None:
    created = put_user(harness, "org%2F42")
    assert created.status_code == 200, created.text
    assert created.json()["user_id"] == "org/42"
    assert harness.verified("org/42")["contact"]["id"] == created.json()["id"]


def test_email_taken_is_409_and_changes_nothing(harness: Harness) -> None:
    first = put_user(harness, "cust-7", email="shared@example.com")
    assert first.status_code == 200
    clash = put_user(harness, "cust-8", email="shared@example.com", attributes={"x": 1})
    assert clash.status_code == 409, clash.text
    assert clash.json()["error"]["code"] == "email_taken"
    assert set(clash.json()["error"]) == {"code", "message"}
    # Nothing of the refused PUT was written: no contact for cust-8.
    assert contacts_of(harness, "cust-8") == []
    # Updating the existing contact to another user's email is refused too.
    put_user(harness, "cust-9", email="other@example.com")
    moved = put_user(harness, "cust-9", email="shared@example.com")
    assert moved.status_code == 409
    assert contacts_of(harness, "cust-9")[0].email == "other@example.com"
    # The same email on the same user is no conflict.
    assert put_user(harness, "cust-7", email="shared@example.com").status_code == 200


def test_the_same_email_in_two_apps_is_no_conflict(make_harness: Callable[..., Harness]) -> None:
    first = make_harness()
    second = make_harness()  # same database, another app
    assert put_user(first, "u", email="same@example.com").status_code == 200
    assert put_user(second, "u", email="same@example.com").status_code == 200


def test_an_api_key_reaches_only_its_own_app(make_harness: Callable[..., Harness]) -> None:
    first = make_harness()
    second = make_harness()
    mine = put_user(first, "tenant-user", attributes={"owner": "first"}).json()
    # The second app's key, sent to the first app's server: it names the second app.
    theirs = put_user(first, "tenant-user", key=second.api_key, attributes={"owner": "second"})
    assert theirs.status_code == 200
    assert theirs.json()["id"] != mine["id"]
    document = first.verified("tenant-user")
    assert document["contact"]["attributes"] == {"owner": "first"}
    rows = contacts_of(first, "tenant-user")
    assert {row.app_id for row in rows} == {first.app_id, second.app_id}


def test_a_revoked_api_key_is_401(harness: Harness) -> None:
    key_id, key = harness.backend.database.run_sync(
        lambda c: apps.create_api_key(c, harness.app_id)
    )
    assert put_user(harness, "k-user", key=key).status_code == 200
    harness.backend.database.run_sync(lambda c: apps.revoke_api_key(c, harness.app_id, key_id))
    response = put_user(harness, "k-user", key=key)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert put_user(harness, "k-user").status_code == 200  # the app's other key still works
