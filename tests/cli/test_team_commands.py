"""``countersign operators invite|deactivate|reactivate|list`` and ``create --name``:
the team from the command line, with the same rules as the Team page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from countersign.context import Backend
from countersign.operators import team
from countersign.storage import operators
from countersign.vocabulary.clock import utcnow
from countersign.vocabulary.ids import token_digest

from ..conftest import Invoke

PASSWORD = "a long enough password\n"


@pytest.fixture
def owner(cs: Invoke) -> dict[str, object]:
    made = cs(
        "operators", "create", "own@example.com", "--password-stdin", "--json",
        "--name", "Olga Owner", input=PASSWORD,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    record: dict[str, object] = json.loads(made.stdout)
    return record


def test_create_takes_the_display_name_and_checks_it(cs: Invoke, owner: dict[str, object]) -> None:
    assert owner["name"] == "Olga Owner"
    assert owner["state"] == "active"
    for name, words in (
        ("x" * 10_000, "at most 80"),
        ("bad\x01name", "no control"),
        (" ", "required"),
    ):
        refused = cs(
            "operators", "create", "x@example.com", "--password-stdin", "--name", name,
            input=PASSWORD,
        )  # fmt: skip
        assert refused.exit_code == 1
        assert words in refused.output
    listed = json.loads(cs("operators", "list", "--json").stdout)["data"]
    assert [row["email"] for row in listed] == ["own@example.com"]


def test_invite_prints_a_link_that_works_once(
    cs: Invoke, owner: dict[str, object], backend: Backend
) -> None:
    invited = cs(
        "operators", "invite", "New@Example.com", "--name", "Nils", "--json",
        "--base-url", "https://support.example.com/",
    )  # fmt: skip
    assert invited.exit_code == 0, invited.output
    document = json.loads(invited.stdout)
    assert (document["email"], document["role"], document["state"]) == (
        "new@example.com",
        "agent",
        "invited",
    )
    link = document["link"]
    assert link.startswith("https://support.example.com/dashboard/join/csi_")
    token = link.rsplit("/", 1)[1]
    db = backend.database
    found = db.run_sync(lambda c: team.check_link(c, token, utcnow()))
    assert found is not None
    assert found.state == "valid"
    assert found.email == "new@example.com"
    # Only the digest is kept.
    stored = db.run_sync(
        lambda c: c.exec_driver_sql("SELECT id FROM operator_invitations").scalars().all()
    )
    assert stored == [token_digest(token)]

    text = cs("operators", "invite", "second@example.com", "--name", "Sue", "--role", "owner")
    assert text.exit_code == 0, text.output
    assert "http://127.0.0.1:8250/dashboard/join/csi_" in text.output
    table = cs("operators", "list").output
    assert "STATE" in table
    assert "invited" in table


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("own@example.com", "--name", "Again"), "operator_exists"),
        (("x@example.com", "--name", "x" * 10_000), "at most 80"),
        (("x@example.com", "--name", "nul\x00"), "no control"),
        (("not-an-email", "--name", "N"), "not an email address"),
        (("x@example.com", "--name", "N", "--role", "admin"), "Invalid value for '--role'"),
    ],
)
def test_bad_invitations_change_nothing(
    cs: Invoke, owner: dict[str, object], args: tuple[str, ...], words: str
) -> None:
    refused = cs("operators", "invite", *args)
    assert refused.exit_code != 0
    assert words in refused.output
    listed = json.loads(cs("operators", "list", "--json").stdout)["data"]
    assert [row["email"] for row in listed] == ["own@example.com"]


def test_deactivate_ends_sessions_and_reactivate_lets_them_back(
    cs: Invoke, owner: dict[str, object], backend: Backend
) -> None:
    made = cs(
        "operators",
        "create",
        "ag@example.com",
        "--role",
        "agent",
        "--password-stdin",
        input=PASSWORD,
    )
    assert made.exit_code == 0, made.output
    db = backend.database
    agent = db.run_sync(lambda c: operators.operator_by_email(c, "ag@example.com"))
    now = utcnow()
    db.run_sync(
        lambda c: operators.open_session(
            c, agent.id, token_digest("csd_x"), now=now, ttl=timedelta(hours=1), client_ip=None
        )
    )
    off = cs("operators", "deactivate", "AG@example.com", "--json")
    assert off.exit_code == 0, off.output
    assert json.loads(off.stdout)["state"] == "deactivated"
    assert db.run_sync(lambda c: operators.session_operator(c, token_digest("csd_x"), now)) is None
    assert db.run_sync(lambda c: operators.credentials(c, "ag@example.com")) is None
    assert "deactivated" in cs("operators", "list").output

    on = cs("operators", "reactivate", "ag@example.com")
    assert on.exit_code == 0, on.output
    assert "ag@example.com is active" in on.output
    assert db.run_sync(lambda c: operators.credentials(c, "ag@example.com")) is not None


def test_the_last_owner_stays(cs: Invoke, owner: dict[str, object]) -> None:
    refused = cs("operators", "deactivate", "own@example.com")
    assert refused.exit_code == 1
    assert "last_owner" in refused.output
    assert "no operator" in cs("operators", "deactivate", "ghost@example.com").output
    assert json.loads(cs("operators", "list", "--json").stdout)["data"][0]["active"] is True
