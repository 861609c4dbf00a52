"""The statistics rollups: complaints and raw claim records turned into the index's inputs.

Each rollup is set-based: one aggregate query over its source table (``SELECT … GROUP BY``)
into a temporary table of a few hundred rows, upserted from there into the statistics table
(``INSERT … ON CONFLICT DO UPDATE``) — a constant number of statements whatever the number
of rows. Python never sees a complaint or a claim, so a period of a million complaints costs
what the database's GROUP BY costs (``bench/rollup.py`` times it against a bare GROUP BY
and against pandas).

Why the temporary table rather than one ``INSERT … SELECT``: PostgreSQL (up to 17 at
least) never runs any part of an ``INSERT`` in parallel workers, while ``CREATE TABLE … AS
SELECT`` may; on the benchmark's five million claims the aggregate then runs on every core
instead of one (``bench/README.md``).

Both rollups are idempotent and safe to retry (the Celery tasks are ``acks_late``): a run
makes the period's figures equal to a fresh aggregate of the source, so running twice gives
the same figures, and a source row that no longer qualifies drops out on the next run. Each
runs in one transaction holding a row lock on the period (``SELECT … FOR UPDATE`` on
PostgreSQL), so that a retry overlapping a nightly run waits instead of interleaving.

The SQL is written once for SQLite (3.24+, for upserts) and PostgreSQL: table and column
names come from the models' ``_meta``, every value is a query parameter.

Rollup writes are plain SQL, so ``OperatingStatistic``'s django-simple-history does not
record them; the ``updated`` time and ``source`` of a row say when the rollup last wrote it,
and every index run keeps the exact inputs it used (``IndexRun.inputs``).
"""

from __future__ import annotations

import datetime

from django.db import connection, transaction
from django.utils import timezone

from complaints.models import Complaint, Status

from .models import (
    ClaimOutcome,
    ComplaintStatistic,
    OperatingStatistic,
    Period,
    RawClaim,
    Source,
)

#: Complaint states that were never accepted: still waiting for acceptance, or declined
#: (不予受理). Every other state (accepted, investigating, extended, decided, closed,
#: escalated, under review) can only be reached through acceptance (see the transitions of
#: ``complaints.models.Complaint``), so "accepted" is "any state but these two".
NOT_ACCEPTED = (Status.RECEIVED, Status.DECLINED)

#: The claim figures of ``OperatingStatistic``: the claim rollup writes these.
CLAIM_COLUMNS = (
    "claims_reported",
    "claims_closed",
    "claims_paid",
    "claims_declined",
    "payment_days_total",
)

#: The temporary table each rollup aggregates into (dropped before the rollup returns).
AGGREGATE = "sqi_rollup_aggregate"

#: How long after its end a period is still rolled up every night: late complaints are
#: accepted and claims close well after the period they were reported in.
RECENT_DAYS = 366


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model) -> str:
    return _q(model._meta.db_table)


def _col(model, field: str) -> str:
    return _q(model._meta.get_field(field).column)


def _date(value: datetime.date):
    return connection.ops.adapt_datefield_value(value)


def _moment(value: datetime.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _locked_period(code: str) -> Period:
    """The period, locked for the rest of the transaction; a clear error when unknown."""
    try:
        return Period.objects.select_for_update().get(code=code)
    except Period.DoesNotExist:
        raise Period.DoesNotExist(
            f"no period with code {code!r}: create the period first "
            "(a year such as 2025 or a half-year such as 2025H1)"
        ) from None


# --- complaints ----------------------------------------------------------------------------


def rollup_complaint_statistics(*, period: str) -> int:
    """Count accepted complaints per insurer × product line for the period ``period`` (a
    code such as ``2025`` or ``2025H1``); returns the number of statistic rows written
    (inserted, updated or removed).

    A complaint counts in the period in which it was received (``received_on``, the day of
    receipt in Asia/Shanghai), once it has been accepted: its status is anything but
    ``received`` (not yet accepted) and ``declined`` (不予受理). Complaints from consumers
    aged 60 or over (``is_elder``) are counted again in ``elder_complaints``.

    The period's rows become exactly the fresh aggregate: keys present are upserted (with
    ``computed_at`` = this run), keys with no accepted complaint any more are deleted — so
    an insurer × line without a row has zero accepted complaints in a rolled-up period.
    Five statements (lock, aggregate, upsert, drop, delete), whatever the number of
    complaints.
    """
    with transaction.atomic():
        return _execute(complaint_rollup_statements(_locked_period(period)))


def complaint_rollup_statements(p: Period) -> list[tuple[str, dict | None]]:
    """The SQL of :func:`rollup_complaint_statistics` for ``p``: aggregate, upsert, drop the
    aggregate, delete the keys that vanished."""
    c, s, agg = Complaint, ComplaintStatistic, _q(AGGREGATE)
    params = {
        "period": p.pk,
        "now": _moment(timezone.now()),
        "start": _date(p.start),
        "end": _date(p.end),
        "received": Status.RECEIVED,
        "declined": Status.DECLINED,
    }
    aggregate = f"""
        CREATE TEMPORARY TABLE {agg} AS
        SELECT {_col(c, "insurer")} AS insurer_id, {_col(c, "product_line")} AS product_line,
               COUNT(*) AS complaints,
               SUM(CASE WHEN {_col(c, "is_elder")} THEN 1 ELSE 0 END) AS elder_complaints
        FROM {_table(c)}
        WHERE {_col(c, "received_on")} BETWEEN %(start)s AND %(end)s
          AND {_col(c, "status")} NOT IN (%(received)s, %(declined)s)
        GROUP BY {_col(c, "insurer")}, {_col(c, "product_line")}
    """  # noqa: S608 - names from _meta, values as parameters
    # "WHERE true": SQLite needs it to tell the upsert's ON CONFLICT from a join's ON.
    upsert = f"""
        INSERT INTO {_table(s)} (
            {_col(s, "insurer")}, {_col(s, "period")}, {_col(s, "product_line")},
            {_col(s, "complaints")}, {_col(s, "elder_complaints")}, {_col(s, "computed_at")}
        )
        SELECT insurer_id, %(period)s, product_line, complaints, elder_complaints, %(now)s
        FROM {agg} WHERE true
        ON CONFLICT ({_col(s, "insurer")}, {_col(s, "period")}, {_col(s, "product_line")})
        DO UPDATE SET
            {_col(s, "complaints")} = excluded.{_col(s, "complaints")},
            {_col(s, "elder_complaints")} = excluded.{_col(s, "elder_complaints")},
            {_col(s, "computed_at")} = excluded.{_col(s, "computed_at")}
    """  # noqa: S608 - names from _meta, values as parameters
    # Keys this run did not produce: their complaints no longer qualify.
    vanished = f"""
        DELETE FROM {_table(s)}
        WHERE {_col(s, "period")} = %(period)s AND {_col(s, "computed_at")} <> %(now)s
    """  # noqa: S608
    return [(aggregate, params), (upsert, params), (f"DROP TABLE {agg}", None), (vanished, params)]


def _execute(statements: list[tuple[str, dict | None]]) -> int:
    """Run the statements; the rows written by the upserts, deletes and updates among them."""
    written = 0
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            if sql.lstrip().startswith(("INSERT", "DELETE", "UPDATE")):
                written += max(cursor.rowcount, 0)
    return written


# --- claims --------------------------------------------------------------------------------

#: The figures of ``OperatingStatistic`` that do not come from claims.
OTHER_COLUMNS = (
    "premium_cny",
    "policies_in_force",
    "insured_persons",
    "surrenders",
    "surrender_amount_cny",
)


def rollup_claim_statistics(*, period: str) -> int:
    """Aggregate raw claim records into the claim figures of the period ``period`` (a code);
    returns the number of statistic rows written (inserted, updated, reset or removed).

    Per insurer × product line, over the raw claims reported or closed in the period:

    - ``claims_reported``: report date in the period;
    - ``claims_closed``: close date in the period (paid or declined: only those have one);
    - ``claims_paid`` / ``claims_declined``: closed in the period with that outcome;
    - ``payment_days_total``: the sum of ``days_to_payment`` (incident to payment) over the
      paid claims closed in the period.

    One aggregate query finds both date ranges through the indexes on ``report_date`` and
    ``close_date`` (a BitmapOr on PostgreSQL, where a period is a small part of the table)
    and its result is upserted into ``OperatingStatistic``, touching only these five
    columns (and ``updated``): premium, policies and surrenders imported for the same key
    stay as they are. Rows the rollup creates get ``source = claim_rollup``.

    Which keys it owns: every insurer × line with a raw claim reported or closed in the
    period gets its five claim figures replaced. A key without such a claim is left alone —
    its claim figures may have been imported as totals — except a row the rollup created
    (``source = claim_rollup``) that no longer has raw claims in the period: it is deleted
    when it holds nothing else, and otherwise its claim figures are reset to unknown (NULL).
    A row from an import whose claim figures were rolled up keeps the last rolled-up figures
    if every raw claim of its key later disappears (nothing tells those figures from
    imported ones); re-import or edit it then. Six statements, whatever the number of claims.
    """
    with transaction.atomic():
        return _execute(claim_rollup_statements(_locked_period(period)))


def claim_rollup_statements(p: Period) -> list[tuple[str, dict | None]]:
    """The SQL of :func:`rollup_claim_statistics` for ``p``: aggregate, upsert, drop the
    aggregate, then delete or reset the rollup's rows whose raw claims have gone."""
    r, s, agg = RawClaim, OperatingStatistic, _q(AGGREGATE)
    params = {
        "period": p.pk,
        "now": _moment(timezone.now()),
        "start": _date(p.start),
        "end": _date(p.end),
        "paid": ClaimOutcome.PAID,
        "declined": ClaimOutcome.DECLINED,
        "source": Source.CLAIM_ROLLUP,
    }
    report, close = _col(r, "report_date"), _col(r, "close_date")
    outcome, days = _col(r, "outcome"), _col(r, "days_to_payment")
    reported_in = f"{report} BETWEEN %(start)s AND %(end)s"
    closed_in = f"{close} BETWEEN %(start)s AND %(end)s"
    aggregate = f"""
        CREATE TEMPORARY TABLE {agg} AS
        SELECT {_col(r, "insurer")} AS insurer_id, {_col(r, "product_line")} AS product_line,
               SUM(CASE WHEN {reported_in} THEN 1 ELSE 0 END) AS claims_reported,
               SUM(CASE WHEN {closed_in} THEN 1 ELSE 0 END) AS claims_closed,
               SUM(CASE WHEN {closed_in} AND {outcome} = %(paid)s THEN 1 ELSE 0 END)
                   AS claims_paid,
               SUM(CASE WHEN {closed_in} AND {outcome} = %(declined)s THEN 1 ELSE 0 END)
                   AS claims_declined,
               COALESCE(SUM(CASE WHEN {closed_in} AND {outcome} = %(paid)s
                                 THEN {days} END), 0) AS payment_days_total
        FROM {_table(r)}
        WHERE {reported_in} OR {closed_in}
        GROUP BY {_col(r, "insurer")}, {_col(r, "product_line")}
    """  # noqa: S608 - names from _meta, values as parameters
    claims = [_col(s, name) for name in CLAIM_COLUMNS]
    upsert = f"""
        INSERT INTO {_table(s)} (
            {_col(s, "insurer")}, {_col(s, "period")}, {_col(s, "product_line")},
            {", ".join(claims)}, {_col(s, "source")}, {_col(s, "updated")}
        )
        SELECT insurer_id, %(period)s, product_line, {", ".join(CLAIM_COLUMNS)},
               %(source)s, %(now)s
        FROM {agg} WHERE true
        ON CONFLICT ({_col(s, "insurer")}, {_col(s, "period")}, {_col(s, "product_line")})
        DO UPDATE SET
            {", ".join(f"{col} = excluded.{col}" for col in claims)},
            {_col(s, "updated")} = excluded.{_col(s, "updated")}
    """  # noqa: S608 - names from _meta, values as parameters
    # Rows the rollup made and did not write now: their raw claims have all gone.
    untouched = f"""
        {_col(s, "period")} = %(period)s AND {_col(s, "source")} = %(source)s
        AND {_col(s, "updated")} <> %(now)s
    """
    holding_nothing_else = " AND ".join(f"{_col(s, n)} IS NULL" for n in OTHER_COLUMNS)
    remove = f"DELETE FROM {_table(s)} WHERE {untouched} AND {holding_nothing_else}"  # noqa: S608
    reset = f"""
        UPDATE {_table(s)}
        SET {", ".join(f"{col} = NULL" for col in claims)}, {_col(s, "updated")} = %(now)s
        WHERE {untouched} AND ({" OR ".join(f"{col} IS NOT NULL" for col in claims)})
    """  # noqa: S608
    return [
        (aggregate, params),
        (upsert, params),
        (f"DROP TABLE {agg}", None),
        (remove, params),
        (reset, params),
    ]


# --- the nightly job -----------------------------------------------------------------------


def recent_periods(*, today: datetime.date | None = None):
    """Periods that have started and are still open, or ended within the last 366 days."""
    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=RECENT_DAYS)
    return Period.objects.filter(start__lte=today, end__gte=since).order_by("code")


def rollup_recent_periods(*, today: datetime.date | None = None) -> dict[str, dict[str, int]]:
    """Both rollups for every recent period (see :func:`recent_periods`), each in its own
    transaction; returns ``{period code: {"complaints": rows, "claims": rows}}``."""
    done: dict[str, dict[str, int]] = {}
    for code in recent_periods(today=today).values_list("code", flat=True):
        done[code] = {
            "complaints": rollup_complaint_statistics(period=code),
            "claims": rollup_claim_statistics(period=code),
        }
    return done
