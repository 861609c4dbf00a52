"""Public index pages: the ranking home, a full ranking with its downloads, insurer
profiles and the methodology.

Anyone may read them; they only ever show published runs (every read goes through
:mod:`sqi.selectors_public`). Sorting, searching and choosing a period are GET parameters,
so every view of a ranking is a link one can share and works without JavaScript; the
scripts in ``static/sqi/`` only switch peer-group tabs in place and draw the charts, whose
figures are also in tables on the same page.
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from cases import showcase_selectors
from complaints.models import ProductLine

from . import methodology as method
from . import selectors_public as selectors
from .api.results import RankingSerializer
from .models import IndexRun, PeerGroup, Period
from .page_cache import cache_public_page

#: How many insurers each peer group shows on the home page before "full ranking".
TOP_N = 10
#: Awarded cases listed on a profile before "all cases of this insurer".
PROFILE_CASES = 6

DEFAULT_DIRECTION = {"rank": "asc", "insurer": "asc"}  # totals and scores: best first
#: The query parameters of the ranking board (what its cached pages may vary by).
BOARD_PARAMS = ("period", "group")


# ---- the ranking board (/ and /index/) ----------------------------------------------------------


def ranking_board(request, *, limit: int = TOP_N) -> dict:
    """Per peer group its latest published ranking (or that of ``?period=``), best
    ``limit`` first, and the peer group shown first (``?group=``). Three queries."""
    periods = selectors.published_periods()
    code = request.GET.get("period", "")
    period: Period | None = next((p for p in periods if p.code == code), None)
    runs = selectors.latest_published_runs(period=period)
    tops = selectors.top_results(runs=runs.values(), limit=limit)
    for results in tops.values():
        _label_bands(results)
    group = request.GET.get("group", "")
    if group not in PeerGroup.values:
        group = next((g for g, run in runs.items() if run is not None), PeerGroup.PROPERTY)

    def link(g: str) -> str:
        params = {"group": g, **({"period": period.code} if period else {})}
        return "?" + urlencode(params) + "#sqi-board"

    panels = []
    for g in PeerGroup.values:
        run = runs[g]
        panels.append(
            {
                "key": g,
                "label": PeerGroup(g).label,
                "run": run,
                "results": tops.get(run.pk, []) if run else [],
                "selected": g == group,
                "href": link(g),
                "ranking_url": reverse("sqi:ranking", args=[run.period.code, g]) if run else "",
            }
        )
    return {
        "panels": panels,
        "periods": periods,
        "period": period,
        "group": group,
        "bad_period": code if code and period is None else "",
        "any_run": any(runs.values()),
        "limit": limit,
    }


def _label_bands(results) -> None:
    for result in results:
        result.band_label = selectors.BAND_LABELS[result.band]


@cache_public_page(params=BOARD_PARAMS)
def index_home(request):
    return render(request, "sqi/public/index_home.html", {"board": ranking_board(request)})


# ---- one full ranking ---------------------------------------------------------------------------


def _run_or_404(period: str, peer_group: str) -> IndexRun:
    run = selectors.published_run(period=period, peer_group=peer_group)
    if run is None:  # unknown period or group, or nothing published: the same answer
        raise Http404
    return run


def _sort_params(request, keys: list[str]) -> tuple[str, str]:
    sort = request.GET.get("sort", "rank")
    if sort not in keys:
        sort = "rank"
    direction = request.GET.get("dir") or DEFAULT_DIRECTION.get(sort, "desc")
    if direction not in ("asc", "desc"):
        direction = DEFAULT_DIRECTION.get(sort, "desc")
    return sort, direction


def _headers(keys, labels, *, sort: str, direction: str, q: str) -> list[dict]:
    """Sortable column headers: a link that sorts by the column (again: the other way)."""
    headers = []
    for key in keys:
        current = key == sort
        if current:
            next_dir = "desc" if direction == "asc" else "asc"
        else:
            next_dir = DEFAULT_DIRECTION.get(key, "desc")
        params = {"sort": key, "dir": next_dir, **({"q": q} if q else {})}
        headers.append(
            {
                "key": key,
                "label": labels[key],
                "href": "?" + urlencode(params) + "#ranking-table",
                "aria_sort": ("ascending" if direction == "asc" else "descending")
                if current
                else "",
                "next_dir": next_dir,
            }
        )
    return headers


def ranking(request, period: str, peer_group: str):
    run = _run_or_404(period, peer_group)
    results = selectors.run_results(run=run)
    meth = run.methodology
    dimensions, _indicators = selectors.ranking_columns(run)
    dim_keys = [d["key"] for d in dimensions]
    keys = ["rank", "insurer", "total", *(f"dim_{k}" for k in dim_keys)]
    q = (request.GET.get("q") or "").strip()[:100]
    sort, direction = _sort_params(request, keys)
    shown = selectors.sort_results(
        selectors.search_results(results, q), sort, descending=direction == "desc"
    )
    labels = {
        "rank": _("Rank"),
        "insurer": _("Insurer"),
        "total": _("Total score"),
        **{f"dim_{k}": selectors.dimension_label(k, meth.dimensions) for k in dim_keys},
    }
    rows = [
        {
            "result": r,
            "band_label": selectors.BAND_LABELS[r.band],
            "dimensions": [(r.dimensions or {}).get(k) for k in dim_keys],
        }
        for r in shown
    ]
    same_period = selectors.latest_published_runs(period=run.period)
    return render(
        request,
        "sqi/public/ranking.html",
        {
            "run": run,
            "group_label": PeerGroup(peer_group).label,
            "headers": _headers(keys, labels, sort=sort, direction=direction, q=q),
            "sort": sort,
            "direction": direction,
            "rows": rows,
            "q": q,
            "total_count": len(results),
            "periods": selectors.published_periods(peer_group=peer_group),
            "other_groups": [
                {"key": g, "label": PeerGroup(g).label, "run": r, "current": g == peer_group}
                for g, r in same_period.items()
                if r is not None
            ],
            "excluded": [
                {**e, "kind_label": selectors.EXCLUSION_KINDS[e["kind"]]}
                for e in selectors.excluded_insurers(run=run)
            ],
            "validation": _validation_rows(run),
            "filename": _filename(run, ""),
        },
    )


def _validation_rows(run: IndexRun) -> list[dict]:
    rows = []
    for check in run.validation or []:
        if not isinstance(check, dict):
            continue
        name = str(check.get("check", ""))
        rows.append(
            {"label": selectors.VALIDATION_LABELS.get(name, name), "ok": bool(check.get("ok"))}
        )
    return rows


def _filename(run: IndexRun, extension: str) -> str:
    return f"sqi-{run.period.code}-{run.peer_group}{extension}"


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def ranking_csv(request, period: str, peer_group: str):
    """The full ranking as CSV: UTF-8 with a byte-order mark, so that Excel shows Chinese.

    Headers are in the page's language; indicator values are in their units (rates in %,
    as on the pages), scores and totals to two decimals.
    """
    run = _run_or_404(period, peer_group)
    results = selectors.run_results(run=run)
    meth = run.methodology
    dimensions, indicators = selectors.ranking_columns(run)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")
    writer = csv.writer(response)
    header = [_("Rank"), _("Insurer"), _("Legal name"), _("Total score")]
    header += [selectors.dimension_label(d["key"], meth.dimensions) for d in dimensions]
    for ind in indicators:
        label = selectors.indicator_label(ind["key"], meth.indicators)
        unit = selectors.unit_label(ind["unit"])
        header.append(_("%(indicator)s: value (%(unit)s)") % {"indicator": label, "unit": unit})
        header.append(_("%(indicator)s: score") % {"indicator": label})
    header.append(_("Band"))
    writer.writerow(header)
    for r in results:
        row = [r.rank, r.insurer.short_name, r.insurer.name_zh, r.total]
        row += [_cell(selectors.half_up((r.dimensions or {}).get(d["key"]))) for d in dimensions]
        for ind in indicators:
            own = (r.indicators or {}).get(ind["key"]) or {}
            row.append(_cell(selectors.display_value(own.get("value"), ind["unit"], places=4)))
            row.append(_cell(selectors.half_up(own.get("score"))))
        row.append(selectors.BAND_LABELS[r.band])
        writer.writerow(row)
    return _attachment(response, _filename(run, ".csv"))


def _cell(value) -> str:
    return "" if value is None else str(value)


def ranking_json(request, period: str, peer_group: str):
    """The full ranking as JSON: byte for byte what ``/api/v1/sqi/results/`` answers."""
    run = _run_or_404(period, peer_group)
    document = selectors.ranking_document(run=run, results=selectors.run_results(run=run))
    body = JSONRenderer().render(RankingSerializer(document).data)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    return _attachment(response, _filename(run, ".json"))


# ---- insurer profile ----------------------------------------------------------------------------


def _fmt(value, places: int = 2) -> str:
    rounded = selectors.half_up(value, places)
    return "" if rounded is None else str(rounded)


@cache_public_page()
def insurer_profile(request, slug: str):
    insurer = selectors.insurer_by_slug(slug)
    if insurer is None:
        raise Http404
    history = selectors.insurer_history(insurer=insurer)
    latest = history[-1] if history else None
    cases = list(showcase_selectors.public_showcases({"insurer": insurer.pk})[: PROFILE_CASES + 1])
    for case in cases:
        for figure in case.figures.all():
            figure.display = showcase_selectors.figure_text(figure.value)
    context = {
        "insurer": insurer,
        "history": [
            {
                "result": r,
                "period": r.run.period,
                "group_label": PeerGroup(r.run.peer_group).label,
                "ranking_url": reverse("sqi:ranking", args=[r.run.period.code, r.run.peer_group]),
                "band_label": selectors.BAND_LABELS[r.band],
                "ratios": [_fmt(selectors.ratio_value(r.ratios, k)) for k in selectors.RATIO_KEYS],
            }
            for r in reversed(history)
        ],
        "several_groups": len({r.run.peer_group for r in history}) > 1,
        "ratio_labels": [selectors.RATIO_LABELS[k] for k in selectors.RATIO_KEYS],
        "latest": latest,
        "cases": cases[:PROFILE_CASES],
        "more_cases": len(cases) > PROFILE_CASES,
        "cases_url": reverse("cases:showcase_list") + "?" + urlencode({"insurer": insurer.pk}),
    }
    if latest is not None:
        context.update(_latest_breakdown(insurer, latest, history))
    return render(request, "sqi/public/profile.html", context)


def _latest_breakdown(insurer, latest, history) -> dict:
    """Dimension and indicator tables and the chart data of the latest published result."""
    run = latest.run
    meth = run.methodology
    medians = selectors.peer_medians(run=run)
    dimensions, indicators = selectors.ranking_columns(run)
    dim_rows = [
        {
            "label": selectors.dimension_label(d["key"], meth.dimensions),
            "score": _fmt((latest.dimensions or {}).get(d["key"])),
            "median": _fmt(medians.dimensions.get(d["key"])),
        }
        for d in dimensions
    ]
    indicator_rows = []
    for ind in indicators:
        own = (latest.indicators or {}).get(ind["key"]) or {}
        median = medians.indicators.get(ind["key"], {})
        unit = ind["unit"]
        indicator_rows.append(
            {
                "label": selectors.indicator_label(ind["key"], meth.indicators),
                "dimension": selectors.dimension_label(ind["dimension"], meth.dimensions),
                "unit": selectors.unit_label(unit),
                "better": ind["better"],
                "better_label": selectors.BETTER_LABELS.get(ind["better"], ""),
                "weight": _percent(ind["weight"]),
                "value": _cell(selectors.display_value(own.get("value"), unit)),
                "score": _fmt(own.get("score")),
                "median_value": _cell(selectors.display_value(median.get("value"), unit)),
                "median_score": _fmt(median.get("score")),
            }
        )
    floor = float(meth.scoring_floor)
    history_chart = {
        "periods": [r.run.period.code for r in history],
        "totals": [float(r.total) for r in history],
        "ranks": [r.rank for r in history],
        "ranked": [r.ranked for r in history],
        "industry": [
            float(r.run.industry_index) if r.run.industry_index is not None else None
            for r in history
        ],
        "labels": {
            "total": _("Total score"),
            "rank": _("Rank"),
            "industry": _("Industry index"),
            "of": _("of"),
        },
    }
    radar_chart = {
        "indicators": [
            {"name": row["label"], "min": max(0.0, floor - 10), "max": 100} for row in dim_rows
        ],
        "insurer": [(latest.dimensions or {}).get(d["key"]) for d in dimensions],
        "median": [medians.dimensions.get(d["key"]) for d in dimensions],
        "labels": {"insurer": insurer.short_name, "median": _("Peer median")},
    }
    return {
        "run": run,
        "latest_band": selectors.BAND_LABELS[latest.band],
        "median_total": _fmt(medians.total),
        "dim_rows": dim_rows,
        "indicator_rows": indicator_rows,
        "history_chart": history_chart,
        "radar_chart": radar_chart,
    }


def _percent(weight: float | None) -> str:
    if weight is None:
        return ""
    return f"{selectors.half_up(weight * 100, 2).normalize():f} %"


# ---- methodology --------------------------------------------------------------------------------


SCORING_LABELS = {
    method.EFFICACY: gettext_lazy("Efficacy coefficient"),
    method.PERCENTILE: gettext_lazy("Percentile rank"),
}


def methodology_page(request):
    version = (request.GET.get("version") or "").strip()[:32]
    meth = selectors.public_methodology(version=version or None)
    if meth is None and version:
        raise Http404
    context: dict = {"methodology": meth, "versions": selectors.public_methodology_versions()}
    if meth is not None:
        context.update(_methodology_context(meth))
    return render(request, "sqi/public/methodology.html", context)


def _methodology_context(meth) -> dict:
    groups = [(g, PeerGroup(g).label) for g in PeerGroup.values]
    entropy = meth.weighting == method.ENTROPY
    table = meth.weights or {}
    rows = []
    for key, meta in selectors.ordered_indicators(meth):
        weights = []
        for g, _label in groups:
            entry = table.get(g) or {}
            used = key in entry
            value = entry.get(key) if isinstance(entry, dict) else None
            weights.append(
                {
                    "used": used,
                    "text": _percent(float(value))
                    if used and value is not None and not entropy
                    else "",
                }
            )
        rows.append(
            {
                "key": key,
                "label": selectors.indicator_label(key, meth.indicators),
                "dimension": selectors.dimension_label(meta.get("dimension", ""), meth.dimensions),
                "dimension_key": meta.get("dimension", ""),
                "formula": selectors.INDICATOR_FORMULAS.get(key, ""),
                "unit": selectors.unit_label(meta.get("unit", "")),
                "better": meta.get("better", ""),
                "better_label": selectors.BETTER_LABELS.get(meta.get("better", ""), ""),
                "weights": weights,
            }
        )
    dimensions = []
    for key, _zh in selectors.ordered_dimensions(meth):
        sums = []
        for g, _label in groups:
            entry = table.get(g) or {}
            if entropy or not isinstance(entry, dict):
                sums.append("")
                continue
            total = sum(
                float(w)
                for name, w in entry.items()
                if (meth.indicators.get(name) or {}).get("dimension") == key
            )
            sums.append(_percent(total))
        dimensions.append(
            {
                "key": key,
                "label": selectors.dimension_label(key, meth.dimensions),
                "indicators": [r for r in rows if r["dimension_key"] == key],
                "sums": sums,
            }
        )
    unused = [
        {"group": label, "indicators": [r["label"] for r in rows if not r["weights"][i]["used"]]}
        for i, (_g, label) in enumerate(groups)
    ]
    floor = float(meth.scoring_floor)
    floor_text = f"{selectors.half_up(floor, 2).normalize():f}"
    lines = [
        {
            "label": label,
            "lines": [ProductLine(line).label for line in selectors.index_lines(g)],
        }
        for g, label in groups
    ]
    return {
        "groups": groups,
        "rows": rows,
        "unused": [u for u in unused if u["indicators"]],
        "percent_indicators": [
            r["label"] for r in rows if (meth.indicators[r["key"]] or {}).get("unit") == "%"
        ],
        "dimensions": dimensions,
        "entropy": entropy,
        "scoring_label": SCORING_LABELS.get(meth.scoring, meth.scoring),
        "percentile": meth.scoring == method.PERCENTILE,
        "floor": floor_text,
        "floor_example": f"{selectors.half_up(floor + (100 - floor) * 0.5).normalize():f}",
        "winsorize": [f"{q * 100:g}" for q in meth.winsorize] if meth.winsorize else None,
        "excellent_from": f"{method.EXCELLENT_FROM:g}",
        "failing_below": f"{method.FAILING_BELOW:g}",
        "peer_lines": lines,
        "validation_checks": list(selectors.VALIDATION_LABELS.values()),
        "published_runs": [
            {"run": r, "group_label": PeerGroup(r.peer_group).label}
            for r in selectors.methodology_published_runs(methodology=meth)
        ],
    }


urlpatterns = [
    path("index/", index_home, name="index_home"),
    path("index/<str:period>/<str:peer_group>/", ranking, name="ranking"),
    path("index/<str:period>/<str:peer_group>/download.csv", ranking_csv, name="ranking_csv"),
    path("index/<str:period>/<str:peer_group>/download.json", ranking_json, name="ranking_json"),
    path("insurers/<slug:slug>/", insurer_profile, name="insurer_profile"),
    path("methodology/", methodology_page, name="methodology"),
]
