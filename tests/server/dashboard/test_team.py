"""The Team page over HTTP, on SQLite and PostgreSQL: adding an operator through a
one-time link, names and roles, deactivation, and who may do any of it.

Every refusal is checked for what it leaves behind: the operators and their links as
they were."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from starlette.websockets import WebSocketDisconnect

from countersign.operators import passwords, team
from countersign.storage import invitations, operators
from countersign.storage.models import OperatorInvitation
from countersign.vocabulary.clock import utcnow
from countersign.vocabulary.ids import token_digest

from .conftest import AGENT, OWNER, Dashboard, csrf_of

NEW = "new.agent@example.com"
NEW_PASSWORD = "a long and fresh passphrase"
LINK = re.compile(r"data-link-value>(https?://[^<]+)</code>")


def team_post(dashboard: Dashboard, path: str, data: dict[str, str] | None = None) -> Any:
    token = csrf_of(dashboard.client.get("/dashboard/team").text)
    return dashboard.client.post(
        f"/dashboard/team{path}", data={"csrf_token": token, **(data or {})}, follow_redirects=False
    )


def invite(dashboard: Dashboard, email: str = NEW, name: str = "Nina", role: str = "agent") -> str:
    """Add an operator as the logged-in owner; the path of their one-time link."""
    response = team_post(dashboard, "/invite", {"email": email, "name": name, "role": role})
    assert response.status_code == 200, response.text
    found = LINK.search(response.text)
    assert found is not None, "the page shows no link"
    return "/dashboard/join/" + found.group(1).rsplit("/", 1)[1]


def join(dashboard: Dashboard, path: str, password: str = NEW_PASSWORD, **extra: str) -> Any:
    dashboard.client.cookies.clear()
    form = dashboard.client.get(path)
    assert form.status_code == 200, form.text
    data = {"csrf_token": csrf_of(form.text), "password": password, "confirm": password, **extra}
    return dashboard.client.post(path, data=data, follow_redirects=False)


def snapshot(dashboard: Dashboard) -> tuple[Any, ...]:
    def read(connection: Any) -> tuple[Any, ...]:
        members = tuple(operators.list_operators(connection))
        links = tuple(connection.execute(OperatorInvitation.__table__.select()).all())
        hashes = tuple(operators.password_hash_of(connection, m.id) for m in members)
        return members, links, hashes

    result: tuple[Any, ...] = dashboard.harness.backend.database.run_sync(read)
    return result


def member(dashboard: Dashboard, email: str) -> operators.OperatorRecord:
    record: operators.OperatorRecord = dashboard.harness.backend.database.run_sync(
        lambda c: operators.operator_by_email(c, email)
    )
    return record


def test_an_owner_adds_an_agent_who_joins_through_the_link(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    path = invite(dashboard)
    token = path.rsplit("/", 1)[1]
    invited = member(dashboard, NEW)
    assert (invited.role, invited.name, invited.state) == ("agent", "Nina", "invited")
    # Only the digest is stored; the token itself is nowhere in the database.
    links = dashboard.harness.backend.database.run_sync(
        lambda c: c.execute(OperatorInvitation.__table__.select()).all()
    )
    assert [row.id for row in links] == [token_digest(token)]
    assert token not in repr(snapshot(dashboard))
    # The link is shown once: the Team page shows it no more.
    assert token not in dashboard.client.get("/dashboard/team").text
    # An invited operator cannot log in before they chose a password.
    assert dashboard.login(NEW, "").status_code == 401

    page = dashboard.client.get(path)
    assert page.status_code == 200
    assert NEW in page.text
    joined = join(dashboard, path)
    assert joined.status_code == 303
    assert joined.headers["location"] == "/dashboard"
    # The new agent is logged in and sees the inbox, not the Team page.
    assert dashboard.client.get(dashboard.url("inbox")).status_code == 200
    assert dashboard.client.get("/dashboard/team").status_code == 403
    assert member(dashboard, NEW).state == "active"
    assert dashboard.login(NEW, NEW_PASSWORD).status_code == 303

    # The used link gets a clear page, and a replay changes nothing.
    before = snapshot(dashboard)
    dashboard.client.cookies.clear()
    used = dashboard.client.get(path)
    assert used.status_code == 410
    assert "has been used" in used.text
    login_page = dashboard.client.get("/dashboard/login")
    replay = dashboard.client.post(
        path,
        data={"csrf_token": csrf_of(login_page.text), "password": "x" * 20, "confirm": "x" * 20},
    )
    assert replay.status_code == 410
    assert snapshot(dashboard) == before
    dashboard.logged_in(OWNER)
    audit = dashboard.client.get("/dashboard/team").text
    for action in ("operator.invited", "operator.joined"):
        assert f'data-action="{action}"' in audit


def test_an_expired_link_and_a_renewed_link(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    path = invite(dashboard)
    digest = token_digest(path.rsplit("/", 1)[1])
    past = utcnow() - timedelta(seconds=1)
    dashboard.harness.backend.database.run_sync(
        lambda c: c.execute(
            OperatorInvitation.__table__.update()
            .where(OperatorInvitation.id == digest)
            .values(expires_at=past)
        )
    )
    dashboard.client.cookies.clear()
    expired = dashboard.client.get(path)
    assert expired.status_code == 410
    assert "has expired" in expired.text
    before = snapshot(dashboard)
    form = csrf_of(dashboard.client.get("/dashboard/login").text)
    data = {"csrf_token": form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert dashboard.client.post(path, data=data).status_code == 410
    assert snapshot(dashboard) == before

    # The owner makes a new link; it works, and it ended nothing else.
    dashboard.logged_in(OWNER)
    response = team_post(dashboard, f"/{member(dashboard, NEW).id}/link")
    renewed = LINK.search(response.text)
    assert renewed is not None
    assert (
        join(dashboard, "/dashboard/join/" + renewed.group(1).rsplit("/", 1)[1]).status_code == 303
    )


def test_a_newer_link_ends_the_older_one(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    first = invite(dashboard)
    team_post(dashboard, f"/{member(dashboard, NEW).id}/link")
    dashboard.client.cookies.clear()
    page = dashboard.client.get(first)
    assert page.status_code == 410
    assert "no longer works" in page.text


@pytest.mark.parametrize(
    "token",
    [
        "csi_" + "A" * 43,  # well formed, never made
        "garbage",
        "csi_" + "A" * 42 + "%25",
        "x" * 10_000,
        "csi_%F0%9F%98%80" + "A" * 39,
        "%ED%A0%80",  # a lone surrogate, UTF-8 encoded
    ],
)
def test_garbled_links_get_a_clear_page(dashboard: Dashboard, token: str) -> None:
    before = snapshot(dashboard)
    response = dashboard.client.get(f"/dashboard/join/{token}")
    assert response.status_code == 404, response.text
    assert "This link is not valid" in response.text
    form = csrf_of(dashboard.client.get("/dashboard/login").text)
    data = {"csrf_token": form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert dashboard.client.post(f"/dashboard/join/{token}", data=data).status_code == 404
    assert snapshot(dashboard) == before


def test_a_tampered_link_opens_nothing(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    path = invite(dashboard)
    tail = path[-1]
    tampered = path[:-1] + ("B" if tail != "B" else "C")
    dashboard.client.cookies.clear()
    assert dashboard.client.get(tampered).status_code == 404
    assert dashboard.client.get(path.upper()).status_code == 404


def test_the_password_rules_apply_and_a_refusal_keeps_the_link(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    path = invite(dashboard)
    before = snapshot(dashboard)
    for password, words in (
        ("short", "at least 10 characters"),
        (NEW, "must not be the email"),
        ("x" * 1025, "at most 1024"),
    ):
        response = join(dashboard, path, password)
        assert response.status_code == 422
        assert words in response.text
    response = join(dashboard, path, NEW_PASSWORD, confirm="something else entirely")
    assert response.status_code == 422
    assert "differ" in response.text
    assert snapshot(dashboard) == before
    assert join(dashboard, path).status_code == 303


def test_a_join_form_needs_its_csrf_token(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    path = invite(dashboard)
    dashboard.client.cookies.clear()
    before = snapshot(dashboard)
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert dashboard.client.post(path, data=data).status_code == 403
    assert dashboard.client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403
    assert snapshot(dashboard) == before


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"name": "N" * 10_000}, 400, "longer than"),
        ({"name": "N" * 81}, 422, "at most 80"),
        ({"name": "Nina\x00"}, 400, "NUL"),
        ({"name": "Nina\ud800"}, 400, "UTF-8"),
        ({"name": "Nina\u2028x"}, 422, "no control"),
        ({"name": "   "}, 400, "required"),
        ({"role": "admin"}, 422, "role must be one of"),
        ({"email": "not-an-email"}, 422, "not an email address"),
        ({"email": AGENT.upper()}, 409, "exists already"),
        ({"email": "x" * 300 + "@example.com"}, 400, "longer than"),
    ],
)
def test_bad_invitations_change_nothing(
    dashboard: Dashboard, fields: dict[str, str], status: int, words: str
) -> None:
    dashboard.logged_in(OWNER)
    before = snapshot(dashboard)
    token = csrf_of(dashboard.client.get("/dashboard/team").text)
    data = {"csrf_token": token, "email": NEW, "name": "Nina", "role": "agent", **fields}
    # Encoded by hand: a lone surrogate cannot pass through the client's own encoder.
    encoded = "&".join(
        f"{key}={quote(value.encode('utf-8', 'surrogatepass'))}" for key, value in data.items()
    )
    response = dashboard.client.post(
        "/dashboard/team/invite",
        content=encoded,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == status, response.text
    assert words in response.text
    assert snapshot(dashboard) == before


def test_names_and_roles_change_and_the_last_owner_stays(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    agent = dashboard.agent
    response = team_post(dashboard, f"/{agent.id}", {"name": "Aaron A.", "role": "owner"})
    assert response.status_code == 303
    changed = member(dashboard, AGENT)
    assert (changed.name, changed.role) == ("Aaron A.", "owner")
    assert team_post(dashboard, f"/{agent.id}", {"name": "Aaron", "role": "agent"}).status_code == (
        303
    )

    # The one owner cannot demote themselves, nor be deactivated: nothing changes,
    # not even the name sent along with the role.
    owner = dashboard.owner
    before = snapshot(dashboard)
    refused = team_post(dashboard, f"/{owner.id}", {"name": "Olivia 2", "role": "agent"})
    assert refused.status_code == 409
    assert "last active owner" in refused.text
    assert snapshot(dashboard) == before
    refused = team_post(dashboard, f"/{owner.id}/deactivate")
    assert refused.status_code == 409
    assert "yourself" in refused.text
    assert snapshot(dashboard) == before
    for fields, status in (
        ({"name": "x" * 81, "role": "agent"}, 422),
        ({"name": "Ok", "role": "boss"}, 422),
    ):
        assert team_post(dashboard, f"/{agent.id}", fields).status_code == status
    assert snapshot(dashboard) == before
    assert team_post(dashboard, "/op_nosuch", {"name": "x", "role": "agent"}).status_code == 404


def test_the_last_owner_cannot_be_deactivated_by_the_command_line_either(
    dashboard: Dashboard,
) -> None:
    with pytest.raises(team.LastOwner):
        dashboard.harness.backend.database.run_sync(
            lambda c: team.deactivate_operator(
                c, actor=None, operator_id=dashboard.owner.id, now=utcnow()
            )
        )
    assert member(dashboard, OWNER).active


def test_deactivation_ends_the_session_at_once_and_keeps_them_out(dashboard: Dashboard) -> None:
    dashboard.logged_in(AGENT)
    agent_cookies = dict(dashboard.client.cookies)
    assert dashboard.client.get(dashboard.url("inbox")).status_code == 200

    dashboard.logged_in(OWNER)
    assert team_post(dashboard, f"/{dashboard.agent.id}/deactivate").status_code == 303
    assert member(dashboard, AGENT).state == "deactivated"
    assert 'data-state="deactivated"' in dashboard.client.get("/dashboard/team").text

    dashboard.client.cookies.clear()
    dashboard.client.cookies.update(agent_cookies)
    response = dashboard.client.get(dashboard.url("inbox"), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/login")
    assert dashboard.login(AGENT).status_code == 401

    dashboard.logged_in(OWNER)
    assert team_post(dashboard, f"/{dashboard.agent.id}/reactivate").status_code == 303
    assert dashboard.login(AGENT).status_code == 303
    dashboard.logged_in(OWNER)
    audit = dashboard.client.get("/dashboard/team").text
    for action in ("operator.deactivated", "operator.reactivated"):
        assert f'data-action="{action}"' in audit


def test_deactivation_ends_an_unused_link(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    path = invite(dashboard)
    assert team_post(dashboard, f"/{member(dashboard, NEW).id}/deactivate").status_code == 303
    dashboard.client.cookies.clear()
    assert dashboard.client.get(path).status_code == 410
    pending = dashboard.harness.backend.database.run_sync(
        lambda c: invitations.pending_until(c, utcnow())
    )
    assert pending == {}


TEAM_ACTIONS = ("/invite", "/op_x", "/op_x/deactivate", "/op_x/reactivate", "/op_x/link")


def test_an_agent_reaches_no_team_action(dashboard: Dashboard) -> None:
    dashboard.logged_in(AGENT)
    before = snapshot(dashboard)
    assert dashboard.client.get("/dashboard/team").status_code == 403
    # The agent's own valid CSRF token (from the inbox) does not help.
    token = csrf_of(dashboard.client.get(dashboard.url("inbox")).text)
    targets = [p.replace("op_x", dashboard.owner.id) for p in TEAM_ACTIONS]
    for path in targets:
        data = {"csrf_token": token, "email": NEW, "name": "Eve", "role": "owner"}
        response = dashboard.client.post(f"/dashboard/team{path}", data=data)
        assert response.status_code == 403, path
        assert "Owners only" in response.text
    assert snapshot(dashboard) == before
    assert "/dashboard/team" not in dashboard.client.get(dashboard.url("inbox")).text


def test_team_forms_need_their_csrf_token(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    before = snapshot(dashboard)
    for path in (p.replace("op_x", dashboard.agent.id) for p in TEAM_ACTIONS):
        data = {"email": NEW, "name": "Eve", "role": "owner"}
        assert dashboard.client.post(f"/dashboard/team{path}", data=data).status_code == 403
        data["csrf_token"] = "forged"
        assert dashboard.client.post(f"/dashboard/team{path}", data=data).status_code == 403
    assert snapshot(dashboard) == before


def test_replies_show_the_display_name_never_the_email(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    team_post(dashboard, f"/{dashboard.agent.id}", {"name": "Aaron from Support", "role": "agent"})
    conversation_id, session = dashboard.conversation("name-user")
    dashboard.logged_in(AGENT)
    reply = dashboard.post(f"inbox/{conversation_id}/reply", {"body": "On it."})
    assert reply.status_code in (200, 303)
    response = dashboard.client.get(
        f"/v1/widget/conversations/{conversation_id}/messages",
        headers=dashboard.harness.session_headers(session),
    )
    assert response.status_code == 200, response.text
    replies = [m for m in response.json()["data"] if m["author"]["type"] == "operator"]
    assert [m["author"]["name"] for m in replies] == ["Aaron from Support"]
    assert AGENT not in response.text
    assert "agent@" not in response.text


def test_a_deactivated_agents_live_inbox_gets_no_further_event(dashboard: Dashboard) -> None:
    dashboard.logged_in(AGENT)
    csrf = csrf_of(dashboard.client.get(dashboard.url("inbox")).text)
    with dashboard.client.websocket_connect(dashboard.url("live")) as live:
        live.send_json({"csrf": csrf})
        assert live.receive_json() == {"type": "ready"}
        # Deactivated by the command line's rule (another process would do the same).
        dashboard.harness.backend.database.run_sync(
            lambda c: team.deactivate_operator(
                c, actor=None, operator_id=dashboard.agent.id, now=utcnow()
            )
        )
        dashboard.client.cookies.clear()
        dashboard.conversation("after-deactivation", "secret plans")
        with pytest.raises(WebSocketDisconnect) as closed:
            live.receive_json()
    assert closed.value.code == 4401


def test_a_password_set_another_way_ends_the_link(dashboard: Dashboard) -> None:
    dashboard.logged_in(OWNER)
    path = invite(dashboard)
    hashed = passwords.hash_password(NEW_PASSWORD)
    dashboard.harness.backend.database.run_sync(
        lambda c: operators.set_password_hash(c, NEW, hashed, utcnow())
    )
    dashboard.client.cookies.clear()
    page = dashboard.client.get(path)
    assert page.status_code == 410
    assert "no longer works" in page.text
    assert dashboard.login(NEW, NEW_PASSWORD).status_code == 303
