"""``countersign conversations list|resolve|reopen|assign``: the team's queues from the
command line, with the server API's rules (an unknown or deactivated assignee, a
conversation that does not exist) and what each change announces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from countersign import messaging
from countersign.context import Backend
from countersign.operators import team as operators_team
from countersign.storage import apps, contacts, operators, stream_log
from countersign.vocabulary.clock import utcnow

from ..conftest import Invoke


@pytest.fixture
def seeded(backend: Backend) -> dict[str, Any]:
    now = utcnow()

    def work(connection: Any) -> dict[str, Any]:
        app = apps.create_app(connection, backend.box, "Acme").app
        contact = contacts.ensure_verified_contact(connection, app.id, "user-1", now)
        conversation, _ = messaging.start_conversation(connection, app.id, contact, now)
        agent = operators.create_operator(
            connection,
            email="ada@example.com",
            password_hash=operators.NO_PASSWORD,
            role="agent",
            name="Ada",
            now=now,
        )
        return {
            "app": app.id,
            "contact": contact,
            "conversation": conversation["id"],
            "agent": agent,
        }

    return backend.database.run_sync(work)


def run_json(cs: Invoke, *args: str) -> Any:
    result = cs(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_assign_resolve_reopen(cs: Invoke, seeded: dict[str, Any], backend: Backend) -> None:
    conversation = seeded["conversation"]
    listed = run_json(cs, "conversations", "list", seeded["app"], "--assignee", "none")
    assert [row["id"] for row in listed["data"]] == [conversation]

    assigned = run_json(cs, "conversations", "assign", conversation, "ADA@example.com")
    assert assigned["assignee"]["name"] == "Ada"
    mine = run_json(cs, "conversations", "list", seeded["app"], "--assignee", "ada@example.com")
    assert [row["id"] for row in mine["data"]] == [conversation]

    assert run_json(cs, "conversations", "resolve", conversation)["status"] == "resolved"
    resolved = run_json(cs, "conversations", "list", seeded["app"], "--status", "resolved")
    assert [row["id"] for row in resolved["data"]] == [conversation]
    assert run_json(cs, "conversations", "reopen", conversation)["status"] == "open"
    assert run_json(cs, "conversations", "assign", conversation, "none")["assignee"] is None
    by_user = run_json(cs, "conversations", "list", seeded["app"], "--user", "user-1")
    assert len(by_user["data"]) == 1

    text = cs("conversations", "list", seeded["app"])
    assert text.exit_code == 0, text.output
    assert conversation in text.stdout
    assert "open" in text.stdout

    items = backend.database.run_sync(lambda c: stream_log.stream_after(c, seeded["contact"], 0))
    assert [item.type for item in items].count("conversation.updated") == 4


def test_refusals_are_one_line_and_change_nothing(
    cs: Invoke, seeded: dict[str, Any], backend: Backend
) -> None:
    conversation = seeded["conversation"]
    for args, words in (
        (("assign", conversation, "nobody@example.com"), "unknown_assignee"),
        (("resolve", "cnv_nope"), "not_found"),
        (("list", seeded["app"], "--status", "closed"), "closed"),
    ):
        result = cs("conversations", *args)
        assert result.exit_code != 0, result.output
        assert words in result.output
        assert "Traceback" not in result.output
    backend.database.run_sync(
        lambda c: operators_team.deactivate_operator(
            c, actor=None, operator_id=seeded["agent"].id, now=utcnow()
        )
    )
    refused = cs("conversations", "assign", conversation, "ada@example.com")
    assert refused.exit_code == 1
    assert "unknown_assignee" in refused.output
    document = run_json(cs, "conversations", "list", seeded["app"])["data"][0]
    assert document["status"] == "open"
    assert document["assignee"] is None


def test_deactivating_from_the_command_line_unassigns(cs: Invoke, seeded: dict[str, Any]) -> None:
    conversation = seeded["conversation"]
    run_json(cs, "conversations", "assign", conversation, "ada@example.com")
    made = cs(
        "operators", "create", "own@example.com", "--password-stdin", "--name", "Olga",
        input="a long enough password\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    done = cs("operators", "deactivate", "ada@example.com")
    assert done.exit_code == 0, done.output
    document = run_json(cs, "conversations", "list", seeded["app"])["data"][0]
    assert document["assignee"] is None
