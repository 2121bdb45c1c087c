"""GET /widget.js: the packaged script, cached by ETag."""

from __future__ import annotations

import gzip
from importlib import resources

import pytest

from .conftest import Harness

PACKAGED = resources.files("countersign").joinpath("static/widget.js").read_bytes()


def test_the_script_is_served_with_caching_headers(harness: Harness) -> None:
    response = harness.client.get("/widget.js")
    assert response.status_code == 200
    assert response.content == PACKAGED
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["etag"].startswith('"')
    assert response.headers["x-content-type-options"] == "nosniff"
    # Public code: any page may load it, with Subresource Integrity if it likes.
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("form", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_a_current_etag_answers_304(harness: Harness, form: str) -> None:
    etag = harness.client.get("/widget.js").headers["etag"]
    response = harness.client.get("/widget.js", headers={"If-None-Match": form.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=300"


def test_a_stale_etag_gets_the_script(harness: Harness) -> None:
    response = harness.client.get("/widget.js", headers={"If-None-Match": '"0123"'})
    assert response.status_code == 200
    assert response.content == PACKAGED


@pytest.mark.parametrize(
    ("accept", "compressed"),
    [("gzip, deflate, br", True), ("br;q=1, gzip;q=0.5", True), ("gzip;q=0", False), ("", False)],
)
def test_gzip_when_accepted(harness: Harness, accept: str, compressed: bool) -> None:
    # The test client would decompress for us: ask for the raw bytes.
    with harness.client.stream(
        "GET", "/widget.js", headers={"Accept-Encoding": accept}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["vary"] == "Accept-Encoding"
    assert ("content-encoding" in response.headers) is compressed
    assert (gzip.decompress(raw) if compressed else raw) == PACKAGED
    if compressed:
        assert len(raw) < len(PACKAGED) / 2


def test_head_answers_without_a_body(harness: Harness) -> None:
    response = harness.client.head("/widget.js")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["etag"] == harness.client.get("/widget.js").headers["etag"]


def test_the_script_stays_small() -> None:
    # docs/widget.md states the size; a widget every page loads must stay light.
    # issue 17: token refresh and verified-only apps (56_000); issue 14: typing, read
    # receipts and attachments in the widget.
    assert len(PACKAGED) < 64_000
    assert b"sourceMappingURL" not in PACKAGED
