"""The dashboard's summary tables (``models_summaries``): what a complaint contributes, how
the services keep the tables equal to the live aggregate, the full rebuild, and the reads.

Design
------
Every figure of the dashboard's period columns is a sum over complaints, so each complaint
has a *contribution*: a small set of (table, month, product line, channel, counter) → 1
entries, computed by :func:`contribution` from the complaint's row alone (plus, for a
reviewed complaint, its first decision's timeline event and its pauses). The summary rows of
a group or head office hold the sum of the contributions of the complaints in its subtree: a
complaint counts in the rows of its head office and, if its insurer has one, its group
(:func:`summary_units`). Smaller scopes (branches, sub-branches) are read live.

- **Incrementally.** ``complaints.services`` reads the stored complaint before it saves a
  change (:func:`stored_contribution`) and, after saving, applies the difference between the
  new and the old contribution (:func:`apply_change`) in the same transaction: one upsert
  per table (``INSERT … ON CONFLICT DO UPDATE SET n = n + d``), which locks only the rows it
  touches (concurrent changes to complaints of the same insurer, month, line and channel
  queue on that row until they commit; the transactions are short). The file import adds
  its complaints the same way, in its transaction; a correction in the admin is followed
  the same way. So after any change the tables equal the live aggregate, and a rollback
  undoes both.
- **Intake, within a second or so.** A complaint received on the staff form, the public
  form or the API is saved with ``summary_pending`` and one batched outbox row: the request
  does no summary work. The relay sends all pending rows as one call of
  ``complaints.tasks.complaints_received``, which adds their contributions
  (:func:`summaries_catch_up`) and clears the flags in one transaction: exactly once, as the
  rows are locked and re-read first. Until then the complaint's changes leave the tables
  alone (:func:`stored_contribution` answers None), and the catch-up adds the complaint as
  it is then. A rebuild counts pending complaints and clears their flags. The tables can
  therefore lag the live aggregate by the complaints of the last second; the dashboard only
  reads them for months that ended before today, and reads the running month live.
- **Rebuilt in full** by :func:`summaries_rebuild` (the Celery task
  ``complaints.tasks.rebuild_dashboard_summaries``, nightly, and by hand): for writes that
  bypass the services — the demo loader's bulk rows, a data migration, raw SQL — and after
  the org tree changed shape. It holds an exclusive lock on the complaints
  table (writes wait, reads do not) while it recomputes, one top-level subtree at a time.
- **Used only when they can be trusted.** Until the first rebuild there is no
  ``ComplaintSummaryState`` and the dashboard reads live. A unit moved to another parent
  since the rebuild changes the tree's signature (:func:`tree_signature`) and the dashboard
  reads live again until the next rebuild; adding units does not.

Which months: the summaries answer for whole calendar months; a range that cuts a month
(a custom range) reads the cut part live and adds it (every figure is a sum, the medians come
from the merged day histogram). Missed deadlines depend on the day they are looked at, so the
summaries answer only for months that ended before ``today``; the running month is read live.
"""

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from insurers.models import Level, OrgUnit

from . import deadlines
from .models import Complaint, Decision, Event, EventKind, Pause, Status
from .models_summaries import (
    COUNTERS,
    DETAIL_KEY_FIELDS,
    KEY_FIELDS,
    RECEIPT_COUNTERS,
    ComplaintCategorySummary,
    ComplaintDecisionDaysSummary,
    ComplaintSummary,
    ComplaintSummaryState,
)

# The units with summary rows: those covering a group or a whole insurer.
SUMMARY_LEVELS = (Level.GROUP, Level.HEAD_OFFICE)
NOT_ACCEPTED = (Status.RECEIVED, Status.DECLINED)
UPHELD = (Decision.UPHELD, Decision.PARTLY_UPHELD)
FIRST_DECISION_FROM = (Status.ACCEPTED, Status.INVESTIGATING, Status.EXTENDED)
FACT_FIELDS = (
    "pk",
    "org_unit__path",
    "received_on",
    "product_line",
    "channel",
    "category",
    "is_elder",
    "status",
    "due_date",
    "extensions",
    "first_decided_at",
    "decided_at",
    "decision",
    "satisfaction",
    "review_requested_at",
    "escalated_at",
)
TABLES = {
    "s": ComplaintSummary,
    "c": ComplaintCategorySummary,
    "d": ComplaintDecisionDaysSummary,
}
DETAIL = {"c": "category", "d": "days"}
REBUILD_CHUNK = 5_000


# ---- a complaint's contribution ---------------------------------------------------------------


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def local_day(moment: datetime.datetime | None) -> datetime.date | None:
    return timezone.localtime(moment).date() if moment is not None else None


def first_due_date(
    *, received_on, extensions: int, first_decided_on, pauses, calendar=None
) -> datetime.date:
    """The deadline in force at a reviewed complaint's first decision: what the services
    computed before the review request moved ``due_date`` to the review's own deadline (the
    same rule: receipt, extensions, pauses, the configured calendar)."""
    if calendar is None:
        from .services import deadline_calendar

        calendar = deadline_calendar()
    return deadlines.due_date(
        received=received_on,
        extensions=extensions,
        pauses=list(pauses),
        today=first_decided_on,
        calendar=calendar,
    )


def missed_deadline_days(fact: dict, pauses, calendar=None) -> list[datetime.date]:
    """The deadline days of this complaint that were (or are not yet) met: the decision's
    deadline, unless met by the first decision, or the complaint was declined or sent to
    mediation on or before that day; and a review's deadline, unless met by the review's
    decision. Whether a day is already past is for the reader (``today``) to say."""
    if fact["status"] == Status.DECLINED or fact["due_date"] is None:
        return []
    decided = local_day(fact["decided_at"])
    if fact["review_requested_at"] is None:
        due = fact["due_date"]
        escalated = local_day(fact["escalated_at"])
        if (decided is None or decided > due) and (escalated is None or escalated > due):
            return [due]
        return []
    days = []
    first = local_day(fact["first_decided_at"])
    if first is not None:
        due = first_due_date(
            received_on=fact["received_on"],
            extensions=fact["extensions"],
            first_decided_on=first,
            pauses=pauses,
            calendar=calendar,
        )
        if first > due:
            days.append(due)
    review_due = fact["due_date"]
    if fact["status"] == Status.UNDER_REVIEW or (decided is not None and decided > review_due):
        days.append(review_due)
    return days


def contribution(
    fact: dict, first_event: dict | None = None, pauses: Iterable = (), calendar=None
) -> Counter:
    """What one complaint adds to its subtree roots' summary rows, as
    {(table, month, product_line, channel, counter / category / days): n}.

    ``fact`` holds ``FACT_FIELDS``; ``first_event`` is the ``data`` of the first decision's
    timeline event ({"on_time", "decision"}) and ``pauses`` its (start, end) pauses — both
    needed only once a review was requested (see ``complaints.dashboard`` for the
    definitions)."""
    out: Counter = Counter()
    line, channel = fact["product_line"], fact["channel"]
    received = month_of(fact["received_on"])

    def add(name, month=received, table="s"):
        # The histograms ("c", "d") are kept without the channel.
        out[(table, month, line, channel if table == "s" else None, name)] += 1

    add("received")
    add(fact["category"], table="c")
    if fact["status"] not in NOT_ACCEPTED:
        add("accepted")
    elder = fact["is_elder"]
    if elder:
        add("elder_received")
    reviewed = fact["review_requested_at"] is not None
    first = local_day(fact["first_decided_at"])
    if first is not None:
        add("decided")
        add("first_decisions", month=month_of(first))
        add((first - fact["received_on"]).days, table="d")
        if reviewed:
            on_time = bool(first_event and first_event.get("on_time") is True)
        else:
            on_time = fact["due_date"] is not None and first <= fact["due_date"]
        if on_time:
            add("on_time")
        if fact["decision"] in UPHELD:
            add("upheld")
        if elder:
            add("elder_decided")
            if on_time:
                add("elder_on_time")
    if reviewed:
        add("reviews_requested")
        decided_at = fact["decided_at"]
        if decided_at is not None and decided_at > fact["review_requested_at"]:
            add("reviews_decided")
            if first_event and first_event.get("decision") == fact["decision"]:
                add("reviews_upheld_original")
    if fact["satisfaction"]:
        add(fact["satisfaction"])
    for day in missed_deadline_days(fact, pauses, calendar):
        add("missed_deadlines", month=month_of(day))
    return out


def ancestor_paths(path: str) -> list[str]:
    """The paths of the unit's ancestors, itself included."""
    step = OrgUnit.steplen
    return [path[:n] for n in range(step, len(path) + 1, step)]


def summary_units(paths: Iterable[str]) -> dict[str, list[int]]:
    """{unit path: ids of its ancestors (itself included) that have summary rows: its head
    office and its group}, in one query."""
    paths = set(paths)
    prefixes = {p for path in paths for p in ancestor_paths(path)}
    ids = dict(
        OrgUnit.objects.filter(path__in=prefixes, level__in=SUMMARY_LEVELS).values_list(
            "path", "id"
        )
    )
    return {path: [ids[p] for p in ancestor_paths(path) if p in ids] for path in paths}


def _first_events(complaint_ids) -> dict[int, dict]:
    rows = Event.objects.filter(
        complaint_id__in=complaint_ids,
        kind=EventKind.TRANSITION,
        to_status=Status.DECIDED,
        from_status__in=FIRST_DECISION_FROM,
    ).values_list("complaint_id", "data")
    return {complaint_id: data or {} for complaint_id, data in rows}


def _pauses(complaint_ids) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for complaint_id, start, end in Pause.objects.filter(
        complaint_id__in=complaint_ids
    ).values_list("complaint_id", "start", "end"):
        out[complaint_id].append((start, end))
    return out


def _extras(facts: list[dict]) -> tuple[dict, dict]:
    reviewed = [f["pk"] for f in facts if f["review_requested_at"] is not None and f["pk"]]
    if not reviewed:
        return {}, {}
    return _first_events(reviewed), _pauses(reviewed)


def contributions(facts: list[dict]) -> Counter:
    """The summed contributions of ``facts``, expanded to each complaint's summary units:
    {(table, unit id, month, product_line, channel, name): n}."""
    events, pauses = _extras(facts)
    units = summary_units(f["org_unit__path"] for f in facts)
    calendar = None
    if any(f["review_requested_at"] is not None for f in facts):
        from .services import deadline_calendar

        calendar = deadline_calendar()
    out: Counter = Counter()
    for fact in facts:
        own = contribution(fact, events.get(fact["pk"]), pauses.get(fact["pk"], ()), calendar)
        for unit_id in units[fact["org_unit__path"]]:
            for (table, *key), n in own.items():
                out[(table, unit_id, *key)] += n
    return out


def fact_of(complaint: Complaint) -> dict:
    """``FACT_FIELDS`` of an in-memory complaint (its unit's path read if not loaded)."""
    fact = {name: getattr(complaint, name) for name in FACT_FIELDS if "__" not in name}
    fact["org_unit__path"] = complaint.org_unit.path
    return fact


# ---- keeping them equal -------------------------------------------------------------------------


def summaries_state() -> ComplaintSummaryState | None:
    return ComplaintSummaryState.objects.order_by("-pk").first()


def stored_contribution(complaint_id: int | None) -> Counter | None:
    """The contribution of the complaint as stored now (locking its row until the end of the
    transaction, so that what is subtracted is exactly what the change overwrites). None
    while its intake contribution is still owed (``summary_pending``): the catch-up adds
    the complaint as it is then, so its changes until then change nothing here."""
    if complaint_id is None:
        return Counter()
    rows = list(
        Complaint.objects.select_for_update(of=("self",))
        .filter(pk=complaint_id)
        .values(*FACT_FIELDS, "summary_pending")
    )
    if rows and rows[0].pop("summary_pending"):
        return None
    return contributions(rows) if rows else Counter()


def apply_change(*, complaint: Complaint, before: Counter | None) -> None:
    """Apply ``contribution(after) − before`` to the summary rows (nothing while the
    complaint's intake contribution is owed: ``before`` is None)."""
    if before is None:
        return
    apply_delta(difference(contributions([fact_of(complaint)]), before))


def complaint_added(complaints: list[Complaint]) -> None:
    """Add new complaints' contributions at once, in the caller's transaction (the file
    import: one statement per table for the whole file)."""
    apply_delta(contributions([fact_of(c) for c in complaints]))


def summaries_catch_up(complaint_ids: Iterable[int] | None = None) -> int:
    """Add the contributions still owed (``summary_pending``) of ``complaint_ids``, or of
    every complaint, and clear their flags, in one transaction. Returns how many.

    Intake leaves this to the batched task ``complaints.tasks.complaints_received`` instead
    of doing it in the request. Exactly once whatever runs it how often: the rows are locked
    and re-read before they are added (a concurrent change to one of them waits, or is
    waited for, see :func:`stored_contribution`), and a flag once cleared is not added
    again. Locks in id order, as every other writer of several complaints."""
    with transaction.atomic():
        pending = Complaint.objects.filter(summary_pending=True)
        if complaint_ids is not None:
            pending = pending.filter(pk__in=list(complaint_ids))
        ids = list(
            pending.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True)
        )
        if not ids:
            return 0
        facts = list(Complaint.objects.filter(pk__in=ids).order_by("pk").values(*FACT_FIELDS))
        apply_delta(contributions(facts))
        Complaint.objects.filter(pk__in=ids).update(summary_pending=False)
    return len(ids)


def _key(table, unit_id, month, line, channel, detail) -> dict:
    key = {"org_unit_id": unit_id, "month": month, "product_line": line}
    if table == "s":
        key["channel"] = channel
    else:
        key[DETAIL[table]] = detail
    return key


def _rows(delta: dict) -> dict[tuple, dict[str, int]]:
    """{(table, unit, month, line, channel, detail): {column: n}} of a delta or a total:
    the summary rows it touches and what it adds to each."""
    rows: dict[tuple, dict[str, int]] = defaultdict(dict)
    for (table, unit_id, month, line, channel, name), n in delta.items():
        if n == 0:
            continue
        if table == "s":
            rows[("s", unit_id, month, line, channel, None)][name] = n
        else:
            rows[(table, unit_id, month, line, channel, name)]["count"] = n
    return rows


def apply_delta(delta: dict) -> None:
    """Add ``delta`` ({(table, unit, month, line, channel, name): n}, n may be negative) to
    the rows: one upsert per table (``INSERT … ON CONFLICT (key) DO UPDATE SET c = c + n``,
    PostgreSQL and SQLite), rows in key order so that concurrent changes lock them in the
    same order."""
    by_table: dict[str, list] = defaultdict(list)
    for key, changes in sorted(
        _rows(delta).items(), key=lambda item: tuple(str(part) for part in item[0])
    ):
        by_table[key[0]].append((key, changes))
    for table, rows in sorted(by_table.items()):
        _upsert(table, rows)


def _upsert(table: str, rows: list[tuple[tuple, dict[str, int]]]) -> None:
    """One ``INSERT … VALUES (…), (…) ON CONFLICT (key) DO UPDATE`` adding ``rows`` to the
    summary ``table`` (new rows start from zero)."""
    model, quote = TABLES[table], connection.ops.quote_name
    if table == "s":
        key_names, counters = list(KEY_FIELDS), list(COUNTERS)
    else:
        key_names, counters = [*DETAIL_KEY_FIELDS, DETAIL[table]], ["count"]
    month = model._meta.get_field("month")
    params: list = []
    for (_table, unit_id, month_value, line, channel, detail), changes in rows:
        key = _key(table, unit_id, month_value, line, channel, detail)
        key["org_unit"] = key.pop("org_unit_id")
        key["month"] = month.get_db_prep_value(month_value, connection)
        params += [key[name] for name in key_names]
        params += [changes.get(c, 0) for c in counters]
    changed = [c for c in counters if any(c in changes for _row, changes in rows)]
    columns = [quote(model._meta.get_field(name).column) for name in key_names + counters]
    name = quote(model._meta.db_table)
    one = f"({', '.join(['%s'] * len(columns))})"
    sql = (
        f"INSERT INTO {name} ({', '.join(columns)}) VALUES {', '.join([one] * len(rows))} "  # noqa: S608 - names from _meta
        f"ON CONFLICT ({', '.join(columns[: len(key_names)])}) DO UPDATE SET "
        + ", ".join(f"{c} = {name}.{c} + excluded.{c}" for c in map(quote, changed))
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def difference(after: Counter, before: Counter) -> dict:
    """after − before, keeping negative entries (``Counter.__sub__`` drops them)."""
    delta = dict(after)
    for key, n in before.items():
        delta[key] = delta.get(key, 0) - n
    return {key: n for key, n in delta.items() if n}


# ---- the full rebuild -----------------------------------------------------------------------


def tree_signature(units: int | None = None) -> tuple[int, int]:
    """(highest unit id, Σ unit id × parent id over the units up to it): changes when a unit
    moves to another parent, not when units are added. One query (two without ``units``)."""
    if units is None:
        units = OrgUnit.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    table = connection.ops.quote_name(OrgUnit._meta.db_table)
    sql = (
        f"SELECT COALESCE(SUM(c.id * COALESCE(p.id, 0)), 0) FROM {table} c "  # noqa: S608
        f"LEFT JOIN {table} p ON p.path = SUBSTR(c.path, 1, LENGTH(c.path) - %s) "
        "WHERE c.id <= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [OrgUnit.steplen, units])
        return units, int(cursor.fetchone()[0])


def summaries_trusted() -> bool:
    """The summaries exist and the tree has kept its shape since they were built. Two
    queries."""
    state = summaries_state()
    if state is None:
        return False
    return tree_signature(state.tree_units) == (state.tree_units, state.tree_signature)


def summaries_present() -> bool:
    return summaries_state() is not None


def _lock_complaints() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(Complaint._meta.db_table)
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")


@transaction.atomic
def summaries_rebuild() -> int:
    """Recompute every summary row from the complaints; returns the rows written.

    Holds an exclusive lock on the complaints table meanwhile (PostgreSQL; SQLite locks the
    database for writes anyway), so no change slips between the read and the write. One
    top-level subtree at a time, to bound memory."""
    _lock_complaints()
    # Counted below from the rows themselves: nothing is owed any more.
    Complaint.objects.filter(summary_pending=True).update(summary_pending=False)
    for model in (*TABLES.values(), ComplaintSummaryState):
        model.objects.all().delete()
    written = 0
    roots = OrgUnit.objects.filter(depth=1).order_by("path").values_list("path", flat=True)
    for root in roots:
        total: Counter = Counter()
        qs = (
            Complaint.objects.filter(org_unit__path__startswith=root)
            .order_by("pk")
            .values(*FACT_FIELDS)
        )
        chunk: list[dict] = []
        for fact in qs.iterator(chunk_size=REBUILD_CHUNK):
            chunk.append(fact)
            if len(chunk) == REBUILD_CHUNK:
                total.update(contributions(chunk))
                chunk = []
        if chunk:
            total.update(contributions(chunk))
        written += _write(total)
    units, signature = tree_signature()
    ComplaintSummaryState.objects.create(
        built_at=timezone.now(), tree_units=units, tree_signature=signature
    )
    return written


def _write(total: Counter) -> int:
    objects: dict[str, list] = defaultdict(list)
    for (table, unit_id, month, line, channel, detail), values in _rows(total).items():
        key = _key(table, unit_id, month, line, channel, detail)
        objects[table].append(TABLES[table](**key, **values))
    for table, batch in objects.items():
        TABLES[table].objects.bulk_create(batch, batch_size=2_000)
    return sum(len(batch) for batch in objects.values())


# ---- reads ----------------------------------------------------------------------------------


def _filtered(model, *, unit_ids, months, product_line=None, channel=None):
    qs = model.objects.filter(org_unit_id__in=unit_ids, month__in=months)
    if product_line:
        qs = qs.filter(product_line=product_line)
    if channel:
        qs = qs.filter(channel=channel)
    return qs.order_by()


def period_raw(
    *, unit_id: int, months: list[datetime.date], product_line=None, channel=None
) -> dict:
    """The raw period figures (``complaints.dashboard.complaint_figures``' shape) of the
    complaints received in ``months`` in the subtree of ``unit_id``. Three queries; with a
    ``channel`` one, and ``days`` and ``categories`` are None (the histograms have no
    channel: the caller reads them live)."""
    sums = _filtered(
        ComplaintSummary,
        unit_ids=[unit_id],
        months=months,
        product_line=product_line,
        channel=channel,
    ).aggregate(**{name: Sum(name) for name in RECEIPT_COUNTERS})
    counts = {name: sums[name] or 0 for name in RECEIPT_COUNTERS}
    for value in ("satisfied", "neutral", "dissatisfied", "unreachable"):
        counts[f"satisfaction_{value}"] = counts.pop(value)
    if channel:
        return {"counts": counts, "days": None, "categories": None}
    kwargs = {"unit_ids": [unit_id], "months": months, "product_line": product_line}
    days = {
        row["days"]: row["n"]
        for row in _filtered(ComplaintDecisionDaysSummary, **kwargs)
        .values("days")
        .annotate(n=Sum("count"))
        if row["n"]
    }
    categories = {
        row["category"]: row["n"]
        for row in _filtered(ComplaintCategorySummary, **kwargs)
        .values("category")
        .annotate(n=Sum("count"))
        if row["n"]
    }
    return {"counts": counts, "days": days, "categories": categories}


def by_unit(*, unit_ids, months, product_line=None, channel=None) -> dict[int, dict[str, int]]:
    """{unit id: {received, accepted, decided, on_time}} over ``months``. One query."""
    rows = (
        _filtered(
            ComplaintSummary,
            unit_ids=unit_ids,
            months=months,
            product_line=product_line,
            channel=channel,
        )
        .values("org_unit_id")
        .annotate(
            received=Sum("received"),
            accepted=Sum("accepted"),
            decided=Sum("decided"),
            on_time=Sum("on_time"),
        )
    )
    return {row.pop("org_unit_id"): row for row in rows}


def by_month(*, unit_id, months, product_line=None, channel=None) -> dict[datetime.date, dict]:
    """{month: {received, first_decisions, missed_deadlines}}. One query."""
    rows = (
        _filtered(
            ComplaintSummary,
            unit_ids=[unit_id],
            months=months,
            product_line=product_line,
            channel=channel,
        )
        .values("month")
        .annotate(
            received=Sum("received"),
            first_decisions=Sum("first_decisions"),
            missed_deadlines=Sum("missed_deadlines"),
        )
    )
    return {row.pop("month"): row for row in rows}


def summary_rows(unit_id: int | None = None) -> dict[tuple, int]:
    """Every non-zero summary entry as {(table, unit, month, line, channel, name): n} — for
    comparing the incrementally kept tables with a rebuild."""
    out: dict[tuple, int] = {}
    for table, model in TABLES.items():
        qs = model.objects.all()
        if unit_id is not None:
            qs = qs.filter(org_unit_id=unit_id)
        for row in qs.values():
            key = (row["org_unit_id"], row["month"], row["product_line"], row.get("channel"))
            if table == "s":
                for name in COUNTERS:
                    if row[name]:
                        out[("s", *key, name)] = row[name]
            elif row["count"]:
                out[(table, *key, row[DETAIL[table]])] = row["count"]
    return out
