"""Time ``manage.py seed_demo --size large`` on a scratch database and count what it wrote.

    .venv/bin/python bench/seed_demo.py [--size large] [--seed 1]

Without ``DATABASE_URL`` it migrates a fresh SQLite file in a temporary directory; with a
PostgreSQL ``DATABASE_URL`` it creates a throwaway database ``sqi_bench_demo_<pid>`` on that
server and drops it afterwards. The developer's own database is never written.

The timed part is the command alone (migrations excluded), exactly as a developer runs it:
the demo insurers, org trees and users, the complaints with their timelines, a mediation
case for every escalated complaint, and the showcase cases. The last
line is machine-readable:

    seed_demo size=large complaints=<n> seconds=<x>
"""

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def configure(tmpdir: str) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url or url.startswith("sqlite"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tmpdir}/bench.sqlite3"
    os.environ["REDIS_URL"] = ""  # nothing here needs a broker or a shared cache
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sqi.settings")
    sys.path.insert(0, str(BASE_DIR))

    import django

    django.setup()


def row_counts() -> dict[str, int]:
    from django.contrib.auth import get_user_model

    from cases.models import MediationCase, ShowcaseCase
    from complaints.models import Complaint, Event, Extension, Pause
    from insurers.models import Insurer, OrgUnit, ReceptionDay

    models = {
        "insurers": Insurer,
        "org units": OrgUnit,
        "users": get_user_model(),
        "reception days": ReceptionDay,
        "complaints": Complaint,
        "timeline events": Event,
        "pauses": Pause,
        "extensions": Extension,
        "mediation cases": MediationCase,
        "showcase cases": ShowcaseCase,
    }
    return {label: model.objects.count() for label, model in models.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=["small", "large"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    tmpdir = tempfile.mkdtemp(prefix="sqi-bench-demo-")
    configure(tmpdir)
    from django.core.management import call_command
    from django.db import connection
    from scratch_db import throwaway_database  # bench/scratch_db.py

    postgres = connection.vendor == "postgresql"
    with throwaway_database("sqi_bench_demo", tmpdir) as name:
        print(f"database: {connection.vendor} {name}")

        out = io.StringIO()
        start = time.perf_counter()
        call_command("seed_demo", "--size", args.size, "--seed", str(args.seed), stdout=out)
        seconds = time.perf_counter() - start
        for line in out.getvalue().splitlines():
            if line.startswith(("Demo data", "Demo complaints")):
                print(line)
        counts = row_counts()
        for label, n in counts.items():
            print(f"{label:<16} {n:>10,}")
        if not postgres:
            size = Path(name).stat().st_size
            print(f"{'database file':<16} {size / 1e6:>10,.0f} MB")
        print(f"seed_demo size={args.size} complaints={counts['complaints']} seconds={seconds:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
