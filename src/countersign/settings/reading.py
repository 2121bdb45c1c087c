"""Where :class:`~countersign.settings.Settings` reads its variables from.

``os.environ`` by default (pydantic-settings' own source); while
:func:`~countersign.settings.load_settings` runs with a mapping, that mapping and
nothing else, so a test or an embedding program decides what is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from pydantic_settings import BaseSettings, EnvSettingsSource

from .kinds import default_data_dir

#: The variables Settings() reads: os.environ when None (pydantic-settings' own
#: source), else the mapping given to load_settings, while it runs.
_environ: ContextVar[Mapping[str, str] | None] = ContextVar("countersign_environ", default=None)


def environ_read() -> Mapping[str, str] | None:
    """The mapping being read, or None for os.environ."""
    return _environ.get()


@contextmanager
def reading(environ: Mapping[str, str] | None) -> Iterator[None]:
    token = _environ.set(environ)
    try:
        yield
    finally:
        _environ.reset(token)


def data_dir_default() -> Path:
    return default_data_dir(_environ.get())


class MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading ``environ`` instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    # The one method that reads os.environ (pydantic-settings' .env source overrides it
    # the same way); tests/test_settings.py checks that a given mapping is all that is read.
    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._environ.items() if value}
