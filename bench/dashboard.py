"""Time the officer dashboard of a group's chief service officer on the large demo data set.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sqi_dev .venv/bin/python bench/dashboard.py \\
        [--database sqi_bench_dashboard] [--requests 200] [--period quarter|month|year] \\
        [--rebuild]

PostgreSQL only (it refuses SQLite): the target is about a production-sized database. The
data lives in a database of its own on the same server (``sqi_bench_dashboard`` by
default), created, migrated and filled with ``manage.py seed_demo --size large`` (about
1,000,000 complaints; about 4.5 minutes) when missing, and reused on later runs: a marker
table records the size and the day it was built on (the demo's complaints run up to that day,
so the dashboard is asked "as of" it). ``--rebuild`` drops and rebuilds it. Migrations run on
every start (a no-op when none is new), and the dashboard's summary tables are rebuilt when
they are empty or ``--refresh-summaries`` is given. The developer's own database is never
written.

Then, as the demo's group chief (``demo_chief``), the dashboard is requested ``--requests``
times (after five warm-up requests):

- through Django's test client, ``GET /dashboard/`` with the period's filters, when the
  page exists (``sqi.views_dashboard``);
- otherwise by calling ``sqi.dashboard.dashboard(...)`` and serialising the result to JSON
  (a stand-in for the template), and it says so.

Server time is measured around each request (or call); the query count is that of one
request. The last line is for scripts:

    dashboard p50_ms=<x> p95_ms=<x> max_ms=<x> queries=<n>
"""

import argparse
import datetime
import json
import statistics
import time

from scratch_db import bench_url, configure, ensure_database  # bench/scratch_db.py

MARKER = "bench_dashboard_marker"
SIZE = "large"


def marker(cursor) -> tuple | None:
    cursor.execute("SELECT to_regclass(%s)", [MARKER])
    if cursor.fetchone()[0] is None:
        return None
    cursor.execute(f"SELECT size, built_on FROM {MARKER}")  # noqa: S608
    return cursor.fetchone()


def build() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    started = time.perf_counter()
    call_command("seed_demo", size=SIZE, seed=1)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {MARKER} (size text, built_on date)")
        cursor.execute(
            f"INSERT INTO {MARKER} VALUES (%s, %s)",  # noqa: S608
            [SIZE, timezone.localdate()],
        )
        for table in ("complaints_complaint", "complaints_event", "cases_mediationcase"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"built in {time.perf_counter() - started:.0f} s")


def refresh_summaries(force: bool) -> None:
    """Fill the dashboard's summary tables when there are any and they are empty."""
    try:
        from complaints import summaries
    except ImportError:
        return
    if force or not summaries.summaries_present():
        started = time.perf_counter()
        rows = summaries.summaries_rebuild()
        print(f"summary tables rebuilt: {rows:,} rows in {time.perf_counter() - started:.1f} s")


def period_params(kind: str) -> dict[str, str]:
    """The page's query for the last full period of ``kind`` (no query: the page's default,
    the last full calendar month)."""
    return {} if kind == "default" else {"period": kind}


def last_full(kind: str, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The last full calendar month, quarter, half-year or year before ``today``."""
    months = {"default": 1, "month": 1, "quarter": 3, "half": 6, "year": 12}[kind]
    index = today.year * 12 + today.month - 1
    index -= index % months  # the start of the running period
    end_index = index - 1
    start_index = index - months
    start = datetime.date(start_index // 12, start_index % 12 + 1, 1)
    end_first = datetime.date(end_index // 12, end_index % 12 + 1, 1)
    end = (end_first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return start, end


def page_exists() -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve("/dashboard/")
    except Resolver404:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqi_bench_dashboard")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--period", default="default", choices=["default", "month", "quarter", "half", "year"]
    )
    parser.add_argument("--user", default="demo_chief", help="a group's chief service officer")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the data")
    parser.add_argument("--refresh-summaries", action="store_true")
    parser.add_argument("--direct", action="store_true", help="time the selector, not the page")
    parser.add_argument(
        "--live", action="store_true", help="ignore the summary tables (read everything live)"
    )
    args = parser.parse_args()

    url, admin_url = bench_url(args.database, "bench/dashboard.py")
    created = ensure_database(admin_url, args.database, drop=args.rebuild)
    configure(url)
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        found = None if created else marker(cursor)
    call_command("migrate", verbosity=0, interactive=False)
    if found is None:
        print(f"database {args.database}: seed_demo --size {SIZE} …")
        build()
        with connection.cursor() as cursor:
            found = marker(cursor)
    else:
        print(f"database {args.database}: reusing the {found[0]} demo built on {found[1]}")
    refresh_summaries(args.refresh_summaries)
    today = found[1]

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    from complaints.models import Complaint
    from insurers.models import ServiceOfficer
    from sqi.dashboard import DashboardFilters, dashboard

    user = get_user_model().objects.get(username=args.user)
    unit = ServiceOfficer.objects.get(user=user, ended__isnull=True).org_unit
    params = period_params(args.period)
    start, end = last_full(args.period, today)
    in_scope = Complaint.objects.filter(org_unit__path__startswith=unit.path)
    print(
        f"{args.user}, {unit.name}: {in_scope.count():,} complaints in scope, "
        f"{in_scope.filter(received_on__gte=start, received_on__lte=end).count():,} "
        f"received {start}…{end}"
    )

    import time_machine

    from complaints import summaries
    from sqi import dashboard as dashboard_module

    if args.live:
        dashboard_module.summaries_trusted = lambda: False
    source = "live" if args.live or not summaries.summaries_trusted() else "summary tables"
    print(f"figures read from: {source}")

    # The demo runs up to the day it was built: ask as of that day (noon, Shanghai).
    moment = datetime.datetime.combine(today, datetime.time(12), tzinfo=datetime.UTC)
    traveller = time_machine.travel(moment - datetime.timedelta(hours=8), tick=True)
    traveller.start()
    use_page = page_exists() and not args.direct
    if use_page:
        client = Client()
        client.force_login(user)

        def once():
            response = client.get("/dashboard/", params)
            assert response.status_code == 200, response.status_code
            return response

        print("timing GET /dashboard/ through Django's test client (server time)")
    else:
        filters = DashboardFilters(start=start, end=end)

        def once():
            data = dashboard(unit=unit, filters=filters, today=today)
            return json.dumps(data, default=str)

        print(
            "--direct, or the page (sqi.views_dashboard, /dashboard/) is not there: timing "
            "sqi.dashboard.dashboard(...) + JSON serialisation instead"
        )
    for _ in range(5):
        once()
    queries = []

    def record(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append({"time": time.perf_counter() - started, "sql": sql})

    with connection.execute_wrapper(record):
        once()
    timings = []
    for _ in range(args.requests):
        started = time.perf_counter()
        once()
        timings.append((time.perf_counter() - started) * 1000)
    traveller.stop()
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
    slowest = sorted(((q["time"], q["sql"][:160]) for q in queries), reverse=True)[:5]
    print("slowest queries of one request (s, sql):")
    for seconds, sql in slowest:
        print(f"  {seconds * 1000:7.1f} ms  {sql}")
    print(
        f"dashboard p50_ms={p50:.1f} p95_ms={p95:.1f} max_ms={timings[-1]:.1f} "
        f"queries={len(queries)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
