"""Index runs: gather the inputs, compute, validate, store, publish.

A run is computed in numbered steps whose progress is committed as it goes (the admin and
the run page poll it); the results are written in one transaction at the end, and
publishing is a separate transaction that swaps the published run of a period and peer
group. A failure anywhere leaves the previously published run published.

The arithmetic is :mod:`sqi.methodology` (pure Python); this module only feeds it the
stored inputs and stores what it returns, with a fingerprint over the canonical inputs and
the methodology so that a recomputation can be checked to be identical.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from insurers.models import Insurer

from . import methodology as method
from .models import (
    INDEX_LINES,
    ComplaintStatistic,
    IndexResult,
    IndexRun,
    Methodology,
    OperatingStatistic,
    PeerGroup,
    Period,
    RunStatus,
)
from .page_cache import public_pages_changed

#: The inputs summed over the peer group's index lines, per insurer and period.
SUMMED = (
    "claims_reported",
    "claims_closed",
    "claims_paid",
    "claims_declined",
    "payment_days_total",
    "premium_cny",
    "policies_in_force",
    "insured_persons",
    "surrenders",
)

STEPS = (
    "extract",  # 1. the inputs of every candidate insurer, for this period and the previous
    "fingerprint",  # 2. sha256 over the canonical inputs and the methodology
    "compute",  # 3. indicator values, scores, weights, dimensions, totals, ranks
    "ratios",  # 4. complaint ratios and the NAIC-style complaint index
    "validate",  # 5. coverage, weights, ranges, ranks, identical recomputation
    "store",  # 6. results written, run validated
)


class RunFailed(Exception):
    """A run could not be computed or did not validate; the message says why."""


# --- step 1: inputs ------------------------------------------------------------------------


def _number(value):
    """JSON-safe, exact-enough number: integers stay integers, decimals become floats."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _period_sums(period: Period | None, lines, insurer_ids) -> dict[int, dict]:
    """{insurer id: {input: sum over lines}} for one period: two aggregate queries."""
    if period is None:
        return {}
    sums: dict[int, dict] = {}
    rows = (
        OperatingStatistic.objects.filter(
            period=period, product_line__in=lines, insurer_id__in=insurer_ids
        )
        .values("insurer_id")
        .annotate(**{name: Sum(name) for name in SUMMED})
    )
    for row in rows:
        sums[row.pop("insurer_id")] = {k: _number(v) for k, v in row.items()}
    complaints = (
        ComplaintStatistic.objects.filter(
            period=period, product_line__in=lines, insurer_id__in=insurer_ids
        )
        .values("insurer_id")
        .annotate(n=Sum("complaints"))
    )
    counted = {row["insurer_id"]: row["n"] for row in complaints}
    for insurer_id in insurer_ids:
        # The complaint rollup writes a row only where there were complaints: no row is 0,
        # once the rollup has run for the period (checked in validation).
        sums.setdefault(insurer_id, {})["complaints"] = counted.get(insurer_id, 0)
    return sums


def candidates(*, period: Period, peer_group: str):
    """Insurers whose licence puts them in ``peer_group`` and that reported for the period:
    statistics on the group's index lines for the period or the one before, or accepted
    complaints in the period. The entity rules and the inputs then decide who is scored; an
    insurer that reported nothing at all is named in the validation report instead."""
    lines = INDEX_LINES[peer_group]
    periods = Period.objects.filter(code__in=[period.code, period.previous_code])
    reported = OperatingStatistic.objects.filter(period__in=periods, product_line__in=lines)
    complained = ComplaintStatistic.objects.filter(period=period, product_line__in=lines)
    return (
        Insurer.objects.filter(licence_type=peer_group)
        .filter(Q(pk__in=reported.values("insurer_id")) | Q(pk__in=complained.values("insurer_id")))
        .order_by("slug")
    )


def not_reporting(*, period: Period, peer_group: str) -> list[str]:
    """Active insurers of the peer group's licence type with nothing reported for the period."""
    scored = candidates(period=period, peer_group=peer_group).values("pk")
    return list(
        Insurer.objects.filter(licence_type=peer_group, active=True)
        .exclude(pk__in=scored)
        .order_by("slug")
        .values_list("slug", flat=True)
    )


def run_inputs(*, period: Period, peer_group: str, methodology: Methodology) -> dict:
    """The canonical inputs of a run, in the format :func:`sqi.methodology.compute` reads
    (and ``python -m sqi.methodology`` too: the run's inputs file reproduces it by hand)."""
    if peer_group not in PeerGroup.values:
        raise ValueError(f"unknown peer group {peer_group!r}")
    lines = INDEX_LINES[peer_group]
    insurers = list(candidates(period=period, peer_group=peer_group))
    ids = [i.pk for i in insurers]
    previous = Period.objects.filter(code=period.previous_code).first()
    current_sums = _period_sums(period, lines, ids)
    previous_sums = _period_sums(previous, lines, ids)
    records = []
    for insurer in insurers:
        current = {k: current_sums.get(insurer.pk, {}).get(k) for k in (*SUMMED, "complaints")}
        record = {
            "code": insurer.slug,
            "licence_type": insurer.licence_type,
            "established": insurer.established.isoformat() if insurer.established else None,
            "agricultural": insurer.is_agricultural,
            "current": current,
        }
        if previous is not None:
            record["previous"] = {
                k: previous_sums.get(insurer.pk, {}).get(k) for k in (*SUMMED, "complaints")
            }
        records.append(record)
    inputs = method.run_settings(methodology.as_dict(), peer_group)
    inputs.update(
        {
            "period": period.code,
            "previous_period": period.previous_code if previous else None,
            "lines": list(lines),
            "insurers": records,
        }
    )
    return inputs


# --- step 2: fingerprint -------------------------------------------------------------------


def canonical_json(data) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def fingerprint(inputs: dict, methodology: dict) -> str:
    """sha256 over the canonical inputs and the full methodology definition (version,
    scoring, floor, weights…): equal fingerprints mean the computation must be identical."""
    payload = canonical_json({"inputs": inputs, "methodology": methodology})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# --- step 4: complaint ratios --------------------------------------------------------------


def ratios_for(inputs: dict) -> dict[str, dict]:
    """Complaint ratios per insurer code, with the NAIC-style index over the peer group's
    insurers that have both a complaint count and a positive premium."""
    complaints, premiums, out = {}, {}, {}
    for record in inputs["insurers"]:
        current = record["current"]
        out[record["code"]] = method.complaint_ratios(current)
        if current.get("premium_cny") and current.get("complaints") is not None:
            complaints[record["code"]] = current["complaints"]
            premiums[record["code"]] = current["premium_cny"]
    index = method.complaint_index(complaints, premiums)
    for code, ratios in out.items():
        ratios["complaint_index"] = index.get(code)
    return out


# --- step 5: validation --------------------------------------------------------------------


def _check(report: list, name: str, ok: bool, detail: str) -> None:
    report.append({"check": name, "ok": bool(ok), "detail": detail})


def validation_report(
    inputs: dict, output: dict, *, complaints_rolled_up: bool, silent: list[str] = ()
) -> list[dict]:
    """The validation steps of DESIGN §3 step 5, each with a plain-language detail.

    ``silent`` names active insurers of the licence type that reported nothing for the
    period: listed for the index administrator to chase, not a failure of the run."""
    report: list[dict] = []
    results = output["results"]
    excluded = output.get("excluded", [])
    codes = [r["code"] for r in inputs["insurers"]]
    accounted = sorted([r["code"] for r in results] + [e["code"] for e in excluded])
    _check(
        report,
        "coverage",
        results and accounted == sorted(codes),
        f"{len(results)} scored, {len(excluded)} excluded with a reason, "
        f"of {len(codes)} insurers in the peer group",
    )
    _check(
        report,
        "not_reporting",
        True,
        "every active insurer of this licence type reported"
        if not silent
        else f"{len(silent)} active insurer(s) reported nothing and are not in the index: "
        + ", ".join(silent),
    )
    _check(
        report,
        "complaint_statistics",
        complaints_rolled_up,
        "complaint rollup present for the period"
        if complaints_rolled_up
        else "no complaint statistics for the period: run the complaint rollup first",
    )
    weight_sum = math.fsum(output["weights"].values())
    _check(
        report,
        "weights_sum_to_one",
        abs(weight_sum - 1) <= method.WEIGHT_TOLERANCE,
        f"weights sum to {weight_sum!r}",
    )
    floor = float(inputs.get("scoring_floor", 50))
    bad = [
        f"{r['code']}:{name}={v['score']}"
        for r in results
        for name, v in r["indicators"].items()
        if not floor <= v["score"] <= 100
    ]
    bad += [f"{r['code']}:total={r['total']}" for r in results if not floor <= r["total"] <= 100]
    _check(
        report,
        "scores_in_range",
        not bad,
        f"every score within [{floor:g}, 100]" if not bad else "out of range: " + ", ".join(bad),
    )
    totals = [r["total"] for r in results]
    expected = method.competition_ranks(totals)
    _check(
        report,
        "ranks",
        [r["rank"] for r in results] == expected,
        "competition ranks (1, 2, 2, 4) on the rounded totals",
    )
    again = method.compute(json.loads(canonical_json(inputs)))
    _check(
        report,
        "recomputation_identical",
        canonical_json(again) == canonical_json(output),
        "a second computation from the canonical inputs gives identical results",
    )
    return report


# --- the run -------------------------------------------------------------------------------


def methodology_ensure_default(**kwargs) -> Methodology:
    """The default methodology; SQI-2022 from ``sqi/data/sqi_methodology.json`` when there
    is none (after migrate, and after a test database flush, through ``post_migrate``)."""
    current = Methodology.objects.filter(is_default=True).first()
    if current is not None:
        return current
    data = method.load_methodology()
    existing = Methodology.objects.filter(version=data["version"]).first()
    if existing is not None:
        existing.is_default = True
        existing.save(update_fields=["is_default"])
        return existing
    return Methodology.objects.create(
        version=data["version"],
        title="保险服务质量指数 SQI-2022",
        scoring=data["scoring"],
        scoring_floor=data.get("scoring_floor", 50),
        weighting=data["weighting"],
        indicators=data["indicators"],
        dimensions=data["dimensions"],
        weights=data["weights"],
        is_default=True,
    )


def default_methodology() -> Methodology:
    return methodology_ensure_default()


def resolve_methodology(version: str | Methodology | None) -> Methodology:
    if isinstance(version, Methodology):
        return version
    if not version:
        return default_methodology()
    try:
        return Methodology.objects.get(version=version)
    except Methodology.DoesNotExist:
        raise ValidationError(
            {"methodology": _("Unknown methodology version %(v)s.") % {"v": version}}
        ) from None


def resolve_period(code: str | Period) -> Period:
    if isinstance(code, Period):
        return code
    try:
        return Period.objects.get(code=code)
    except Period.DoesNotExist:
        raise ValidationError({"period": _("Unknown period %(code)s.") % {"code": code}}) from None


def index_run_create(
    *, period: str | Period, peer_group: str, methodology=None, by=None
) -> IndexRun:
    """A pending run; the caller hands it to :func:`index_run_compute` (usually via Celery)."""
    if peer_group not in PeerGroup.values:
        raise ValidationError({"peer_group": _("Unknown peer group %(g)s.") % {"g": peer_group}})
    return IndexRun.objects.create(
        period=resolve_period(period),
        peer_group=peer_group,
        methodology=resolve_methodology(methodology),
        created_by=by if by is not None and by.is_authenticated else None,
        progress_total=len(STEPS),
    )


def _progress(run: IndexRun, done: int, timings: dict) -> None:
    """Commit the progress at once (outside any transaction) so that pollers see it."""
    run.progress_done = done
    IndexRun.objects.filter(pk=run.pk).update(progress_done=done, timings=dict(timings))


def _step(run: IndexRun, number: int, name: str, timings: dict, function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    timings[name] = round((time.perf_counter() - started) * 1000, 3)
    _progress(run, number, timings)
    return result


def index_run_compute(*, run: IndexRun) -> IndexRun:
    """Compute ``run`` through the six steps; ``validated`` on success, ``failed`` with the
    error and the validation report otherwise. Never touches the published run."""
    run.start()
    run.started = timezone.now()
    run.finished = None
    run.error = ""
    run.progress_done = 0
    run.progress_total = len(STEPS)
    run.save(
        update_fields=["status", "started", "finished", "error", "progress_done", "progress_total"]
    )
    timings: dict[str, float] = {}
    try:
        methodology = run.methodology
        definition = methodology.as_dict()
        problems = method.methodology_problems(definition)
        if problems:
            raise RunFailed(f"methodology {methodology.version} is not usable: {problems}")
        inputs = _step(
            run,
            1,
            "extract",
            timings,
            run_inputs,
            period=run.period,
            peer_group=run.peer_group,
            methodology=methodology,
        )
        run.inputs = inputs
        run.fingerprint = _step(run, 2, "fingerprint", timings, fingerprint, inputs, definition)
        output = _step(run, 3, "compute", timings, method.compute, inputs)
        ratios = _step(run, 4, "ratios", timings, ratios_for, inputs)
        rolled_up = ComplaintStatistic.objects.filter(period=run.period).exists()
        report = _step(
            run,
            5,
            "validate",
            timings,
            validation_report,
            inputs,
            output,
            complaints_rolled_up=rolled_up,
            silent=not_reporting(period=run.period, peer_group=run.peer_group),
        )
        run.validation = report
        run.excluded = output.get("excluded", [])
        run.weights = output["weights"]
        failed = [c["check"] for c in report if not c["ok"]]
        if failed:
            raise RunFailed("validation failed: " + ", ".join(failed))
        _step(run, 6, "store", timings, _store, run, inputs, output, ratios)
    except Exception as exc:
        run.refresh_from_db(fields=["progress_done"])
        run.fail()
        run.error = f"{type(exc).__name__}: {exc}"
        run.finished = timezone.now()
        run.timings = timings
        run.save(
            update_fields=[
                "status",
                "error",
                "finished",
                "timings",
                "inputs",
                "fingerprint",
                "validation",
                "excluded",
                "weights",
            ]
        )
        if not isinstance(exc, RunFailed):
            raise
        return run
    run.timings = timings
    IndexRun.objects.filter(pk=run.pk).update(timings=timings)
    return run


@transaction.atomic
def _store(run: IndexRun, inputs: dict, output: dict, ratios: dict) -> None:
    """Results and the ``validated`` status in one transaction: all or nothing."""
    insurers = {
        i.slug: i for i in Insurer.objects.filter(slug__in=[r["code"] for r in output["results"]])
    }
    currents = {r["code"]: r["current"] for r in inputs["insurers"]}
    IndexResult.objects.filter(run=run).delete()
    IndexResult.objects.bulk_create(
        IndexResult(
            run=run,
            insurer=insurers[r["code"]],
            total=Decimal(repr(r["total"])),
            rank=r["rank"],
            dimensions=r["dimensions"],
            indicators=r["indicators"],
            premium_cny=Decimal(repr(currents[r["code"]]["premium_cny"])),
            complaints=currents[r["code"]]["complaints"],
            ratios=ratios[r["code"]],
        )
        for r in output["results"]
    )
    index = output.get("industry_index")
    run.industry_index = Decimal(repr(index)) if index is not None else None
    run.validate()
    run.finished = timezone.now()
    run.save(
        update_fields=[
            "status",
            "finished",
            "industry_index",
            "inputs",
            "fingerprint",
            "validation",
            "excluded",
            "weights",
        ]
    )


def _before_switch(run: IndexRun) -> None:
    """A seam between taking down the old publication and putting up the new one (tests make
    it fail to prove that the swap is all or nothing)."""


@transaction.atomic
def index_run_publish(*, run: IndexRun, by=None) -> IndexRun:
    """Make ``run`` the published run of its period and peer group, superseding the previous
    one in the same transaction: readers see the old run or the new one, never neither."""
    run = IndexRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.VALIDATED:
        raise ValidationError(
            {
                "status": _("Only a validated run can be published; this one is %(s)s.")
                % {"s": run.get_status_display()}
            }
        )
    previous = list(
        IndexRun.objects.select_for_update().filter(
            period_id=run.period_id, peer_group=run.peer_group, status=RunStatus.PUBLISHED
        )
    )
    for old in previous:
        old.supersede()
        old.save(update_fields=["status"])
    _before_switch(run)
    run.publish()
    run.published_at = timezone.now()
    run.published_by = by if by is not None and by.is_authenticated else None
    run.save(update_fields=["status", "published_at", "published_by"])
    public_pages_changed()  # the cached home page and profiles show the new ranking
    return run


@transaction.atomic
def index_run_start(
    *, period, peer_group: str, methodology=None, publish: bool = False, by=None
) -> IndexRun:
    """A new run and, in the same transaction, its ``compute_index`` task in the outbox: sent
    once the transaction has committed, or by the relay if the broker is down."""
    from outbox.services import outbox_enqueue

    run = index_run_create(period=period, peer_group=peer_group, methodology=methodology, by=by)
    outbox_enqueue(
        task="sqi.tasks.compute_index",
        args=(run.period.code, run.peer_group, run.methodology.version),
        kwargs={"run_id": run.pk, "publish": publish},
        key=f"index-run:{run.pk}",
    )
    return run


#: A run still pending or computing after this long has lost its worker (a computation takes
#: seconds: 0.13 s for three peer groups on the 1 M-complaint benchmark).
STALE_AFTER = datetime.timedelta(minutes=30)


def index_run_sweep_stale(*, now: datetime.datetime | None = None) -> list[int]:
    """Mark runs left ``pending`` or ``computing`` for longer than :data:`STALE_AFTER` as
    failed (the worker died, or the message was lost), so that none stays "computing"
    forever; returns their ids. A redelivered task for such a run computes it afresh."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    stale = IndexRun.objects.filter(
        Q(status=RunStatus.COMPUTING, started__lt=cutoff)
        | Q(status=RunStatus.PENDING, created__lt=cutoff)
    )
    swept = []
    for run in stale:
        with transaction.atomic():
            run = IndexRun.objects.select_for_update().get(pk=run.pk)
            if run.status not in (RunStatus.PENDING, RunStatus.COMPUTING):
                continue  # finished meanwhile
            run.fail()
            run.error = f"stale: no progress since {cutoff:%Y-%m-%d %H:%M} (worker lost?)"
            run.finished = timezone.now()
            run.save(update_fields=["status", "error", "finished"])
            swept.append(run.pk)
    return swept


def index_run_execute(
    *,
    period: str,
    peer_group: str,
    methodology: str | None = None,
    run_id: int | None = None,
    publish: bool = False,
    task_id: str = "",
    by=None,
) -> IndexRun:
    """What the ``compute_index`` task and command do: compute (a given or a new run) and,
    when asked and the run validated, publish it. Safe to repeat: a run that is already
    validated or published is not computed again."""
    if run_id is not None:
        run = IndexRun.objects.select_related("period", "methodology").get(pk=run_id)
    else:
        run = index_run_create(period=period, peer_group=peer_group, methodology=methodology, by=by)
    if task_id and run.task_id != task_id:
        run.task_id = task_id
        IndexRun.objects.filter(pk=run.pk).update(task_id=task_id)
    if run.status in (RunStatus.PENDING, RunStatus.COMPUTING, RunStatus.FAILED):
        run = index_run_compute(run=run)
    if publish and run.status == RunStatus.VALIDATED:
        run = index_run_publish(run=run, by=by or run.created_by)
    return run
