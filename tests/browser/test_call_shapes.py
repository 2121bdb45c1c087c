"""Every call shape of SPEC section 6, each on a page from another origin, reaching a
verified session. A team moving from a hosted widget changes the tag and the global's
name; the call and their backend's hash stay as they are (docs/widget.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from .conftest import DemoServer, HostPages, Tab, TestApp, no_page_errors


@dataclass(frozen=True)
class Shape:
    name: str
    identifier: str  # what the app signs: "user_id" or "email"
    # (app, user id or email) -> (script before the tag, script after the tag)
    script: Callable[[TestApp, str], tuple[str, str]]


def js(value: object) -> str:
    return json.dumps(value)


SHAPES = [
    Shape(
        "countersignSettings before the script",
        "user_id",
        lambda app, user: (
            f"window.countersignSettings = {{app_id: {js(app.app_id)}, user_id: {js(user)},"
            f" user_hash: {js(app.sign(user))}, name: 'Ann'}};",
            "",
        ),
    ),
    Shape(
        "boot with user_metadata",
        "user_id",
        lambda app, user: (
            f"Countersign('boot', {{app_id: {js(app.app_id)}, user_id: {js(user)},"
            f" user_hash: {js(app.sign(user))}, user_metadata: {{plan: 'pro'}}}});",
            "",
        ),
    ),
    Shape(
        "Intercom boot, base64 hash and top-level attributes",
        "user_id",
        lambda app, user: (
            f"Countersign('boot', {{app_id: {js(app.app_id)}, user_id: {js(user)},"
            f" user_hash: {js(app.sign(user, 'base64'))}, name: 'Ann', created_at: 1700000000}});",
            "",
        ),
    ),
    Shape(
        "identify {user_id, user_hash, user_metadata} (AI support agent)",
        "user_id",
        lambda app, user: (
            f"Countersign('identify', {{user_id: {js(user)}, user_hash: {js(app.sign(user))},"
            " user_metadata: {name: 'Ann'}});",
            "",
        ),
    ),
    Shape(
        "identify {userId, userHash}",
        "user_id",
        lambda app, user: (
            f"Countersign('identify', {{userId: {js(user)}, userHash: {js(app.sign(user))}}});",
            "",
        ),
    ),
    Shape(
        "identify {user_id, user_jwt}",
        "user_id",
        lambda app, user: (
            f"Countersign('identify', {{user_id: {js(user)}, user_jwt: {js(app.jwt(user))}}});",
            "",
        ),
    ),
    Shape(
        "identify with userSignature",
        "user_id",
        lambda app, user: (
            f"Countersign('identify', {{userId: {js(user)}, userSignature: {js(app.sign(user))}}});",
            "",
        ),
    ),
    Shape(
        "Novu-style subscriberId + subscriberHash",
        "user_id",
        lambda app, user: (
            f"Countersign('identify', {{subscriberId: {js(user)},"
            f" subscriberHash: {js(app.sign(user))}}});",
            "",
        ),
    ),
    Shape(
        "auth(userId, hash)",
        "user_id",
        lambda app, user: (f"Countersign('auth', {js(user)}, {js(app.sign(user))});", ""),
    ),
    Shape(
        "Chatwoot setUser(id, {identifier_hash}) once loaded",
        "user_id",
        lambda app, user: (
            "",
            "window.addEventListener('countersign:ready', function () {"
            f" Countersign.setUser({js(user)}, {{identifier_hash: {js(app.sign(user))},"
            " name: 'Ann'}); });",
        ),
    ),
    Shape(
        "identify {email, hash}",
        "email",
        lambda app, email: (
            f"Countersign('identify', {{email: {js(email)}, hash: {js(app.sign(email))}}});",
            "",
        ),
    ),
    Shape(
        "set({user: {name, email, hash}})",
        "email",
        lambda app, email: (
            f"Countersign('set', {{user: {{name: 'Ann', email: {js(email)},"
            f" hash: {js(app.sign(email))}}}}});",
            "",
        ),
    ),
    Shape(
        "Help Scout Beacon identify {name, email, signature}",
        "email",
        lambda app, email: (
            f"Countersign('identify', {{name: 'Ann', email: {js(email)},"
            f" signature: {js(app.sign(email))}}});",
            "",
        ),
    ),
    Shape(
        "Crisp push(['set', 'user:email', [email, signature]])",
        "email",
        lambda app, email: (
            "window.Countersign = [];"  # a Crisp page's global is an array of commands
            " Countersign.push(['on', 'identity', function (who) { identities.push(who); }]);"
            f" Countersign.push(['set', 'user:email', [{js(email)}, {js(app.sign(email))}]]);"
            " Countersign.push(['set', 'user:nickname', ['Ann']]);",
            "",
        ),
    ),
]


@pytest.fixture(scope="module")
def shape_apps(server: DemoServer) -> dict[str, TestApp]:
    return {
        "user_id": server.create_app("Shapes by user id"),
        "email": server.create_app("Shapes by email", identifier="email"),
    }


@pytest.mark.parametrize("shape", SHAPES, ids=[shape.name for shape in SHAPES])
def test_call_shape_reaches_a_verified_session(
    shape: Shape,
    server: DemoServer,
    host_pages: HostPages,
    shape_apps: dict[str, TestApp],
    open_tab: Callable[[], Tab],
) -> None:
    app = shape_apps[shape.identifier]
    number = SHAPES.index(shape)
    user = f"user-{number}" if shape.identifier == "user_id" else f"ann{number}@example.com"
    if shape.identifier == "user_id":
        # Only the verified user's own session can see this.
        app.notify(user, f"Hello {user}")
    before, after = shape.script(app, user)
    url = host_pages.embed(server, app.app_id, before=before, after=after)
    assert not url.startswith(server.url)  # another origin

    tab = open_tab()
    tab.page.goto(url)
    tab.expect_identity("verified")
    who = tab.page.evaluate("() => identities[identities.length - 1]")
    assert who["status"] == "verified"
    assert who[shape.identifier] == user
    if shape.identifier == "user_id":
        expect(tab.bell.locator(".badge")).to_have_text("1")
        tab.bell.click()
        expect(tab.panel).to_contain_text(f"Hello {user}")
    assert tab.page.evaluate("() => refusals") == []
    assert tab.warnings() == []
    no_page_errors(tab)
