"""API plumbing shared by every app: Django validation errors become 400s with field names,
and an address under /api/ that matches no endpoint is a JSON 404 like any other."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    return drf_exception_handler(exc, context)


def page_not_found(request, exception):
    """The 404 handler: API clients get ``{"detail": ...}`` (what the schema documents),
    never the HTML page meant for people."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)
