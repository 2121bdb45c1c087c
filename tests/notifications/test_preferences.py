"""Preferences per category and channel (SPEC 13), set in the widget and by the backend,
with the app's defaults from ``countersign categories``: a muted category creates no
in-app notification, and every device of the user hears of the change."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from countersign.cli import cli
from countersign.storage import notification_settings
from countersign.storage.notification_settings import Category

from ..conftest import CLEAN_ENV
from ..server.conftest import Harness
from .conftest import Backend, Device, assert_error


def test_a_muted_category_creates_nothing_in_app(
    devices: Callable[..., Device], backend_api: Backend
) -> None:
    phone, laptop = devices("ada"), devices("ada", stream=True)
    backend_api.notify("ada", "Up", category="status")
    laptop.next_event("notification.created")
    put = phone.client.put(
        "/v1/widget/preferences",
        json={"categories": {"status": {"in_app": False}}},
        headers=phone.headers,
    )
    assert put.status_code == 200, put.text
    assert put.json()["categories"]["status"] == {
        "label": "Status",
        "in_app": False,
        "email": False,
    }
    assert laptop.next_event("preferences.updated")["categories"]["status"]["in_app"] is False

    muted = backend_api.send(user_id="ada", title="Down tonight", category="status")
    assert muted.status_code == 201, muted.text
    assert muted.json() == {"id": None, "user_id": "ada", "muted": True}
    bulk = backend_api.send(user_ids=["ada", "bob"], title="Down tonight", category="status")
    assert [n["user_id"] for n in bulk.json()["data"]] == ["bob"]
    assert bulk.json()["muted"] == ["ada"]
    assert [n["title"] for n in phone.get("/notifications")["data"]] == ["Up"]
    # Other categories still arrive, and the next event the laptop hears is that one.
    backend_api.notify("ada", "Invoice ready", category="billing")
    assert laptop.next_event("notification.created")["title"] == "Invoice ready"


def test_the_backend_reads_and_sets_a_users_preferences(
    devices: Callable[..., Device], backend_api: Backend
) -> None:
    laptop = devices("ada", stream=True)
    path = "/v1/preferences/ada"
    assert backend_api.get("/preferences/ada").json() == {
        "categories": {"general": {"label": "General", "in_app": True, "email": False}}
    }
    response = backend_api.client.put(
        path, json={"categories": {"general": {"email": True}}}, headers=backend_api.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["categories"]["general"] == {
        "label": "General",
        "in_app": True,
        "email": True,
    }
    assert laptop.next_event("preferences.updated")["categories"]["general"]["email"] is True
    assert laptop.get("/preferences")["categories"]["general"]["email"] is True


def test_an_unknown_category_is_refused_and_nothing_changes(
    devices: Callable[..., Device], backend_api: Backend
) -> None:
    phone = devices("ada")
    for body in (
        {"categories": {"general": {"in_app": False}, "nonesuch": {"in_app": False}}},
        {"categories": {"general": {"in_app": "no"}}},
        {"categories": {"general": {"push": True}}},
    ):
        response = phone.client.put("/v1/widget/preferences", json=body, headers=phone.headers)
        assert 400 <= response.status_code < 500, response.text
    assert_error(
        phone.client.put(
            "/v1/widget/preferences",
            json={"categories": {"nonesuch": {"in_app": False}}},
            headers=phone.headers,
        ),
        422,
        "unknown_category",
    )
    assert phone.get("/preferences")["categories"]["general"]["in_app"] is True


def test_app_defaults_hold_until_the_user_chooses(
    harness: Harness, devices: Callable[..., Device], backend_api: Backend
) -> None:
    harness.backend.database.run_sync(
        lambda c: notification_settings.put_category(
            c, harness.app_id, Category("marketing", "News and offers", False, False)
        )
    )
    phone = devices("ada")
    assert phone.get("/preferences")["categories"]["marketing"] == {
        "label": "News and offers",
        "in_app": False,
        "email": False,
    }
    assert backend_api.send(user_id="ada", title="Sale", category="marketing").json()["muted"]
    phone.client.put(
        "/v1/widget/preferences",
        json={"categories": {"marketing": {"in_app": True}}},
        headers=phone.headers,
    )
    assert backend_api.notify("ada", "Sale", category="marketing")["id"] is not None


def test_categories_set_and_list_on_the_command_line(tmp_path: Path, database_url: str) -> None:
    runner = CliRunner(env=CLEAN_ENV)
    where = ["--data-dir", str(tmp_path), "--database-url", database_url]
    app_id = json.loads(runner.invoke(cli, ["apps", "create", "Acme", "--json", *where]).output)[
        "app_id"
    ]
    made = runner.invoke(
        cli,
        [
            "categories",
            "set",
            app_id,
            "billing",
            "--label",
            "Billing",
            "--default-email",
            "on",
            "--json",
            *where,
        ],
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.output) == {
        "name": "billing",
        "label": "Billing",
        "default_in_app": True,
        "default_email": True,
    }
    # What is not given stays.
    changed = runner.invoke(
        cli, ["categories", "set", app_id, "billing", "--default-in-app", "off", "--json", *where]
    )
    assert json.loads(changed.output)["label"] == "Billing"
    listed = runner.invoke(cli, ["categories", "list", app_id, "--json", *where])
    assert json.loads(listed.output) == {
        "data": [
            {"name": "billing", "label": "Billing", "default_in_app": False, "default_email": True}
        ]
    }
    text = runner.invoke(cli, ["categories", "list", app_id, *where])
    assert "Billing" in text.output
    bad = runner.invoke(cli, ["categories", "set", app_id, "Not A Name", *where])
    assert bad.exit_code == 1
    assert "invalid_request" in bad.output
    missing = runner.invoke(cli, ["categories", "list", "app_nosuchapp000", *where])
    assert missing.exit_code == 1
