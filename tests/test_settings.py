"""Settings: every one read from its ``COUNTERSIGN_*`` variable, checked, and immutable.

``load_settings(environ=...)`` reads only the mapping it is given; flags (overrides)
win over the variables; a bad value is a :class:`SettingsError` naming the variable
and what it allows, and never echoing a URL or the master key.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from countersign.core import Secret
from countersign.settings import Settings, SettingsError, default_data_dir, load_settings

KEY = "k" * 43

#: Every variable, a value for it, and what the setting becomes.
EVERY_VARIABLE: dict[str, tuple[str, str, Any]] = {
    "COUNTERSIGN_DATA_DIR": ("/srv/countersign", "data_dir", Path("/srv/countersign")),
    "COUNTERSIGN_DATABASE_URL": ("postgresql://u@db/x", "database_url", "postgresql://u@db/x"),
    "COUNTERSIGN_ATTACHMENTS_DIR": ("/srv/files", "attachments_dir", Path("/srv/files")),
    "COUNTERSIGN_REDIS_URL": ("redis://cache:6379/0", "redis_url", "redis://cache:6379/0"),
    "COUNTERSIGN_MASTER_KEY": (KEY, "master_key", KEY.encode()),
    "COUNTERSIGN_HOST": ("0.0.0.0", "host", "0.0.0.0"),
    "COUNTERSIGN_PORT": ("9000", "port", 9000),
    "COUNTERSIGN_WORKERS": ("4", "workers", 4),
    "COUNTERSIGN_SESSION_TTL_HOURS": ("2", "session_ttl", timedelta(hours=2)),
    "COUNTERSIGN_TRUSTED_PROXIES": (
        "10.0.0.0/8, 192.0.2.1,",
        "trusted_proxies",
        (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.1/32")),
    ),
    "COUNTERSIGN_MAX_BODY_BYTES": ("131072", "max_body_bytes", 131072),
    "COUNTERSIGN_ANONYMOUS_PER_MINUTE": ("5", "anonymous_per_minute", 5),
    "COUNTERSIGN_DEMO": ("yes", "demo", True),
    "COUNTERSIGN_WEBHOOK_BACKOFF_BASE_SECONDS": ("0.5", "webhook_backoff_base", 0.5),
    "COUNTERSIGN_WEBHOOK_BACKOFF_CAP_SECONDS": ("30", "webhook_backoff_cap", 30.0),
    "COUNTERSIGN_WEBHOOK_MAX_ATTEMPTS": ("4", "webhook_max_attempts", 4),
    "COUNTERSIGN_WEBHOOK_MAX_AGE_HOURS": ("1.5", "webhook_max_age", timedelta(minutes=90)),
    "COUNTERSIGN_WEBHOOK_POLL_SECONDS": ("0.2", "webhook_poll_seconds", 0.2),
    "COUNTERSIGN_SNOOZE_POLL_SECONDS": ("0.5", "snooze_poll_seconds", 0.5),
    "COUNTERSIGN_VERIFICATION_LOG_RETENTION_DAYS": (
        "7",
        "verification_log_retention",
        timedelta(days=7),
    ),
    "COUNTERSIGN_WEBHOOK_RETENTION_DAYS": ("8", "webhook_retention", timedelta(days=8)),
    "COUNTERSIGN_ACTION_LOG_RETENTION_DAYS": ("9", "action_log_retention", timedelta(days=9)),
    "COUNTERSIGN_INVITATION_TTL_HOURS": ("24", "invitation_ttl", timedelta(hours=24)),
    "COUNTERSIGN_PASSWORD_MEMORY_MIB": ("512", "password_memory_mib", 512),
    "COUNTERSIGN_PASSWORD_CHECK_WAIT_SECONDS": ("1.5", "password_check_wait", 1.5),
    "COUNTERSIGN_REQUEST_HEADER_TIMEOUT_SECONDS": ("2.5", "request_header_timeout", 2.5),
    "COUNTERSIGN_REQUEST_BODY_TIMEOUT_SECONDS": ("3", "request_body_timeout", 3.0),
    "COUNTERSIGN_UNKNOWN_APP_CACHE_SIZE": ("50", "unknown_app_cache_size", 50),
    "COUNTERSIGN_RATE_LIMIT_KEYS": ("500", "rate_limit_keys", 500),
    "COUNTERSIGN_METRICS_TOKEN": ("t" * 16, "metrics_token", b"t" * 16),
    "COUNTERSIGN_METRICS_PORT": ("9250", "metrics_port", 9250),
    "COUNTERSIGN_SMTP_URL": ("smtps://u:p@relay:465", "smtp_url", "smtps://u:p@relay:465"),
    "COUNTERSIGN_MAIL_FROM": ("Acme <help@acme.test>", "mail_from", "Acme <help@acme.test>"),
    "COUNTERSIGN_INBOUND_DOMAIN": ("Mail.Acme.test", "inbound_domain", "mail.acme.test"),
    "COUNTERSIGN_SMTP_PORT": ("2525", "smtp_port", 2525),
    "COUNTERSIGN_SMTP_MAX_MESSAGE_BYTES": ("2048", "smtp_max_message_bytes", 2048),
    "COUNTERSIGN_SMTP_MAX_RECIPIENTS": ("5", "smtp_max_recipients", 5),
    "COUNTERSIGN_SMTP_MAX_CONNECTIONS": ("7", "smtp_max_connections", 7),
    "COUNTERSIGN_MAIL_BACKOFF_BASE_SECONDS": ("2.5", "mail_backoff_base", 2.5),
    "COUNTERSIGN_MAIL_MAX_ATTEMPTS": ("3", "mail_max_attempts", 3),
    "COUNTERSIGN_MAIL_POLL_SECONDS": ("0.5", "mail_poll_seconds", 0.5),
    "COUNTERSIGN_PRESENCE_SECONDS": ("2", "presence_seconds", 2.0),
    "COUNTERSIGN_LOG_FORMAT": ("json", "log_format", "json"),
}

#: Every bounded variable and its bounds, in the variable's own unit.
BOUNDS: dict[str, tuple[float, float]] = {
    "COUNTERSIGN_PORT": (1, 65535),
    "COUNTERSIGN_WORKERS": (1, 64),
    "COUNTERSIGN_SESSION_TTL_HOURS": (1, 2160),
    "COUNTERSIGN_MAX_BODY_BYTES": (1024, 67108864),
    "COUNTERSIGN_ANONYMOUS_PER_MINUTE": (1, 1000000),
    "COUNTERSIGN_WEBHOOK_BACKOFF_BASE_SECONDS": (0.001, 86400.0),
    "COUNTERSIGN_WEBHOOK_BACKOFF_CAP_SECONDS": (0.001, 604800.0),
    "COUNTERSIGN_WEBHOOK_MAX_ATTEMPTS": (1, 100),
    "COUNTERSIGN_WEBHOOK_MAX_AGE_HOURS": (0.001, 720.0),
    "COUNTERSIGN_WEBHOOK_POLL_SECONDS": (0.01, 60.0),
    "COUNTERSIGN_SNOOZE_POLL_SECONDS": (0.05, 300.0),
    "COUNTERSIGN_VERIFICATION_LOG_RETENTION_DAYS": (1, 3650),
    "COUNTERSIGN_WEBHOOK_RETENTION_DAYS": (1, 3650),
    "COUNTERSIGN_ACTION_LOG_RETENTION_DAYS": (1, 3650),
    "COUNTERSIGN_INVITATION_TTL_HOURS": (1, 720),
    "COUNTERSIGN_PASSWORD_MEMORY_MIB": (1, 65536),
    "COUNTERSIGN_PASSWORD_CHECK_WAIT_SECONDS": (0.0, 30.0),
    "COUNTERSIGN_REQUEST_HEADER_TIMEOUT_SECONDS": (0.1, 600.0),
    "COUNTERSIGN_REQUEST_BODY_TIMEOUT_SECONDS": (0.1, 600.0),
    "COUNTERSIGN_UNKNOWN_APP_CACHE_SIZE": (1, 10000000),
    "COUNTERSIGN_RATE_LIMIT_KEYS": (100, 10000000),
    "COUNTERSIGN_METRICS_PORT": (1, 65535),
    "COUNTERSIGN_SMTP_PORT": (1, 65535),
    "COUNTERSIGN_SMTP_MAX_MESSAGE_BYTES": (1024, 104857600),
    "COUNTERSIGN_SMTP_MAX_RECIPIENTS": (1, 1000),
    "COUNTERSIGN_SMTP_MAX_CONNECTIONS": (1, 100000),
    "COUNTERSIGN_MAIL_BACKOFF_BASE_SECONDS": (0.001, 86400.0),
    "COUNTERSIGN_MAIL_MAX_ATTEMPTS": (1, 100),
    "COUNTERSIGN_MAIL_POLL_SECONDS": (0.01, 60.0),
    "COUNTERSIGN_PRESENCE_SECONDS": (0.05, 300.0),
}

WHOLE = {name for name, (low, high) in BOUNDS.items() if isinstance(low, int)}


def shown(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_every_setting_has_a_variable_of_its_own() -> None:
    variables = Settings.variables()
    assert variables.keys() == Settings.model_fields.keys()
    assert len(set(variables.values())) == len(variables)
    assert all(name.startswith("COUNTERSIGN_") for name in variables.values())
    assert set(EVERY_VARIABLE) == set(variables.values())


def test_every_variable_sets_its_setting() -> None:
    settings = load_settings({name: text for name, (text, _, _) in EVERY_VARIABLE.items()})
    for name, (_, field, expected) in EVERY_VARIABLE.items():
        value = getattr(settings, field)
        if isinstance(value, Secret):
            value = value.reveal()
        assert value == expected, name
    assert Settings.variables()["session_ttl"] == "COUNTERSIGN_SESSION_TTL_HOURS"


def test_the_defaults() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8250, 1)
    assert settings.database_url is settings.redis_url is settings.master_key is None
    assert settings.session_ttl == timedelta(hours=24)
    assert settings.trusted_proxies == ()
    assert settings.max_body_bytes == 64 * 1024
    assert settings.demo is False
    assert settings.webhook_max_age == timedelta(hours=72)
    assert settings.invitation_ttl == timedelta(hours=72)
    assert settings.verification_log_retention == timedelta(days=90)
    assert settings.data_dir == default_data_dir({})
    assert settings.sqlalchemy_url == f"sqlite:///{settings.data_dir / 'countersign.db'}"


def test_a_given_mapping_is_all_that_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COUNTERSIGN_PORT", "9999")
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", "mysql://not/read")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    given = load_settings({})
    assert given.port == 8250
    assert given.database_url is None
    assert given.data_dir != tmp_path / "countersign"
    assert load_settings({"XDG_DATA_HOME": "/xdg"}).data_dir == Path("/xdg/countersign")

    monkeypatch.delenv("COUNTERSIGN_DATABASE_URL")
    from_os = load_settings()
    assert from_os.port == 9999
    assert from_os.data_dir == tmp_path / "countersign"
    assert Settings().port == 9999  # the class itself reads os.environ


def test_flags_win_over_variables_and_none_is_a_flag_not_given() -> None:
    environ = {"COUNTERSIGN_PORT": "9000", "COUNTERSIGN_HOST": "0.0.0.0"}
    settings = load_settings(environ, port=9001, host=None, workers=None)
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 9001, 1)


def test_an_empty_variable_is_unset() -> None:
    assert load_settings({"COUNTERSIGN_PORT": "", "COUNTERSIGN_DATABASE_URL": ""}).port == 8250


@pytest.mark.parametrize(
    ("text", "on"),
    [
        *[("1", True), ("true", True), (" YES ", True), ("On", True)],
        *[("0", False), ("no", False), ("off", False), ("maybe", False)],
    ],
)
def test_demo_is_on_for_the_words_it_always_was(text: str, on: bool) -> None:
    assert load_settings({"COUNTERSIGN_DEMO": text}).demo is on


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_bounds_are_inclusive_and_named_when_broken(name: str) -> None:
    low, high = BOUNDS[name]
    message = f"{name} must be between {shown(low)} and {shown(high)}"
    for fine in (low, high):
        load_settings({name: shown(fine)})
    step = 1 if name in WHOLE else low / 2 or 1
    for wrong in (low - step, high * 2):
        with pytest.raises(SettingsError) as raised:
            load_settings({name: shown(wrong)})
        assert str(raised.value) == message


def test_the_bounds_cover_every_number() -> None:
    def kinds(annotation: Any) -> set[Any]:  # int | None is a number too
        return {arg for arg in get_args(annotation) if arg is not type(None)} or {annotation}

    numbers = {
        Settings.variables()[name]
        for name, field in Settings.model_fields.items()
        if kinds(field.annotation) & {int, float, timedelta}
    }
    assert numbers == set(BOUNDS)


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_text_that_is_no_number_is_named(name: str) -> None:
    kind = "a whole number" if name in WHOLE else "a number"
    for text in ("soon", "1e400x"):
        with pytest.raises(SettingsError) as raised:
            load_settings({name: text})
        assert str(raised.value) == f"{name} must be {kind}, not '{text}'"
    for text in ("nan", "inf", "-inf"):
        with pytest.raises(SettingsError) as raised:
            load_settings({name: text})
        assert str(raised.value).startswith(f"{name} must be ")


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_whole_numbers_are_whole(name: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({name: "2.5"})
    assert str(raised.value) == f"{name} must be a whole number, not '2.5'"


def test_several_problems_are_all_named() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"COUNTERSIGN_PORT": "0", "COUNTERSIGN_WORKERS": "65"})
    assert str(raised.value) == (
        "COUNTERSIGN_PORT must be between 1 and 65535; COUNTERSIGN_WORKERS must be between 1 and 64"
    )


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x.db",
        "sqlite+pysqlite:///x.db",
        "postgresql://u@h/db",
        "postgres://u@h/db",
        "postgresql+psycopg://u@h/db",
    ],
)
def test_database_urls_that_work(url: str) -> None:
    settings = load_settings({"COUNTERSIGN_DATABASE_URL": url})
    assert settings.database_url == url
    assert settings.sqlalchemy_url.startswith(("sqlite", "postgresql+psycopg://"))


@pytest.mark.parametrize(
    ("name", "url", "words"),
    [
        ("COUNTERSIGN_DATABASE_URL", "mysql://u:hunter2@db/x", "sqlite:///PATH or postgresql://"),
        ("COUNTERSIGN_DATABASE_URL", "postgresql+asyncpg://u:hunter2@db/x", "database URL"),
        ("COUNTERSIGN_REDIS_URL", "http://u:hunter2@cache", "redis://, rediss:// or unix://"),
    ],
)
def test_bad_urls_are_named_but_not_shown(name: str, url: str, words: str) -> None:
    for attempt in ({name: url}, {}):
        field = next(f for f, v in Settings.variables().items() if v == name)
        with pytest.raises(SettingsError) as raised:
            load_settings(attempt, **({} if attempt else {field: url}))
        assert str(raised.value).startswith(f"{name}: ")
        assert words in str(raised.value)
        assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("url", ["redis://h:6379/0", "rediss://h", "unix:///run/redis.sock"])
def test_redis_urls_that_work(url: str) -> None:
    assert load_settings({"COUNTERSIGN_REDIS_URL": url}).redis_url == url


def test_bad_proxies_are_named() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"COUNTERSIGN_TRUSTED_PROXIES": "10.0.0.0/8,10.0.0.300"})
    assert str(raised.value).startswith("COUNTERSIGN_TRUSTED_PROXIES: '10.0.0.300'")


def test_a_bad_master_key_is_named_but_not_shown() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"COUNTERSIGN_MASTER_KEY": "hunter2\udc80"})
    assert str(raised.value).startswith("COUNTERSIGN_MASTER_KEY: ")
    assert "hunter2" not in str(raised.value)


def test_flags_are_checked_as_the_variables_are() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({}, port=0)
    assert str(raised.value) == "COUNTERSIGN_PORT must be between 1 and 65535"
    with pytest.raises(SettingsError) as raised:
        load_settings({}).with_overrides(workers=65)
    assert str(raised.value) == "COUNTERSIGN_WORKERS must be between 1 and 64"
    with pytest.raises(TypeError, match="unknown settings: colour"):
        load_settings({}, colour="blue")


def test_overrides_in_python_take_durations_as_they_are() -> None:
    # The variable counts whole hours; a test may want a session of a second.
    settings = load_settings({}, session_ttl=timedelta(seconds=1))
    assert settings.session_ttl == timedelta(seconds=1)


def test_with_overrides_changes_only_what_it_is_given() -> None:
    settings = load_settings({"COUNTERSIGN_MASTER_KEY": KEY}, port=9000)
    changed = settings.with_overrides(workers=2, host=None)
    assert (changed.port, changed.workers, changed.host) == (9000, 2, "127.0.0.1")
    assert changed.master_key is settings.master_key
    assert (settings.workers, settings.with_overrides()) == (1, settings)


def test_settings_are_immutable() -> None:
    settings = load_settings({})
    with pytest.raises(ValidationError, match="frozen"):
        settings.port = 1  # type: ignore[misc]
    assert hash(settings) == hash(load_settings({}).with_overrides(data_dir=settings.data_dir))


def test_no_rendering_shows_the_master_key_or_a_password() -> None:
    settings = load_settings(
        {
            "COUNTERSIGN_MASTER_KEY": KEY,
            "COUNTERSIGN_DATABASE_URL": "postgresql://u:hunter2@db/x",
            "COUNTERSIGN_REDIS_URL": "redis://:hunter3@cache",
        }
    )
    renderings = [
        repr(settings),
        str(settings),
        f"{settings}",
        repr(list(settings.__repr_args__())),
    ]
    for text in renderings:
        assert KEY not in text
        assert "hunter2" not in text
        assert "hunter3" not in text
    assert repr(settings).startswith("Settings(data_dir=")
    assert "database=postgresql+psycopg://…" in repr(settings)
