"""The verification log page: outcomes with their diagnosis and fix, filterable, with
what ``required`` would refuse while the app is in ``report`` mode."""

from __future__ import annotations

import re

from countersign import sign
from countersign.core import HINTS

from .conftest import Dashboard


def codes(html: str) -> list[str]:
    return re.findall(r'<tr class="outcome-[a-z]+" data-code="([^"]+)"', html)


def counted(html: str) -> list[tuple[str, str]]:
    """The per-minute success counts the page lists: (secret id, count)."""
    return re.findall(r'<tr class="success-count" data-secret="([^"]*)" data-count="(\d+)"', html)


def test_failures_show_their_diagnosis_and_fix(dashboard: Dashboard) -> None:
    harness = dashboard.harness
    harness.set_policy(identity_mode="report")
    harness.verified("fine")
    email = "Alice@Example.com"
    # The classic mistake: the server lowercases the email before signing it.
    harness.identify(user_id=email, user_hash=sign(harness.secret, email.lower()))
    harness.identify(user_id="u2", user_hash="ab" * 20)  # a SHA-1 length hash
    harness.log()  # flush the recorder
    dashboard.logged_in()

    page = dashboard.client.get(dashboard.url("log")).text
    # Failures row by row; the success counted for its minute and secret (SPEC 9).
    assert codes(page) == ["malformed_signature", "identifier_case"]
    assert counted(page) == [(harness.secret_id, "1")]
    assert "Verified, counted per minute" in page
    assert HINTS["identifier_case"].replace("'", "&#39;") in page
    assert "look like SHA-1" in page
    assert re.search(r'data-count="verified">1<', page)
    assert re.search(r'data-count="unverified">2<', page)
    assert "2 of the unverified identifies" in page
    assert "would be <strong>refused</strong>" in page

    only = dashboard.client.get(dashboard.url("log"), params={"outcome": "verified"}).text
    assert codes(only) == []
    assert counted(only) == [(harness.secret_id, "1")]
    failures_only = dashboard.client.get(dashboard.url("log"), params={"outcome": "unverified"})
    assert counted(failures_only.text) == []
    assert codes(failures_only.text) == ["malformed_signature", "identifier_case"]
    bad = dashboard.client.get(dashboard.url("log"), params={"outcome": "sideways"})
    assert bad.status_code == 400


def test_refusals_in_required_mode(dashboard: Dashboard) -> None:
    harness = dashboard.harness
    assert (
        harness.identify(user_id="u3", user_hash=sign("wrong-secret-entirely", "u3")).status_code
        == 401
    )
    harness.log()
    dashboard.logged_in()
    page = dashboard.client.get(dashboard.url("log"), params={"outcome": "refused"}).text
    assert codes(page) == ["unknown"]
    assert HINTS["unknown"].split(":")[0].replace("'", "&#39;") in page
    # The identity page repeats the count for report mode only.
    assert "Report only." not in dashboard.client.get(dashboard.url("identity")).text


def test_successes_count_per_minute_and_the_contact_shows_last_verified(
    dashboard: Dashboard,
) -> None:
    harness = dashboard.harness
    first = harness.verified("counted")
    harness.verified("counted")
    harness.verified("another")
    harness.log()
    dashboard.logged_in()
    page = dashboard.client.get(dashboard.url("log")).text
    # Three successes in (at most) two minutes, one secret: the counts add up to three.
    assert sum(int(n) for _, n in counted(page)) == 3
    assert {secret for secret, _ in counted(page)} == {harness.secret_id}
    assert re.search(r'data-count="verified">3<', page)
    assert codes(page) == []
    contact = dashboard.client.get(dashboard.url(f"contacts/{first['contact']['id']}")).text
    assert 'data-last-verified="' in contact
    assert "Last verified: never" not in contact
