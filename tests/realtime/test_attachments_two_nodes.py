"""Attachments live where every node reads them (SPEC 11): two ``countersign serve``
nodes on one PostgreSQL, with the files in the database or in one directory both
mount (``--attachments-dir``). A file uploaded through node A and attached there is
listed and served, byte for byte, by node B; another user asking B gets 404."""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import pytest
from PIL import Image

from .conftest import Servers, identify, two_nodes


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (12, 140, 90)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("store", ["database", "shared directory"])
def test_uploaded_through_a_fetched_through_b(
    servers: Servers, postgres_url: str, shared_redis: str, tmp_path: Path, store: str
) -> None:
    shared = tmp_path / "shared-files"
    extra = ["--attachments-dir", str(shared)] if store == "shared directory" else []
    app, a, b = two_nodes(servers, tmp_path / "data", postgres_url, shared_redis, extra)
    user = f"files-{secrets.token_hex(4)}"
    on_a = {"Authorization": "Bearer " + identify(a, app, user)["session_token"]}
    on_b = {"Authorization": "Bearer " + identify(b, app, user)["session_token"]}
    big = b"PK\x05\x06" + secrets.token_bytes(700_000)  # a few chunks
    uploaded = []
    for name, data in (("shot.png", _photo()), ("logs.zip", big)):
        answer = a.http.post("/v1/widget/uploads", files={"file": (name, data)}, headers=on_a)
        assert answer.status_code == 201, answer.text
        uploaded.append(answer.json())
    conversation = a.http.post("/v1/widget/conversations", json={}, headers=on_a).json()
    sent = a.http.post(
        f"/v1/widget/conversations/{conversation['id']}/messages",
        json={"body": "both files", "attachment_ids": [item["id"] for item in uploaded]},
        headers=on_a,
    )
    assert sent.status_code == 201, sent.text
    listed = b.http.get(
        f"/v1/widget/conversations/{conversation['id']}/messages", headers=on_b
    ).json()["data"]
    assert [item["id"] for item in listed[-1]["attachments"]] == [i["id"] for i in uploaded]
    image = b.http.get(f"/v1/widget/attachments/{uploaded[0]['id']}", headers=on_b)
    assert image.status_code == 200
    assert Image.open(io.BytesIO(image.content)).size == (64, 48)
    archive = b.http.get(f"/v1/widget/attachments/{uploaded[1]['id']}", headers=on_b)
    assert archive.content == big
    on_disk = {path.name for path in shared.glob("*/att_*")}
    assert on_disk == ({item["id"] for item in uploaded} if extra else set())
    stranger = {"Authorization": "Bearer " + identify(b, app, "someone-else")["session_token"]}
    refused = b.http.get(f"/v1/widget/attachments/{uploaded[1]['id']}", headers=stranger)
    assert refused.status_code == 404
