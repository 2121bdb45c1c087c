"""Fixtures shared by every test module."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from countersign.cli import cli
from countersign.context import Backend, open_backend
from countersign.settings import load_settings

#: ``../shared`` beside the project's root: the spec and the public test vectors.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"

IN_CI = os.environ.get("CI") == "true"


def shared_file(relative: str) -> Path:
    """A file under ``../shared``, or a skip that prints why when it is absent."""
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent: ../shared is not beside this checkout")
    return path


POSTGRES_SERVER = os.environ.get(
    "COUNTERSIGN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_SERVER = os.environ.get("COUNTERSIGN_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error})"
    if IN_CI:
        pytest.fail(f"{message}: CI must run the scale-out tests, never skip them")
    pytest.skip(message)


_EXTENSIONS_READY: list[bool] = []


def _shared_extensions(admin: Any) -> None:
    """pg_trgm (migration 0013) in ``public``, once: left to the first test's migration
    it would live in that test's schema and go with it when the schema is dropped, and
    every later test would install it again, racing the other workers."""
    if _EXTENSIONS_READY:
        return
    with admin.transaction():
        admin.execute("SELECT pg_advisory_xact_lock(72677)")  # the other xdist workers
        admin.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    _EXTENSIONS_READY.append(True)


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards.

    Each user gets an empty database of its own inside the shared ``test`` database,
    so runs (CI and a developer's) never see each other's rows.
    """
    import psycopg

    schema = f"cs_test_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(POSTGRES_SERVER, autocommit=True, connect_timeout=3) as admin:
            _shared_extensions(admin)
            admin.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as error:
        _unavailable("PostgreSQL at " + POSTGRES_SERVER, error)
    separator = "&" if "?" in POSTGRES_SERVER else "?"
    try:
        yield f"{POSTGRES_SERVER}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_SERVER, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL schema of its own for one test, already at the newest revision;
    empty under ``@pytest.mark.empty_database`` (the tests of the migrations)."""
    with postgres_schema() as url:
        if not request.node.get_closest_marker("empty_database"):
            _replay_migrations(url)
        yield url


#: What migrating an empty schema sent, recorded once per worker: replayed into each
#: test's schema in one transaction it takes ~0.05 s, against ~0.6 s for alembic's run
#: (which loads every migration script and inspects the schema between steps). The
#: statements name no schema, so they land in the search_path's: the test's own.
_MIGRATION_SCRIPT: list[tuple[str, Any, bool]] = []


def _recorded_migrations() -> list[tuple[str, Any, bool]]:
    if _MIGRATION_SCRIPT:
        return _MIGRATION_SCRIPT
    from sqlalchemy import create_engine, event

    from countersign.settings.model import with_driver
    from countersign.storage import migrate

    script: list[tuple[str, Any, bool]] = []
    with postgres_schema() as url:
        engine = create_engine(with_driver(url))

        @event.listens_for(engine, "before_cursor_execute")
        def record(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
        ) -> None:
            script.append((statement, parameters, many))

        engine.connect().close()  # the dialect's own first queries: not migrations
        script.clear()
        migrate.upgrade(engine)
        engine.dispose()
    _MIGRATION_SCRIPT.extend(script)
    return _MIGRATION_SCRIPT


def _replay_migrations(url: str) -> None:
    import psycopg

    from countersign.storage import migrate

    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        plain: list[str] = []  # statements without parameters go together, in one trip
        for statement, parameters, many in _recorded_migrations():
            if not parameters:
                plain.append(statement)
                continue
            if plain:
                cursor.execute(";\n".join(plain).encode())
                plain.clear()
            if many:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
        if plain:
            cursor.execute(";\n".join(plain).encode())
        cursor.execute("SELECT version_num FROM alembic_version")
        assert cursor.fetchall() == [(migrate.newest(),)], "the replay must reach the head"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file each test copies (~1 ms) instead of migrating (~0.2 s)."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    path = directory / "countersign.db"
    open_backend(
        load_settings(environ={}, data_dir=directory, database_url=f"sqlite:///{path}")
    ).close()
    assert not path.with_name(path.name + "-wal").exists(), "the template must be whole"
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on a fresh SQLite file and on PostgreSQL, each
    already at the newest schema, or empty under ``@pytest.mark.empty_database``
    (the tests of the migrations themselves)."""
    if request.param == "sqlite":
        path = tmp_path / "countersign.db"
        if not request.node.get_closest_marker("empty_database"):
            shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    return str(request.getfixturevalue("postgres_url"))


#: The shell's settings must not leak into a test's data dir or database.
CLEAN_ENV: dict[str, str | None] = {
    "COUNTERSIGN_DATA_DIR": None,
    "COUNTERSIGN_DATABASE_URL": None,
    "COUNTERSIGN_MASTER_KEY": None,
    "COUNTERSIGN_HOST": None,
    "COUNTERSIGN_PORT": None,
    "COUNTERSIGN_INVITATION_TTL_HOURS": None,
}

Invoke = Callable[..., Result]


@pytest.fixture
def cs(tmp_path: Path, database_url: str) -> Invoke:
    """Run a ``countersign`` command against this test's database (SQLite or PostgreSQL)."""
    runner = CliRunner(env=CLEAN_ENV)

    def invoke(*args: str, input: str | None = None) -> Result:
        location = ["--data-dir", str(tmp_path), "--database-url", database_url]
        return runner.invoke(cli, [*args, *location], input=input)

    return invoke


@pytest.fixture
def backend(database_url: str, tmp_path: Path) -> Iterator[Backend]:
    """The database (either backend) and master key a server in ``tmp_path`` would open."""
    opened = open_backend(load_settings(environ={}, data_dir=tmp_path, database_url=database_url))
    yield opened
    opened.close()
