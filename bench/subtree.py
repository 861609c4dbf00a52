"""Time the scope query: ``insurers.selectors.visible_units`` on a tree of about 2,000 units.

    .venv/bin/python bench/subtree.py [--runs 200] [--insurers 8] [--branches 16] [--subs 14]

Without ``DATABASE_URL`` it migrates a fresh SQLite file in a temporary directory; with a
PostgreSQL ``DATABASE_URL`` it creates a throwaway database ``sqi_bench_<pid>`` on that
server, as Django's test runner would, and drops it afterwards. The developer's own
database is never written. The tree is built through ``insurers.services`` so that it
has exactly the shape the product makes.

Each timed run is what one request pays for its scope: the user's roles and placements
are looked up afresh (the per-request cache is cleared) and the ids of every visible unit
are fetched; the subtree query alone (placements cached) is shown beside it. The users are
a group's chief service officer, a head-office and a branch staff member. The last line,
over all three users' runs, is machine-readable:

    subtree units=<n> p50_ms=<x> p95_ms=<x>
"""

import argparse
import datetime
import os
import statistics
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


def build_tree(*, insurers: int, branches: int, subs: int):
    """Groups of three insurers (the rest standalone); every head office has ``branches``
    branches of ``subs`` central sub-branches each. Returns the units to time from."""
    from insurers import services
    from insurers.models import Level, LicenceType

    def code(n: int) -> str:
        from insurers.credit_code import check_character

        body = f"91310000{n:09d}"
        return body + check_character(body)

    grouped = insurers - insurers % 3 if insurers >= 3 else 0
    groups = [
        services.org_unit_create(name=f"集团{g:02d}", level=Level.GROUP)
        for g in range(grouped // 3)
    ]
    head_offices, first_branch = [], None
    for i in range(insurers):
        group = groups[i // 3] if i < grouped else None
        insurer = services.insurer_create(
            name_zh=f"基准{i:02d}号财产保险股份有限公司",
            short_name=f"基准{i:02d}",
            licence_type=LicenceType.PROPERTY,
            credit_code=code(i + 1),
            group=group,
            established=datetime.date(2010, 1, 1),
        )
        head = services.org_unit_create(
            name=f"基准{i:02d}总公司", level=Level.HEAD_OFFICE, insurer=insurer, parent=group
        )
        head_offices.append(head)
        for b in range(branches):
            branch = services.org_unit_create(
                name=f"分公司{b:03d}",
                level=Level.BRANCH,
                insurer=insurer,
                parent=head,
                region="310000",
            )
            first_branch = first_branch or branch
            for s in range(subs):
                services.org_unit_create(
                    name=f"中心支公司{s:03d}",
                    level=Level.SUB_BRANCH,
                    insurer=insurer,
                    parent=branch,
                    region="310100",
                )
    top = groups[0] if groups else head_offices[0]
    return {"group": top, "head_office": head_offices[-1], "branch": first_branch}


def make_users(units: dict):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from insurers import roles, services

    roles.sync_role_groups()
    users = {}
    for label, unit in units.items():
        user = get_user_model().objects.create_user(username=f"bench_{label}", password=None)
        if label == "group":  # the chief service officer (首席服务官)
            user.groups.add(Group.objects.get(name=roles.OFFICER))
            services.service_officer_appoint(
                user=user, org_unit=unit, appointed=datetime.date(2024, 1, 1)
            )
        else:
            user.groups.add(Group.objects.get(name=roles.STAFF))
            services.unit_membership_add(user=user, org_unit=unit)
        users[label] = user
    return users


def time_scope(user, runs: int, *, cold: bool, warmup: int = 5) -> tuple[int, list[float]]:
    """Milliseconds per ``visible_units`` fetch; ``cold`` clears the per-request cache first,
    so a run also pays for looking up the user's roles and placements (two more queries)."""
    from insurers.selectors import visible_units

    def once() -> int:
        if cold:
            for attr in ("_sqi_root_paths", "_sqi_roles"):  # a new request has neither
                user.__dict__.pop(attr, None)
        return len(list(visible_units(user=user).values_list("pk", flat=True)))

    for _ in range(warmup):
        once()
    timings, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        size = once()
        timings.append((time.perf_counter() - start) * 1000)
    return size, timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed runs per user")
    parser.add_argument("--insurers", type=int, default=8)
    parser.add_argument("--branches", type=int, default=16, help="branches per head office")
    parser.add_argument("--subs", type=int, default=14, help="sub-branches per branch")
    args = parser.parse_args()

    tmpdir = tempfile.mkdtemp(prefix="sqi-bench-")
    configure(tmpdir)
    from django.db import connection
    from scratch_db import throwaway_database  # bench/scratch_db.py

    from insurers.models import OrgUnit

    with throwaway_database("sqi_bench", tmpdir) as name:
        print(f"database: {connection.vendor} {name}")

        start = time.perf_counter()
        units = build_tree(insurers=args.insurers, branches=args.branches, subs=args.subs)
        total = OrgUnit.objects.count()
        print(f"built {total} units in {time.perf_counter() - start:.1f} s")
        users = make_users(units)

        print(f"runs={args.runs} per user; ms per visible_units(user=...) fetch of unit ids")
        head = ("user", "sees", "p50", "p95", "max", "query p50", "query p95")
        print("{:<12} {:>6} {:>7} {:>7} {:>7} | {:>9} {:>9}".format(*head))
        every: list[float] = []
        for label, user in users.items():
            size, timings = time_scope(user, args.runs, cold=True)
            _size, query = time_scope(user, args.runs, cold=False)
            every.extend(timings)
            print(
                f"{label:<12} {size:>6} {statistics.median(timings):>7.2f} "
                f"{p95(timings):>7.2f} {max(timings):>7.2f} | "
                f"{statistics.median(query):>9.2f} {p95(query):>9.2f}"
            )
        print(
            f"subtree units={total} p50_ms={statistics.median(every):.2f} p95_ms={p95(every):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
