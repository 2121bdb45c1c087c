"""Logging in: the first-run page, wrong passwords, and the limits on guessing."""

from __future__ import annotations

from collections.abc import Callable

from countersign.server.dashboard.security import SESSION_COOKIE
from tests.server.conftest import Harness

from .conftest import OWNER, PASSWORD, Dashboard, csrf_of


def test_with_no_operator_the_dashboard_says_how_to_create_one(
    make_harness: Callable[..., Harness],
) -> None:
    harness = make_harness()
    page = harness.client.get("/dashboard", follow_redirects=True)
    assert page.status_code == 200
    assert "There is no operator yet" in page.text
    assert "countersign operators create you@example.com --password-stdin --role owner" in (
        page.text
    )
    assert f"--data-dir {harness.settings.data_dir}" in page.text or ("--database-url" in page.text)
    assert 'name="password"' not in page.text  # nobody can sign up from the web


def test_the_right_password_logs_in_and_the_email_is_case_insensitive(
    dashboard: Dashboard,
) -> None:
    response = dashboard.login("  Owner@Example.COM ", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    assert SESSION_COOKIE in response.cookies
    inbox = dashboard.client.get("/dashboard", follow_redirects=True)
    assert inbox.url.path == dashboard.url("inbox")  # the only app opens directly
    assert "Olivia Owner" in inbox.text


def test_a_wrong_password_or_unknown_email_says_the_same(dashboard: Dashboard) -> None:
    wrong_password = dashboard.login(OWNER, "not the password")
    unknown_email = dashboard.login("nobody@example.com", PASSWORD)
    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        assert "do not match an operator" in response.text
        assert SESSION_COOKIE not in response.cookies


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(dashboard: Dashboard) -> None:
    target = dashboard.url("log")
    first = dashboard.client.get(target, follow_redirects=False)
    form = dashboard.client.get(first.headers["location"])
    assert f'name="next" value="{target}"' in form.text
    for asked, landed in (
        (target, target),
        ("https://evil.example/phish", "/dashboard"),
        ("//evil.example/phish", "/dashboard"),
        ("/dashboard\\@evil.example", "/dashboard"),
    ):
        dashboard.client.cookies.clear()
        form = dashboard.client.get("/dashboard/login")
        response = dashboard.client.post(
            "/dashboard/login",
            data={
                "email": OWNER,
                "password": PASSWORD,
                "csrf_token": csrf_of(form.text),
                "next": asked,
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == landed


def test_failed_logins_are_limited_per_email(dashboard: Dashboard) -> None:
    for _ in range(5):
        assert dashboard.login(OWNER, "guess").status_code == 401
    # The right password is refused too while the limit holds: a guesser learns nothing.
    limited = dashboard.login(OWNER, PASSWORD)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many failed logins" in limited.text
    assert SESSION_COOKIE not in limited.cookies
    # Another operator is not locked out by someone guessing the owner's password.
    assert dashboard.login("agent@example.com", PASSWORD).status_code == 303


def test_failed_logins_are_limited_per_address(dashboard: Dashboard) -> None:
    for number in range(20):
        assert dashboard.login(f"spray{number}@example.com", "guess").status_code == 401
    assert dashboard.login(OWNER, PASSWORD).status_code == 429
