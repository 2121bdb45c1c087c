"""Contact search (``GET /v1/contacts?query=``) on 100,000 contacts of one app.

Fills a fresh SQLite file and, when PostgreSQL answers, a fresh schema there, with
``--contacts`` contacts (half verified, names with accents, metadata), then times the
search for a rare name, a common word, an email part, a unicode name and a two-letter
query (which has no trigram, so it scans). On PostgreSQL it prints the plan of one
search: it must use the ``ix_contacts_search_*`` GIN indexes.

    python benchmarks/contact_search.py               # 100k contacts, both databases
    python benchmarks/contact_search.py --contacts 2000 --quick

No timing is asserted; the issue's bar is "well under 50 ms" on SQLite.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import string
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, text

from countersign.storage import contact_search
from countersign.storage.database import Database
from countersign.storage.models import App, Contact

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
QUERIES = {
    "rare name": "qzxwv",
    "common word": "smith",
    "email part": "@example.org",
    "unicode name": "ÅNGSTRÖM",
    "two letters": "zq",
    "no hit": "nobody-at-all",
}


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))).title()


def fill(database: Database, count: int) -> str:
    rng = random.Random(13)
    app_id = "app_" + secrets.token_hex(6)
    now = datetime.now(UTC)

    def work(connection: Any) -> None:
        connection.execute(insert(App).values(id=app_id, name="Bench", created_at=now))
        for start in range(0, count, 5000):
            rows = []
            for n in range(start, min(count, start + 5000)):
                first, last = _word(rng), rng.choice(["Smith", "Ångström", "Quist", _word(rng)])
                if n == count // 2:
                    first = "Qzxwv"
                verified = n % 2 == 0
                rows.append(
                    {
                        "id": f"con_{n:012d}",
                        "app_id": app_id,
                        "user_id": f"user-{n}",
                        "email": f"{first.lower()}.{n}@example.{'org' if n % 3 else 'com'}",
                        "name": f"{first} {last}",
                        "verified": verified,
                        "metadata_": {"plan": rng.choice(["free", "pro"]), "ref": _word(rng)},
                        "attributes": {},
                        "created_at": now,
                        "last_seen_at": now - timedelta(seconds=n),
                    }
                )
            connection.execute(insert(Contact), rows)

    database.run_sync(work)
    if database.engine.dialect.name == "postgresql":
        database.run_sync(lambda c: c.execute(text("ANALYZE contacts")))
    return app_id


def time_queries(database: Database, app_id: str, rounds: int) -> None:
    print(f"{'query':<14} {'hits':>5} {'p50 ms':>8} {'max ms':>8}")
    for label, query in QUERIES.items():
        timings = []
        hits = 0
        for _ in range(rounds):
            started = time.perf_counter()
            page = database.run_sync(
                lambda c, q=query: contact_search.search_contacts(c, app_id, q, None, limit=50)
            )
            timings.append((time.perf_counter() - started) * 1000)
            hits = len(page.data)
        print(f"{label:<14} {hits:>5} {statistics.median(timings):>8.2f} {max(timings):>8.2f}")


def explain(database: Database, app_id: str) -> None:
    def work(connection: Any) -> list[str]:
        statement = contact_search.search_statement(connection, app_id, "qzxwv")
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        return [row[0] for row in connection.execute(text(f"EXPLAIN {compiled}"))]

    plan = database.run_sync(work)
    print("plan:")
    for line in plan:
        print("   ", line)
    uses = any("ix_contacts_search" in line for line in plan)
    print("uses the trigram index:", "yes" if uses else "NO")


def run(url: str, count: int, rounds: int, name: str) -> None:
    database = Database(url)
    try:
        database.migrate()
        started = time.perf_counter()
        app_id = fill(database, count)
        print(f"\n{name}: {count} contacts in {time.perf_counter() - started:.1f} s")
        time_queries(database, app_id, rounds)
        if database.engine.dialect.name == "postgresql":
            explain(database, app_id)
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 20")
    parser.add_argument("--postgres", default=POSTGRES, help="a server; '' for none")
    options = parser.parse_args()
    rounds = 3 if options.quick else 20
    with tempfile.TemporaryDirectory() as directory:
        run(f"sqlite:///{Path(directory) / 'bench.db'}", options.contacts, rounds, "SQLite")
    if options.postgres:
        try:
            schema = "cs_bench_" + secrets.token_hex(4)
            with psycopg.connect(options.postgres, autocommit=True, connect_timeout=3) as admin:
                admin.execute(f'CREATE SCHEMA "{schema}"')
        except Exception as error:  # no server: the SQLite figures stand alone
            print(f"\nPostgreSQL: not measured ({type(error).__name__})")
            return
        try:
            url = f"{options.postgres}?options=-csearch_path%3D{schema}"
            run(url, options.contacts, rounds, "PostgreSQL")
        finally:
            with psycopg.connect(options.postgres, autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
