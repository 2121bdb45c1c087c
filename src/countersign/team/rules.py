"""What a change of status, snooze or assignee may be.

A snooze is a time in the future (at most :data:`MAX_SNOOZE` ahead), given with the
``snoozed`` status or alone (which means ``snoozed``); any other status clears it.
The dashboard's choices (an hour, tomorrow or next week at 9:00 in the operator's time
zone, a date) are computed here too, so the page and the CLI agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..storage.errors import Invalid
from ..storage.team_conversations import STATUSES, Status

MAX_SNOOZE: Final = timedelta(days=366)
#: Where "tomorrow" and "next week" start in the operator's day.
MORNING: Final = time(9, 0)


class InvalidStatus(Invalid):
    code = "invalid_status"


class InvalidSnooze(Invalid):
    code = "invalid_snooze"


def parse_status(value: object) -> Status:
    for status in STATUSES:
        if value == status:
            return status
    raise InvalidStatus("status must be one of " + ", ".join(STATUSES))


def parse_moment(value: object) -> datetime:
    """An ISO 8601 time with a UTC offset ("Z" or "+02:00"), as UTC."""
    if not isinstance(value, str) or not 0 < len(value) <= 40:
        raise InvalidSnooze("snoozed_until must be an ISO 8601 time with an offset")
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("no offset")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidSnooze("snoozed_until must be an ISO 8601 time with an offset") from None


@dataclass(frozen=True, slots=True)
class WorkflowChange:
    """A checked change: ``status`` (with ``snoozed_until`` when snoozed) and/or an
    assignee (``assign``: whether to change it; by ``assignee_email`` or
    ``assignee_id``, and nobody when both are ``None``)."""

    status: Status | None = None
    snoozed_until: datetime | None = None
    assign: bool = False
    assignee_email: str | None = None
    assignee_id: str | None = None


def checked_change(
    *,
    status: object | None,
    snoozed_until: object | None,
    assign: bool = False,
    assignee_email: str | None = None,
    assignee_id: str | None = None,
    now: datetime,
) -> WorkflowChange:
    """The change a request asks for, or :class:`InvalidStatus` / :class:`InvalidSnooze`."""
    wanted = None if status is None else parse_status(status)
    until = None if snoozed_until is None else parse_moment(snoozed_until)
    if until is not None and wanted is None:
        wanted = "snoozed"
    if wanted == "snoozed":
        if until is None:
            raise InvalidSnooze("a snooze needs snoozed_until")
        if until <= now:
            raise InvalidSnooze("snoozed_until must be in the future")
        if until - now > MAX_SNOOZE:
            raise InvalidSnooze("a snooze lasts at most a year")
    elif until is not None:
        raise InvalidSnooze("snoozed_until goes only with status snoozed")
    return WorkflowChange(wanted, until, assign, assignee_email, assignee_id)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _day(text: str) -> date:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise InvalidSnooze("choose 1 hour, tomorrow, next week or a date")


def snooze_choice(choice: str, now: datetime, time_zone: str | None) -> datetime:
    """The end of the dashboard's snooze ``choice``: ``1h``, ``tomorrow`` (9:00 in
    ``time_zone``), ``next_week`` (next Monday, 9:00) or a date ``YYYY-MM-DD``
    (9:00 that day), as UTC; :class:`InvalidSnooze` for anything else."""
    zone = _zone(time_zone)
    local = now.astimezone(zone)
    if choice == "1h":
        return now + timedelta(hours=1)
    if choice == "tomorrow":
        day = local.date() + timedelta(days=1)
    elif choice == "next_week":
        day = local.date() + timedelta(days=7 - local.weekday())
    else:
        day = _day(choice)
    return datetime.combine(day, MORNING, zone).astimezone(UTC)
