"""``COUNTERSIGN_ATTACHMENTS_DIR`` (SPEC 11), on SQLite and PostgreSQL: files in a
directory instead of ``attachment_chunks``, written safely, served streamed, never a
path outside the directory, removed with their conversation, contact, app or unclaimed
upload; and an anonymous browser's uploads follow it when it proves who it is."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from countersign import retention
from countersign.cli import cli
from countersign.storage import attachments
from countersign.storage.attachment_files import (
    INCOMING,
    INCOMING_GRACE_SECONDS,
    ORPHAN_GRACE_SECONDS,
    DirectoryFiles,
)
from countersign.storage.models import App, AttachmentChunk, Conversation
from countersign.vocabulary.clock import utcnow

from .conftest import Harness
from .test_attachments import Files, png, stored_count
from .test_messaging_api import assert_error, bearer


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    return tmp_path / "files"


@pytest.fixture
def dir_harness(make_harness: Callable[..., Harness], files_dir: Path) -> Harness:
    return make_harness(attachments_dir=files_dir)


def stored_files(root: Path) -> set[str]:
    """The attachment files in the directory (not .incoming)."""
    return {
        path.name
        for path in root.glob("*/att_*")
        if path.is_file() and path.parent.name != INCOMING
    }


def incoming(root: Path) -> list[Path]:
    return list((root / INCOMING).iterdir())


def sweep(harness: Harness, at: float) -> int:
    database = harness.backend.database
    return int(harness.client.portal.call(retention.sweep_files, database, at))  # type: ignore[union-attr]


def test_a_10_mb_upload_lives_in_the_directory_and_comes_back_whole(
    dir_harness: Harness, files_dir: Path
) -> None:
    files = Files(dir_harness)
    data = b"PK\x05\x06" + secrets.token_bytes(10_000_000 - 4)  # the default limit
    upload = files.uploaded(data, "logs.zip")
    assert upload["size"] == len(data)
    assert stored_count(dir_harness) == (1, 0)  # a row, and nothing in attachment_chunks
    path = files_dir / upload["id"][-2:] / upload["id"]  # by id, never the user's name
    assert stored_files(files_dir) == {upload["id"]}
    assert path.read_bytes() == data
    assert os.stat(path).st_mode & 0o077 == 0
    assert incoming(files_dir) == []
    conversation_id = files.conversation()
    assert files.send(conversation_id, [upload["id"]]).status_code == 201
    served = files.fetch(upload["id"])
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-length"] == str(len(data))
    assert served.headers["content-type"] == "application/zip"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'"
    assert served.headers["content-disposition"].startswith("attachment")


def test_an_image_is_served_inline_from_the_directory(dir_harness: Harness) -> None:
    files = Files(dir_harness)
    upload = files.uploaded(png())
    served = files.fetch(upload["id"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["content-disposition"].startswith("inline")
    assert served.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "attachment_id",
    [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "att_..%2F..%2Fsecret",
        "%2E%2E",
        "att_..%5C..%5Cwindows",
        "att_%2E%2E",
        "att_" + "A" * 200,
    ],
)
def test_ids_that_are_paths_are_404(
    dir_harness: Harness, files_dir: Path, attachment_id: str
) -> None:
    files = Files(dir_harness)
    files.uploaded(b"mine", "a.txt")  # the directory exists, with a file in it
    (files_dir / "secret").write_bytes(b"not for you")
    response = files.fetch(attachment_id)
    assert response.status_code == 404


def test_the_store_never_names_a_path_outside_its_directory(files_dir: Path) -> None:
    store = DirectoryFiles(files_dir)
    store.prepare()
    for bad in ("../etc/passwd", "att_../../x", "att_a/../../b", "att_\0x", "", "att_", "x" * 40):
        assert store.path_of(bad) is None, bad
        assert store.open(bad) is None
    (files_dir / "ab").symlink_to("/etc", target_is_directory=True)
    assert store.path_of("att_0000000000000ab") is None  # a fan-out link leading out
    good = store.path_of("att_0190aaaaaaaXYzz")
    assert good == (files_dir / "zz" / "att_0190aaaaaaaXYzz").resolve()


def test_files_stored_in_the_database_before_stay_served(
    make_harness: Callable[..., Harness], files_dir: Path
) -> None:
    before = make_harness()  # no directory yet
    files = Files(before)
    upload = files.uploaded(b"from before", "old.txt")
    after = make_harness(attachments_dir=files_dir)  # the same database, now a directory
    served = after.client.get(f"/v1/widget/attachments/{upload['id']}", headers=files.session)
    assert served.status_code == 200
    assert served.content == b"from before"


def test_a_failed_insert_leaves_no_file(dir_harness: Harness, files_dir: Path) -> None:
    database = dir_harness.backend.database

    def insert(app_id: str) -> Any:
        return database.run_sync(
            lambda c: attachments.insert_attachment(
                c,
                app_id=app_id,
                contact_id=None,
                name="mail.txt",
                content_type="text/plain",
                chunks=iter([b"a" * 1000, b"b" * 1000]),
                now=utcnow(),
            )
        )

    # Mail inbound's call (in a transaction of its own) writes to the directory too.
    stored = insert(dir_harness.app_id)
    assert (files_dir / stored["id"][-2:] / stored["id"]).read_bytes() == b"a" * 1000 + b"b" * 1000
    with pytest.raises(Exception, match=r"(?i)foreign key|violates"):
        insert("app_missing")  # the row's foreign key fails after the file was written
    assert stored_files(files_dir) == {stored["id"]}
    assert incoming(files_dir) == []


def test_erasing_the_user_removes_their_files(dir_harness: Harness, files_dir: Path) -> None:
    files = Files(dir_harness, "grace")
    attached = files.uploaded(png())
    loose = files.uploaded(b"loose", "loose.txt")
    conversation_id = files.conversation()
    assert files.send(conversation_id, [attached["id"]]).status_code == 201
    team = files.uploaded(b"%PDF-1.4 x", "x.pdf", headers=files.key, path="/v1/uploads")
    reply = files.client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"body": "r", "author": {"type": "bot", "name": "B"}, "attachment_ids": [team["id"]]},
        headers=files.key,
    )
    assert reply.status_code == 201, reply.text
    other = Files(dir_harness, "hopper").uploaded(b"hers", "h.txt")
    assert stored_files(files_dir) == {attached["id"], loose["id"], team["id"], other["id"]}
    erased = files.client.delete("/v1/users/grace", headers=files.key)
    assert erased.status_code == 200, erased.text
    assert stored_files(files_dir) == {other["id"]}  # at once, not at the next sweep


def test_conversation_and_app_deletions_are_swept(
    make_harness: Callable[..., Harness], files_dir: Path
) -> None:
    first = make_harness(attachments_dir=files_dir)
    second = make_harness(attachments_dir=files_dir)  # another app, the same directory
    files = Files(first)
    in_conversation = files.uploaded(png())
    conversation_id = files.conversation()
    assert files.send(conversation_id, [in_conversation["id"]]).status_code == 201
    kept = files.uploaded(b"kept", "kept.txt")
    of_app = Files(second).uploaded(b"other app", "o.txt")
    database = first.backend.database
    # Deleting the rows cascades (conversation -> messages -> attachments; app -> all).
    database.run_sync(
        lambda c: c.execute(delete(Conversation).where(Conversation.id == conversation_id))
    )
    database.run_sync(lambda c: c.execute(delete(App).where(App.id == second.app_id)))
    assert stored_files(files_dir) == {in_conversation["id"], kept["id"], of_app["id"]}
    now = time.time()
    assert sweep(first, now) == 0  # just written: their rows might be about to commit
    assert sweep(first, now + ORPHAN_GRACE_SECONDS + 5) == 2
    assert stored_files(files_dir) == {kept["id"]}  # a live row's file is never removed
    assert files.fetch(kept["id"]).content == b"kept"


def test_the_sweep_removes_dead_uploads_but_not_fresh_ones(
    dir_harness: Harness, files_dir: Path
) -> None:
    Files(dir_harness).uploaded(b"live", "live.txt")
    now = time.time()
    stale = files_dir / INCOMING / "stale"
    stale.write_bytes(b"half an upload")
    old = now - INCOMING_GRACE_SECONDS - 5
    os.utime(stale, (old, old))
    fresh = files_dir / INCOMING / "fresh"
    fresh.write_bytes(b"being written")
    orphan = files_dir / "zz" / "att_0190aaaaaaaXYzz"  # a file whose row never committed
    orphan.parent.mkdir()
    orphan.write_bytes(b"no row")
    just_renamed = files_dir / "zz" / "att_0190bbbbbbbXYzz"
    just_renamed.write_bytes(b"row about to commit")
    os.utime(orphan, (now - ORPHAN_GRACE_SECONDS - 5,) * 2)
    (files_dir / "zz" / "notes.txt").write_bytes(b"not ours")
    os.utime(files_dir / "zz" / "notes.txt", (0, 0))
    assert sweep(dir_harness, now) == 2
    assert sorted(path.name for path in incoming(files_dir)) == ["fresh"]
    assert not orphan.exists()
    assert just_renamed.exists()
    assert (files_dir / "zz" / "notes.txt").exists()  # not an attachment id: not touched
    assert len(stored_files(files_dir)) == 2  # the live upload's, and the fresh one


def test_pruned_unattached_uploads_take_their_files(dir_harness: Harness, files_dir: Path) -> None:
    files = Files(dir_harness)
    loose = files.uploaded(b"loose", "loose.txt")
    kept = files.uploaded(png())
    assert files.send(files.conversation(), [kept["id"]]).status_code == 201
    later = utcnow() + retention.UNATTACHED_LIFETIME + timedelta(minutes=1)
    pruned = files.client.portal.call(  # type: ignore[union-attr]
        lambda: retention.prune_now(
            dir_harness.backend.database,
            verification_log_retention=timedelta(days=3650),
            webhook_retention=timedelta(days=3650),
            action_log_retention=timedelta(days=3650),
            now=later,
        )
    )
    assert pruned.uploads == 1
    assert stored_files(files_dir) == {kept["id"]}
    assert_error(files.fetch(loose["id"]), 404, "not_found")
    assert files.fetch(kept["id"]).status_code == 200


@pytest.mark.parametrize("store", ["database", "directory"])
def test_uploads_follow_the_browser_to_its_verified_user(
    make_harness: Callable[..., Harness], files_dir: Path, store: str
) -> None:
    harness = make_harness(attachments_dir=files_dir if store == "directory" else None)
    files = Files(harness, "early")
    anonymous = harness.identify().json()
    as_anonymous = bearer(anonymous["session_token"])
    loose = files.uploaded(b"before signing in", "a.txt", headers=as_anonymous)
    sent = files.uploaded(png(), headers=as_anonymous)
    conversation = files.client.post(
        "/v1/widget/conversations", json={}, headers=as_anonymous
    ).json()["id"]
    assert files.send(conversation, [sent["id"]], as_anonymous).status_code == 201
    verified = harness.verified("later", visitor_id=anonymous["visitor_id"])
    as_user = bearer(verified["session_token"])
    elsewhere = bearer(harness.verified("later")["session_token"])  # the user's other device
    # The upload made before signing in is the user's now: attachable and visible.
    assert files.fetch(loose["id"], elsewhere).status_code == 200
    again = files.send(conversation, [loose["id"]], as_user)
    assert again.status_code == 201, again.text
    assert [item["id"] for item in again.json()["attachments"]] == [loose["id"]]
    assert files.fetch(sent["id"], elsewhere).status_code == 200
    # ... and the user's, not the anonymous contact's: erasing the user takes them.
    stranger = Files(harness, "stranger")
    assert_error(stranger.fetch(loose["id"]), 404, "not_found")
    assert files.client.delete("/v1/users/later", headers=files.key).status_code == 200
    left = harness.backend.database.run_sync(
        lambda c: c.execute(select(func.count()).select_from(AttachmentChunk)).scalar_one()
    )
    assert left == 0
    assert stored_count(harness)[0] == 0
    if store == "directory":
        assert stored_files(files_dir) == set()


def test_the_cli_erasure_removes_the_files_too(dir_harness: Harness, files_dir: Path) -> None:
    files = Files(dir_harness, "grace")
    upload = files.uploaded(b"mine", "a.txt")
    kept = Files(dir_harness, "hopper").uploaded(b"hers", "h.txt")
    settings = dir_harness.settings
    location = ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        location += ["--database-url", settings.database_url]
    runner = CliRunner(env={"COUNTERSIGN_ATTACHMENTS_DIR": str(files_dir)})
    erased = runner.invoke(
        cli, ["contacts", "erase", dir_harness.app_id, "grace", "--yes", *location]
    )
    assert erased.exit_code == 0, erased.output
    assert upload["id"] not in stored_files(files_dir)
    assert stored_files(files_dir) == {kept["id"]}
