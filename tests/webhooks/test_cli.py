"""``countersign webhooks ...`` as an operator runs them: on both backends, on a fresh
data dir, and beside a running server that then delivers what the CLI set up."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from countersign.cli import cli
from countersign.webhooks import verify
from tests.realtime.conftest import Servers, identify, servers
from tests.webhooks.receiver import Receiver

__all__ = ["servers"]

from countersign.vocabulary.standard_webhooks import standard_key

from ..conftest import CLEAN_ENV, Invoke


def document(result: Result) -> Any:
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def refused(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def app_id(cs: Invoke) -> str:
    return str(document(cs("apps", "create", "Acme", "--json"))["app_id"])


def test_add_list_secret_remove(cs: Invoke, app_id: str) -> None:
    added = document(
        cs(
            "webhooks",
            "add",
            app_id,
            "https://hooks.example.com/countersign",
            "--events",
            "message.created, contact.identified",
            "--json",
        )
    )
    assert added["id"].startswith("whe_")
    assert added["signing_secret"].startswith("whsec_")
    assert added["events"] == ["message.created", "contact.identified"]
    listed = document(cs("webhooks", "list", app_id, "--json"))["data"]
    assert [row["id"] for row in listed] == [added["id"]]
    assert added["signing_secret"] not in json.dumps(listed)
    again = document(cs("webhooks", "secret", app_id, added["id"], "--json"))
    assert again["signing_secret"] == added["signing_secret"]
    text = cs("webhooks", "list", app_id)
    assert added["id"] in text.output
    assert "https://hooks.example.com/countersign" in text.output
    assert added["signing_secret"] not in text.output
    removed = document(cs("webhooks", "remove", app_id, added["id"], "--json"))
    assert removed["removed"] is True
    assert document(cs("webhooks", "list", app_id, "--json"))["data"] == []
    assert document(cs("webhooks", "deliveries", app_id, "--json"))["data"] == []


def test_disable_and_enable(cs: Invoke, app_id: str) -> None:
    added = document(
        cs(
            "webhooks",
            "add",
            app_id,
            "https://hooks.example.com/h",
            "--events",
            "message.created",
            "--json",
        )
    )
    disabled = document(cs("webhooks", "disable", app_id, added["id"], "--json"))
    assert (disabled["id"], disabled["enabled"]) == (added["id"], False)
    assert document(cs("webhooks", "list", app_id, "--json"))["data"][0]["enabled"] is False
    assert document(cs("webhooks", "enable", app_id, added["id"], "--json"))["enabled"] is True
    assert "endpoint_not_found" in refused(cs("webhooks", "disable", app_id, "whe_nope"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://127.0.0.1:8080/h", "--events", "message.created"], "--allow-private-network"),
        (["http://192.168.1.10/h", "--events", "message.created"], "not a public address"),
        (["https://example.com/h", "--events", "message.sent"], "unknown event type message.sent"),
        (["https://example.com/h", "--events", ","], "at least one"),
        (["example.com/h", "--events", "message.created"], "invalid_endpoint"),
    ],
)
def test_bad_endpoints_are_refused_with_a_clear_message(
    cs: Invoke, app_id: str, args: list[str], message: str
) -> None:
    assert message in refused(cs("webhooks", "add", app_id, *args))
    assert document(cs("webhooks", "list", app_id, "--json"))["data"] == []


def test_a_private_url_is_accepted_when_allowed(cs: Invoke, app_id: str) -> None:
    added = document(
        cs(
            "webhooks",
            "add",
            app_id,
            "http://127.0.0.1:8080/h",
            "--events",
            "identity.failed",
            "--allow-private-network",
            "--json",
        )
    )
    assert added["allow_private_network"] is True


def test_the_standard_webhooks_format(cs: Invoke, app_id: str) -> None:
    args = ["webhooks", "add", app_id, "https://hooks.example.com/sw", "--events"]
    added = document(cs(*args, "message.created", "--format", "standard", "--json"))
    assert added["format"] == "standard"
    assert len(standard_key(added["signing_secret"])) == 32
    text = cs("webhooks", "list", app_id, "--json")
    assert [row["format"] for row in document(text)["data"]] == ["standard"]
    shown = cs(*args, "message.created", "--format", "standard")
    assert "webhook-signature" in shown.output
    wrong = cs(*args, "message.created", "--format", "svix")
    assert wrong.exit_code == 2
    assert "'svix' is not one of 'countersign', 'standard'" in wrong.output
    assert len(document(cs("webhooks", "list", app_id, "--json"))["data"]) == 2


def test_unknown_things_are_refused(cs: Invoke, app_id: str) -> None:
    assert "app_not_found" in refused(cs("webhooks", "list", "app_nope"))
    assert "endpoint_not_found" in refused(cs("webhooks", "remove", app_id, "whe_nope"))
    assert "endpoint_not_found" in refused(cs("webhooks", "secret", app_id, "whe_nope"))
    assert "event_not_found" in refused(cs("webhooks", "redeliver", app_id, "evt_nope"))
    assert "endpoint_not_found" in refused(
        cs("webhooks", "deliveries", app_id, "--endpoint", "whe_nope")
    )


def test_works_on_a_fresh_data_dir(tmp_path: Path) -> None:
    runner = CliRunner(env=CLEAN_ENV)
    result = runner.invoke(cli, ["webhooks", "list", "app_x", "--data-dir", str(tmp_path / "new")])
    assert "app_not_found" in refused(result)
    assert (tmp_path / "new" / "countersign.db").exists()


def test_beside_a_running_server(servers: Servers, tmp_path: Path) -> None:
    """The CLI adds an endpoint while a server runs; the server delivers to it without
    a restart, and delivers again what the CLI redelivers."""
    receiver = Receiver()
    receiver.start()
    try:
        data = tmp_path / "data"
        app = servers.create_app(data)
        node = servers.start("one", data_dir=data)
        added = json.loads(
            servers.cli(
                "webhooks",
                "add",
                app.app_id,
                receiver.url,
                "--events",
                "contact.identified",
                "--allow-private-network",
                "--json",
                "--data-dir",
                str(data),
            )
        )

        # Nodes reload an app's subscriptions within about a second of a change.
        def identified() -> list[Any]:
            identify(node, app, "user-1")
            return receiver.snapshot()

        deadline = time.monotonic() + 10
        while not identified():
            assert time.monotonic() < deadline, "the server never delivered"
            time.sleep(0.3)
        first = receiver.wait_for(lambda got: len(got) >= 1)[0]
        assert verify(first.body, first.headers["x-countersign-signature"], added["signing_secret"])
        log = json.loads(
            servers.cli("webhooks", "deliveries", app.app_id, "--json", "--data-dir", str(data))
        )["data"]
        assert any(row["status"] == "delivered" for row in log)
        assert all(row["log"][-1]["status_code"] == 200 for row in log if row["log"])
        count = len(receiver.snapshot())
        servers.cli("webhooks", "redeliver", app.app_id, first.event_id, "--data-dir", str(data))
        # Wait for that event itself: an identify of the loop above may have queued
        # another contact.identified that arrives after ``count`` was taken.
        receiver.wait_for(lambda got: first.event_id in [item.event_id for item in got[count:]])
        assert node.process is not None
        assert node.process.poll() is None
    finally:
        receiver.stop()
