"""The public showcase gallery (/cases/) and case pages (/cases/<slug>/).

Anyone may read them; they only ever show awarded cases. The filters are GET parameters,
so a filtered or searched gallery is a link one can share.
"""

from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from complaints.services import sniff_content_type

from . import showcase_selectors as selectors
from .showcase import sanitise_body

PAGE_SIZE = 12


class GalleryFilterForm(forms.Form):
    """The gallery's GET parameters: validated, never trusted."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1990, max_value=2100)
    programme = forms.IntegerField(label=_("Award programme"), required=False, min_value=1)
    category = forms.IntegerField(label=_("Award category"), required=False, min_value=1)
    group = forms.IntegerField(label=_("Group"), required=False, min_value=1)
    insurer = forms.IntegerField(label=_("Insurer"), required=False, min_value=1)
    tag = forms.SlugField(label=_("Tag"), required=False, allow_unicode=True, max_length=40)

    def filters(self) -> dict:
        """The valid filters; a bad one is reported and left out rather than failing all."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {k: v for k, v in data.items() if v not in (None, "") and k not in self.errors}


def _decorate(cases) -> None:
    """Give each key figure its display text (5.70 → 5.7) without another query."""
    for case in cases:
        for figure in case.figures.all():
            figure.display = selectors.figure_text(figure.value)


def _facet_sections(form: GalleryFilterForm, facets: dict) -> list[dict]:
    order = ("year", "programme", "category", "group", "insurer")
    return [
        {"name": key, "label": form.fields[key].label, "options": facets[key]}
        for key in order
        if facets[key]
    ]


def _tag_links(filters: dict, options) -> list[dict]:
    """Tags as toggles: a link that adds the tag to the current filters, or removes it."""
    links = []
    for option in options:
        rest = {k: v for k, v in filters.items() if k != "tag"}
        if not option.selected:
            rest["tag"] = option.value
        links.append({"option": option, "href": "?" + urlencode(rest)})
    return links


def _active_filters(filters: dict, facets: dict, form: GalleryFilterForm) -> list[dict]:
    """Chips for the applied filters, each with the link that removes it."""
    chips = []
    for key, value in filters.items():
        if key == "q":
            label = value
        else:
            label = next((o.label for o in facets.get(key, ()) if o.selected), str(value))
        rest = {k: v for k, v in filters.items() if k != key}
        chips.append(
            {"name": form.fields[key].label, "value": label, "remove": "?" + urlencode(rest)}
        )
    return chips


def showcase_list(request):
    form = GalleryFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    cases = selectors.public_showcases(filters)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    _decorate(page.object_list)
    facets = selectors.showcase_facets(filters)
    return render(
        request,
        "cases/showcase/list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "cases": page.object_list,
            "facet_sections": _facet_sections(form, facets),
            "tag_links": _tag_links(filters, facets["tag"]),
            "total": selectors.showcase_total() if filters else page.paginator.count,
            "chips": _active_filters(filters, facets, form),
            "query": urlencode(filters),
            "bad_filters": [
                (form.fields[name].label, errors) for name, errors in form.errors.items()
            ]
            if request.GET
            else [],
        },
    )


def showcase_detail(request, slug: str):
    case = selectors.showcase_get_public(slug)
    if case is None:  # not awarded (or no such case): the same answer, for everyone
        raise Http404
    related = selectors.related_showcases(case)
    _decorate([case, *related])
    # Stored bodies are sanitised on every write; sanitising again on the way out keeps a
    # body written around the services (a raw SQL fix, an old row) from reaching the page.
    case.body_html = mark_safe(sanitise_body(case.body))  # noqa: S308 - nh3 output
    for image in case.images.all():
        image.public_url = selectors.public_image_url(case, image)
    return render(
        request,
        "cases/showcase/detail.html",
        {"case": case, "related": related},
    )


IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


def showcase_image(request, slug: str, pk: int):
    """An image of an awarded case; a draft's images are as unknown as the draft itself.

    Showcase images live in the default storage (MEDIA_ROOT), which should not be served
    wholesale: that would publish the images of drafts too.
    """
    case = selectors.showcase_get_public(slug)
    image = next((i for i in case.images.all() if i.pk == pk), None) if case else None
    if image is None:
        raise Http404
    # The type comes from the bytes, never from the name the uploader gave the file.
    handle = image.image.open("rb")
    kind = sniff_content_type(handle.read(16))
    handle.seek(0)
    if kind not in IMAGE_TYPES:
        kind = "application/octet-stream"
    response = FileResponse(handle, content_type=kind)
    response["Cache-Control"] = "public, max-age=3600"
    return response
