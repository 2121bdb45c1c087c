"""405 for a method a path does not have, before any body check, with a true ``Allow``."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from countersign.storage.models import Contact

from .conftest import Harness


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/widget/conversations", "GET, POST"),
        ("DELETE", "/v1/widget/preferences", "GET, PUT"),
        ("PATCH", "/v1/users/u1", "DELETE, PUT"),
        ("PUT", "/v1/users/u1/events", "GET"),
        ("PUT", "/v1/users/u1/conversations", "GET"),
        ("PUT", "/v1/users/u1/notifications", "GET"),
        ("DELETE", "/v1/users/u1/export", "GET"),
        ("OPTIONS", "/v1/conversations/cnv_x/messages", "GET, POST"),
    ],
)
def test_an_undeclared_method_is_405_listing_every_method_of_the_path(
    harness: Harness, method: str, path: str, allow: str
) -> None:
    # No body and no content type: the 405 comes before a 415 or 422 could.
    response = harness.client.request(
        method, path, headers={"Authorization": f"Bearer {harness.api_key}"}
    )
    assert response.status_code == 405, response.text
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] == allow


def test_put_of_a_user_read_route_creates_no_user_named_after_it(harness: Harness) -> None:
    # Was: "u1/events" was taken as a user id, so a JSON PUT upserted a user of that name.
    api = {"Authorization": f"Bearer {harness.api_key}"}
    response = harness.client.put("/v1/users/u1/events", json={"name": "x"}, headers=api)
    assert response.status_code == 405, response.text
    count = select(func.count()).select_from(Contact).where(Contact.user_id == "u1/events")
    assert harness.backend.database.run_sync(lambda c: c.execute(count).scalar_one()) == 0
    # A user id with a slash elsewhere is still one id.
    assert harness.client.put("/v1/users/org/42", json={}, headers=api).status_code == 200


def test_a_notification_url_with_a_broken_ipv6_host_is_422(harness: Harness) -> None:
    # Was: urlsplit's ValueError ("Invalid IPv6 URL") escaped as a 500.
    response = harness.client.post(
        "/v1/notifications",
        json={"user_id": "u1", "title": "t", "actions": [{"label": "go", "url": "http://[x"}]},
        headers={"Authorization": f"Bearer {harness.api_key}"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
