"""An erasure on one node ends the user's streams on every node, and leaves no record.

Two ``countersign serve`` nodes on one PostgreSQL and the machine's Redis: the user's
stream is open on node B, the erasure is asked of node A's server API. B closes the
stream within about a second; the export on B is then 404 and another user's data on
either node is as it was.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from .conftest import Servers, identify, stream, two_nodes
from .test_session_end_two_nodes import WITHIN_SECONDS, _notify, _until_closed


def test_an_erasure_on_one_node_closes_the_users_stream_on_another(
    servers: Servers, postgres_url: str, shared_redis: str, tmp_path: Path
) -> None:
    app, a, b = two_nodes(servers, tmp_path / "data", postgres_url, shared_redis)
    user, other = f"gone-{secrets.token_hex(4)}", f"kept-{secrets.token_hex(4)}"
    session = identify(a, app, user)
    identify(b, app, other)
    _notify(a, app, user, "before the erasure")
    _notify(a, app, other, "for the one who stays")
    with stream(b, session["session_token"]) as (websocket, _):
        started = time.monotonic()
        erased = a.http.delete(f"/v1/users/{user}", headers=app.api_headers())
        assert erased.status_code == 200, erased.text
        _, code = _until_closed(websocket, WITHIN_SECONDS + 2)
        assert code == 4401
        assert time.monotonic() - started < WITHIN_SECONDS + 0.5
    assert b.http.get(f"/v1/users/{user}/export", headers=app.api_headers()).status_code == 404
    assert a.http.delete(f"/v1/users/{user}", headers=app.api_headers()).status_code == 404
    kept = b.http.get(f"/v1/users/{other}/notifications", headers=app.api_headers())
    assert [n["title"] for n in kept.json()["data"]] == ["for the one who stays"]
