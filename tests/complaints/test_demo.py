"""The demo complaints (``complaints.demo``, loaded by ``seed_demo``).

The small set (5,000 complaints) is built once for the module, on a fixed ``today``, inside a
transaction that is rolled back at the end; each test runs in its own savepoint within it.
"""

import datetime as dt
import hashlib
import io
import re
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints import crypto, deadlines, idnumber, services
from complaints.demo import (
    DEMO_TEXT_MARK,
    complaints_demo_build,
    complaints_demo_remove,
    complaints_demo_summary,
)
from complaints.models import (
    OPEN_STATES,
    SUBCATEGORIES,
    Complaint,
    Event,
    EventKind,
    Extension,
    Pause,
    PauseReason,
    ReferenceCounter,
    Status,
)
from insurers import services as insurer_services
from insurers.demo import demo_build
from insurers.models import Level, LicenceType, OrgUnit, ServiceOfficer
from tests.factories import credit_code

TODAY = dt.date(2026, 3, 2)  # the conftest clock's day
SEED = 5
# An ID number standing on its own (not inside a hex digest or a base64 token).
ID_PATTERN = re.compile(r"(?<![0-9A-Za-z])\d{6}(19|20)\d{9}[\dX](?![0-9A-Za-z])")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        demo_build(size="small", seed=SEED)
        count = complaints_demo_build(size="small", seed=SEED, today=TODAY)
        yield count
        transaction.set_rollback(True)


@pytest.fixture
def data(demo, db):
    return demo


def fingerprint() -> str:
    rows = Complaint.objects.order_by("reference").values_list(
        "reference",
        "insurer__name_zh",
        "org_unit__name",  # not the path: a rebuilt tree may be numbered differently
        "product_line",
        "category",
        "subcategory",
        "channel",
        "amount_in_dispute",
        "narrative",
        "complainant_name",
        "complainant_phone",
        "id_number_hash",
        "id_number_masked",
        "is_elder",
        "status",
        "received_at",
        "extensions",
        "due_date",
        "accepted_at",
        "decline_reason",
        "decided_at",
        "decision",
        "remedy_amount",
        "reply",
        "first_decided_at",
        "closed_at",
        "satisfaction",
        "review_requested_at",
        "escalated_at",
        "created_by__username",
    )
    events = Event.objects.order_by("complaint__reference", "at", "pk").values_list(
        "complaint__reference", "at", "kind", "from_status", "to_status", "text", "data"
    )
    return hashlib.sha256(repr([list(rows), list(events)]).encode()).hexdigest()


def start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=timezone.get_default_timezone())


def test_a_small_set_has_about_five_thousand_complaints_against_demo_insurers(data):
    assert data == Complaint.objects.count() == 5000
    assert not Complaint.objects.exclude(insurer__name_zh__startswith="示例").exists()
    # every complaint is handled by a unit of the insurer complained about, never a group
    assert not Complaint.objects.exclude(org_unit__insurer=F("insurer")).exists()
    assert not Complaint.objects.filter(org_unit__level=Level.GROUP).exists()
    by_level = Counter(Complaint.objects.values_list("org_unit__level", flat=True))
    assert by_level[Level.SUB_BRANCH] + by_level[Level.BRANCH] > 3 * by_level[Level.HEAD_OFFICE]
    assert Complaint.objects.values("insurer").distinct().count() == 28


def test_every_state_appears_and_open_ones_are_recent(data):
    states = Counter(Complaint.objects.values_list("status", flat=True))
    assert set(states) == set(Status.values)
    assert states[Status.CLOSED] > sum(states.values()) / 2  # most old complaints are closed
    open_ = Complaint.objects.filter(status__in=OPEN_STATES)
    assert 50 < open_.count() < 500
    oldest_open = min(open_.values_list("received_on", flat=True))
    assert oldest_open > TODAY - dt.timedelta(days=200)


def test_received_from_january_two_years_back_until_before_today(data):
    """The window covers both full calendar years before today's (the index's statistics
    periods need their complaints) and this year up to yesterday."""
    days = list(Complaint.objects.values_list("received_on", flat=True))
    assert min(days) >= dt.date(TODAY.year - 2, 1, 1)
    assert min(days) < dt.date(TODAY.year - 2, 1, 15)
    assert max(days) < TODAY
    months = Counter((d.year, d.month) for d in days)
    assert len(months) >= 24 + TODAY.month - 1
    assert all(months[(TODAY.year - 2, m)] > 50 for m in range(1, 13))
    # nothing has happened yet today
    moments = ["received_at", "accepted_at", "decided_at", "closed_at", "review_requested_at"]
    for name in moments:
        assert not Complaint.objects.filter(**{f"{name}__gte": start_of(TODAY)}).exists(), name
    assert not Event.objects.filter(at__gte=start_of(TODAY)).exists()


def test_some_overdue_and_some_decided_late(data):
    overdue = Complaint.objects.filter(status__in=OPEN_STATES, due_date__lt=TODAY)
    assert overdue.count() >= 10
    assert set(overdue.values_list("status", flat=True)) >= {Status.ACCEPTED, Status.INVESTIGATING}
    decided = Complaint.objects.filter(first_decided_at__isnull=False, review_requested_at=None)
    late = [
        c for c in decided.only("first_decided_at", "due_date")
        if timezone.localtime(c.first_decided_at).date() > c.due_date
    ]  # fmt: skip
    assert 0.02 * decided.count() < len(late) < 0.2 * decided.count()
    flagged = Event.objects.filter(kind=EventKind.TRANSITION, data__on_time=False).count()
    assert flagged >= len(late)


def test_extensions_both_steps_with_approval_one_level_up(data):
    steps = defaultdict(dict)
    for ext in Extension.objects.select_related("complaint__org_unit"):
        steps[ext.complaint_id][ext.step] = ext
    for complaint in Complaint.objects.filter(extensions__gt=0):
        assert set(steps[complaint.pk]) >= set(range(1, complaint.extensions + 1))
    officers = dict(
        ServiceOfficer.objects.filter(ended__isnull=True).values_list("org_unit_id", "user_id")
    )
    second = Extension.objects.filter(step=2, approved_by__isnull=False).select_related(
        "complaint__org_unit"
    )
    assert second.count() >= 20
    for ext in second:
        parent = OrgUnit.objects.get_parent(ext.complaint.org_unit)
        assert ext.approved_by_id == officers[parent.pk]
        assert ext.complainant_notified_at is not None and DEMO_TEXT_MARK in ext.complainant_notice
        assert ext.complaint.extensions == 2
        assert steps[ext.complaint_id][1].created < ext.complainant_notified_at
    # a second step waiting for approval leaves the complaint at one extension
    for ext in Extension.objects.filter(step=2, approved_by=None):
        assert ext.complaint.extensions == 1 and ext.complaint.status == Status.EXTENDED
    open_extended = Counter(
        Complaint.objects.filter(status=Status.EXTENDED).values_list("extensions", flat=True)
    )
    assert open_extended[1] > 0 and open_extended[2] > 0
    assert not Complaint.objects.filter(extensions__gt=0, accepted_at=None).exists()


def test_paused_complaints(data):
    open_pauses = Pause.objects.filter(end=None).select_related("complaint")
    assert open_pauses.count() >= 3
    for pause in open_pauses:
        assert pause.kind == PauseReason.APPRAISAL and pause.start < TODAY
        assert pause.complaint.status in (Status.ACCEPTED, Status.INVESTIGATING, Status.EXTENDED)
    closed = Pause.objects.exclude(end=None)
    assert closed.count() > 50
    assert not closed.filter(end__lte=F("start")).exists()
    assert set(Pause.objects.values_list("kind", flat=True)) == {PauseReason.APPRAISAL}


def test_under_review_escalated_and_declined(data):
    reviewed = Complaint.objects.exclude(review_requested_at=None)
    assert reviewed.filter(status=Status.UNDER_REVIEW).exists()
    for c in reviewed:
        asked = timezone.localtime(c.review_requested_at).date()
        first = timezone.localtime(c.first_decided_at).date()
        assert first < asked <= deadlines.review_open_until(first)
        assert c.status in (Status.UNDER_REVIEW, Status.DECIDED, Status.CLOSED)
    escalated = Complaint.objects.filter(status=Status.ESCALATED)
    assert escalated.exists()
    assert not escalated.filter(escalated_at=None).exists()
    declined = Complaint.objects.filter(status=Status.DECLINED)
    assert declined.count() > 100
    assert not declined.filter(decline_reason="").exists()
    assert not declined.exclude(accepted_at=None).exists()


def test_due_dates_follow_the_deadline_rules(data):
    pauses = defaultdict(list)
    for pause in Pause.objects.all():
        pauses[pause.complaint_id].append(pause.as_tuple())
    checked = 0
    for c in Complaint.objects.all():
        if c.review_requested_at is not None:
            expected = deadlines.due_date(received=timezone.localtime(c.review_requested_at).date())
        else:
            expected = deadlines.due_date(
                received=c.received_on,
                extensions=c.extensions,
                pauses=pauses[c.pk],
                today=TODAY,
            )
        assert c.due_date == expected, c.reference
        checked += 1
    assert checked == 5000


def test_moments_are_consistent_with_the_state(data):
    for c in Complaint.objects.all():
        assert c.received_on == timezone.localtime(c.received_at).date()
        chain = [c.received_at, c.accepted_at, c.first_decided_at, c.decided_at]
        present = [m for m in chain if m is not None]
        assert present == sorted(present), c.reference
        if c.status == Status.CLOSED:
            assert c.closed_at > max(m for m in (c.decided_at, c.escalated_at) if m)
        if c.status == Status.RECEIVED:
            assert c.accepted_at is None and c.decided_at is None
        if c.status in (Status.DECIDED, Status.CLOSED) and c.escalated_at is None:
            assert c.decision and c.reply.endswith(DEMO_TEXT_MARK) and c.decided_at
        if c.status == Status.CLOSED and c.escalated_at is None:
            assert c.satisfaction and c.closed_at
        if c.status in (Status.ACCEPTED, Status.INVESTIGATING, Status.EXTENDED):
            assert c.accepted_at and c.decided_at is None
        if c.subcategory:
            assert c.subcategory in SUBCATEGORIES[c.category]


def test_timeline_received_first_then_the_transitions_to_the_state(data):
    by_complaint = defaultdict(list)
    for event in Event.objects.order_by("at", "pk").values(
        "complaint_id", "kind", "from_status", "to_status"
    ):
        by_complaint[event["complaint_id"]].append(event)
    statuses = dict(Complaint.objects.values_list("pk", "status"))
    assert set(by_complaint) == set(statuses)
    allowed = {
        (source, t.target)
        for t in Complaint._meta.get_field("status").get_all_transitions(Complaint)
        for source in ([t.source] if isinstance(t.source, str) else t.source)
    }
    seen = set()
    for pk, events in by_complaint.items():
        assert events[0]["kind"] == EventKind.RECEIVED
        assert sum(e["kind"] == EventKind.RECEIVED for e in events) == 1
        state = Status.RECEIVED
        for e in events[1:]:
            if e["kind"] in (EventKind.TRANSITION, EventKind.EXTENSION):
                assert e["from_status"] == state, pk
                assert (state, e["to_status"]) in allowed, pk
                seen.add((state, e["to_status"]))
                state = e["to_status"]
        assert state == statuses[pk]
    # every step of the workflow is shown somewhere
    assert seen == allowed


def test_id_numbers_encrypted_masked_and_elder_flag_consistent(data):
    with_id = Complaint.objects.exclude(id_number_encrypted="")
    share = with_id.count() / 5000
    assert 0.5 < share < 0.7
    assert not Complaint.objects.filter(id_number_encrypted="", is_elder=True).exists()
    elders = with_id.filter(is_elder=True).count()
    assert 0.05 * with_id.count() < elders < 0.4 * with_id.count()
    sample = list(with_id.filter(is_elder=True)[:100]) + list(with_id.filter(is_elder=False)[:100])
    for c in sample:
        number = crypto.decrypt(c.id_number_encrypted)
        assert idnumber.problem(number) is None
        assert c.id_number_masked == idnumber.mask(number)
        assert c.id_number_hash == crypto.search_hash(number)
        assert c.is_elder == (idnumber.age_on(number, c.received_on) >= 60)


def test_no_plaintext_id_numbers_are_stored(data):
    with connection.cursor() as cursor:
        for table in (Complaint._meta.db_table, Event._meta.db_table):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, str):
                        assert not ID_PATTERN.search(value), table
    assert (
        Complaint.objects.exclude(id_number_masked="")
        .filter(id_number_masked__regex=r"^\d{4}\*{10}[\dX]{4}$")
        .count()
        == Complaint.objects.exclude(id_number_masked="").count()
    )


def test_references_unique_and_sequential_per_year_in_received_order(data):
    by_year = defaultdict(list)
    for reference in Complaint.objects.order_by("received_at", "reference").values_list(
        "reference", flat=True
    ):
        year, number = reference[2:6], int(reference[7:])
        by_year[int(year)].append(number)
    assert len(by_year) >= 2
    for year, numbers in by_year.items():
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), year
        assert ReferenceCounter.objects.get(year=year).last == numbers[-1]
    received_years = {d.year for d in Complaint.objects.values_list("received_on", flat=True)}
    assert received_years == set(by_year)


def test_what_complaints_are_about(data):
    lines = defaultdict(set)
    for licence, line in Complaint.objects.values_list("insurer__licence_type", "product_line"):
        lines[licence].add(line)
    assert lines[LicenceType.PROPERTY] >= {"motor", "commercial_property", "home", "agriculture"}
    assert lines[LicenceType.LIFE] == {"life", "accident", "health"}
    assert lines[LicenceType.HEALTH] == {"health", "accident"}
    categories = Counter(Complaint.objects.values_list("category", flat=True))
    assert categories.most_common(1)[0][0] == "claims"
    channels = Counter(Complaint.objects.values_list("channel", flat=True))
    assert 0.25 < channels["regulator"] / 5000 < 0.35
    assert 0 < channels["media"] < channels["letter_visit"]
    assert len(set(Complaint.objects.values_list("narrative", flat=True))) > 1000
    assert not Complaint.objects.exclude(narrative__endswith=DEMO_TEXT_MARK).exists()
    phones = Complaint.objects.values_list("complainant_phone", flat=True)
    assert all(re.fullmatch(r"1\d{2}0000\d{4}", p) for p in phones)
    assert Complaint.objects.filter(amount_in_dispute__isnull=False).count() > 3000


def test_summary_counts(data):
    figures = complaints_demo_summary(today=TODAY)
    assert figures["complaints"] == 5000
    assert figures["open"] == Complaint.objects.filter(status__in=OPEN_STATES).count()
    assert figures["overdue"] == (
        Complaint.objects.filter(status__in=OPEN_STATES, due_date__lt=TODAY).count()
    )
    assert figures["events"] == Event.objects.count() > 20_000


def test_same_seed_and_today_same_complaints_in_a_fixed_number_of_queries(data):
    first = fingerprint()
    assert complaints_demo_remove() == 5000
    assert not Complaint.objects.exists() and not Event.objects.exists()
    with CaptureQueriesContext(connection) as queries:
        complaints_demo_build(size="small", seed=SEED, today=TODAY, count=5000)
    assert len(queries) < 60  # written in batches, never one query per complaint
    assert fingerprint() == first
    complaints_demo_remove()
    complaints_demo_build(size="small", seed=SEED + 1, today=TODAY)
    assert fingerprint() != first


def test_remove_keeps_other_complaints_and_rewinds_references(data):
    # A complaint that is not demo data: its insurer's name lacks the demo mark.
    real = insurer_services.insurer_create(
        name_zh="测试财产保险股份有限公司",
        short_name="测试财险",
        licence_type=LicenceType.PROPERTY,
        credit_code=credit_code(),
    )
    head = insurer_services.org_unit_create(
        name="测试财险总公司", level=Level.HEAD_OFFICE, insurer=real, region="310000"
    )
    reference = services.allocate_references(TODAY.year)[0]
    kept = Complaint.objects.create(
        reference=reference,
        insurer=real,
        org_unit=head,
        product_line="motor",
        category="claims",
        channel="hotline",
        narrative="测试",
        complainant_name="测试",
        complainant_phone="13800000000",
        received_at=start_of(TODAY),
        received_on=TODAY,
    )
    Event.objects.create(complaint=kept, at=kept.received_at, kind=EventKind.RECEIVED)
    demo_years = {d.year for d in Complaint.objects.values_list("received_on", flat=True)}
    assert complaints_demo_remove() == 5000
    assert list(Complaint.objects.all()) == [kept]
    assert Event.objects.get().complaint == kept
    assert not Pause.objects.exists() and not Extension.objects.exists()
    counters = dict(ReferenceCounter.objects.values_list("year", "last"))
    # the kept complaint's number stays taken; years with only demo complaints start afresh
    assert counters[TODAY.year] == int(reference[7:]) > 1
    assert {y: n for y, n in counters.items() if y != TODAY.year} == dict.fromkeys(
        demo_years - {TODAY.year}, 0
    )


def test_seed_demo_twice_is_harmless_and_reset_rebuilds(data, clock):
    before = fingerprint()
    out = io.StringIO()
    call_command("seed_demo", "--seed", str(SEED), stdout=out)
    assert "already present" in out.getvalue()
    assert "Demo complaints: 5000 complaints" in out.getvalue()
    assert fingerprint() == before
    out = io.StringIO()
    call_command("seed_demo", "--seed", str(SEED), "--reset", stdout=out)
    assert "Demo complaints (small, seed 5): 5000 complaints" in out.getvalue()
    assert Complaint.objects.count() == 5000
    # built on the clock's day, which is TODAY: the same complaints as the module's
    assert timezone.localdate() == TODAY
    assert fingerprint() == before
    assert Complaint.objects.filter(Q(reference__endswith="-000001")).count() >= 2


def test_seed_demo_adds_complaints_to_insurers_seeded_before_them(data, clock):
    complaints_demo_remove()
    out = io.StringIO()
    call_command("seed_demo", "--seed", str(SEED), stdout=out)
    assert "Demo complaints (small, seed 5): 5000 complaints" in out.getvalue()
    assert Complaint.objects.count() == 5000
