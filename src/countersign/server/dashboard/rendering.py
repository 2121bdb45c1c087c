"""Templates: a Jinja2 environment over the package's ``templates/``, autoescaped.

Everything a page shows that came from a browser (names, metadata, messages, origins)
goes through autoescaping, and the Content-Security-Policy forbids inline script, so a
claimed name like ``<script>`` shows as text and nothing more.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import jinja2
from starlette.responses import HTMLResponse

from ... import __version__

PACKAGE_DIR: Final = Path(__file__).parent
STATIC_DIR: Final = PACKAGE_DIR / "static"
STATIC_PREFIX: Final = "/dashboard/static"


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC)


def when(value: datetime | str | None) -> str:
    """``2024-05-01 12:00:03 UTC``: seconds are enough to read a log by."""
    moment = _moment(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def ago(value: datetime | str | None, now: datetime | None = None) -> str:
    """``3 minutes ago``: how an owner judges whether an old secret is still in use."""
    moment = _moment(value)
    if moment is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"  # pragma: no cover (unreachable: seconds >= 60 here)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@functools.cache
def _static_version(name: str) -> str:
    path = STATIC_DIR / name
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return __version__


def static(name: str) -> str:
    """The URL of a static file, versioned by its content so a new release's script
    is never served from an old cache."""
    return f"{STATIC_PREFIX}/{name}?v={_static_version(name)}"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, ago=ago, pretty_json=pretty_json)
    env.globals.update(static=static, version=__version__)
    return env


def render(
    name: str, context: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    html = environment().get_template(name).render(context)
    return HTMLResponse(html, status_code=status, headers=headers)
