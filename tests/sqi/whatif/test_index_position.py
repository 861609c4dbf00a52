"""``sqi.whatif``: the index position reads published runs only, and the what-if over a
published run equals a new run computed from changed statistics."""

import statistics
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sqi import methodology as m
from sqi import runs, whatif
from sqi.models import IndexResult, IndexRun, OperatingStatistic, Period, RunStatus


def new_run(period="2025") -> IndexRun:
    run = runs.index_run_compute(run=runs.index_run_create(period=period, peer_group="life"))
    assert run.status == RunStatus.VALIDATED, (run.error, run.validation)
    return run


@pytest.mark.django_db
def test_no_position_before_anything_is_published(life_market):
    new_run()  # validated, not published
    assert whatif.index_position(insurer=life_market["L01"]) is None


@pytest.mark.django_db
def test_position_is_the_latest_published_result_against_the_peer_median(published, org):
    position = whatif.index_position(insurer=org.l01)
    result = IndexResult.objects.get(run=published, insurer=org.l01)
    assert position["run"] == published
    assert position["result"] == result
    assert position["ranked"] == 7
    assert position["band"] == result.band
    everyone = list(IndexResult.objects.filter(run=published))
    for dim, median in position["peer_median"].items():
        assert median == statistics.median(float(r.dimensions[dim]) for r in everyone)
    assert position["peer_median_total"] == statistics.median(float(r.total) for r in everyone)
    assert [d["key"] for d in position["dimensions"]] == [
        "convenience",
        "benefit",
        "recognition",
        "improvement",
    ]
    assert {i["key"] for i in position["indicators"]} == set(m.INDICATORS)
    assert position["trend"] == [
        {
            "period": "2025",
            "peer_group": "life",
            "total": float(result.total),
            "rank": result.rank,
            "ranked": 7,
        }
    ]


@pytest.mark.django_db
def test_a_newer_run_that_is_not_published_is_not_shown(published, org):
    stat = OperatingStatistic.objects.get(insurer=org.l01, period__code="2025")
    stat.payment_days_total = stat.payment_days_total // 3
    stat.save()
    newer = new_run()  # validated, different numbers, not published
    position = whatif.index_position(insurer=org.l01)
    assert position["run"] == published
    assert position["result"].total != IndexResult.objects.get(run=newer, insurer=org.l01).total


@pytest.mark.django_db
def test_superseded_runs_leave_the_trend(published, org):
    again = runs.index_run_publish(run=new_run())
    position = whatif.index_position(insurer=org.l01)
    assert position["run"] == again
    assert [t["period"] for t in position["trend"]] == ["2025"]
    assert IndexRun.objects.get(pk=published.pk).status == RunStatus.SUPERSEDED


@pytest.mark.django_db
def test_trend_runs_over_published_periods_oldest_first(published, org, example):
    from tests.sqi.runs.conftest import put_statistics

    Period.objects.create(code="2023")
    for record in example["insurers"]:
        insurer = org.l01.__class__.objects.get(slug=record["code"])
        put_statistics(insurer, Period.objects.get(code="2023"), record["previous"])
    runs.index_run_publish(run=new_run("2024"))
    position = whatif.index_position(insurer=org.l01)
    assert [t["period"] for t in position["trend"]] == ["2024", "2025"]
    assert position["run"] == published


@pytest.mark.django_db
def test_position_query_count_is_fixed(published, org):
    with CaptureQueriesContext(connection) as ctx:
        whatif.index_position(insurer=org.l01)
    assert len(ctx.captured_queries) <= 3


@pytest.mark.django_db
def test_no_change_is_the_stored_result_of_every_insurer(published, life_market):
    for result in IndexResult.objects.filter(run=published).select_related("insurer"):
        answer = whatif.what_if(run=published, insurer=result.insurer, changes={})
        assert answer["before"] == answer["after"]
        assert Decimal(repr(answer["after"]["total"])) == result.total
        assert answer["after"]["rank"] == result.rank
        assert answer["after"]["dimensions"] == result.dimensions
        assert answer["after"]["indicators"] == result.indicators


@pytest.mark.django_db
def test_what_if_equals_a_full_run_over_the_changed_statistics(published, org):
    """The issue's test: payment cycle one day shorter (the stored sum of payment days less
    one per paid claim) and complaints 10 % fewer per 100 M premium (the premium raised so)
    give, through a new run over the changed statistics, exactly the what-if's answer."""
    stat = OperatingStatistic.objects.get(insurer=org.l01, period__code="2025")
    record = next(r for r in published.inputs["insurers"] if r["code"] == "L01")
    stat.payment_days_total -= stat.claims_paid
    stat.premium_cny = Decimal(repr(record["current"]["premium_cny"] / 0.9))
    stat.save()
    full = new_run()
    changed = next(r for r in full.inputs["insurers"] if r["code"] == "L01")["current"]

    answer = whatif.what_if(
        run=published,
        insurer=org.l01,
        changes={
            "payment_cycle_days": {"value": m.payment_cycle_days(changed)},
            "complaints_per_100m_premium": {"value": m.complaints_per_100m_premium(changed)},
        },
    )

    stored = IndexResult.objects.get(run=full, insurer=org.l01)
    assert Decimal(repr(answer["after"]["total"])) == stored.total
    assert answer["after"]["rank"] == stored.rank
    assert answer["after"]["dimensions"] == stored.dimensions
    assert answer["after"]["indicators"] == stored.indicators
    by_change = whatif.what_if(
        run=published,
        insurer=org.l01,
        changes={
            "payment_cycle_days": {"delta": -1},
            "complaints_per_100m_premium": {"percent": -10},
        },
    )
    assert by_change["after"]["total"] == pytest.approx(float(stored.total), abs=0.011)


@pytest.mark.django_db
def test_what_if_writes_nothing(published, org):
    with CaptureQueriesContext(connection) as ctx:
        whatif.what_if(run=published, insurer=org.l01, changes={"surrender_rate": {"value": 0}})
    statements = [q["sql"].lstrip().upper() for q in ctx.captured_queries]
    assert all(sql.startswith("SELECT") for sql in statements)


@pytest.mark.django_db
def test_what_if_refuses_runs_that_are_not_published_and_unscored_insurers(published, org):
    validated = new_run()
    with pytest.raises(whatif.WhatIfError) as caught:
        whatif.what_if(run=validated, insurer=org.l01, changes={})
    assert caught.value.field == "period"
    from tests.factories import InsurerFactory

    outsider = InsurerFactory(licence_type="life")
    with pytest.raises(whatif.WhatIfError) as caught:
        whatif.what_if(run=published, insurer=outsider, changes={})
    assert caught.value.detail() == {"insurer": [caught.value.message]}
    with pytest.raises(whatif.WhatIfError) as caught:
        whatif.what_if(run=published, insurer=org.l01, changes={"payment_cycle_days": -3})
    assert caught.value.detail() == {"changes": {"payment_cycle_days": [caught.value.message]}}


@pytest.mark.django_db
def test_units_that_cover_a_whole_insurer(org):
    assert whatif.unit_insurers(unit=org.head1) == [org.l01]
    assert set(whatif.unit_insurers(unit=org.group)) == {org.l01, org.l02}
    assert whatif.unit_insurers(unit=org.branch1) == []
    assert whatif.unit_covers_insurer(unit=org.group, insurer=org.l02)
    assert not whatif.unit_covers_insurer(unit=org.head1, insurer=org.l02)
    assert not whatif.unit_covers_insurer(unit=org.branch1, insurer=org.l01)
