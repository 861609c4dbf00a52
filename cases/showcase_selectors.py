"""Reads of the public showcase gallery: awarded cases only, filters, search and facets.

Nothing here ever returns a case that is not awarded: drafts, submitted, in-review and
rejected cases exist only for their authors and reviewers (the admin), never for the public
pages or the public API, whoever is signed in.
"""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import NoReverseMatch, reverse

from insurers.models import Insurer, OrgUnit

from .models import KeyFigure, ShowcaseCase, ShowcaseStatus, Tag

FILTER_KEYS = ("year", "programme", "category", "insurer", "group", "tag")


def _awarded() -> QuerySet[ShowcaseCase]:
    return ShowcaseCase.objects.filter(status=ShowcaseStatus.AWARDED)


def _with_cards(qs: QuerySet[ShowcaseCase]) -> QuerySet[ShowcaseCase]:
    """Everything a card or an API row shows, in a fixed number of queries."""
    return qs.select_related("programme", "category").prefetch_related(
        Prefetch("insurers", queryset=Insurer.objects.order_by("short_name")),
        Prefetch("org_units", queryset=OrgUnit.objects.order_by("name")),
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        Prefetch("figures", queryset=KeyFigure.objects.order_by("order", "pk")),
    )


def search(qs: QuerySet[ShowcaseCase], q: str) -> QuerySet[ShowcaseCase]:
    """Cases whose title, summary or body match ``q``.

    On PostgreSQL a full-text match (``websearch`` syntax: words, "quoted phrases", -not)
    on the title, summary and body, *or* a plain contains match. The contains match is
    what finds Chinese: the ``simple`` text-search configuration splits words at spaces
    and punctuation, and written Chinese has no spaces, so a whole clause becomes one
    "word" and 理赔 in the middle of 全流程无人工理赔 is never a token of its own. Full text
    finds English words and their combinations; contains finds any run of characters.

    On SQLite (development, most tests) the contains match alone. SQLite's contains is
    case-insensitive for ASCII only, which is all English needs. The body is stored as
    sanitised HTML, so a search for a tag name (``strong``) can match markup; a rare,
    harmless hit.
    """
    q = (q or "").strip()
    if not q:
        return qs
    contains = Q(title__icontains=q) | Q(summary__icontains=q) | Q(body__icontains=q)
    if connection.vendor != "postgresql":
        return qs.filter(contains)
    from django.contrib.postgres.search import SearchQuery, SearchVector

    return qs.annotate(_search=SearchVector("title", "summary", "body", config="simple")).filter(
        Q(_search=SearchQuery(q, config="simple", search_type="websearch")) | contains
    )


def _filtered(filters: dict | None, *, skip: str = "") -> QuerySet[ShowcaseCase]:
    """Awarded cases narrowed by every filter except ``skip`` (for that filter's facet)."""
    filters = filters or {}
    qs = _awarded()
    value = lambda key: None if key == skip else filters.get(key)  # noqa: E731
    if value("year"):
        qs = qs.filter(year=value("year"))
    if value("programme"):
        qs = qs.filter(programme_id=value("programme"))
    if value("category"):
        qs = qs.filter(category_id=value("category"))
    # Many-to-many filters go through a subquery of ids, so no case is listed twice.
    if value("insurer"):
        qs = qs.filter(pk__in=ShowcaseCase.objects.filter(insurers=value("insurer")).values("pk"))
    if value("group"):
        group = value("group")
        qs = qs.filter(
            pk__in=ShowcaseCase.objects.filter(
                Q(org_units=group) | Q(insurers__group=group)
            ).values("pk")
        )
    if value("tag"):
        qs = qs.filter(pk__in=ShowcaseCase.objects.filter(tags__slug=value("tag")).values("pk"))
    return search(qs, filters.get("q", ""))


def public_showcases(filters: dict | None = None) -> QuerySet[ShowcaseCase]:
    """Awarded cases, newest year first, with what a card shows prefetched.

    ``filters``: ``year``, ``programme`` (id), ``category`` (id), ``insurer`` (id: cases
    awarded to that insurer), ``group`` (an org unit id at group level: cases awarded to the
    group itself or to any of its insurers), ``tag`` (slug) and ``q`` (search, see ``search``).
    """
    return _with_cards(_filtered(filters)).order_by("-year", "title", "pk")


def showcase_get_public(slug: str) -> ShowcaseCase | None:
    """One awarded case with its images, or None (a draft's slug is as unknown as a typo)."""
    return _with_cards(_awarded()).prefetch_related("images").filter(slug=slug).first()


def related_showcases(case: ShowcaseCase, *, limit: int = 3) -> list[ShowcaseCase]:
    """Other awarded cases of the same category (else programme), for the detail page."""
    qs = _with_cards(_awarded().exclude(pk=case.pk))
    if case.category_id:
        qs = qs.filter(Q(category_id=case.category_id) | Q(programme_id=case.programme_id))
    elif case.programme_id:
        qs = qs.filter(programme_id=case.programme_id)
    else:
        return []
    return list(qs.order_by("-year", "title", "pk")[:limit])


# ---- facets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool
    detail: str = ""


def _options(rows, selected) -> list[FacetOption]:
    """(value, label, count, detail) rows, most cases first; the selected one is always kept."""
    selected = "" if selected in (None, "") else str(selected)
    options = [
        FacetOption(str(value), str(label), count, str(value) == selected, detail or "")
        for value, label, count, detail in rows
        if value is not None
    ]
    return sorted(options, key=lambda o: (-o.count, o.label))


def showcase_facets(filters: dict | None = None) -> dict[str, list[FacetOption]]:
    """For each filter, its choices and how many cases each would show given the other
    filters (the usual faceted-search rule: a filter never hides its own alternatives).

    Seven queries however many cases there are.
    """
    filters = filters or {}
    ids = lambda key: _filtered(filters, skip=key).values("pk")  # noqa: E731
    by_year = (
        ShowcaseCase.objects.filter(pk__in=ids("year"))
        .values_list("year")
        .annotate(n=Count("pk"))
        .order_by()
    )
    facets = {
        "year": sorted(
            _options(((y, y, n, "") for y, n in by_year), filters.get("year")),
            key=lambda o: -int(o.value),
        ),
        "programme": _options(
            _grouped(
                ShowcaseCase.objects.filter(pk__in=ids("programme")),
                "programme_id", "programme__name", "programme__organiser", count="pk",
            ),
            filters.get("programme"),
        ),
        "category": _options(
            _grouped(
                ShowcaseCase.objects.filter(pk__in=ids("category")),
                "category_id", "category__name", "category__programme__name", count="pk",
            ),
            filters.get("category"),
        ),
        "insurer": _options(
            _grouped(
                Insurer.objects.filter(showcase_cases__in=ids("insurer")),
                "pk", "short_name", "name_zh", count="showcase_cases",
            ),
            filters.get("insurer"),
        ),
        "group": _group_options(ids("group"), filters.get("group")),
        "tag": _options(
            _grouped(
                Tag.objects.filter(cases__in=ids("tag")), "slug", "name", "name", count="cases"
            ),
            filters.get("tag"),
        ),
    }  # fmt: skip
    return facets


def _grouped(qs, value: str, label: str, detail: str, *, count: str):
    """(value, label, count, detail) rows: one GROUP BY query."""
    rows = qs.values_list(value, label, detail).annotate(n=Count(count, distinct=True)).order_by()
    return ((v, lab, n, d) for v, lab, d, n in rows)


def _group_options(case_ids, selected) -> list[FacetOption]:
    """Groups: cases awarded to the group's own unit or to any insurer of the group."""
    through_units = ShowcaseCase.org_units.through.objects.filter(
        showcasecase_id__in=case_ids, orgunit__level="group"
    ).values_list("showcasecase_id", "orgunit_id", "orgunit__name")
    through_insurers = ShowcaseCase.insurers.through.objects.filter(
        showcasecase_id__in=case_ids, insurer__group__isnull=False
    ).values_list("showcasecase_id", "insurer__group_id", "insurer__group__name")
    cases_of: dict[int, set[int]] = {}
    names: dict[int, str] = {}
    for case_id, group_id, name in [*through_units, *through_insurers]:
        cases_of.setdefault(group_id, set()).add(case_id)
        names[group_id] = name
    counts = Counter({g: len(c) for g, c in cases_of.items()})
    return _options(((g, names[g], n, "") for g, n in counts.items()), selected)


def public_image_url(case: ShowcaseCase, image) -> str:
    """Where the public sees an image: the view that checks its case is awarded
    (``cases:showcase_image``) once routed, else the storage URL."""
    try:
        return reverse("cases:showcase_image", args=[case.slug, image.pk])
    except NoReverseMatch:
        return image.image.url


def showcase_total() -> int:
    return _awarded().count()


def figure_text(value: Decimal) -> str:
    """A key figure's value without trailing zeros: 5.70 → 5.7, 800.00 → 800."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
