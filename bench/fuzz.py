"""The long API fuzz: schemathesis against /api/schema/, many examples per operation.

    .venv/bin/python bench/fuzz.py [--examples 200] [--only /api/v1/complaints/] [--shrink]

The same harness as ``tests/security/test_api_fuzz.py`` (``tests/security/fuzzing.py``),
which runs a few examples per operation in ``make test``: every operation of the schema the
project serves, valid requests anonymous and as each role (consumer-protection staff,
service officer, mediator, index administrator, superuser, a user without a role), invalid
ones as the roles that get past the permission checks; each example in a savepoint rolled
back afterwards. Checks: no 5xx, documented status code and content type, and a body that
matches the schema. ``--examples`` counts per operation, role and mode: seven roles send
valid requests and three invalid ones, so an operation gets ten times as many requests.

Without ``DATABASE_URL`` it migrates a fresh SQLite file in a temporary directory; with a
PostgreSQL ``DATABASE_URL`` it creates a throwaway database ``sqi_bench_fuzz_<pid>`` on that
server and drops it afterwards. The developer's own database is never written. It prints
every failure, then one line per operation and, last:

    fuzz operations=<n> examples=<n> failures=<n> server_errors=<n>

Exits 1 when anything failed.
"""

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def configure(tmpdir: str) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url or url.startswith("sqlite"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tmpdir}/fuzz.sqlite3"
    os.environ["REDIS_URL"] = ""  # tasks run in-process; nothing needs a broker
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sqi.settings")
    sys.path.insert(0, str(BASE_DIR))

    import django

    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples",
        type=int,
        default=200,
        help="examples per operation, role and mode (an operation gets ten times as many)",
    )
    parser.add_argument("--only", help="only operations whose 'METHOD /path' contains this")
    parser.add_argument("--shrink", action="store_true", help="shrink failing examples (slow)")
    args = parser.parse_args()

    tmpdir = tempfile.mkdtemp(prefix="sqi-fuzz-")
    configure(tmpdir)
    from django.conf import settings
    from django.db import connection, transaction

    from tests.security.fuzzing import fuzz

    # What the test settings do: fast password hashing (the world makes a dozen users), and
    # the anonymous throttle out of the way of thousands of anonymous requests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.API_ANON_RATE = None
    # Every 4xx is logged as a warning; a 5xx is caught by the harness with its traceback.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    from scratch_db import throwaway_database  # bench/scratch_db.py

    started = time.perf_counter()

    def progress(label, report):
        print(
            f"{time.perf_counter() - started:7.1f}s {label:<64} examples={report.examples} "
            f"failures={len(report.failures)}",
            flush=True,
        )

    with throwaway_database("sqi_bench_fuzz", tmpdir) as name:
        print(f"database: {connection.vendor} {name}; {args.examples} examples per role and mode")
        with transaction.atomic():
            report = fuzz(
                examples=args.examples, only=args.only, shrink=args.shrink, progress=progress
            )
            transaction.set_rollback(True)

    for failure in report.failures:
        print(f"\nFAILED {failure}")
    if report.unsatisfiable:
        print(f"\nno invalid request could be made for: {', '.join(report.unsatisfiable)}")
    statuses = " ".join(f"{code}:{n}" for code, n in sorted(report.statuses.items()))
    print(f"\nstatus codes {statuses}; {time.perf_counter() - started:.1f} s")
    print(report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
