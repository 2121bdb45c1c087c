"""The retry schedule: exponential, jittered, capped, and finite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from countersign.settings import SettingsError, load_settings
from countersign.vocabulary.retry import RetryPolicy
from countersign.webhooks.delivery import retry_policy

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_delays_double_with_jitter_between_half_and_all_of_the_step() -> None:
    policy = RetryPolicy(base_seconds=10, cap_seconds=1000)
    for attempt, step in [(1, 10), (2, 20), (3, 40), (7, 640), (8, 1000), (40, 1000)]:
        assert policy.delay(attempt, rng=lambda: 0.0) == timedelta(seconds=step / 2)
        assert policy.delay(attempt, rng=lambda: 1.0) == timedelta(seconds=step)


def test_a_huge_attempt_number_does_not_overflow() -> None:
    assert RetryPolicy(cap_seconds=60).delay(10_000) <= timedelta(seconds=60)


def test_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.retry_at(1, NOW, NOW) is not None
    assert policy.retry_at(2, NOW, NOW) is not None
    assert policy.retry_at(3, NOW, NOW) is None


def test_gives_up_when_the_event_would_be_too_old() -> None:
    policy = RetryPolicy(base_seconds=10, max_age=timedelta(hours=1))
    created = NOW - timedelta(minutes=59, seconds=58)
    assert policy.retry_at(1, created, NOW, rng=lambda: 0.0) is None
    assert policy.retry_at(1, NOW, NOW, rng=lambda: 0.0) == NOW + timedelta(seconds=5)


def test_the_schedule_comes_from_settings() -> None:
    settings = load_settings(
        environ={
            "COUNTERSIGN_WEBHOOK_BACKOFF_BASE_SECONDS": "0.5",
            "COUNTERSIGN_WEBHOOK_BACKOFF_CAP_SECONDS": "30",
            "COUNTERSIGN_WEBHOOK_MAX_ATTEMPTS": "4",
            "COUNTERSIGN_WEBHOOK_MAX_AGE_HOURS": "2",
            "COUNTERSIGN_WEBHOOK_POLL_SECONDS": "0.2",
        }
    )
    assert retry_policy(settings) == RetryPolicy(0.5, 30.0, 4, timedelta(hours=2))
    assert settings.webhook_poll_seconds == 0.2
    defaults = load_settings(environ={})
    assert retry_policy(defaults) == RetryPolicy()
    assert defaults.webhook_poll_seconds == 1.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COUNTERSIGN_WEBHOOK_BACKOFF_BASE_SECONDS", "soon"),
        ("COUNTERSIGN_WEBHOOK_BACKOFF_BASE_SECONDS", "0"),
        ("COUNTERSIGN_WEBHOOK_POLL_SECONDS", "nan"),
        ("COUNTERSIGN_WEBHOOK_MAX_ATTEMPTS", "0"),
        ("COUNTERSIGN_WEBHOOK_MAX_AGE_HOURS", "-1"),
    ],
)
def test_bad_settings_fail_loudly(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(environ={name: value})
