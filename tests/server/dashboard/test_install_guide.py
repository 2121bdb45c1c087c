"""The install guide: this app's widget tag, the server code in seven languages (the
tested snippets, byte for byte), and a hash checker that cannot leak the secret."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from countersign.server.dashboard import snippets
from countersign.server.dashboard.rendering import STATIC_DIR

from .conftest import Dashboard

DOCS_SNIPPETS = Path(__file__).resolve().parents[3] / "docs" / "snippets"


@pytest.mark.parametrize("language", snippets.LANGUAGES, ids=lambda language: language.key)
def test_the_shipped_snippets_are_the_tested_ones(language: snippets.Language) -> None:
    shipped = snippets.SNIPPET_DIR / (Path(language.source).name + ".txt")
    assert shipped.read_text() == (DOCS_SNIPPETS / language.source).read_text(), (
        f"copy docs/snippets/{language.source} to {shipped} (the wheel ships the copy)"
    )


def test_the_guide_is_filled_in_for_this_app(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    page = dashboard.client.get(dashboard.url("install"))
    assert page.status_code == 200
    text = html.unescape(page.text)
    app_id = dashboard.app_id
    assert (
        f'<script src="http://testserver/widget.js" data-app-id="{app_id}" async></script>' in text
    )
    assert f'"app_id": "{app_id}"' in text
    for language in snippets.LANGUAGES:
        assert f'data-language="{language.key}"' in page.text
    assert text.count(f"({app_id})") == len(snippets.LANGUAGES)
    assert text.count("COUNTERSIGN_IDENTITY_SECRET") > len(snippets.LANGUAGES)
    assert "hmac.new(" in text
    assert "crypto.createHmac" in text
    assert "hash_hmac" in text
    assert dashboard.harness.secret not in text  # only the variable's name


def test_the_checkers_inputs_cannot_be_submitted(dashboard: Dashboard) -> None:
    dashboard.logged_in()
    page = dashboard.client.get(dashboard.url("install")).text
    checker = page[page.index("data-hash-checker") : page.index("hc-hints")]
    assert "<form" not in checker
    for field in re.findall(r"<input[^>]*>", checker):
        assert " name=" not in field, field
    script = (STATIC_DIR / "hashcheck.js").read_text()
    for sender in (
        "fetch(",
        "XMLHttpRequest",
        "WebSocket",
        "sendBeacon",
        "EventSource",
        ".submit(",
    ):
        assert sender not in script
