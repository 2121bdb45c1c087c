"""Two real ``countersign serve`` nodes on one PostgreSQL, both sending mail to one
relay as fast as they can poll: every email goes out, and none goes out twice."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.mail.relay import Relay
from tests.realtime.conftest import Servers, bearer, identify

USERS = 12


@dataclass
class MailingServers(Servers):
    relay_url: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {
            **super().env,
            "COUNTERSIGN_SMTP_URL": self.relay_url,
            "COUNTERSIGN_INBOUND_DOMAIN": "in.acme.test",
            "COUNTERSIGN_MAIL_POLL_SECONDS": "0.02",
            "COUNTERSIGN_PRESENCE_SECONDS": "0.2",
        }


def test_two_nodes_never_send_the_same_email_twice(postgres_url: str, tmp_path: Path) -> None:
    relay = Relay()
    relay.start()
    pool = MailingServers(tmp_path, relay_url=relay.url)
    data = tmp_path / "data"
    try:
        app = pool.create_app(data, postgres_url)
        pool.set_policy(app, data, postgres_url, "--email-delay", "0")
        a = pool.start("node-a", data_dir=data, database_url=postgres_url, wait=False)
        b = pool.start("node-b", data_dir=data, database_url=postgres_url, wait=False)
        a.wait_ready()
        b.wait_ready()
        for n in range(USERS):
            node = (a, b)[n % 2]
            user = f"user-{n}"
            stated = node.http.put(
                f"/v1/users/{user}", json={"email": f"{user}@example.org"},
                headers=app.api_headers(),
            )  # fmt: skip
            assert stated.status_code == 200, stated.text
            token = identify(node, app, user)["session_token"]
            started = node.http.post("/v1/widget/conversations", json={}, headers=bearer(token))
            assert started.status_code == 201, started.text
            answered = (b, a)[n % 2].http.post(
                f"/v1/conversations/{started.json()['id']}/messages",
                json={"body": f"answer {n}", "author": {"type": "operator", "name": "Ann"}},
                headers=app.api_headers(),
            )
            assert answered.status_code == 201, answered.text
        relay.wait_for(USERS, timeout=30)
        time.sleep(1.0)  # a duplicate, if any, would arrive now
        ids = Counter(str(r.message["Message-ID"]) for r in relay.received)
        assert len(ids) == USERS
        assert set(ids.values()) == {1}
        assert sorted(r.rcpt_tos[0] for r in relay.received) == sorted(
            f"user-{n}@example.org" for n in range(USERS)
        )
    finally:
        pool.close()
        relay.stop()
