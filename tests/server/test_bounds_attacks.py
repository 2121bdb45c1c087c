"""Every integer and string a request carries is bounded before it reaches the database.

Attacks from a security review, on SQLite and PostgreSQL: numbers past what an
``Integer`` column holds (2**31, 2**63, -1), huge strings, NUL, and decoded cursor
contents, sent to every widget, server API and dashboard route that takes one. Each
gets a 4xx in the one error shape, never a 500; nothing stored changes; and no query
binds a client's oversized string (an id that cannot exist is a plain 404).

One server per database (module-scoped: ~150 requests), seeded with a verified user,
a conversation, a message, a notification, an event and an operator who read it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, select, update
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from countersign import sign
from countersign.context import open_backend
from countersign.server.app import create_app
from countersign.server.dashboard.security import CSRF_HEADER, SESSION_COOKIE, csrf_token
from countersign.settings import load_settings
from countersign.storage import apps, operators
from countersign.storage.models import Base, ConversationRead
from countersign.vocabulary.clock import utcnow
from countersign.vocabulary.ids import token_digest

from ..conftest import postgres_schema
from .conftest import Harness

INT32 = 2**31
INT64 = 2**63
HUGE = "x" * 10_000
LONGEST_BIND = 255  # no bind of a refused request may be longer (the widest id column)


@dataclass
class Seeded:
    client: TestClient
    backend: Any
    app_id: str
    api_key: str
    session: str  # a verified widget session token
    dashboard: str  # an operator's dashboard cookie token
    conversation_id: str
    notification_id: str
    binds: list[object] = field(default_factory=list)  # every bind since the last reset

    def snapshot(self) -> dict[str, list[str]]:
        """Every row of every table, as text: what "nothing stored changed" compares."""
        recorder = self.client.app.state.countersign.recorder  # type: ignore[attr-defined]
        self.client.portal.call(recorder.flush)  # type: ignore[union-attr]

        def read(connection: Any) -> dict[str, list[str]]:
            return {
                table.name: sorted(repr(tuple(row)) for row in connection.execute(select(table)))
                for table in Base.metadata.sorted_tables
            }

        return self.backend.database.run_sync(read)

    def widget(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.session}"}

    def server(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"}

    def operator(self) -> dict[str, str]:
        return {
            "cookie": f"{SESSION_COOKIE}={self.dashboard}",
            CSRF_HEADER: csrf_token(self.dashboard),
            "accept": "application/json",
        }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    tmp = tmp_path_factory.mktemp("bounds")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'countersign.db'}"
        else:
            url = stack.enter_context(postgres_schema())
        settings = load_settings(environ={}, data_dir=tmp / "data", database_url=url)
        backend = open_backend(settings)
        stack.callback(backend.close)
        created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Acme"))
        client = stack.enter_context(TestClient(create_app(settings, backend=backend)))
        app_id = created.app.id
        identified = client.post(
            "/v1/widget/identify",
            json={"app_id": app_id, "user_id": "u-1", "user_hash": sign(created.secret, "u-1")},
        )
        assert identified.status_code == 200, identified.text
        session = identified.json()["session_token"]
        widget = {"authorization": f"Bearer {session}"}
        server = {"authorization": f"Bearer {created.api_key}"}
        conversation = client.post("/v1/widget/conversations", json={"body": "hi"}, headers=widget)
        assert conversation.status_code == 201, conversation.text
        notification = client.post(
            "/v1/notifications", json={"user_id": "u-1", "title": "t"}, headers=server
        )
        assert notification.status_code == 201, notification.text
        tracked = client.post("/v1/widget/events", json={"name": "seen"}, headers=widget)
        assert tracked.status_code == 201, tracked.text
        cookie = secrets.token_urlsafe(32)

        def operator(connection: Any) -> None:
            owner = operators.create_operator(
                connection,
                email="owner@example.com",
                password_hash="unused",
                role="owner",
                name="Olivia",
                now=utcnow(),
            )
            operators.open_session(
                connection,
                owner.id,
                token_digest(cookie),
                now=utcnow(),
                ttl=settings.session_ttl,
                client_ip=None,
            )

        backend.database.run_sync(operator)
        seed = Seeded(
            client,
            backend,
            app_id,
            created.api_key,
            session,
            cookie,
            conversation.json()["id"],
            notification.json()["id"],
        )
        read = client.post(
            f"/dashboard/apps/{app_id}/inbox/{seed.conversation_id}/read",
            data={"seq": "1"},
            headers=seed.operator(),
        )
        assert read.status_code == 204, read.text

        def remember(_conn: Any, _cursor: Any, _sql: str, parameters: Any, *_: Any) -> None:
            values = parameters.values() if isinstance(parameters, dict) else parameters
            seed.binds.extend(values or ())

        event.listen(backend.database.engine, "before_cursor_execute", remember)
        stack.callback(event.remove, backend.database.engine, "before_cursor_execute", remember)
        yield seed


def cursor(*parts: str) -> str:
    """A pagination cursor as the server encodes one (base64url of "a|b"), any content."""
    return base64.urlsafe_b64encode("|".join(parts).encode()).rstrip(b"=").decode()


@dataclass(frozen=True)
class Attack:
    method: str
    path: str  # "{app}", "{conversation}" and "{notification}" are the seeded ones
    auth: str  # widget | server | operator | none
    status: int
    code: str | None = None  # None: the dashboard's HTML-free JSON error, any code
    json: Any = None
    form: dict[str, str] | None = None
    params: dict[str, str] | None = None


W, S, OP = "widget", "server", "operator"
MESSAGES = "/v1/widget/conversations/{conversation}/messages"
SERVER_MESSAGES = "/v1/conversations/{conversation}/messages"
AUTHOR = {"type": "bot", "name": "Bot"}
TIME_CURSORS = {
    "year-1-east-of-utc": cursor("0001-01-01T00:00:00+14:00", "cnv_x"),
    "year-9999-west-of-utc": cursor("9999-12-31T23:59:59-14:00", "cnv_x"),
    "nul-in-id": cursor("2020-01-01T00:00:00+00:00", "cnv_a\x00b"),
    "id-of-another-alphabet": cursor("2020-01-01T00:00:00+00:00", "cnv_" + "é" * 50),
    "naive-time": cursor("2020-01-01T00:00:00", "cnv_x"),
    "not-base64": "%%%%",
    "too-long": "A" * 201,
}
SEQ_CURSORS = {
    "int32": cursor(str(INT32)),
    "int64": cursor(str(INT64)),
    "negative": cursor("-1"),
    "140-digits": cursor("9" * 140),
    "garbage": "A" * 200,
}
# Outside the cursor's declared form (alphabet, length): the route's own 422. In that
# form but not one this server handed out: 422 invalid_cursor.
MALFORMED_CURSORS = {"not-base64", "too-long"}


def cursor_code(name: str) -> str:
    return "invalid_request" if name in MALFORMED_CURSORS else "invalid_cursor"


LIMITS = {"int32": str(INT32), "int64": str(INT64), "negative": "-1", "zero": "0", "huge": HUGE}

ATTACKS: dict[str, Attack] = {}
for name, value in LIMITS.items():
    for label, path, auth in [
        ("widget-conversations", "/v1/widget/conversations", W),
        ("widget-notifications", "/v1/widget/notifications", W),
        ("widget-messages", MESSAGES, W),
        ("server-conversations", "/v1/users/u-1/conversations", S),
        ("server-events", "/v1/users/u-1/events", S),
        ("server-messages", SERVER_MESSAGES, S),
    ]:
        ATTACKS[f"{label}-limit-{name}"] = Attack(
            "GET", path, auth, 422, "invalid_request", params={"limit": value}
        )
for name, value in TIME_CURSORS.items():
    for label, path, auth in [
        ("widget-conversations", "/v1/widget/conversations", W),
        ("widget-notifications", "/v1/widget/notifications", W),
        ("server-conversations", "/v1/users/u-1/conversations", S),
    ]:
        ATTACKS[f"{label}-cursor-{name}"] = Attack(
            "GET", path, auth, 422, cursor_code(name), params={"cursor": value}
        )
for name, value in SEQ_CURSORS.items():
    ATTACKS[f"widget-messages-cursor-{name}"] = Attack(
        "GET", MESSAGES, W, 422, cursor_code(name), params={"cursor": value}
    )
    ATTACKS[f"server-messages-cursor-{name}"] = Attack(
        "GET", SERVER_MESSAGES, S, 422, cursor_code(name), params={"cursor": value}
    )
# Path ids no row can have: a plain 404, and no query binds them.
IMPOSSIBLE_IDS = {
    "10000-characters": HUGE,
    "right-prefix-too-long": "cnv_" + "a" * 100,
    "another-alphabet": "cnv_" + "é" * 10,
    "int64": str(INT64),
    "negative": "-1",
}
for name, value in IMPOSSIBLE_IDS.items():
    ATTACKS[f"widget-list-messages-id-{name}"] = Attack(
        "GET", f"/v1/widget/conversations/{value}/messages", W, 404, "not_found"
    )
    ATTACKS[f"widget-post-message-id-{name}"] = Attack(
        "POST", f"/v1/widget/conversations/{value}/messages", W, 404, "not_found", {"body": "b"}
    )
    ATTACKS[f"widget-read-notification-id-{name}"] = Attack(
        "POST", f"/v1/widget/notifications/{value}/read", W, 404, "not_found", {}
    )
    ATTACKS[f"server-list-messages-id-{name}"] = Attack(
        "GET", f"/v1/conversations/{value}/messages", S, 404, "not_found"
    )
    ATTACKS[f"server-post-message-id-{name}"] = Attack(
        "POST",
        f"/v1/conversations/{value}/messages",
        S,
        404,
        "not_found",
        {"body": "b", "author": AUTHOR},
    )
    ATTACKS[f"dashboard-read-id-{name}"] = Attack(
        "POST", f"/dashboard/apps/{{app}}/inbox/{value}/read", OP, 404, form={"seq": "1"}
    )
    ATTACKS[f"dashboard-thread-id-{name}"] = Attack(
        "GET", f"/dashboard/apps/{{app}}/inbox/{value}", OP, 404
    )
    ATTACKS[f"dashboard-app-id-{name}"] = Attack("GET", f"/dashboard/apps/{value}/inbox", OP, 404)
    ATTACKS[f"dashboard-revoke-secret-{name}"] = Attack(
        "POST", f"/dashboard/apps/{{app}}/identity/secrets/{value}/revoke", OP, 404, form={}
    )
    ATTACKS[f"dashboard-revoke-key-{name}"] = Attack(
        "POST", f"/dashboard/apps/{{app}}/identity/api-keys/{value}/revoke", OP, 404, form={}
    )
    ATTACKS[f"dashboard-disable-webhook-{name}"] = Attack(
        "POST", f"/dashboard/apps/{{app}}/webhooks/{value}/disable", OP, 404, form={}
    )
    ATTACKS[f"dashboard-redeliver-{name}"] = Attack(
        "POST",
        f"/dashboard/apps/{{app}}/webhooks/whe_x/events/{value}/redeliver",
        OP,
        404,
        form={},
    )
# Integers an Integer column receives: the dashboard's mark-read seq.
for name, value in {
    "int32": str(INT32),
    "int64": str(INT64),
    "twelve-digits": "999999999999",
    "negative": "-1",
    "superscript-digit": "²",
    "5000-digits": "9" * 5000,
}.items():
    ATTACKS[f"dashboard-read-seq-{name}"] = Attack(
        "POST", "/dashboard/apps/{app}/inbox/{conversation}/read", OP, 400, form={"seq": value}
    )
ATTACKS["dashboard-policy-superscript-digit"] = Attack(
    "POST",
    "/dashboard/apps/{app}/identity/policy",
    OP,
    400,
    form={
        "max_metadata_chars": "²",
        "identity_mode": "required",
        "on_mismatch": "reject",
        "identifier": "user_id",
    },
)
# Strings a length-limited column (or a lookup) receives, in bodies.
for label, method, path, auth, body in [
    ("widget-conversation-body", "POST", "/v1/widget/conversations", W, {"body": "b" * 10_001}),
    ("widget-conversation-client-id", "POST", "/v1/widget/conversations", W,
     {"body": "b", "client_id": "c" * 65}),
    ("widget-message-body", "POST", MESSAGES, W, {"body": "b" * 10_001}),
    ("widget-message-client-id", "POST", MESSAGES, W, {"body": "b", "client_id": "c" * 65}),
    ("widget-message-client-id-nul", "POST", MESSAGES, W, {"body": "b", "client_id": "c\x00"}),
    ("widget-event-name", "POST", "/v1/widget/events", W, {"name": "n" * 256}),
    ("widget-event-name-nul", "POST", "/v1/widget/events", W, {"name": "n\x00"}),
    ("widget-event-properties", "POST", "/v1/widget/events", W,
     {"name": "n", "properties": {"p": "v" * 8_001}}),
    ("identify-visitor-id", "POST", "/v1/widget/identify", "none",
     {"app_id": "{app}", "visitor_id": "vis_" + "v" * 60_000}),
    ("identify-visitor-id-65", "POST", "/v1/widget/identify", "none",
     {"app_id": "{app}", "visitor_id": "v" * 65}),
    ("server-message-client-id", "POST", SERVER_MESSAGES, S,
     {"body": "b", "author": AUTHOR, "client_id": "c" * 65}),
    ("server-message-author", "POST", SERVER_MESSAGES, S,
     {"body": "b", "author": {"type": "bot", "name": "n" * 256}}),
    ("server-message-body", "POST", SERVER_MESSAGES, S, {"body": "b" * 10_001, "author": AUTHOR}),
    ("server-notification-title", "POST", "/v1/notifications", S,
     {"user_id": "u-1", "title": "t" * 501}),
    ("server-notification-url", "POST", "/v1/notifications", S,
     {"user_id": "u-1", "title": "t", "url": "https://x.io/" + "p" * 2_000}),
    ("server-notification-body", "POST", "/v1/notifications", S,
     {"user_id": "u-1", "title": "t", "body": "b" * 5_001}),
    ("server-notification-data", "POST", "/v1/notifications", S,
     {"user_id": "u-1", "title": "t", "data": {"d": "v" * 8_001}}),
    ("server-conversation-body", "POST", "/v1/conversations", S,
     {"user_id": "u-1", "body": "b" * 10_001}),
    ("server-user-name", "PUT", "/v1/users/u-1", S, {"name": "n" * 256}),
    ("server-user-attributes", "PUT", "/v1/users/u-1", S, {"attributes": {"a": "v" * 16_001}}),
]:  # fmt: skip
    ATTACKS[label] = Attack(method, path, auth, 422, "invalid_request", body)
ATTACKS["widget-action-name"] = Attack(
    "POST", f"/v1/widget/actions/{HUGE}", W, 404, "action_not_found", {}
)
ATTACKS["server-action-name"] = Attack(
    "POST", f"/v1/actions/{HUGE}", S, 404, "action_not_found", {}
)
ATTACKS["identify-app-id-60-kb"] = Attack(
    "POST", "/v1/widget/identify", "none", 404, "app_not_found", {"app_id": "app_" + "a" * 60_000}
)
ATTACKS["identify-app-id-another-alphabet"] = Attack(
    "POST", "/v1/widget/identify", "none", 404, "app_not_found", {"app_id": "app_" + "é" * 12}
)


def _fill(value: Any, seed: Seeded) -> Any:
    if isinstance(value, str):
        return (
            value.replace("{app}", seed.app_id)
            .replace("{conversation}", seed.conversation_id)
            .replace("{notification}", seed.notification_id)
        )
    if isinstance(value, dict):
        return {key: _fill(item, seed) for key, item in value.items()}
    return value


def send(seed: Seeded, attack: Attack) -> Any:
    headers = {
        W: seed.widget,
        S: seed.server,
        OP: seed.operator,
        "none": dict,
    }[attack.auth]()
    kwargs: dict[str, Any] = {"headers": headers, "params": attack.params}
    if attack.json is not None:
        kwargs["content"] = json.dumps(_fill(attack.json, seed))
        headers["content-type"] = "application/json"
    elif attack.form is not None:
        kwargs["data"] = attack.form
    return seed.client.request(attack.method, _fill(attack.path, seed), **kwargs)


@pytest.mark.parametrize("attack", list(ATTACKS.values()), ids=list(ATTACKS))
def test_an_out_of_range_value_is_a_4xx_and_changes_nothing(seeded: Seeded, attack: Attack) -> None:
    before = seeded.snapshot()
    seeded.binds.clear()
    response = send(seeded, attack)
    assert response.status_code == attack.status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message"}
    if attack.code is not None:
        assert error["code"] == attack.code, response.text
    texts = [value for value in seeded.binds if isinstance(value, str)]
    assert [len(value) for value in texts if len(value) > LONGEST_BIND] == []
    assert [value for value in texts if "\x00" in value] == []
    assert seeded.snapshot() == before


def test_a_read_seq_past_int32_is_a_4xx_on_both_databases(seeded: Seeded) -> None:
    # Was: a 500 on PostgreSQL (integer out of range); SQLite stored it.
    before = seeded.snapshot()
    path = f"/dashboard/apps/{seeded.app_id}/inbox/{seeded.conversation_id}/read"
    for seq in (str(INT32), str(INT64)):
        response = seeded.client.post(path, data={"seq": seq}, headers=seeded.operator())
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_form"
    assert seeded.snapshot() == before
    # The largest value the column holds is stored, on both databases.
    marker = select(ConversationRead.last_read_seq, ConversationRead.read_at)
    seq, read_at = seeded.backend.database.run_sync(lambda c: c.execute(marker).one())
    largest = seeded.client.post(path, data={"seq": str(INT32 - 1)}, headers=seeded.operator())
    assert largest.status_code == 204, largest.text
    stored = seeded.backend.database.run_sync(lambda c: c.execute(marker).one())
    assert stored.last_read_seq == INT32 - 1
    # Put the seeded marker back, so the module's snapshot still holds.
    seeded.backend.database.run_sync(
        lambda c: c.execute(update(ConversationRead).values(last_read_seq=seq, read_at=read_at))
    )
    assert seeded.snapshot() == before


def test_a_cursor_time_without_a_utc_equivalent_is_a_4xx_on_both_databases(
    seeded: Seeded,
) -> None:
    # Was: OverflowError while binding the cursor's time: a 500 on both databases.
    for value in (TIME_CURSORS["year-1-east-of-utc"], TIME_CURSORS["year-9999-west-of-utc"]):
        response = seeded.client.get(
            "/v1/widget/notifications", params={"cursor": value}, headers=seeded.widget()
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_cursor"


def test_a_cursor_that_the_server_handed_out_still_pages(harness: Harness) -> None:
    widget = harness.session_headers(harness.verified("pager")["session_token"])
    for _ in range(3):
        created = harness.client.post("/v1/widget/conversations", json={}, headers=widget)
        assert created.status_code == 201, created.text
    first = harness.client.get("/v1/widget/conversations", params={"limit": 1}, headers=widget)
    assert first.status_code == 200, first.text
    seen = [first.json()["data"][0]["id"]]
    next_cursor = first.json()["next_cursor"]
    while next_cursor:
        page = harness.client.get(
            "/v1/widget/conversations",
            params={"limit": 1, "cursor": next_cursor},
            headers=widget,
        )
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["data"]]
        next_cursor = page.json()["next_cursor"]
    assert len(seen) == len(set(seen)) == 3


@pytest.mark.parametrize("since", [INT32, INT64, 2**64, -1, True, "1"])
def test_a_stream_since_out_of_range_is_bounded(seeded: Seeded, since: object) -> None:
    with seeded.client.websocket_connect("/v1/widget/stream") as socket:
        socket.send_text(json.dumps({"token": seeded.session, "since": since}))
        if isinstance(since, int) and not isinstance(since, bool) and since >= 0:
            ready = json.loads(socket.receive_text())
            assert ready["type"] == "ready"
            assert 0 < ready["seq"] < INT32  # bounded by the contact's own head
        else:
            with pytest.raises(WebSocketDisconnect) as closed:
                socket.receive_text()
            assert closed.value.code == 4400
