"""Index runs over stored statistics: compute, validate, fingerprint, publish, fail safely."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from insurers.models import LicenceType
from sqi import methodology as method
from sqi import runs
from sqi.models import IndexResult, IndexRun, Methodology, OperatingStatistic, RunStatus
from sqi.tasks import compute_index
from tests.factories import InsurerFactory

from .conftest import EXAMPLE, put_statistics

EXPECTED = EXAMPLE["expected"]
REL = 1e-12


def new_run(period="2025", peer_group="life", **kwargs) -> IndexRun:
    return runs.index_run_compute(
        run=runs.index_run_create(period=period, peer_group=peer_group, **kwargs)
    )


def published(period="2025", peer_group="life"):
    return list(
        IndexRun.objects.filter(
            period__code=period, peer_group=peer_group, status=RunStatus.PUBLISHED
        ).values_list("pk", flat=True)
    )


# --- the worked example, through the database ----------------------------------------------


def test_run_over_stored_statistics_reproduces_the_worked_example(life_market):
    run = new_run()
    assert run.status == RunStatus.VALIDATED, (run.error, run.validation)
    assert run.progress_done == run.progress_total == len(runs.STEPS)
    assert set(run.timings) == set(runs.STEPS)
    assert run.industry_index == Decimal(str(EXPECTED["industry_index"]))
    assert run.weights == pytest.approx(EXPECTED["weights"], rel=REL)
    assert run.excluded == []
    results = {r.insurer.slug: r for r in run.results.select_related("insurer")}
    assert sorted(results) == sorted(r["code"] for r in EXPECTED["results"])
    for want in EXPECTED["results"]:
        got = results[want["code"]]
        assert got.total == Decimal(str(want["total"])), want["code"]
        assert got.rank == want["rank"], want["code"]
        assert got.dimensions == want["dimensions"], want["code"]
        for name, ind in want["indicators"].items():
            assert got.indicators[name]["value"] == pytest.approx(ind["value"], rel=REL)
            assert got.indicators[name]["score"] == ind["score"], (want["code"], name)
    assert all(check["ok"] for check in run.validation)
    assert {c["check"] for c in run.validation} >= {
        "coverage",
        "weights_sum_to_one",
        "scores_in_range",
        "ranks",
        "recomputation_identical",
    }


def test_stored_inputs_reproduce_the_run_through_the_pure_methodology(life_market):
    """The run keeps its canonical inputs: ``python -m sqi.methodology`` on them (here:
    ``compute``) gives exactly the stored results — every number is traceable."""
    run = new_run()
    again = method.compute(run.inputs)
    by_code = {r.insurer.slug: r for r in run.results.select_related("insurer")}
    for result in again["results"]:
        assert Decimal(repr(result["total"])) == by_code[result["code"]].total
        assert result["rank"] == by_code[result["code"]].rank


def test_same_inputs_same_fingerprint_and_identical_results(life_market):
    first, second = new_run(), new_run()
    assert first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 64
    rows = lambda run: list(  # noqa: E731
        run.results.order_by("insurer__slug").values_list(
            "insurer__slug", "total", "rank", "dimensions", "indicators", "ratios"
        )
    )
    assert rows(first) == rows(second)
    assert first.industry_index == second.industry_index


def test_a_changed_input_or_methodology_changes_the_fingerprint(life_market):
    base = new_run().fingerprint
    stat = OperatingStatistic.objects.filter(period__code="2025").first()
    stat.claims_paid -= 1
    stat.save()
    changed = new_run().fingerprint
    assert changed != base
    other = Methodology.objects.get(is_default=True)
    other.pk, other.version, other.is_default = None, "SQI-2022-F60", False
    other.scoring_floor = 60
    other.save()
    assert new_run(methodology="SQI-2022-F60").fingerprint not in (base, changed)


def test_complaint_ratios_and_naic_index_are_stored(life_market):
    run = new_run()
    results = list(run.results.select_related("insurer"))
    current = {r["code"]: r["current"] for r in EXAMPLE["insurers"]}
    total_complaints = sum(c["complaints"] for c in current.values())
    total_premium = sum(c["premium_cny"] for c in current.values())
    for result in results:
        mine = current[result.insurer.slug]
        assert result.ratios["complaints_per_100m_premium"] == pytest.approx(
            mine["complaints"] / (mine["premium_cny"] / 1e8)
        )
        assert result.ratios["complaints_per_10k_policies"] == pytest.approx(
            mine["complaints"] / (mine["policies_in_force"] / 1e4)
        )
        # no insured-persons figure in the example: not available, never 0
        assert result.ratios["complaints_per_10k_insured"] is None
        share = (mine["complaints"] / total_complaints) / (mine["premium_cny"] / total_premium)
        assert result.ratios["complaint_index"] == pytest.approx(share)
    weighted = sum(r.ratios["complaint_index"] * float(r.premium_cny) for r in results)
    assert weighted / total_premium == pytest.approx(1.0)  # premium-weighted mean is 1.00


# --- eligibility ---------------------------------------------------------------------------


def test_ineligible_and_incomplete_insurers_are_listed_with_the_reason(life_market, periods):
    young = InsurerFactory(
        slug="young", licence_type=LicenceType.LIFE, established=datetime.date(2024, 3, 1)
    )
    put_statistics(young, periods["2025"], EXAMPLE["insurers"][0]["current"])
    put_statistics(young, periods["2024"], EXAMPLE["insurers"][0]["previous"])
    no_premium = InsurerFactory(slug="no-premium", licence_type=LicenceType.LIFE)
    figures = dict(EXAMPLE["insurers"][1]["current"], premium_cny=None)
    put_statistics(no_premium, periods["2025"], figures)
    put_statistics(no_premium, periods["2024"], EXAMPLE["insurers"][1]["previous"])
    InsurerFactory(slug="pension", licence_type=LicenceType.PENSION)  # never a candidate
    InsurerFactory(slug="a-property-one", licence_type=LicenceType.PROPERTY)
    InsurerFactory(slug="silent", licence_type=LicenceType.LIFE)  # reported nothing

    run = new_run()
    assert run.status == RunStatus.VALIDATED
    reasons = {e["code"]: e["reason"] for e in run.excluded}
    assert set(reasons) == {"young", "no-premium"}
    assert "full accounting year" in reasons["young"]
    assert "premium_cny" in reasons["no-premium"]
    assert not run.results.filter(insurer__slug__in=["young", "no-premium", "pension"]).exists()
    # the scored insurers' results are those of the worked example, unchanged by exclusions
    assert run.results.count() == len(EXPECTED["results"])
    # an insurer that reported nothing is not in the index, and the report names it
    silent = next(c for c in run.validation if c["check"] == "not_reporting")
    assert silent["ok"] and silent["detail"].endswith(": silent")


def test_agricultural_property_insurers_are_out(periods):
    farm = InsurerFactory(slug="farm", is_agricultural=True)
    put_statistics(farm, periods["2025"], EXAMPLE["insurers"][0]["current"], line="motor")
    put_statistics(farm, periods["2024"], EXAMPLE["insurers"][0]["previous"], line="motor")
    run = new_run(peer_group="property")
    assert run.status == RunStatus.FAILED  # nobody left to score
    assert run.excluded == [
        {"code": "farm", "reason": "agricultural insurers are not part of the index"}
    ]
    assert not next(c for c in run.validation if c["check"] == "coverage")["ok"]


# --- validation failures -------------------------------------------------------------------


def test_a_run_without_the_complaint_rollup_fails_validation(life_market):
    from sqi.models import ComplaintStatistic

    ComplaintStatistic.objects.filter(period__code="2025").delete()
    run = new_run()
    assert run.status == RunStatus.FAILED
    check = next(c for c in run.validation if c["check"] == "complaint_statistics")
    assert check["ok"] is False
    assert "complaint rollup" in check["detail"]
    assert not IndexResult.objects.filter(run=run).exists()


def test_a_methodology_whose_weights_do_not_sum_to_one_is_refused(life_market):
    bad = Methodology.objects.get(is_default=True)
    bad.pk, bad.version, bad.is_default = None, "BROKEN", False
    bad.weights = {**bad.weights, "life": {**bad.weights["life"], "surrender_rate": 0.1}}
    with pytest.raises(ValidationError) as exc:
        bad.full_clean()
    assert "weights" in exc.value.message_dict
    assert "life" in exc.value.message_dict["weights"][0]
    assert "sum to 1" in exc.value.message_dict["weights"][0]
    bad.save()  # forced past the form: the run still refuses to compute from it
    run = new_run(methodology="BROKEN")
    assert run.status == RunStatus.FAILED
    assert "BROKEN is not usable" in run.error
    assert not run.results.exists()


def test_unknown_period_or_peer_group_is_a_field_error(life_market):
    with pytest.raises(ValidationError) as exc:
        runs.index_run_create(period="2031", peer_group="life")
    assert "period" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        runs.index_run_create(period="2025", peer_group="pension")
    assert "peer_group" in exc.value.message_dict
    assert not IndexRun.objects.exists()


# --- publishing ----------------------------------------------------------------------------


def test_publish_replaces_the_previous_publication(life_market):
    first = runs.index_run_publish(run=new_run())
    assert first.status == RunStatus.PUBLISHED and first.published_at
    second = runs.index_run_publish(run=new_run())
    first.refresh_from_db()
    assert first.status == RunStatus.SUPERSEDED
    assert published() == [second.pk]


def test_only_a_validated_run_can_be_published(life_market):
    run = runs.index_run_create(period="2025", peer_group="life")
    with pytest.raises(ValidationError) as exc:
        runs.index_run_publish(run=run)
    assert "status" in exc.value.message_dict
    assert published() == []


def test_a_failure_while_switching_keeps_the_old_publication(life_market, monkeypatch):
    old = runs.index_run_publish(run=new_run())
    new = new_run()

    def boom(run):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runs, "_before_switch", boom)
    with pytest.raises(RuntimeError):
        runs.index_run_publish(run=new)
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.status == RunStatus.PUBLISHED  # the supersede was rolled back
    assert new.status == RunStatus.VALIDATED
    assert published() == [old.pk]


def test_a_failure_while_computing_keeps_the_old_publication(life_market, monkeypatch):
    old = runs.index_run_publish(run=new_run())

    def broken(inputs):
        raise ZeroDivisionError("bad arithmetic")

    monkeypatch.setattr(method, "compute", broken)
    with pytest.raises(ZeroDivisionError):
        runs.index_run_execute(period="2025", peer_group="life", publish=True)
    failed = IndexRun.objects.exclude(pk=old.pk).get()
    assert failed.status == RunStatus.FAILED
    assert "bad arithmetic" in failed.error
    assert not failed.results.exists()
    assert published() == [old.pk]


def test_a_failure_while_storing_results_stores_nothing(life_market, monkeypatch):
    old = runs.index_run_publish(run=new_run())
    real = IndexResult.objects.bulk_create

    def half_then_fail(objs, *args, **kwargs):
        objs = list(objs)
        real(objs[:3], *args, **kwargs)
        raise RuntimeError("connection lost")

    monkeypatch.setattr(IndexResult.objects, "bulk_create", half_then_fail)
    with pytest.raises(RuntimeError):
        new_run()
    failed = IndexRun.objects.exclude(pk=old.pk).get()
    assert failed.status == RunStatus.FAILED
    assert not failed.results.exists()  # the three rows were rolled back with the step
    assert published() == [old.pk]


# --- the task and the command --------------------------------------------------------------


def test_compute_index_task_in_process(life_market):
    # .apply(): in this process whatever the broker settings say (the worker test is in
    # tests/integration/test_index_worker.py)
    outcome = compute_index.apply(("2025", "life"), {"publish": True}).get()
    run = IndexRun.objects.get(pk=outcome["run"])
    assert outcome["status"] == RunStatus.PUBLISHED == run.status
    assert outcome["fingerprint"] == run.fingerprint
    # a retry of the same run (acks_late redelivery) does not compute or publish twice
    again = compute_index.apply(("2025", "life"), {"run_id": run.pk, "publish": True}).get()
    assert again == outcome
    assert IndexRun.objects.count() == 1


def test_compute_index_command(life_market, capsys):
    call_command("compute_index", "--period", "2025", "--peer-group", "life", "--publish")
    out = capsys.readouterr().out
    run = IndexRun.objects.get()
    assert run.status == RunStatus.PUBLISHED
    assert f"run #{run.pk} 2025 life (SQI-2022): published" in out
    assert f"industry index {EXPECTED['industry_index']:.2f}" in out
    assert "[ok ] recomputation_identical" in out


def test_compute_index_command_failures(life_market):
    with pytest.raises(CommandError, match="2019"):
        call_command("compute_index", "--period", "2019", "--peer-group", "life")
    with pytest.raises(CommandError, match="1 run"):
        # property: no insurers with statistics → the run fails validation
        call_command("compute_index", "--period", "2025", "--peer-group", "property")
    assert IndexRun.objects.get().status == RunStatus.FAILED


# --- stale runs ----------------------------------------------------------------------------


def test_a_run_whose_worker_was_lost_is_marked_failed_and_can_run_again(life_market):
    import datetime

    from django.utils import timezone

    old = runs.index_run_publish(run=new_run())
    stuck = runs.index_run_create(period="2025", peer_group="life")
    stuck.start()
    stuck.started = timezone.now()
    stuck.save()
    waiting = runs.index_run_create(period="2025", peer_group="life")
    later = timezone.now() + runs.STALE_AFTER + datetime.timedelta(minutes=1)

    assert runs.index_run_sweep_stale() == []  # not stale yet
    assert sorted(runs.index_run_sweep_stale(now=later)) == sorted([stuck.pk, waiting.pk])
    stuck.refresh_from_db()
    assert stuck.status == RunStatus.FAILED and stuck.error.startswith("stale:")
    old.refresh_from_db()
    assert old.status == RunStatus.PUBLISHED
    assert runs.index_run_sweep_stale(now=later) == []  # once
    # the redelivered task computes it afresh: same fingerprint as an undisturbed run
    again = runs.index_run_execute(period="2025", peer_group="life", run_id=stuck.pk)
    assert again.status == RunStatus.VALIDATED
    assert again.fingerprint == old.fingerprint


def test_the_stale_run_sweep_is_scheduled(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="sqi.tasks.sweep_stale_runs")
    assert task.enabled and task.interval.every == 10
