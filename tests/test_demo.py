"""The demo app is created once, then found again: by its file, or by its name."""

from __future__ import annotations

import json
from pathlib import Path

from countersign.context import open_backend
from countersign.demo import DEMO_APP_NAME, DEMO_USER, OTHER_USER, STATE_FILE, ensure_demo_app
from countersign.settings import load_settings
from countersign.storage import apps, contacts, conversations, notifications


def test_created_once_and_remembered(tmp_path: Path, database_url: str) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path, database_url=database_url)
    backend = open_backend(settings)
    try:
        app_id = ensure_demo_app(backend)
        state = json.loads((tmp_path / STATE_FILE).read_text())
        assert state == {"app_id": app_id, "name": DEMO_APP_NAME}
        assert "secret" not in (tmp_path / STATE_FILE).read_text()
        assert ensure_demo_app(backend) == app_id
        (tmp_path / STATE_FILE).unlink()  # another node, or a wiped data dir
        assert ensure_demo_app(backend) == app_id
        assert (tmp_path / STATE_FILE).exists()

        def seeded(connection: object) -> tuple[int, int, int, int]:
            named = [a for a in apps.list_apps(connection) if a.name == DEMO_APP_NAME]  # type: ignore[arg-type]
            demo = contacts.verified_contact_id(connection, app_id, DEMO_USER.user_id)  # type: ignore[arg-type]
            other = contacts.verified_contact_id(connection, app_id, OTHER_USER.user_id)  # type: ignore[arg-type]
            assert demo is not None
            assert other is not None
            return (
                len(named),
                len(conversations.list_conversations(connection, demo).data),  # type: ignore[arg-type]
                len(conversations.list_conversations(connection, other).data),  # type: ignore[arg-type]
                notifications.unread_count(connection, other),  # type: ignore[arg-type]
            )

        assert backend.database.run_sync(seeded) == (1, 1, 1, 1)
    finally:
        backend.close()
