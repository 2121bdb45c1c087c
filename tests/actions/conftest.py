"""A running server (both backends), a real receiver, and actions defined on them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update

from countersign.storage import actions
from countersign.storage.models import Action

from ..outbound.receiver import Receiver
from ..server.conftest import Harness, harness, make_harness  # noqa: F401 (fixtures)


@dataclass
class Defined:
    name: str
    signing_secret: str


def define(server: Harness, name: str, url: str, **options: Any) -> Defined:
    options.setdefault("allow_private_network", True)  # the receiver is on 127.0.0.1
    created = server.backend.database.run_sync(
        lambda c: actions.create_action(
            c, server.backend.box, server.app_id, name, url=url, **options
        )
    )
    return Defined(created.action.name, created.signing_secret)


def forbid_private_network(server: Harness, name: str) -> None:
    """Turn the flag off on an existing action (a URL ``add`` would refuse outright)."""
    server.backend.database.run_sync(
        lambda c: c.execute(
            update(Action)
            .where(Action.app_id == server.app_id, Action.name == name)
            .values(allow_private_network=False)
        )
    )


def action_log(server: Harness) -> list[dict[str, Any]]:
    return server.backend.database.run_sync(lambda c: actions.recent_calls(c, server.app_id))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running
