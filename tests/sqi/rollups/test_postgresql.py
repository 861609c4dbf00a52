"""The rollups on PostgreSQL: the hand-counted figures, the period lock, and query plans that
use the date indexes of the raw claims. (The other modules here pass on either database;
these tests need PostgreSQL and say so.)"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sqi.models import Period
from sqi.rollups import (
    claim_rollup_statements,
    complaint_rollup_statements,
    rollup_claim_statistics,
    rollup_complaint_statistics,
)

from .conftest import claim_figures, complaint_counts
from .test_claim_rollup import EXPECTED as CLAIMS
from .test_complaint_rollup import EXPECTED as COMPLAINTS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def plan(sql: str, params: dict) -> str:
    """The plan of ``sql`` with sequential scans forbidden (tiny tables are otherwise always
    scanned whole, which says nothing about the large ones)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_hand_counted_rollups_on_postgresql(tree, complaints, claims):
    assert connection.vendor == "postgresql"
    with CaptureQueriesContext(connection) as ctx:
        for code in COMPLAINTS:
            rollup_complaint_statistics(period=code)
            rollup_claim_statistics(period=code)
    locks = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    assert len(locks) == 2 * len(COMPLAINTS) and all("FOR UPDATE" in q for q in locks)
    for code in COMPLAINTS:
        assert complaint_counts(tree, code) == COMPLAINTS[code], code
        assert claim_figures(tree, code) == CLAIMS[code], code


def test_claim_rollup_reads_both_date_indexes(claims):
    aggregate, params = claim_rollup_statements(Period.objects.get(code="2025"))[0]
    explained = plan(aggregate, params)
    # e.g. BitmapOr → Bitmap Index Scan on rawclaim_report_date (Index Cond: report_date >=
    # '2025-01-01' AND report_date <= '2025-12-31') and on rawclaim_close_date likewise.
    assert "Seq Scan on sqi_rawclaim" not in explained, explained
    assert "BitmapOr" in explained, explained
    assert "Bitmap Index Scan on rawclaim_report_date" in explained, explained
    assert "Bitmap Index Scan on rawclaim_close_date" in explained, explained
    assert "Aggregate" in explained, explained


def test_complaint_rollup_is_one_grouped_scan(complaints):
    aggregate, params = complaint_rollup_statements(Period.objects.get(code="2025"))[0]
    explained = plan(aggregate, params)
    lines = explained.splitlines()
    table = [line for line in lines if "Scan" in line and "complaints_complaint" in line]
    assert len(table) == 1, explained  # one pass over the complaints, whatever their number
    assert "Aggregate" in explained, explained


def test_the_aggregate_may_run_in_parallel_workers(claims):
    """Why the rollups aggregate into a temporary table: an INSERT never gets parallel
    workers, CREATE TABLE … AS may. Forced here (the tables are tiny): the plan gets a
    Gather node, which PostgreSQL only adds to statements that parallel workers may run."""
    aggregate, params = claim_rollup_statements(Period.objects.get(code="2025"))[0]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
        forced = "debug_parallel_query" if major >= 16 else "force_parallel_mode"
        cursor.execute(f"SET LOCAL {forced} = on")
        cursor.execute(f"EXPLAIN {aggregate}", params)
        explained = "\n".join(row[0] for row in cursor.fetchall())
    assert "Gather" in explained, explained
