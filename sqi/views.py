"""Site-wide pages: the home page and the elder-mode switch."""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

ONE_YEAR = 365 * 24 * 3600


def home(request):
    return render(request, "home.html")


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
