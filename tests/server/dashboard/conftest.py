"""The dashboard over a real server app (the server tests' harness, on SQLite and on
PostgreSQL), with an owner and an agent, and helpers to log in and post forms."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher

from countersign.operators import passwords
from countersign.storage import operators
from countersign.vocabulary.clock import utcnow
from tests.server.conftest import Harness, make_harness, wait_for

__all__ = ["Dashboard", "csrf_of", "make_harness", "wait_for"]

OWNER = "owner@example.com"
AGENT = "agent@example.com"
PASSWORD = "correct horse battery staple"

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: the tests check who gets in, not the hash's cost
    (the browser tests run the server with the real parameters)."""
    monkeypatch.setattr(
        passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    passwords._dummy_hash.cache_clear()


def csrf_of(html: str) -> str:
    """The CSRF token a rendered page hands its forms."""
    found = _CSRF_FIELD.search(html) or _CSRF_META.search(html)
    assert found is not None, "the page has no CSRF token"
    assert found.group(1), "the page's CSRF token is empty"
    return found.group(1)


@dataclass
class Dashboard:
    harness: Harness
    owner: operators.OperatorRecord
    agent: operators.OperatorRecord

    @property
    def client(self) -> Any:
        return self.harness.client

    @property
    def app_id(self) -> str:
        return self.harness.app_id

    def url(self, page: str) -> str:
        return f"/dashboard/apps/{self.app_id}/{page}"

    def login(self, email: str = OWNER, password: str = PASSWORD) -> Any:
        """Log in as ``email`` (after logging out whoever was); the login response."""
        self.client.cookies.clear()
        form = self.client.get("/dashboard/login")
        assert form.status_code == 200, form.text
        return self.client.post(
            "/dashboard/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )

    def logged_in(self, email: str = OWNER) -> None:
        response = self.login(email)
        assert response.status_code == 303, response.text

    def post(self, page: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """Post a form from ``page`` with the CSRF token that page was rendered with."""
        token = csrf_of(self.client.get(self.url(page.split("/", 1)[0])).text)
        return self.client.post(
            self.url(page), data={"csrf_token": token, **(data or {})}, **kwargs
        )

    def conversation(self, user_id: str, body: str = "Hello") -> tuple[str, str]:
        """A verified user's new conversation: (conversation id, session token)."""
        token = self.harness.verified(user_id)["session_token"]
        response = self.client.post(
            "/v1/widget/conversations",
            json={"body": body},
            headers=self.harness.session_headers(token),
        )
        assert response.status_code == 201, response.text
        return response.json()["id"], token


def add_operator(harness: Harness, email: str, role: operators.Role, name: str) -> Any:
    password_hash = passwords.hash_password(PASSWORD)
    return harness.backend.database.run_sync(
        lambda c: operators.create_operator(
            c, email=email, password_hash=password_hash, role=role, name=name, now=utcnow()
        )
    )


@pytest.fixture
def make_dashboard(make_harness: Callable[..., Harness]) -> Callable[..., Dashboard]:
    def build(**overrides: Any) -> Dashboard:
        harness = make_harness(**overrides)
        owner = add_operator(harness, OWNER, "owner", "Olivia Owner")
        agent = add_operator(harness, AGENT, "agent", "Aaron Agent")
        return Dashboard(harness, owner, agent)

    return build


@pytest.fixture
def dashboard(make_dashboard: Callable[..., Dashboard]) -> Dashboard:
    return make_dashboard()
