"""Public reads of the index: published runs only, ever.

Everything the public pages, the downloads and the public API show comes through this
module, and every query here starts from ``status="published"``. A pending, computing,
validated, failed or superseded run is as unknown to these functions as one that does not
exist, so no unreviewed or replaced number can reach a public page by accident.

Query counts are fixed: a run's results come with their insurers in one query, a profile's
history with its runs and periods in one, and peer medians are computed in Python from one
query of the run's scores. None of them grows with the number of insurers or periods.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import get_language, override
from django.utils.translation import gettext_lazy as _

from insurers.models import Insurer

from . import methodology as method
from .models import (
    INDEX_LINES,
    IndexResult,
    IndexRun,
    Methodology,
    PeerGroup,
    Period,
    RunStatus,
)

PUBLISHED = RunStatus.PUBLISHED

# ---- labels ---------------------------------------------------------------------------------
# The stored methodology names its dimensions and indicators in Chinese; these are their
# English names (and, through the catalogue, the same Chinese). Pages in Chinese show the
# stored names, so a renamed indicator in a new methodology version shows as stored.

DIMENSION_LABELS = {
    "convenience": _("Convenience"),
    "benefit": _("Benefit"),
    "recognition": _("Recognition"),
    "improvement": _("Continuous improvement"),
}

INDICATOR_LABELS = {
    "payment_cycle_days": _("Average days from incident to payment"),
    "claim_payment_rate": _("Claim payment rate"),
    "complaints_per_100m_premium": _("Complaints per 100 M CNY premium"),
    "complaints_per_10k_policies": _("Complaints per 10,000 policies"),
    "surrender_rate": _("Surrender rate"),
    "complaints_yoy_improvement": _("Year-on-year improvement of complaints per 100 M premium"),
    "payment_cycle_yoy_improvement": _("Year-on-year improvement of the payment cycle"),
}

INDICATOR_FORMULAS = {
    "payment_cycle_days": _(
        "Days from incident to payment, added up over all paid claims, divided by the number "
        "of paid claims."
    ),
    "claim_payment_rate": _("Paid claims divided by closed claims (paid and declined)."),
    "complaints_per_100m_premium": _(
        "Accepted complaints divided by premium income in units of 100 million CNY."
    ),
    "complaints_per_10k_policies": _(
        "Accepted complaints divided by policies in force in units of 10,000."
    ),
    "surrender_rate": _("Surrendered policies divided by policies in force."),
    "complaints_yoy_improvement": _(
        "(Last year's complaints per 100 M premium − this year's) ÷ last year's: positive "
        "when complaints fell."
    ),
    "payment_cycle_yoy_improvement": _(
        "(Last year's payment cycle − this year's) ÷ last year's: positive when payment got faster."
    ),
}

UNIT_LABELS = {
    "天": _("days"),
    "%": "%",
    "件/亿元": _("per 100 M CNY"),
    "件/万张": _("per 10,000 policies"),
}

BETTER_LABELS = {"higher": _("Higher is better"), "lower": _("Lower is better")}

BAND_LABELS = {"excellent": _("Excellent"), "pass": _("Pass"), "failing": _("Failing")}

#: Complaint ratios stored on each result, in the order the pages show them.
RATIO_KEYS = (
    "complaints_per_100m_premium",
    "complaints_per_10k_policies",
    "complaints_per_10k_insured",
    "complaint_index",
)

RATIO_LABELS = {
    "complaints_per_100m_premium": _("Complaints per 100 M CNY premium"),
    "complaints_per_10k_policies": _("Complaints per 10,000 policies"),
    "complaints_per_10k_insured": _("Complaints per 10,000 insured persons"),
    "complaint_index": _("Complaint index (1.00 = average)"),
}

VALIDATION_LABELS = {
    "coverage": _("Every eligible insurer is scored or listed as excluded with a reason"),
    "weights_sum_to_one": _("The weights add up to 1"),
    "scores_in_range": _("Every score lies between the floor and 100"),
    "ranks": _("Ranks follow the totals (1, 2, 2, 4 for ties)"),
    "recomputation_identical": _("Computing again from the stored inputs gives identical results"),
}


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def dimension_label(key: str, stored: dict | None = None) -> str:
    """A dimension's name in the current language (the stored name on Chinese pages)."""
    zh = (stored or {}).get(key)
    if _chinese() and zh:
        return zh
    return str(DIMENSION_LABELS.get(key, zh or key))


def indicator_label(key: str, stored: dict | None = None) -> str:
    """An indicator's name in the current language (the stored name on Chinese pages)."""
    zh = ((stored or {}).get(key) or {}).get("zh")
    if _chinese() and zh:
        return zh
    return str(INDICATOR_LABELS.get(key, zh or key))


def unit_label(unit: str) -> str:
    if _chinese():
        return unit
    return str(UNIT_LABELS.get(unit, unit))


def ratio_value(ratios: dict | None, key: str) -> float | None:
    """One complaint ratio of a result (older rows may lack the ``complaints_`` prefix)."""
    ratios = ratios or {}
    if key in ratios:
        return ratios[key]
    return ratios.get(key.removeprefix("complaints_"))


def half_up(value: float | Decimal | None, places: int = 2) -> Decimal | None:
    """``value`` rounded half-up for display, or None when there is none."""
    if value is None:
        return None
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def display_value(value: float | None, unit: str, places: int = 2) -> Decimal | None:
    """An indicator value in its unit: rates are stored as fractions and shown as %."""
    if value is None:
        return None
    return half_up(value * 100 if unit == "%" else value, places)


# ---- canonical order -------------------------------------------------------------------------
# A stored methodology's indicators and dimensions are JSON objects, whose key order
# PostgreSQL's jsonb does not keep; pages and downloads list them in the methodology
# module's order (convenience, benefit, recognition, improvement), unknown keys after.

_INDICATOR_ORDER = {name: i for i, name in enumerate(method.INDICATORS)}
_DIMENSION_ORDER = {
    dim: i for i, dim in enumerate(dict.fromkeys(i.dimension for i in method.INDICATORS.values()))
}


def ordered_indicators(meth: Methodology) -> list[tuple[str, dict]]:
    """(key, meta) of a methodology's indicators in the canonical order."""
    items = (meth.indicators or {}).items()
    return sorted(items, key=lambda kv: (_INDICATOR_ORDER.get(kv[0], len(_INDICATOR_ORDER)), kv[0]))


def ordered_dimensions(meth: Methodology) -> list[tuple[str, str]]:
    """(key, stored Chinese name) of a methodology's dimensions in the canonical order."""
    items = (meth.dimensions or {}).items()
    return sorted(items, key=lambda kv: (_DIMENSION_ORDER.get(kv[0], len(_DIMENSION_ORDER)), kv[0]))


# ---- runs -----------------------------------------------------------------------------------


def _published_runs() -> QuerySet[IndexRun]:
    return IndexRun.objects.filter(status=PUBLISHED)


def _with_context(qs: QuerySet[IndexRun]) -> QuerySet[IndexRun]:
    """A run with what every public page prints beside it: how many insurers it ranks, and
    how many of them are excellent and failing."""
    return qs.select_related("period", "methodology").annotate(
        ranked=Count("results"),
        excellent=Count("results", filter=Q(results__total__gte=method.EXCELLENT_FROM)),
        failing=Count("results", filter=Q(results__total__lt=method.FAILING_BELOW)),
    )


def published_periods(*, peer_group: str | None = None) -> list[Period]:
    """Periods with a published run (of ``peer_group``, if given), latest first."""
    runs = _published_runs()
    if peer_group:
        runs = runs.filter(peer_group=peer_group)
    return list(Period.objects.filter(pk__in=runs.values("period_id")).order_by("-end", "kind"))


def latest_published_runs(*, period: Period | None = None) -> dict[str, IndexRun | None]:
    """For each peer group (property, life, health), its published run of ``period``, or
    its latest published run when no period is given; None where there is none.

    "Latest" is the period that ends last, a year before a half-year ending the same day.
    One query, however many runs have been published.
    """
    qs = _with_context(_published_runs())
    if period is not None:
        qs = qs.filter(period=period)
    latest: dict[str, IndexRun] = {}
    for run in qs.order_by("peer_group", "-period__end", "period__kind"):
        latest.setdefault(run.peer_group, run)
    return {group: latest.get(group) for group in PeerGroup.values}


def published_run(*, period: str, peer_group: str) -> IndexRun | None:
    """The published run of a period code (``2025``, ``2025H1``) and peer group, or None."""
    if peer_group not in PeerGroup.values:
        return None
    return (
        _with_context(_published_runs()).filter(period__code=period, peer_group=peer_group).first()
    )


def run_results(*, run: IndexRun) -> list[IndexResult]:
    """A published run's results with their insurers, best first (one query)."""
    return list(
        IndexResult.objects.filter(run=run, run__status=PUBLISHED)
        .select_related("insurer")
        .order_by("rank", "insurer__short_name", "pk")
    )


def top_results(*, runs: Iterable[IndexRun | None], limit: int) -> dict[int, list[IndexResult]]:
    """The best ``limit`` results of each of ``runs`` (by run id), in one query."""
    ids = [run.pk for run in runs if run is not None]
    tops: dict[int, list[IndexResult]] = {pk: [] for pk in ids}
    if not ids:
        return tops
    rows = (
        IndexResult.objects.filter(run_id__in=ids, run__status=PUBLISHED, rank__lte=limit)
        .select_related("insurer")
        .order_by("run_id", "rank", "insurer__short_name", "pk")
    )
    for result in rows:
        if len(tops[result.run_id]) < limit:
            tops[result.run_id].append(result)
    return tops


def excluded_insurers(*, run: IndexRun) -> list[dict]:
    """Who a published run left out and why: ``{"insurer": Insurer | None, "code", "reason",
    "kind"}``; insurers are looked up by slug in one query (none when nobody was left out)."""
    entries = [e for e in (run.excluded or []) if isinstance(e, dict)]
    if not entries:
        return []
    by_slug = Insurer.objects.in_bulk([str(e.get("code")) for e in entries], field_name="slug")
    return [
        {
            "insurer": by_slug.get(str(e.get("code"))),
            "code": e.get("code"),
            "reason": e.get("reason", ""),
            "kind": exclusion_kind(str(e.get("reason", ""))),
        }
        for e in entries
    ]


EXCLUSION_KINDS = {
    "young": _("Open for less than two full accounting years"),
    "outside": _("Not part of this peer group (pension, agricultural or another licence)"),
    "inputs": _("A figure the index needs is missing or zero"),
    "other": _("Its figures could not be scored"),
}


def exclusion_kind(reason: str) -> str:
    """The plain-language kind of a methodology exclusion reason (the reasons are technical)."""
    text = reason.lower()
    if "unknown" in text:
        return "inputs"
    if "accounting year" in text:
        return "young"
    if "pension" in text or "agricultural" in text or "licence" in text or "peer group" in text:
        return "outside"
    if "missing" in text or "zero" in text or "input" in text:
        return "inputs"
    return "other"


# ---- insurers -------------------------------------------------------------------------------


def insurer_by_slug(slug: str) -> Insurer | None:
    return Insurer.objects.filter(slug=slug).first()


def insurer_history(*, insurer: Insurer) -> list[IndexResult]:
    """The insurer's results in published runs, oldest period first, each with its run,
    period and methodology and ``ranked`` (how many insurers that run ranks). One query."""
    ranked = (
        IndexResult.objects.filter(run=OuterRef("run"))
        .order_by()
        .values("run")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        IndexResult.objects.filter(insurer=insurer, run__status=PUBLISHED)
        .select_related("run__period", "run__methodology")
        .annotate(ranked=Subquery(ranked))
        .order_by("run__period__end", "-run__period__kind", "run__peer_group")
    )


def _median(values: Sequence[float]) -> float | None:
    values = [float(v) for v in values if v is not None]
    return statistics.median(values) if values else None


@dataclass
class PeerMedians:
    """The middle value of the peer group, per indicator (value and score) and dimension."""

    total: float | None = None
    dimensions: dict[str, float | None] = field(default_factory=dict)
    indicators: dict[str, dict[str, float | None]] = field(default_factory=dict)


def peer_medians(*, run: IndexRun) -> PeerMedians:
    """Medians of the totals, dimension scores and indicator values and scores of a
    published run (one query of its scores)."""
    rows = list(
        IndexResult.objects.filter(run=run, run__status=PUBLISHED).values_list(
            "total", "dimensions", "indicators"
        )
    )
    medians = PeerMedians(total=_median([total for total, _d, _i in rows]))
    dims = sorted({k for _t, d, _i in rows for k in (d or {})})
    names = sorted({k for _t, _d, i in rows for k in (i or {})})
    for dim in dims:
        medians.dimensions[dim] = _median([(d or {}).get(dim) for _t, d, _i in rows])
    for name in names:
        parts = [(i or {}).get(name) or {} for _t, _d, i in rows]
        medians.indicators[name] = {
            "value": _median([p.get("value") for p in parts]),
            "score": _median([p.get("score") for p in parts]),
        }
    return medians


# ---- sorting and searching a ranking ----------------------------------------------------------


def search_results(results: Iterable[IndexResult], q: str) -> list[IndexResult]:
    """Results whose insurer's short, Chinese or English name (or slug) contains ``q``."""
    needle = (q or "").strip().casefold()
    if not needle:
        return list(results)
    return [
        r
        for r in results
        if any(
            needle in (text or "").casefold()
            for text in (r.insurer.short_name, r.insurer.name_zh, r.insurer.name_en, r.insurer.slug)
        )
    ]


def sort_results(results: Iterable[IndexResult], key: str, descending: bool) -> list[IndexResult]:
    """Results ordered by a column of :func:`sort_keys`; missing scores always go last and
    ties keep the rank order."""
    results = sorted(results, key=lambda r: (r.rank, r.insurer.short_name))
    if key == "insurer":
        return sorted(results, key=lambda r: r.insurer.short_name, reverse=descending)
    if key == "total":
        return sorted(results, key=lambda r: r.total, reverse=descending)
    if key.startswith("dim_"):
        dim = key.removeprefix("dim_")
        present = [r for r in results if (r.dimensions or {}).get(dim) is not None]
        missing = [r for r in results if (r.dimensions or {}).get(dim) is None]
        present.sort(key=lambda r: float(r.dimensions[dim]), reverse=descending)
        return present + missing
    return results[::-1] if descending else results


# ---- the ranking as data: the JSON download, the API and the CSV share this ---------------------


def _indicator_weights(run: IndexRun) -> dict[str, float | None]:
    """The weights a run used (stored on the run; entropy weights are computed ones)."""
    weights = run.weights or {}
    if isinstance(weights, dict) and weights:
        return {k: float(v) for k, v in weights.items()}
    entry = (run.methodology.weights or {}).get(run.peer_group) or {}
    if isinstance(entry, dict):
        return {k: float(v) for k, v in entry.items()}
    return dict.fromkeys(entry)


def ranking_columns(run: IndexRun) -> tuple[list[dict], list[dict]]:
    """(dimensions, indicators) of a run's methodology used by its peer group, each with its
    key, stored Chinese name, English name and (indicators) dimension, unit, direction and
    weight, in the methodology's order."""
    meth = run.methodology
    weights = _indicator_weights(run)
    with override("en"):
        indicators = [
            {
                "key": key,
                "name_zh": meta.get("zh", key),
                "name_en": str(INDICATOR_LABELS.get(key, key)),
                "dimension": meta.get("dimension", ""),
                "unit": meta.get("unit", ""),
                "better": meta.get("better", ""),
                "weight": weights.get(key),
            }
            for key, meta in ordered_indicators(meth)
            if key in weights
        ]
        used = {i["dimension"] for i in indicators}
        dimensions = [
            {"key": key, "name_zh": zh, "name_en": str(DIMENSION_LABELS.get(key, key))}
            for key, zh in ordered_dimensions(meth)
            if key in used
        ]
    return dimensions, indicators


def _number(value) -> float | None:
    return None if value is None else float(value)


def ranking_document(*, run: IndexRun, results: Sequence[IndexResult]) -> dict:
    """A published run and its results as plain data: the JSON download and the public API
    answer exactly this (rates are fractions: 0.943 is 94.3 %)."""
    dimensions, indicators = ranking_columns(run)
    with override("en"):
        group_name = str(PeerGroup(run.peer_group).label)
    return {
        "period": run.period.code,
        "peer_group": run.peer_group,
        "peer_group_name": group_name,
        "methodology": run.methodology.version,
        "published_at": run.published_at,
        "fingerprint": run.fingerprint,
        "industry_index": _number(run.industry_index),
        "count": len(results),
        "dimensions": dimensions,
        "indicators": indicators,
        "results": [
            {
                "rank": r.rank,
                "insurer": {
                    "slug": r.insurer.slug,
                    "name_zh": r.insurer.name_zh,
                    "name_en": r.insurer.name_en,
                    "short_name": r.insurer.short_name,
                },
                "total": float(r.total),
                "band": r.band,
                "dimensions": {
                    d["key"]: _number((r.dimensions or {}).get(d["key"])) for d in dimensions
                },
                "indicators": {
                    i["key"]: {
                        "value": _number(((r.indicators or {}).get(i["key"]) or {}).get("value")),
                        "score": _number(((r.indicators or {}).get(i["key"]) or {}).get("score")),
                    }
                    for i in indicators
                },
                "premium_cny": float(r.premium_cny),
                "complaints": r.complaints,
                "ratios": {k: _number(ratio_value(r.ratios, k)) for k in RATIO_KEYS},
            }
            for r in results
        ],
    }


# ---- methodology ------------------------------------------------------------------------------


def _public_methodologies() -> QuerySet[Methodology]:
    """The default methodology and every version a published run was computed with; a
    version being drafted by the index administrators stays out of sight."""
    used = _published_runs().values("methodology_id")
    return Methodology.objects.filter(Q(is_default=True) | Q(pk__in=used))


def public_methodology(*, version: str | None = None) -> Methodology | None:
    """The named public methodology version, else the default (else the newest public)."""
    qs = _public_methodologies()
    if version:
        return qs.filter(version=version).first()
    return qs.order_by("-is_default", "-created").first()


def public_methodology_versions() -> list[str]:
    return list(_public_methodologies().order_by("-created").values_list("version", flat=True))


def methodology_published_runs(*, methodology: Methodology) -> list[IndexRun]:
    """Published runs computed with ``methodology``, latest first, for their fingerprints."""
    return list(
        _published_runs()
        .filter(methodology=methodology)
        .select_related("period")
        .order_by("-period__end", "period__kind", "peer_group")
    )


def index_lines(peer_group: str) -> tuple[str, ...]:
    """The product lines a peer group's index is computed on (DESIGN §3)."""
    return INDEX_LINES.get(peer_group, ())
