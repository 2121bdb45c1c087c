"""``Countersign('action', name, parameters)`` in a real browser: the promise carries the
customer's answer, the customer's API gets the verified user, and the session token
never shows up anywhere the page can see."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from countersign.storage import actions

from ..outbound.receiver import Receiver
from .conftest import SESSION_TOKEN, DemoServer, HostPages, Tab, TestApp, no_page_errors


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def app(server: DemoServer, receiver: Receiver) -> TestApp:
    created = server.create_app("Action tests")
    server.backend.database.run_sync(
        lambda c: actions.create_action(
            c,
            server.backend.box,
            created.app_id,
            "order-status",
            url=receiver.url("/json/%7B%22state%22:%22shipped%22%7D"),
            parameters_schema={"type": "object", "required": ["order"]},
            allow_private_network=True,  # the receiver is on 127.0.0.1, deliberately
        )
    )
    return created


def test_action_from_the_widget(
    server: DemoServer,
    host_pages: HostPages,
    app: TestApp,
    receiver: Receiver,
    open_tab: Callable[[], Tab],
) -> None:
    url = host_pages.embed(
        server,
        app.app_id,
        before=f"Countersign('identify', {{user_id: 'ada', user_hash: '{app.sign('ada')}'}});",
    )
    tab = open_tab()
    tab.page.goto(url)
    tab.expect_identity("verified")

    answer = tab.page.evaluate("Countersign('action', 'order-status', {order: 7})")
    assert answer["status"] == 200
    assert answer["data"] == {"state": "shipped"}
    sent = json.loads(receiver.received[-1].body)
    assert sent["user"]["user_id"] == "ada"
    assert sent["parameters"] == {"order": 7}

    failures = tab.page.evaluate(
        """Promise.all([
            Countersign('action', 'nope', {}).catch(e => [e.status, e.code]),
            Countersign('action', 'order-status', {}).catch(e => [e.status, e.code]),
        ])"""
    )
    assert failures == [[404, "action_not_found"], [422, "invalid_parameters"]]
    assert not any(SESSION_TOKEN.search(seen) for seen in tab.urls)
    assert not SESSION_TOKEN.search(tab.storage())
    no_page_errors(tab)
