"""``countersign mail log``, ``mail inbound-key`` and ``apps set --email-delay``."""

from __future__ import annotations

import json

from tests.conftest import Invoke


def _app(cs: Invoke) -> str:
    created = cs("apps", "create", "Acme", "--json")
    assert created.exit_code == 0, created.output
    return str(json.loads(created.output)["app_id"])


def test_the_email_delay_is_set_and_shown(cs: Invoke) -> None:
    app_id = _app(cs)
    changed = cs("apps", "set", app_id, "--email-delay", "300", "--json")
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.output)["email_delay"] == 300
    shown = cs("apps", "set", app_id, "--email-delay", "0")
    assert "email_delay         0 s" in shown.output
    refused = cs("apps", "set", app_id, "--email-delay", "-1")
    assert refused.exit_code == 2


def test_an_inbound_key_is_shown_once_and_a_new_one_replaces_it(cs: Invoke) -> None:
    app_id = _app(cs)
    first = json.loads(cs("mail", "inbound-key", app_id, "--json").output)["inbound_key"]
    second = json.loads(cs("mail", "inbound-key", app_id, "--json").output)["inbound_key"]
    assert first.startswith("csi_")
    assert first != second
    assert cs("mail", "inbound-key", "app_nope").exit_code != 0


def test_the_mail_log_of_a_new_app_is_empty(cs: Invoke) -> None:
    app_id = _app(cs)
    text = cs("mail", "log", app_id)
    assert text.exit_code == 0, text.output
    assert "No mail yet" in text.output
    assert json.loads(cs("mail", "log", app_id, "--json").output) == {"data": []}
    unknown = cs("mail", "log", "app_nope")
    assert unknown.exit_code != 0
