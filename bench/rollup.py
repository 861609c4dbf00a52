"""Time the statistics rollups and the index on a million complaints and five million claims.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sqi_dev .venv/bin/python bench/rollup.py \\
        [--database sqi_bench] [--complaints 1000000] [--claims 5000000] [--insurers 150] \\
        [--period 2025] [--repeat 3] [--rebuild]

PostgreSQL only (it refuses SQLite): the rollups are meant for the production database. The
data lives in a database of its own on the same server (``sqi_bench`` by default), created
and migrated when missing and reused on later runs — a marker table records what was built,
and a run asking for other sizes (or ``--rebuild``) drops and rebuilds it. The developer's
own database is never written.

Building is set-based: insurers and their head offices through ``insurers.services`` (150
rows), then complaints and raw claims with ``INSERT … SELECT … FROM generate_series`` in
chunks of a million, every value a deterministic hash of the row number (so a rebuild
makes the same rows), and statistics (premium, policies, surrenders) for the index lines of
the period and the year before. The previous year is rolled up once while building, so the
year-on-year indicators have their inputs.

Then, in one run and ``--repeat`` times each (the median counts), for one annual period:

- ours: ``sqi.rollups.rollup_complaint_statistics`` + ``rollup_claim_statistics`` and the
  index (``sqi.runs.index_run_execute`` for every peer group, not published);
- sql: one hand-written ``SELECT … GROUP BY`` per table producing the same aggregates,
  rows fetched;
- pandas: the same rows read through ``COPY … TO STDOUT`` into ``pandas.read_csv`` and
  aggregated with ``groupby``.

The three results are checked to agree, and the last line is for scripts:

    rollup ours_s=<t> sql_s=<t> pandas_s=<t> ratio_sql=<ours/sql> ratio_pandas=<ours/pandas>
"""

import argparse
import io
import statistics
import sys
import time

from scratch_db import bench_url, configure, ensure_database  # bench/scratch_db.py

CHUNK = 1_000_000
MARKER = "bench_rollup_marker"
MAP = "bench_rollup_insurer"  # n (0…insurers-1) → insurer, head office, licence
KIND_ZH = {"property": "财产", "life": "人寿", "health": "健康"}
LICENCE_SHARES = (("property", 0.40), ("life", 0.53), ("health", 0.07))  # like the large demo

# u(g, salt): a deterministic pseudo-random number in [0, 1) for row g.
U = "((hashint8extended({g}::bigint, {salt}) & 9007199254740991)::float8 / 9007199254740992.0)"


def u(salt: int, g: str = "g") -> str:
    return U.format(g=g, salt=salt)


def marker(cursor) -> tuple | None:
    cursor.execute("SELECT to_regclass(%s)", [MARKER])
    if cursor.fetchone()[0] is None:
        return None
    cursor.execute(f"SELECT complaints, claims, insurers, year FROM {MARKER}")  # noqa: S608
    return cursor.fetchone()


# --- building ------------------------------------------------------------------------------


def build_insurers(count: int) -> None:
    """``count`` insurers (property, life and health, in the large demo's proportions), each
    with a head office, and the lookup table the generators join on."""
    import datetime

    from django.db import connection

    from insurers import services
    from insurers.credit_code import check_character
    from insurers.models import Level

    rows = []
    kinds = [(kind, round(count * share)) for kind, share in LICENCE_SHARES]
    kinds[0] = (kinds[0][0], count - sum(n for _k, n in kinds[1:]))
    n = 0
    for licence, how_many in kinds:
        for _ in range(how_many):
            body = f"91310000{n + 1:09d}"
            insurer = services.insurer_create(
                name_zh=f"基准{n:03d}号{KIND_ZH[licence]}保险股份有限公司",
                short_name=f"基准{n:03d}",
                licence_type=licence,
                credit_code=body + check_character(body),
                established=datetime.date(2010, 1, 1),
            )
            head = services.org_unit_create(
                name=f"基准{n:03d}总公司", level=Level.HEAD_OFFICE, insurer=insurer
            )
            rows.append((n, insurer.pk, head.pk, licence))
            n += 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {MAP} (n int PRIMARY KEY, insurer_id bigint, "
            "org_unit_id bigint, licence text)"
        )
        cursor.executemany(f"INSERT INTO {MAP} VALUES (%s, %s, %s, %s)", rows)  # noqa: S608


def pick_insurer(salt: int, count: int) -> str:
    """An insurer number, skewed: a few large insurers, many small ones."""
    return f"LEAST({count - 1}, floor({count} * power({u(salt)}, 2))::int)"


def line_case(salt: int, lines: dict[str, list[tuple[str, float]]]) -> str:
    """product_line by licence, from cumulative shares."""
    out = ["CASE m.licence"]
    for licence, shares in lines.items():
        branches, cum = [], 0.0
        for line, share in shares[:-1]:
            cum += share
            branches.append(f"WHEN {u(salt)} < {cum} THEN '{line}'")
        out.append(f"WHEN '{licence}' THEN CASE {' '.join(branches)} ELSE '{shares[-1][0]}' END")
    return " ".join(out) + " END"


COMPLAINT_LINES = {
    "property": [("motor", 0.6), ("home", 0.1), ("commercial_property", 0.1), ("liability", 0.1),
                 ("health", 0.1)],
    "life": [("life", 0.55), ("accident", 0.15), ("health", 0.30)],
    "health": [("health", 0.8), ("accident", 0.2)],
}  # fmt: skip
CLAIM_LINES = {
    "property": [("motor", 0.7), ("home", 0.08), ("commercial_property", 0.07),
                 ("liability", 0.05), ("health", 0.1)],
    "life": [("health", 0.6), ("accident", 0.25), ("life", 0.15)],
    "health": [("health", 0.85), ("accident", 0.15)],
}  # fmt: skip
STATUSES = [  # the states of the large demo, roughly: most complaints are closed
    ("received", 0.03),
    ("declined", 0.05),
    ("accepted", 0.04),
    ("investigating", 0.05),
    ("extended", 0.02),
    ("decided", 0.10),
    ("escalated", 0.03),
    ("under_review", 0.02),
    ("closed", 0.66),
]


def complaints_sql(lo: int, hi: int, insurers: int, year: int) -> str:
    """Complaints ``lo``…``hi`` received over the two years before the end of ``year``."""
    status, cum = [], 0.0
    for name, share in STATUSES[:-1]:
        cum += share
        status.append(f"WHEN {u(13)} < {cum} THEN '{name}'")
    status_case = f"CASE {' '.join(status)} ELSE '{STATUSES[-1][0]}' END"
    return f"""
        INSERT INTO complaints_complaint (
            reference, insurer_id, org_unit_id, product_line, category, subcategory, channel,
            narrative, complainant_name, complainant_phone, id_number_encrypted,
            id_number_hash, id_number_masked, is_elder, status, received_at, received_on,
            extensions, due_date, accepted_at, decline_reason, decision, reply, satisfaction,
            created, updated
        )
        SELECT 'BM' || lpad(g::text, 10, '0'), m.insurer_id, m.org_unit_id,
               {line_case(12, COMPLAINT_LINES)}, 'claims', 'claim_delay', 'hotline',
               '基准测试投诉：理赔迟迟没有结果。（基准数据）', '基准', '13800000000',
               'gAAAAABbench-dummy-ciphertext-not-a-real-token', '', '', {u(14)} < 0.2,
               s.status, s.at, (s.at AT TIME ZONE 'Asia/Shanghai')::date, 0,
               (s.at AT TIME ZONE 'Asia/Shanghai')::date + 15,
               CASE WHEN s.status IN ('received', 'declined') THEN NULL
                    ELSE s.at + interval '1 day' END,
               CASE WHEN s.status = 'declined' THEN 'duplicate' ELSE '' END, '', '', '',
               s.at, s.at
        FROM generate_series({lo}, {hi}) AS g
        JOIN {MAP} m ON m.n = {pick_insurer(11, insurers)}
        CROSS JOIN LATERAL (
            SELECT {status_case} AS status,
                   timestamptz '{year - 1}-01-01 00:00:00+08'
                     + {u(15)} * interval '{731 if (year - 1) % 4 == 0 else 730} days' AS at
        ) s
    """  # noqa: S608 - our own numbers and names


def claims_sql(lo: int, hi: int, insurers: int, year: int) -> str:
    """Raw claims ``lo``…``hi``: incidents from two months before the previous year to the
    end of ``year``; 1.5 % still open, 6 % declined, the rest paid."""
    return f"""
        INSERT INTO sqi_rawclaim (
            insurer_id, claim_no, product_line, incident_date, report_date, close_date,
            outcome, amount_cny, days_to_payment
        )
        SELECT m.insurer_id, 'BC' || lpad(g::text, 10, '0'), {line_case(22, CLAIM_LINES)},
               c.incident, c.report, c.close, c.outcome,
               CASE WHEN c.outcome = 'paid' THEN round((300 + {u(26)} * 30000)::numeric, 2) END,
               CASE WHEN c.outcome = 'paid' THEN c.close - c.incident END
        FROM generate_series({lo}, {hi}) AS g
        JOIN {MAP} m ON m.n = {pick_insurer(21, insurers)}
        CROSS JOIN LATERAL (
            SELECT d.incident, d.report, d.outcome,
                   CASE WHEN d.outcome = 'open' THEN NULL
                        ELSE d.report + 1 + floor(power({u(25)}, 2) * 60)::int END AS close
            FROM (
                SELECT i.incident, i.incident + floor(power({u(24)}, 3) * 20)::int AS report,
                       CASE WHEN {u(27)} < 0.015 THEN 'open'
                            WHEN {u(27)} < 0.075 THEN 'declined' ELSE 'paid' END AS outcome
                FROM (SELECT date '{year - 2}-11-01'
                             + floor({u(23)} * (date '{year}-12-31' - date '{year - 2}-11-01'))::int
                             AS incident) i
            ) d
        ) c
    """  # noqa: S608 - our own numbers and names


INDEX_LINES_SQL = {
    "property": ["motor"],
    "life": ["life", "accident", "health"],
    "health": ["life", "accident", "health"],
}


def statistics_sql(period_id: int, salt: int, share: float) -> str:
    """Premium, policies and surrenders for every bench insurer's index lines."""
    values = ", ".join(
        f"('{licence}', '{line}')" for licence, lines in INDEX_LINES_SQL.items() for line in lines
    )
    per_policy = "CASE l.line WHEN 'motor' THEN 3500 WHEN 'life' THEN 6500 ELSE 900 END"
    return f"""
        INSERT INTO sqi_operatingstatistic (
            insurer_id, period_id, product_line, premium_cny, policies_in_force,
            insured_persons, surrenders, surrender_amount_cny, source, updated
        )
        SELECT m.insurer_id, {period_id}, l.line, p.premium, p.policies,
               round(p.policies * 1.2), round(p.policies * 0.02), round(p.policies * 0.02) * 9000,
               'import', now()
        FROM {MAP} m
        JOIN (VALUES {values}) AS l(licence, line) ON l.licence = m.licence
        CROSS JOIN LATERAL (
            SELECT round(((1e9 + {u(salt, "m.n * 10 + length(l.line)")} * 4e10) * {share}
                          )::numeric, 2) AS premium,
                   round((1e9 + {u(salt + 1, "m.n * 10 + length(l.line)")} * 4e10)
                         / {per_policy}) AS policies
        ) p
    """  # noqa: S608 - our own numbers and names


def build(args) -> None:
    from django.db import connection

    from sqi.models import Period
    from sqi.rollups import rollup_claim_statistics, rollup_complaint_statistics

    started = time.perf_counter()
    build_insurers(args.insurers)
    periods = {code: Period.objects.get_or_create(code=code)[0] for code in args.codes}
    with connection.cursor() as cursor:
        for kind, total, make in (
            ("complaints", args.complaints, complaints_sql),
            ("raw claims", args.claims, claims_sql),
        ):
            for lo in range(1, total + 1, CHUNK):
                hi = min(total, lo + CHUNK - 1)
                cursor.execute(make(lo, hi, args.insurers, args.year))
                print(f"  {kind} {hi:,} of {total:,} ({time.perf_counter() - started:.0f} s)")
        for n, period in enumerate(periods.values()):
            cursor.execute(statistics_sql(period.pk, 31 + 2 * n, 1.0 if n else 0.93))
        # The previous year's figures, for the year-on-year indicators (not timed).
        rollup_complaint_statistics(period=args.codes[0])
        rollup_claim_statistics(period=args.codes[0])
        cursor.execute(
            f"CREATE TABLE {MARKER} (complaints bigint, claims bigint, insurers int, year int, "
            "built timestamptz DEFAULT now())"
        )
        cursor.execute(
            f"INSERT INTO {MARKER} (complaints, claims, insurers, year) "  # noqa: S608
            "VALUES (%s, %s, %s, %s)",
            [args.complaints, args.claims, args.insurers, args.year],
        )
    vacuum()
    print(f"built in {time.perf_counter() - started:.0f} s")


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        for table in ("complaints_complaint", "sqi_rawclaim", "sqi_operatingstatistic"):
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- the three ways ------------------------------------------------------------------------

NOT_ACCEPTED = ("received", "declined")


def ours(code: str, runs_module) -> tuple[dict, dict]:
    """Our rollups and the index; returns (seconds by part, aggregates read back)."""
    from sqi.models import ComplaintStatistic, OperatingStatistic, PeerGroup, RunStatus
    from sqi.rollups import rollup_claim_statistics, rollup_complaint_statistics

    spent = {}
    start = time.perf_counter()
    rollup_complaint_statistics(period=code)
    spent["complaints"] = time.perf_counter() - start
    start = time.perf_counter()
    rollup_claim_statistics(period=code)
    spent["claims"] = time.perf_counter() - start
    if runs_module is not None:
        start = time.perf_counter()
        for group in PeerGroup.values:
            run = runs_module.index_run_execute(period=code, peer_group=group, publish=False)
            assert run.status == RunStatus.VALIDATED, (group, run.error)
        spent["index"] = time.perf_counter() - start
    complaints = {
        (r[0], r[1]): (r[2], r[3])
        for r in ComplaintStatistic.objects.filter(period__code=code).values_list(
            "insurer_id", "product_line", "complaints", "elder_complaints"
        )
    }
    claims = {
        (r[0], r[1]): tuple(r[2:])
        for r in OperatingStatistic.objects.filter(
            period__code=code, claims_reported__isnull=False
        ).values_list(
            "insurer_id",
            "product_line",
            "claims_reported",
            "claims_closed",
            "claims_paid",
            "claims_declined",
            "payment_days_total",
        )
    }
    return spent, {"complaints": complaints, "claims": claims}


COMPLAINTS_GROUP_BY = """
    SELECT insurer_id, product_line, count(*), count(*) FILTER (WHERE is_elder)
    FROM complaints_complaint
    WHERE received_on BETWEEN %(start)s AND %(end)s AND status NOT IN ('received', 'declined')
    GROUP BY insurer_id, product_line
"""
CLAIMS_GROUP_BY = """
    SELECT insurer_id, product_line,
           count(*) FILTER (WHERE report_date BETWEEN %(start)s AND %(end)s),
           count(*) FILTER (WHERE close_date BETWEEN %(start)s AND %(end)s),
           count(*) FILTER (WHERE close_date BETWEEN %(start)s AND %(end)s AND outcome = 'paid'),
           count(*) FILTER (WHERE close_date BETWEEN %(start)s AND %(end)s
                            AND outcome = 'declined'),
           coalesce(sum(days_to_payment) FILTER (WHERE close_date BETWEEN %(start)s AND %(end)s
                                                 AND outcome = 'paid'), 0)
    FROM sqi_rawclaim
    WHERE report_date BETWEEN %(start)s AND %(end)s OR close_date BETWEEN %(start)s AND %(end)s
    GROUP BY insurer_id, product_line
"""


def by_sql(bounds: dict) -> tuple[dict, dict]:
    from django.db import connection

    spent = {}
    with connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute(COMPLAINTS_GROUP_BY, bounds)
        complaints = {(r[0], r[1]): (r[2], r[3]) for r in cursor.fetchall()}
        spent["complaints"] = time.perf_counter() - start
        start = time.perf_counter()
        cursor.execute(CLAIMS_GROUP_BY, bounds)
        claims = {(r[0], r[1]): tuple(r[2:]) for r in cursor.fetchall()}
        spent["claims"] = time.perf_counter() - start
    return spent, {"complaints": complaints, "claims": claims}


def copy_frame(sql: str, bounds: dict, names: list[str], dtypes: dict):
    """Rows of ``sql`` through COPY into a DataFrame."""
    import pandas as pd
    from django.db import connection

    connection.ensure_connection()
    buffer = io.BytesIO()
    statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
    with connection.connection.cursor() as cursor, cursor.copy(statement, bounds) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    return pd.read_csv(buffer, names=names, dtype=dtypes, engine="c")


def by_pandas(bounds: dict) -> tuple[dict, dict]:
    import pandas as pd

    spent = {}
    start = time.perf_counter()
    frame = copy_frame(
        "SELECT insurer_id, product_line, status, is_elder FROM complaints_complaint "
        "WHERE received_on BETWEEN %(start)s AND %(end)s",
        bounds,
        ["insurer_id", "product_line", "status", "is_elder"],
        {"insurer_id": "int64", "product_line": "category", "status": "category"},
    )
    frame["is_elder"] = frame["is_elder"] == "t"
    accepted = frame[~frame["status"].isin(NOT_ACCEPTED)]
    grouped = accepted.groupby(["insurer_id", "product_line"], observed=True)["is_elder"].agg(
        ["size", "sum"]
    )
    complaints = {key: (int(n), int(e)) for key, n, e in grouped.itertuples(name=None)}
    spent["complaints"] = time.perf_counter() - start

    start = time.perf_counter()
    frame = copy_frame(
        "SELECT insurer_id, product_line, report_date, close_date, outcome, days_to_payment "
        "FROM sqi_rawclaim WHERE report_date BETWEEN %(start)s AND %(end)s "
        "OR close_date BETWEEN %(start)s AND %(end)s",
        bounds,
        ["insurer_id", "product_line", "report_date", "close_date", "outcome", "days"],
        {"insurer_id": "int64", "product_line": "category", "outcome": "category"},
    )
    first, last = pd.Timestamp(bounds["start"]), pd.Timestamp(bounds["end"])
    report = pd.to_datetime(frame["report_date"], format="%Y-%m-%d")
    close = pd.to_datetime(frame["close_date"], format="%Y-%m-%d")
    closed = close.between(first, last)
    paid = closed & (frame["outcome"] == "paid")
    parts = pd.DataFrame(
        {
            "insurer_id": frame["insurer_id"],
            "product_line": frame["product_line"],
            "reported": report.between(first, last),
            "closed": closed,
            "paid": paid,
            "declined": closed & (frame["outcome"] == "declined"),
            "days": frame["days"].where(paid, 0).fillna(0).astype("int64"),
        }
    )
    grouped = parts.groupby(["insurer_id", "product_line"], observed=True).sum()
    claims = {key: tuple(int(v) for v in values) for key, *values in grouped.itertuples(name=None)}
    spent["claims"] = time.perf_counter() - start
    return spent, {"complaints": complaints, "claims": claims}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqi_bench")
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=5_000_000)
    parser.add_argument("--insurers", type=int, default=150)
    parser.add_argument("--period", type=int, default=2025, help="the annual period timed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the data")
    args = parser.parse_args()
    args.year = args.period
    args.codes = [str(args.period - 1), str(args.period)]

    url, admin_url = bench_url(args.database, "bench/rollup.py")
    created = ensure_database(admin_url, args.database, drop=args.rebuild)
    configure(url)
    from django.core.management import call_command
    from django.db import connection

    wanted = (args.complaints, args.claims, args.insurers, args.year)
    with connection.cursor() as cursor:
        found = None if created else marker(cursor)
    if not created and found != wanted:
        print(f"database {args.database}: found {found}, want {wanted}: rebuilding")
        connection.close()
        ensure_database(admin_url, args.database, drop=True)
        created = True
    if created:
        print(f"database {args.database}: migrating and building {wanted[:3]} …")
        call_command("migrate", verbosity=0, interactive=False)
        build(args)
    else:
        print(f"database {args.database}: reusing {args.complaints:,} complaints, "
              f"{args.claims:,} raw claims, {args.insurers} insurers")  # fmt: skip

    try:
        from sqi import runs as runs_module

        runs_module.index_run_execute  # noqa: B018 - present?
    except (ImportError, AttributeError):
        runs_module = None
        print("sqi.runs.index_run_execute is not there yet: ours times the rollups only")

    from sqi.models import Period

    code = str(args.period)
    period = Period.objects.get(code=code)
    bounds = {"start": period.start, "end": period.end}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM complaints_complaint WHERE received_on BETWEEN %(start)s "
            "AND %(end)s AND status NOT IN ('received', 'declined')",
            bounds,
        )
        accepted = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM sqi_rawclaim WHERE report_date BETWEEN %(start)s AND %(end)s "
            "OR close_date BETWEEN %(start)s AND %(end)s",
            bounds,
        )
        claims = cursor.fetchone()[0]
    print(f"period {code}: {accepted:,} accepted complaints, {claims:,} raw claims in it")

    # Warm up (caches, plans, the first write of the period's rows), then time in turns.
    by_sql(bounds)
    ours(code, runs_module)
    timings: dict[str, list[dict]] = {"ours": [], "sql": [], "pandas": []}
    results = {}
    for _ in range(args.repeat):
        spent, results["ours"] = ours(code, runs_module)
        timings["ours"].append(spent)
        spent, results["sql"] = by_sql(bounds)
        timings["sql"].append(spent)
        spent, results["pandas"] = by_pandas(bounds)
        timings["pandas"].append(spent)
    for what in ("complaints", "claims"):
        assert results["ours"][what] == results["sql"][what], f"ours and sql differ on {what}"
        assert results["pandas"][what] == results["sql"][what], f"pandas and sql differ on {what}"
    keys = {what: len(results["sql"][what]) for what in ("complaints", "claims")}
    print(
        f"agree: {keys['complaints']} complaint keys, {keys['claims']} claim keys "
        "(insurer × product line), same figures three ways"
    )

    def median(way: str, part: str | None = None) -> float:
        return statistics.median(
            (t[part] if part else sum(t.values())) for t in timings[way] if not part or part in t
        )

    totals = {way: median(way) for way in timings}
    parts = {
        way: ", ".join(f"{part} {median(way, part):.3f}" for part in timings[way][0])
        for way in timings
    }
    index_note = "" if runs_module else " (index not timed: sqi.runs missing)"
    print(f"ours:   {totals['ours']:.3f} s  ({parts['ours']}){index_note}")
    print(f"sql:    {totals['sql']:.3f} s  ({parts['sql']})")
    print(f"pandas: {totals['pandas']:.3f} s  ({parts['pandas']})")
    print(
        f"rollup ours_s={totals['ours']:.3f} sql_s={totals['sql']:.3f} "
        f"pandas_s={totals['pandas']:.3f} ratio_sql={totals['ours'] / totals['sql']:.3f} "
        f"ratio_pandas={totals['ours'] / totals['pandas']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
