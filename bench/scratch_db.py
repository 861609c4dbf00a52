"""The PostgreSQL database a benchmark keeps for itself, and Django set up on it.

Shared by bench/rollup.py and bench/dashboard.py: each builds its large data set once in a
database of its own on the server that ``DATABASE_URL`` names, and reuses it afterwards.
"""

import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent


def bench_url(database: str, script: str) -> tuple[str, str]:
    """(URL of ``database``, URL of the server's ``postgres`` database) on DATABASE_URL's
    server; exits with a message when DATABASE_URL is not PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            f"{script} needs PostgreSQL: set DATABASE_URL=postgres://USER@HOST:PORT/DB "
            "(its server gets a database of its own, --database; SQLite is not a target here)"
        )
    parts = urlparse(url)
    return urlunparse(parts._replace(path="/" + database)), urlunparse(
        parts._replace(path="/postgres")
    )


def ensure_database(admin_url: str, database: str, *, drop: bool) -> bool:
    """Create ``database`` when missing (drop it first with ``drop``); True if created."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists and drop:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            return True
    return False


def configure(url: str) -> None:
    """Django on ``url``, without a broker or a shared cache."""
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_URL"] = ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sqi.settings")
    sys.path.insert(0, str(BASE_DIR))

    import django

    django.setup()


@contextmanager
def throwaway_database(prefix: str, tmpdir: str):
    """Django's database for one benchmark run, yielding its name.

    On PostgreSQL a database of its own, ``<prefix>_<pid>`` (never ``test_<name>``, which may
    belong to a pytest run at that very moment), created empty and migrated, and dropped
    afterwards; on SQLite the file the script configured inside ``tmpdir``, migrated. Either
    way ``tmpdir`` is removed at the end."""
    from django.core.management import call_command
    from django.db import connection

    postgres = connection.vendor == "postgresql"
    old_name = connection.settings_dict["NAME"]
    try:
        if postgres:
            connection.settings_dict["TEST"]["NAME"] = f"{prefix}_{os.getpid()}"
            name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        else:
            call_command("migrate", verbosity=0, interactive=False)
            name = connection.settings_dict["NAME"]
        yield name
    finally:
        if postgres:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(tmpdir, ignore_errors=True)
