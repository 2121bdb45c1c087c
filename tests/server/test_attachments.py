"""Uploads, attachments on messages and their serving (SPEC 11), on SQLite and
PostgreSQL: sniffing, limits, image cleaning, bad input and every access rule."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from countersign import retention
from countersign.core import signed_links
from countersign.server.identify.limits import UPLOADS_PER_MINUTE
from countersign.storage import attachments
from countersign.storage.models import Attachment, AttachmentChunk
from countersign.vocabulary.clock import utcnow
from countersign.webhooks import links

from .conftest import Harness
from .test_messaging_api import assert_error, bearer


def png(width: int = 8, height: int = 6) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def gps_jpeg() -> bytes:
    """A JPEG whose EXIF says where it was taken (and which way up it is)."""
    image = Image.new("RGB", (40, 20), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 36.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


class Files:
    def __init__(self, harness: Harness, user_id: str = "grace") -> None:
        self.harness = harness
        self.client = harness.client
        self.session = bearer(harness.verified(user_id)["session_token"])
        self.key = bearer(harness.api_key)

    def upload(self, data: bytes, name: str = "shot.png", **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", self.session)
        path = kwargs.pop("path", "/v1/widget/uploads")
        return self.client.post(
            path,
            files={"file": (name, data, kwargs.pop("content_type", "image/png"))},
            headers=headers,
        )

    def uploaded(self, data: bytes, name: str = "shot.png", **kwargs: Any) -> dict[str, Any]:
        response = self.upload(data, name, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def conversation(self) -> str:
        response = self.client.post("/v1/widget/conversations", json={}, headers=self.session)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def send(self, conversation_id: str, ids: list[str], headers: Any = None) -> Any:
        return self.client.post(
            f"/v1/widget/conversations/{conversation_id}/messages",
            json={"body": "see attached", "attachment_ids": ids},
            headers=headers or self.session,
        )

    def fetch(self, attachment_id: str, headers: Any = None) -> Any:
        return self.client.get(
            f"/v1/widget/attachments/{attachment_id}", headers=headers or self.session
        )


def stored_count(harness: Harness) -> tuple[int, int]:
    from sqlalchemy import func, select

    def count(connection: Any) -> tuple[int, int]:
        files = connection.execute(select(func.count()).select_from(Attachment)).scalar_one()
        chunks = connection.execute(select(func.count()).select_from(AttachmentChunk)).scalar_one()
        return int(files), int(chunks)

    return harness.backend.database.run_sync(count)


def test_an_image_is_uploaded_attached_listed_and_served(harness: Harness) -> None:
    files = Files(harness)
    data = png()
    upload = files.uploaded(data, "../../etc/screenshot.png", content_type="text/html")
    assert upload["content_type"] == "image/png"  # sniffed, not the client's text/html
    assert upload["name"] == "screenshot.png"
    assert set(upload) == {"id", "name", "content_type", "size", "url"}
    conversation_id = files.conversation()
    sent = files.send(conversation_id, [upload["id"]])
    assert sent.status_code == 201, sent.text
    assert [item["id"] for item in sent.json()["attachments"]] == [upload["id"]]
    listed = files.client.get(
        f"/v1/widget/conversations/{conversation_id}/messages", headers=files.session
    ).json()["data"]
    assert listed[-1]["attachments"] == sent.json()["attachments"]
    server_list = files.client.get(
        f"/v1/conversations/{conversation_id}/messages", headers=files.key
    ).json()["data"]
    assert server_list[-1]["attachments"] == sent.json()["attachments"]
    served = files.fetch(upload["id"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'"
    assert served.headers["content-disposition"].startswith("inline")
    assert Image.open(io.BytesIO(served.content)).size == (8, 6)


def test_a_large_file_is_stored_in_chunks_and_streamed_back(harness: Harness) -> None:
    files = Files(harness)
    data = b"PK\x05\x06" + bytes(range(256)) * 4000  # about 1 MB, several chunks
    upload = files.uploaded(data, "archive.zip")
    assert upload["content_type"] == "application/zip"
    assert upload["size"] == len(data)
    assert stored_count(harness)[1] == -(-len(data) // attachments.CHUNK_BYTES)
    served = files.fetch(upload["id"])
    assert served.content == data
    assert served.headers["content-disposition"].startswith("attachment")


def test_exif_and_gps_are_stripped_and_the_photo_turned_upright(harness: Harness) -> None:
    files = Files(harness)
    original = gps_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    upload = files.uploaded(original, "photo.jpg")
    served = Image.open(io.BytesIO(files.fetch(upload["id"]).content))
    assert served.format == "JPEG"
    assert not served.getexif()  # no orientation, maker or GPS left
    assert b"PhoneMaker" not in files.fetch(upload["id"]).content
    assert served.size == (20, 40)  # the orientation was applied before it was dropped


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.svg"),
        (b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "fake.png"),
        (b"\x00\x01\x02binary", "data.txt"),
        (b"\xff\xfe not utf-8 \xc3", "notes.txt"),
    ],
)
def test_scriptable_fake_and_binary_files_are_refused(
    harness: Harness, data: bytes, name: str
) -> None:
    files = Files(harness)
    response = files.upload(data, name)
    assert response.status_code in {415, 422}, response.text
    assert_error(response, response.status_code, response.json()["error"]["code"])
    assert stored_count(harness) == (0, 0)


def test_text_and_csv_are_sniffed_as_text(harness: Harness) -> None:
    files = Files(harness)
    assert files.uploaded("naïve,1\n".encode(), "a.csv")["content_type"] == "text/csv"
    text = files.uploaded(b"hello\n", "a.bin", content_type="image/png")
    assert text["content_type"] == "text/plain"
    served = files.fetch(text["id"])
    assert served.headers["content-disposition"].startswith("attachment")


def test_the_apps_limit_and_type_list_are_kept(harness: Harness) -> None:
    files = Files(harness)
    harness.backend.database.run_sync(
        lambda c: attachments.set_limits(c, harness.app_id, max_bytes=1000, types=["pdf"])
    )
    assert_error(files.upload(b"%PDF-" + b"x" * 2000, "big.pdf"), 413, "file_too_large")
    assert_error(files.upload(png(), "a.png"), 415, "file_type_not_allowed")
    assert files.uploaded(b"%PDF-1.4 small", "ok.pdf")["content_type"] == "application/pdf"
    assert stored_count(harness)[0] == 1


def test_a_declared_length_over_the_limit_is_refused_before_the_body(harness: Harness) -> None:
    files = Files(harness)
    harness.backend.database.run_sync(
        lambda c: attachments.set_limits(c, harness.app_id, max_bytes=1000)
    )

    def body() -> Any:
        yield b"--b\r\n"
        raise AssertionError("the body was read although Content-Length said too much")

    response = files.client.post(
        "/v1/widget/uploads",
        content=body(),
        headers={
            **files.session,
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(10_000_000),
        },
    )
    assert_error(response, 413, "file_too_large")


def _raw(files: Files, body: bytes, boundary: str = "XyZ") -> Any:
    return files.client.post(
        "/v1/widget/uploads",
        content=body,
        headers={**files.session, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


def _part(name: str, filename: str, data: bytes) -> bytes:
    return (
        b'--XyZ\r\nContent-Disposition: form-data; name="'
        + name.encode()
        + b'"; filename="'
        + filename.encode()
        + b'"\r\nContent-Type: text/plain\r\n\r\n'
        + data
        + b"\r\n"
    )


@pytest.mark.parametrize(
    "body",
    [
        _part("other", "a.txt", b"hello") + b"--XyZ--\r\n",  # no file field
        _part("file", "a.txt", b"one") + _part("file", "b.txt", b"two") + b"--XyZ--\r\n",
        _part("file", "a.txt", b"hello")[:-10],  # truncated
        _part("file", "a.txt", b"") + b"--XyZ--\r\n",  # 0 bytes
        b"not multipart at all",
    ],
    ids=["no-file", "two-files", "truncated", "empty", "garbage"],
)
def test_bad_multipart_bodies_are_refused_and_nothing_stored(harness: Harness, body: bytes) -> None:
    files = Files(harness)
    response = _raw(files, body)
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()["error"]) == {"code", "message"}
    assert stored_count(harness) == (0, 0)


def test_a_long_name_is_capped(harness: Harness) -> None:
    files = Files(harness)
    raw = _raw(files, _part("file", "C:\\tmp\\a\x00b\x1bc\x7f.txt", b"hi") + b"--XyZ--\r\n")
    assert raw.status_code == 201, raw.text
    assert raw.json()["name"] == "abc.txt"
    upload = files.uploaded(b"hello", "x" * 10_000 + ".txt")
    assert len(upload["name"]) <= 120
    assert upload["name"].endswith(".txt")


def test_access_rules(harness: Harness) -> None:
    grace = Files(harness, "grace")
    upload = grace.uploaded(png())
    conversation_id = grace.conversation()
    assert grace.send(conversation_id, [upload["id"]]).status_code == 201
    # Grace's other device shares her contact: it sees the file.
    second = bearer(harness.verified("grace")["session_token"])
    assert grace.fetch(upload["id"], second).status_code == 200
    # Another contact, an anonymous browser, no session, a logged-out session: 404/401.
    other = Files(harness, "mallory")
    assert_error(other.fetch(upload["id"]), 404, "not_found")
    anonymous = harness.identify()
    assert anonymous.status_code == 200, anonymous.text
    anonymous_headers = bearer(anonymous.json()["session_token"])
    assert_error(grace.fetch(upload["id"], anonymous_headers), 404, "not_found")
    assert grace.client.get(f"/v1/widget/attachments/{upload['id']}").status_code == 401
    logout = grace.client.post("/v1/widget/logout", headers=second)
    assert logout.status_code in {200, 204}, logout.text
    assert grace.fetch(upload["id"], second).status_code == 401
    # Another contact may not attach Grace's upload, nor an already attached one be reused.
    fresh = grace.uploaded(png())
    mallory_conversation = other.conversation()
    assert_error(other.send(mallory_conversation, [fresh["id"]]), 422, "invalid_request")
    assert_error(grace.send(conversation_id, [upload["id"]]), 422, "invalid_request")
    assert_error(grace.send(conversation_id, ["att_nope"]), 422, "invalid_request")
    too_many = grace.send(conversation_id, [fresh["id"]] * 11)
    assert too_many.status_code == 422


def test_an_anonymous_browser_sees_only_its_own_uploads(harness: Harness) -> None:
    files = Files(harness)
    first = bearer(harness.identify().json()["session_token"])
    second = bearer(harness.identify().json()["session_token"])
    upload = files.uploaded(b"mine", "a.txt", headers=first)
    assert files.fetch(upload["id"], first).status_code == 200
    assert_error(files.fetch(upload["id"], second), 404, "not_found")


def test_the_team_attaches_its_uploads_and_the_contact_sees_them(harness: Harness) -> None:
    files = Files(harness)
    conversation_id = files.conversation()
    team = files.uploaded(b"%PDF-1.4 invoice", "invoice.pdf", headers=files.key, path="/v1/uploads")
    # A contact cannot attach the team's upload.
    assert_error(files.send(conversation_id, [team["id"]]), 422, "invalid_request")
    reply = files.client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={
            "body": "here",
            "author": {"type": "operator", "name": "Ada"},
            "attachment_ids": [team["id"]],
        },
        headers=files.key,
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["attachments"][0]["content_type"] == "application/pdf"
    assert files.fetch(team["id"]).content == b"%PDF-1.4 invoice"
    # Another app's key never reaches it; an unknown key is refused.
    assert (
        files.client.post(
            "/v1/uploads", files={"file": ("a.txt", b"x")}, headers=bearer("nope")
        ).status_code
        == 401
    )


def test_deleting_the_conversation_deletes_its_files(harness: Harness) -> None:
    from sqlalchemy import delete

    from countersign.storage.models import Conversation

    files = Files(harness)
    upload = files.uploaded(png())
    conversation_id = files.conversation()
    assert files.send(conversation_id, [upload["id"]]).status_code == 201
    harness.backend.database.run_sync(
        lambda c: c.execute(delete(Conversation).where(Conversation.id == conversation_id))
    )
    assert stored_count(harness) == (0, 0)


def test_erasing_the_user_erases_their_files(harness: Harness) -> None:
    files = Files(harness, "grace")
    attached = files.uploaded(png())
    files.uploaded(b"loose", "loose.txt")  # not attached to anything
    conversation_id = files.conversation()
    assert files.send(conversation_id, [attached["id"]]).status_code == 201
    team = files.uploaded(b"%PDF-1.4 x", "x.pdf", headers=files.key, path="/v1/uploads")
    reply = files.client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"body": "r", "author": {"type": "bot", "name": "B"}, "attachment_ids": [team["id"]]},
        headers=files.key,
    )
    assert reply.status_code == 201, reply.text
    assert stored_count(harness)[0] == 3
    erased = files.client.delete("/v1/users/grace", headers=files.key)
    assert erased.status_code == 200, erased.text
    assert stored_count(harness) == (0, 0)


def test_unattached_uploads_older_than_a_day_are_pruned(harness: Harness) -> None:
    files = Files(harness)
    loose = files.uploaded(b"loose", "loose.txt")
    kept = files.uploaded(png())
    assert files.send(files.conversation(), [kept["id"]]).status_code == 201
    database = harness.backend.database
    now = utcnow()
    day_ago = now - retention.UNATTACHED_LIFETIME
    assert database.run_sync(lambda c: attachments.prune_unattached(c, day_ago, 100)) == 0
    later = now + retention.UNATTACHED_LIFETIME + timedelta(minutes=1)
    pruned = files.client.portal.call(  # type: ignore[union-attr]
        lambda: retention.prune_now(
            database,
            verification_log_retention=timedelta(days=3650),
            webhook_retention=timedelta(days=3650),
            action_log_retention=timedelta(days=3650),
            now=later,
        )
    )
    assert pruned.uploads == 1
    assert_error(files.fetch(loose["id"]), 404, "not_found")
    assert files.fetch(kept["id"]).status_code == 200


def test_a_webhooks_signed_link_serves_that_file_until_it_expires(harness: Harness) -> None:
    files = Files(harness)
    upload = files.uploaded(b"%PDF-1.4 signed", "s.pdf")
    other = files.uploaded(b"%PDF-1.4 other", "o.pdf")
    key = harness.backend.box.derive_key(signed_links.KEY_PURPOSE)
    message = {"message": {"id": "msg_x", "attachments": [upload]}}
    linked = links.with_download_links(message, key, time.time())
    path = linked["message"]["attachments"][0]["download_url"]
    assert path.startswith(f"/links/attachments/{upload['id']}?expires=")
    served = files.client.get(path)  # no session, no key: the link is the permission
    assert served.status_code == 200
    assert served.content == b"%PDF-1.4 signed"
    assert served.headers["content-disposition"].startswith("attachment")
    # The same signature names no other file; a changed expiry or an old link fails.
    assert_error(files.client.get(path.replace(upload["id"], other["id"])), 404, "not_found")
    expires = int(path.split("expires=")[1].split("&")[0])
    assert_error(
        files.client.get(path.replace(f"expires={expires}", f"expires={expires + 1}")),
        404,
        "not_found",
    )
    old = links.download_path(key, upload["id"], int(time.time()) - 1)
    assert_error(files.client.get(old), 404, "not_found")
    assert_error(
        files.client.get(f"/links/attachments/{upload['id']}?expires=99999999999&signature=%C3%A9"),
        422,
        "invalid_request",
    )


def test_a_contacts_uploads_are_rate_limited(harness: Harness) -> None:
    files = Files(harness)
    for _ in range(UPLOADS_PER_MINUTE):
        files.uploaded(b"x", "a.txt")
    refused = files.upload(b"x", "a.txt")
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1
    # Another user is not held back by this one.
    assert Files(harness, "someone-else").upload(b"x", "a.txt").status_code == 201
