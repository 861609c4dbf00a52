"""Template context every page needs: elder mode (长辈模式) and the language switch."""

from django.conf import settings


def ui(request) -> dict:
    return {
        "elder_mode": request.COOKIES.get(settings.ELDER_MODE_COOKIE) == "1",
    }
