"""The receivers in docs/snippets, run for real in Python and in Node.js.

A demo session (a verified user and an unverified claim, conversations, messages from
the user and from a bot, a notification read, events tracked) must reach each receiver
completely; each receiver accepts only correctly signed, fresh deliveries, prints each
event once, and sees a user id only for the verified user. docs/webhooks.md must show
each file exactly as it is tested here.

Node.js is installed by the test command; elsewhere a missing ``node`` skips (with the
reason) like tests/test_snippets.py.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx2
import pytest

from countersign import sign as sign_identity
from countersign.storage import apps, webhook_endpoints, webhook_outbox
from countersign.vocabulary.webhook_events import EVENT_TYPES
from countersign.webhooks import sign
from tests.conftest import IN_CI
from tests.realtime.conftest import free_port
from tests.server.conftest import Harness
from tests.webhooks.conftest import FAST, run_db

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = ROOT / "docs" / "snippets"
GUIDE = ROOT / "docs" / "webhooks.md"
VERIFIED_USER = "demo-user-verified-71"
CLAIMED_USER = "demo-user-claimed-72"

RECEIVERS = {
    "python": ("webhook_receiver.py", "python", [sys.executable]),
    "node": ("webhook_receiver.js", "js", ["node"]),
}


class Process:
    """A receiver subprocess whose stdout lines are read without blocking."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        assert self.process.stdout is not None
        self._out: IO[bytes] = self.process.stdout
        os.set_blocking(self._out.fileno(), False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._out, selectors.EVENT_READ)
        self._buffer = b""
        self.lines: list[str] = []

    def read(self, timeout: float) -> None:
        if self._selector.select(timeout):
            chunk = self._out.read() or b""
            self._buffer += chunk
            *complete, self._buffer = self._buffer.split(b"\n")
            self.lines += [line.decode() for line in complete if line]

    def wait_for(self, condition: Callable[[list[str]], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self.lines):
            if self.process.poll() is not None:
                self.read(0.1)
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                pytest.fail(f"the receiver exited: {stderr}\n{self.lines}")
            assert time.monotonic() < deadline, self.lines
            self.read(0.1)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(5)
        self._selector.close()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(params=list(RECEIVERS))
def language(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    tool = RECEIVERS[name][2][0]
    if shutil.which(tool) is None:
        if IN_CI:
            pytest.fail(f"{tool} is not on PATH: CI installs it and must run this receiver")
        pytest.skip(f"{tool} is not on PATH (Debian: nodejs)")
    return name


@pytest.fixture
def receiver_for(language: str) -> Iterator[Callable[[int, str], Process]]:
    started: list[Process] = []

    def start(port: int, secret: str) -> Process:
        source, _, command = RECEIVERS[language]
        env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
        env |= {"COUNTERSIGN_WEBHOOK_SECRET": secret, "PORT": str(port)}
        # Python's receiver imports countersign, installed in this environment.
        process = Process([*command, str(SNIPPETS / source)], env)
        started.append(process)
        process.wait_for(lambda lines: "listening" in lines)
        return process

    yield start
    for process in started:
        process.stop()


def _demo_session(harness: Harness) -> None:
    """What a visitor and the customer's backend do, over the real HTTP API."""
    client = harness.client
    api = {"Authorization": f"Bearer {harness.api_key}"}
    run_db(harness, lambda c: apps.update_policy(c, harness.app_id, identity_mode="report"))
    harness.client.app.state.countersign.directory.invalidate(harness.app_id)  # type: ignore[attr-defined]

    verified = harness.identify(
        user_id=VERIFIED_USER, user_hash=sign_identity(harness.secret, VERIFIED_USER)
    )
    claimed = harness.identify(user_id=CLAIMED_USER, user_hash="0" * 64)
    assert verified.json()["identity"]["status"] == "verified"
    assert claimed.json()["identity"]["status"] == "unverified"
    for document in (verified.json(), claimed.json()):
        headers = harness.session_headers(document["session_token"])
        started = client.post("/v1/widget/conversations", json={"body": "Hi!"}, headers=headers)
        assert started.status_code == 201, started.text
        conversation = started.json()["id"]
        message = client.post(
            f"/v1/widget/conversations/{conversation}/messages",
            json={"body": "Anyone there?", "client_id": "c-1"},
            headers=headers,
        )
        assert message.status_code == 201, message.text
        retried = client.post(  # the same send again: no second event
            f"/v1/widget/conversations/{conversation}/messages",
            json={"body": "Anyone there?", "client_id": "c-1"},
            headers=headers,
        )
        assert retried.status_code == 200, retried.text
        bot = client.post(
            f"/v1/conversations/{conversation}/messages",
            json={"body": "Yes, how can we help?", "author": {"type": "bot", "name": "Ava"}},
            headers=api,
        )
        assert bot.status_code == 201, bot.text
        tracked = client.post("/v1/widget/events", json={"name": "viewed_pricing"}, headers=headers)
        assert tracked.status_code == 201, tracked.text
    notified = client.post(
        "/v1/notifications", json={"user_id": VERIFIED_USER, "title": "Welcome"}, headers=api
    )
    assert notified.status_code == 201, notified.text
    read = client.post(
        f"/v1/widget/notifications/{notified.json()['id']}/read",
        headers=harness.session_headers(verified.json()["session_token"]),
    )
    assert read.status_code == 200, read.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_receiver_from_the_docs_gets_the_whole_demo_session(
    make_harness: Callable[..., Harness], receiver_for: Callable[[int, str], Process]
) -> None:
    harness = make_harness(**FAST)
    port = free_port()
    url = f"http://127.0.0.1:{port}/countersign"
    _, secret = run_db(
        harness,
        lambda c: webhook_endpoints.create_endpoint(
            c, harness.backend.box, harness.app_id, url, EVENT_TYPES, allow_private_network=True
        ),
    )
    receiver = receiver_for(port, secret)
    _demo_session(harness)

    def settled() -> list[dict[str, Any]]:
        rows = run_db(
            harness, lambda c: webhook_outbox.list_deliveries(c, harness.app_id, limit=500)
        )
        return rows if all(row["status"] == "delivered" for row in rows) else []

    deadline = time.monotonic() + 20
    while not (rows := settled()):
        assert time.monotonic() < deadline, "deliveries did not settle"
        time.sleep(0.1)
    expected = {row["event_id"]: row["event_type"] for row in rows}
    assert sorted(expected.values()) == sorted(
        ["contact.identified"] * 2
        + ["identity.failed"]
        + ["conversation.created"] * 2
        + ["message.created"] * 6
        + ["event.tracked"] * 2
        + ["notification.read"]
    )
    receiver.wait_for(lambda lines: len(lines) >= 1 + len(expected))
    events = [json.loads(line) for line in receiver.lines[1:]]
    assert {event["id"]: event["type"] for event in events} == expected
    assert len(events) == len(expected)  # each printed once

    everything = "\n".join(receiver.lines)
    assert CLAIMED_USER not in everything
    for event in events:
        contact = event["data"].get("contact")
        if contact and contact["user_id"] is not None:
            assert contact["user_id"] == VERIFIED_USER
            assert contact["verified"] is True
            assert event["data"]["identity"]["status"] == "verified"
    assert sum(VERIFIED_USER in json.dumps(event) for event in events) == 7

    # What the receiver refuses, sent straight to it: it prints nothing for these.
    body = json.dumps({"id": "evt_forged", "type": "message.created", "data": {}}).encode()
    now = int(time.time())
    refused = {
        "wrong secret": sign(body, "whsec_not-the-secret", timestamp=now),
        "tampered": sign(body.replace(b"forged", b"forgex"), secret, timestamp=now),
        "replayed": sign(body, secret, timestamp=now - 600),
        "malformed": "t=abc,v1=zz",
        "future": sign(body, secret, timestamp=now + 600),
    }
    with httpx2.Client(trust_env=False, timeout=5) as client:
        for case, header in refused.items():
            answer = client.post(url, content=body, headers={"X-Countersign-Signature": header})
            assert answer.status_code == 400, case
        missing = client.post(url, content=body)
        assert missing.status_code == 400
        good = sign(body, secret, timestamp=now)
        for _ in range(2):  # a duplicate delivery is acknowledged but handled once
            answer = client.post(url, content=body, headers={"X-Countersign-Signature": good})
            assert answer.status_code == 200
    receiver.wait_for(lambda lines: any("evt_forged" in line for line in lines))
    time.sleep(0.3)
    receiver.read(0.1)
    assert sum("evt_forged" in line for line in receiver.lines) == 1


@pytest.mark.parametrize("name", list(RECEIVERS))
def test_the_guide_shows_each_receiver_as_tested(name: str) -> None:
    source, fence, _ = RECEIVERS[name]
    text = (SNIPPETS / source).read_text(encoding="utf-8")
    guide = GUIDE.read_text(encoding="utf-8")
    assert f"```{fence}\n{text}```" in guide, f"docs/webhooks.md does not show {source} as is"
