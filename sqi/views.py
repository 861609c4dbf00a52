"""Site-wide pages: the home page and the elder-mode switch.

The home page leads with the latest published index rankings (the board of
:mod:`sqi.views_public`), then the services for consumers and, for signed-in users, their
scope and staff tools.
"""

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from insurers import roles
from insurers.selectors import user_top_units

from .page_cache import cache_public_page
from .views_public import BOARD_PARAMS, ranking_board

ONE_YEAR = 365 * 24 * 3600

#: How many top units the "your scope" panel lists before it says "and N more".
SCOPE_UNITS_SHOWN = 6

ROLE_LABELS: dict[str, Promise] = {
    roles.STAFF: _("Consumer-protection staff"),
    roles.OFFICER: _("Service officer"),
    roles.MEDIATOR: _("Mediator"),
    roles.INDEX_ADMIN: _("Index administrator"),
}


@dataclass(frozen=True)
class Card:
    """One entry on the home page. ``url_name`` may name a page that is not built yet:
    until that URL exists the card shows as "coming soon" instead of a dead link, so a
    later feature lights its card up just by registering the URL name given here."""

    title: Promise
    text: Promise
    url_name: str
    icon: str


PUBLIC_CARDS = (
    Card(
        _("Service Quality Index"),
        _("How each insurer ranks on claims speed, payment rate, complaints and improvement."),
        "sqi:index_home",
        "chart",
    ),
    Card(
        _("Showcase cases"),
        _("Award-winning service cases: fast claims, services for older people, disaster relief."),
        "cases:showcase_list",
        "star",
    ),
    Card(
        _("File a complaint"),
        _("Tell an insurer what went wrong; you get a reference number to follow it up."),
        "complaints:public_new",
        "pen",
    ),
    Card(
        _("Track a complaint"),
        _("Look up your complaint's status with its reference number and your phone number."),
        "complaints:public_status",
        "search",
    ),
)

STAFF_CARDS = (
    Card(
        _("Complaint workbench"),
        _("Your queue, complaints due soon and overdue, each with its legal deadline."),
        "complaints:workbench",
        "inbox",
    ),
    Card(
        _("Officer dashboard"),
        _("Complaint and service figures for your org units, against the industry."),
        "sqi:dashboard",
        "gauge",
    ),
    Card(
        _("Mediation board"),
        _("Disputes sent to mediation, their sessions and settlements."),
        "cases:mediation_board",
        "scale",
    ),
    Card(
        _("Administration"),
        _("Insurers, the organisation tree, service officers and reception days."),
        "admin:index",
        "cog",
    ),
)


def _card_view(card: Card) -> dict:
    try:
        url = reverse(card.url_name)
    except NoReverseMatch:
        url = None
    return {"title": card.title, "text": card.text, "url": url, "icon": card.icon}


def _scope(user) -> dict | None:
    """Roles and top org units of a signed-in user, for the "your scope" panel."""
    if not user.is_authenticated:
        return None
    role_labels = [label for name, label in ROLE_LABELS.items() if name in roles.role_names(user)]
    if user.is_superuser:
        role_labels.insert(0, _("Superuser"))
    units = user_top_units(user=user).select_related("insurer").order_by("path")
    shown = list(units[: SCOPE_UNITS_SHOWN + 1])
    more = 0
    if len(shown) > SCOPE_UNITS_SHOWN:
        more = units.count() - SCOPE_UNITS_SHOWN
        shown = shown[:SCOPE_UNITS_SHOWN]
    return {"roles": role_labels, "units": shown, "more_units": more}


@cache_public_page(params=BOARD_PARAMS)
def home(request):
    return render(
        request,
        "home.html",
        {
            "public_cards": [_card_view(c) for c in PUBLIC_CARDS],
            "staff_cards": [_card_view(c) for c in STAFF_CARDS],
            "scope": _scope(request.user),
            "board": ranking_board(request),
        },
    )


def healthz(request):
    """Liveness for load balancers and monitors: this process answers requests. Touches
    neither the database nor the cache (and is the benchmark's baseline, bench/pages.py)."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_POST
def elder_mode(request):
    """Turn elder mode on or off and remember the choice in a cookie for a year."""
    response = HttpResponseRedirect(_safe_next(request))
    on = request.POST.get("elder") == "1"
    if on:
        response.set_cookie(
            settings.ELDER_MODE_COOKIE,
            "1",
            max_age=ONE_YEAR,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=True,
        )
    else:
        response.delete_cookie(settings.ELDER_MODE_COOKIE, samesite="Lax")
    return response
